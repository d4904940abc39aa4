//! Checksummed record framing, shared by every append-only Chronos file: the kv WAL and
//! manifest, and the Raft log segments and snapshot file.
//!
//! ```text
//! +--------------+--------------+------------------+----------------------+
//! | crc32 u32 LE | len u32 LE   | len check u32 LE | payload (len bytes)  |
//! +--------------+--------------+------------------+----------------------+
//! crc32 (IEEE, via crc32fast) covers the len field and the payload;
//! len check = crc32 of the len field alone, xor a constant (so an all-zero header fails it).
//! ```
//!
//! The separate check on the length is what tells damage apart: a torn write leaves a *prefix*
//! of what was written (a short header, or a valid header with a short payload), while a flipped
//! bit in the length field leaves a complete header that fails its check. Without it, a flipped
//! length could pass for a torn tail and silently drop acknowledged records (as it once did in
//! the Raft log, which had its own copy of this framing without the check).
//!
//! # Recovery: what [`read_records`] decides
//! - **Clean end**: every byte belongs to an intact record.
//! - **Torn tail**, only in the newest file of a log, and only when it is *provably* a write
//!   cut short by a crash: the damaged record runs past the end of the file (a short header, or
//!   a header whose checked length reaches beyond the end), or every byte from the damaged
//!   record to the end of the file is zero (the file grew but the data never reached the disk).
//!   No intact record can follow such damage, so nothing acknowledged after it is lost. The
//!   caller drops the tail (those bytes were never acknowledged as durable).
//! - **Corruption** otherwise ([`Corruption`], naming file and offset): a complete header whose
//!   length check fails, a checksum mismatch, an out-of-range length, or any damage in a file
//!   that is not the newest. Such damage may hide acknowledged records, so it is never skipped.

use std::path::Path;

use crc32fast::Hasher;

use crate::error::{Error, Result};

/// Bytes of framing before each payload.
pub const HEADER_BYTES: usize = 12;

/// Offset of the length field inside the header.
pub const LEN_FIELD_OFFSET: usize = 4;

/// Keeps an all-zero header from passing its length check.
const LEN_CHECK_MASK: u32 = 0xa282_ead8;

/// Upper bound on one payload. A larger length field is damage, not an allocation request;
/// the writer refuses larger payloads.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024 * 1024;
const _: () = assert!(MAX_PAYLOAD_BYTES <= u32::MAX as usize);

fn len_check(len_bytes: &[u8]) -> u32 {
    crc32fast::hash(len_bytes) ^ LEN_CHECK_MASK
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Appends one framed record to `out`; `out` is unchanged on error
/// ([`Error::TooLarge`] for a payload over [`MAX_PAYLOAD_BYTES`]).
pub fn encode(out: &mut Vec<u8>, payload: &[u8]) -> Result<()> {
    let too_large = Error::TooLarge {
        len: payload.len(),
        limit: MAX_PAYLOAD_BYTES,
    };
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(too_large);
    }
    let len = u32::try_from(payload.len()).map_err(|_| too_large)?;
    let len_bytes = len.to_le_bytes();
    let mut h = Hasher::new();
    h.update(&len_bytes);
    h.update(payload);
    out.reserve(HEADER_BYTES + payload.len());
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(&len_check(&len_bytes).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Why a scan stopped before the end of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The header or payload runs past the end of the data: a write that did not finish.
    Incomplete,
    /// The header is complete but its length check fails (a damaged length field).
    BadHeader,
    /// The length field is larger than any record a writer produces.
    BadLength,
    /// The checksum does not match.
    BadChecksum,
}

impl Damage {
    /// A short description for error messages and logs.
    pub fn describe(self) -> &'static str {
        match self {
            Damage::Incomplete => "record runs past the end of the file",
            Damage::BadHeader => "record header check mismatch",
            Damage::BadLength => "record length is out of range",
            Damage::BadChecksum => "record checksum mismatch",
        }
    }
}

/// The records of a buffer, up to the first damage.
#[derive(Debug)]
pub struct Scan<'a> {
    /// `(offset of the record's header, payload)` in order.
    pub records: Vec<(u64, &'a [u8])>,
    /// Where and why the scan stopped early, if it did.
    pub damage: Option<(u64, Damage)>,
}

/// Checks one record at `offset`; returns its payload and the offset after it.
fn check_at(data: &[u8], offset: usize) -> Result<(&[u8], usize), Damage> {
    let header = data
        .get(offset..offset.saturating_add(HEADER_BYTES))
        .ok_or(Damage::Incomplete)?;
    let crc = u32_at(header, 0);
    let len_bytes = &header[LEN_FIELD_OFFSET..LEN_FIELD_OFFSET + 4];
    if u32_at(header, 8) != len_check(len_bytes) {
        return Err(Damage::BadHeader);
    }
    let len = u32_at(header, LEN_FIELD_OFFSET) as usize;
    if len > MAX_PAYLOAD_BYTES {
        return Err(Damage::BadLength);
    }
    let start = offset + HEADER_BYTES;
    let payload = data.get(start..start + len).ok_or(Damage::Incomplete)?;
    let mut h = Hasher::new();
    h.update(len_bytes);
    h.update(payload);
    if h.finalize() != crc {
        return Err(Damage::BadChecksum);
    }
    Ok((payload, start + len))
}

/// Reads every intact record from the front of `data`, stopping at the first damage. Payloads
/// are slices of `data`: a length field never causes an allocation.
pub fn scan(data: &[u8]) -> Scan<'_> {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        match check_at(data, offset) {
            Ok((payload, next)) => {
                records.push((offset as u64, payload));
                offset = next;
            }
            Err(damage) => {
                return Scan {
                    records,
                    damage: Some((offset as u64, damage)),
                };
            }
        }
    }
    Scan {
        records,
        damage: None,
    }
}

/// How a file of records ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Every byte belongs to an intact record.
    Clean,
    /// A write cut short by a crash starts at `offset` (see the module docs for the proof
    /// obligations); the caller drops the bytes from there.
    Torn {
        /// Offset of the first byte that is not part of an intact record.
        offset: u64,
        /// What the damage looked like.
        damage: Damage,
    },
}

/// The intact records of a file and how it ends.
#[derive(Debug)]
pub struct Records<'a> {
    /// `(offset of the record's header, payload)` in order.
    pub records: Vec<(u64, &'a [u8])>,
    /// How the file ends.
    pub tail: Tail,
}

/// Whether damage at `offset` is a write cut short: it runs past the end of the data, or only
/// zero bytes follow.
fn provably_torn(data: &[u8], offset: usize, damage: Damage) -> bool {
    damage == Damage::Incomplete || data[offset..].iter().all(|&b| b == 0)
}

/// Reads the records of `file` (its bytes are `data`) and classifies its end; damage that is
/// not provably a torn tail is [`Error::Corruption`] naming `file` and the damaged record's
/// offset.
///
/// `is_newest` says whether this is the newest file of its log, the only one a crash can have
/// left torn; a file written whole and synced before use (a snapshot) passes `false`.
pub fn read_records<'a>(data: &'a [u8], file: &Path, is_newest: bool) -> Result<Records<'a>> {
    let Scan { records, damage } = scan(data);
    let Some((offset, damage)) = damage else {
        return Ok(Records {
            records,
            tail: Tail::Clean,
        });
    };
    let torn = provably_torn(data, offset as usize, damage);
    if torn && is_newest {
        return Ok(Records {
            records,
            tail: Tail::Torn { offset, damage },
        });
    }
    let reason = if torn {
        format!(
            "{} in a file that is not the newest of its log (a crash can only tear the newest)",
            damage.describe()
        )
    } else {
        format!(
            "{}; the damage is not a write cut short by a crash, so records after it may be lost",
            damage.describe()
        )
    };
    Err(Error::Corruption {
        file: file.to_path_buf(),
        offset,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_all(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode(&mut out, p).expect("small payload");
        }
        out
    }

    fn three_records() -> Vec<u8> {
        frame_all(&[b"alpha", b"", b"gamma-gamma"])
    }

    const FILE: &str = "/d/000001.log";

    fn read(data: &[u8], newest: bool) -> Result<Records<'_>> {
        read_records(data, Path::new(FILE), newest)
    }

    fn corruption_at(err: &Error) -> (&Path, u64) {
        match err {
            Error::Corruption { file, offset, .. } => (file, *offset),
            other => panic!("expected corruption, got {other}"),
        }
    }

    #[test]
    fn scans_intact_records() {
        let data = three_records();
        let r = read(&data, false).expect("clean");
        assert_eq!(r.records.len(), 3);
        assert_eq!(r.records[2].1, b"gamma-gamma");
        assert_eq!(r.tail, Tail::Clean);
    }

    #[test]
    fn every_truncation_is_a_torn_tail_of_the_newest_file_only() {
        let data = three_records();
        for cut in 1..data.len() {
            let s = scan(&data[..cut]);
            if let Some((at, damage)) = s.damage {
                assert_eq!(damage, Damage::Incomplete, "cut {cut}");
                let r = read(&data[..cut], true).expect("torn tail tolerated");
                assert_eq!(r.tail, Tail::Torn { offset: at, damage });
                let err = read(&data[..cut], false).expect_err("older file");
                assert_eq!(corruption_at(&err), (Path::new(FILE), at));
            }
        }
    }

    #[test]
    fn a_flipped_length_bit_is_corruption_even_in_the_last_record() {
        let mut data = three_records();
        let last = scan(&data).records[2].0 as usize;
        data[last + LEN_FIELD_OFFSET + 1] ^= 0x01;
        assert_eq!(scan(&data).damage, Some((last as u64, Damage::BadHeader)));
        let err = read(&data, true).expect_err("not a torn tail");
        assert_eq!(corruption_at(&err), (Path::new(FILE), last as u64));
    }

    #[test]
    fn a_zero_filled_tail_is_torn_but_a_zero_header_before_data_is_not() {
        let mut data = three_records();
        let end = data.len();
        data.extend_from_slice(&[0; 40]);
        let r = read(&data, true).expect("zero tail");
        assert_eq!(r.records.len(), 3);
        assert!(matches!(r.tail, Tail::Torn { offset, .. } if offset == end as u64));
        data.extend_from_slice(&frame_all(&[b"later"]));
        assert!(read(&data, true).is_err(), "an intact record follows zeros");
    }

    #[test]
    fn a_huge_checked_length_is_bad_length_not_an_allocation() {
        let len = u32::MAX.to_le_bytes();
        let mut data = vec![0; 4];
        data.extend_from_slice(&len);
        data.extend_from_slice(&len_check(&len).to_le_bytes());
        data.extend_from_slice(b"payload");
        assert_eq!(scan(&data).damage, Some((0, Damage::BadLength)));
        assert!(read(&data, true).is_err());
    }
}
