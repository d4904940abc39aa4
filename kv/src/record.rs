//! Checksummed record framing shared by the WAL and the manifest.
//!
//! ```text
//! +--------------+--------------+------------------+----------------------+
//! | crc32 u32 LE | len u32 LE   | len check u32 LE | payload (len bytes)  |
//! +--------------+--------------+------------------+----------------------+
//! crc32 (IEEE, via crc32fast) covers the len field and the payload;
//! len check = crc32 of the len field alone, xor a constant.
//! ```
//!
//! The separate check on the length matters for telling damage apart: a torn write leaves a
//! *prefix* of the record (a short header, or a valid header with a short payload), while a
//! flipped bit in the length field leaves a complete header that fails its check. Without it,
//! a flipped length could pass for a torn tail and silently drop an acknowledged record.
//!
//! [`scan`] reads records until the first damaged one and says where and why it stopped; the
//! caller decides whether that damage is a torn tail (tolerated) or corruption (an error).

use crc32fast::Hasher;

/// Bytes of framing before each payload.
pub const HEADER_BYTES: usize = 12;

/// Keeps an all-zero header from passing its length check.
const LEN_CHECK_MASK: u32 = 0xa282_ead8;

fn len_check(len_bytes: &[u8]) -> u32 {
    crc32fast::hash(len_bytes) ^ LEN_CHECK_MASK
}

/// Upper bound on one payload; a larger length field is damage, not an allocation request.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024 * 1024;

/// Appends one framed record to `out`.
pub fn encode(out: &mut Vec<u8>, payload: &[u8]) {
    let len =
        u32::try_from(payload.len()).expect("invariant: payloads are bounded by MAX_PAYLOAD_BYTES");
    assert!(
        payload.len() <= MAX_PAYLOAD_BYTES,
        "record of {} bytes",
        payload.len()
    );
    let len_bytes = len.to_le_bytes();
    let mut h = Hasher::new();
    h.update(&len_bytes);
    h.update(payload);
    out.extend_from_slice(&h.finalize().to_le_bytes());
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(&len_check(&len_bytes).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Why a scan stopped before the end of the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// The header or payload runs past the end of the data: a write that did not finish.
    Incomplete,
    /// The header is complete but its length check fails (a damaged length field).
    BadHeader,
    /// The length field is larger than any record the engine writes.
    BadLength,
    /// The checksum does not match.
    BadChecksum,
}

impl Damage {
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
        .get(offset..offset + HEADER_BYTES)
        .ok_or(Damage::Incomplete)?;
    let crc = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let check = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    if check != len_check(&header[4..8]) {
        return Err(Damage::BadHeader);
    }
    if len > MAX_PAYLOAD_BYTES {
        return Err(Damage::BadLength);
    }
    let start = offset + HEADER_BYTES;
    let payload = data.get(start..start + len).ok_or(Damage::Incomplete)?;
    let mut h = Hasher::new();
    h.update(&header[4..8]);
    h.update(payload);
    if h.finalize() != crc {
        return Err(Damage::BadChecksum);
    }
    Ok((payload, start + len))
}

/// Reads every intact record from the front of `data`.
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

/// Most checksum work [`intact_record_follows`] does before giving up; bounds recovery time
/// when a large file is damaged near its front.
const FOLLOW_SCAN_BUDGET_BYTES: usize = 64 * 1024 * 1024;

/// Whether an intact record starts anywhere after the damaged record at `damaged_at`.
///
/// A torn write can only damage the end of what was written, so an intact record *after*
/// damage means the damage is in the middle of the data: corruption, not a torn tail.
pub fn intact_record_follows(data: &[u8], damaged_at: usize) -> bool {
    // The common bit-rot case: the damaged record's length is intact, and the next record
    // starts right after it.
    if let Some(header) = data.get(damaged_at..damaged_at + HEADER_BYTES) {
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let next = damaged_at + HEADER_BYTES + len;
        let len_ok = u32::from_le_bytes([header[8], header[9], header[10], header[11]])
            == len_check(&header[4..8]);
        if len_ok && len <= MAX_PAYLOAD_BYTES && next < data.len() && check_at(data, next).is_ok() {
            return true;
        }
    }
    let mut budget = FOLLOW_SCAN_BUDGET_BYTES;
    for offset in damaged_at + 1..=data.len().saturating_sub(HEADER_BYTES) {
        let len = u32::from_le_bytes([
            data[offset + 4],
            data[offset + 5],
            data[offset + 6],
            data[offset + 7],
        ]) as usize;
        // Only a header whose length check passes can start a record: this skips nearly
        // every offset for the price of hashing four bytes.
        let check = u32::from_le_bytes([
            data[offset + 8],
            data[offset + 9],
            data[offset + 10],
            data[offset + 11],
        ]);
        if check != len_check(&data[offset + 4..offset + 8])
            || offset + HEADER_BYTES + len > data.len()
        {
            continue;
        }
        if budget < len {
            break;
        }
        budget -= len;
        if check_at(data, offset).is_ok() {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three_records() -> Vec<u8> {
        let mut out = Vec::new();
        for p in [&b"alpha"[..], b"", b"gamma-gamma"] {
            encode(&mut out, p);
        }
        out
    }

    #[test]
    fn scans_intact_records() {
        let data = three_records();
        let s = scan(&data);
        assert_eq!(s.records.len(), 3);
        assert_eq!(s.records[2].1, b"gamma-gamma");
        assert!(s.damage.is_none());
    }

    #[test]
    fn every_truncation_is_an_incomplete_tail() {
        let data = three_records();
        for cut in 1..data.len() {
            let s = scan(&data[..cut]);
            if let Some((at, damage)) = s.damage {
                assert_eq!(damage, Damage::Incomplete, "cut {cut}");
                assert!(!intact_record_follows(&data[..cut], at as usize));
            }
        }
    }

    #[test]
    fn a_flipped_length_is_a_bad_header_not_a_torn_tail() {
        let mut data = three_records();
        let last = scan(&data).records[2].0 as usize;
        data[last + 5] ^= 0x01;
        assert_eq!(scan(&data).damage, Some((last as u64, Damage::BadHeader)));
        assert_eq!(scan(&[0u8; 40]).damage, Some((0, Damage::BadHeader)));
    }

    #[test]
    fn a_flipped_bit_in_the_middle_is_detected_as_followed_by_intact_data() {
        let mut data = three_records();
        data[HEADER_BYTES + 1] ^= 0x10; // inside "alpha"
        let s = scan(&data);
        let (at, damage) = s.damage.expect("damage found");
        assert_eq!((at, damage), (0, Damage::BadChecksum));
        assert!(intact_record_follows(&data, at as usize));
    }
}
