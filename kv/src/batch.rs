//! Write batches: many puts and deletes applied all-or-nothing.
//!
//! A batch is also the payload of one WAL record:
//!
//! ```text
//! +-------------+-------------+---------------------------------------------+
//! | seq u64 LE  | count u32 LE| count × op                                  |
//! +-------------+-------------+---------------------------------------------+
//! op = kind u8 (0 delete, 1 put) | key: varint len + bytes | [value: varint len + bytes, puts only]
//! ```
//!
//! The first operation gets sequence `seq`, the next `seq + 1`, and so on.

use crate::coding::{Decoder, put_length_prefixed};
use crate::error::{Error, Result};
use crate::key::ValueKind;

/// Largest key the engine accepts.
pub const MAX_KEY_BYTES: usize = 64 * 1024;
/// Largest value the engine accepts.
pub const MAX_VALUE_BYTES: usize = 64 * 1024 * 1024;

const HEADER_BYTES: usize = 12;

/// An ordered list of puts and deletes, applied atomically by [`crate::Db::write`].
#[derive(Clone, PartialEq, Eq)]
pub struct WriteBatch {
    rep: Vec<u8>,
    count: u32,
}

impl std::fmt::Debug for WriteBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteBatch")
            .field("count", &self.count)
            .field("bytes", &self.rep.len())
            .finish()
    }
}

impl Default for WriteBatch {
    fn default() -> Self {
        Self::new()
    }
}

/// One operation of a batch, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOp<'a> {
    pub kind: ValueKind,
    pub key: &'a [u8],
    pub value: &'a [u8],
}

impl WriteBatch {
    pub fn new() -> Self {
        WriteBatch {
            rep: vec![0; HEADER_BYTES],
            count: 0,
        }
    }

    /// Adds a put. Fails if the key or value is over the size limits.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<&mut Self> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(Error::InvalidArgument(format!(
                "value of {} bytes exceeds the limit of {MAX_VALUE_BYTES}",
                value.len()
            )));
        }
        self.rep.push(ValueKind::Put as u8);
        put_length_prefixed(&mut self.rep, key);
        put_length_prefixed(&mut self.rep, value);
        self.bump()
    }

    /// Adds a delete. Fails if the key is over the size limit.
    pub fn delete(&mut self, key: &[u8]) -> Result<&mut Self> {
        check_key(key)?;
        self.rep.push(ValueKind::Delete as u8);
        put_length_prefixed(&mut self.rep, key);
        self.bump()
    }

    fn bump(&mut self) -> Result<&mut Self> {
        self.count = self
            .count
            .checked_add(1)
            .ok_or_else(|| Error::InvalidArgument("batch has too many operations".into()))?;
        Ok(self)
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Encoded size in bytes (what it costs in the WAL).
    pub fn size_bytes(&self) -> usize {
        self.rep.len()
    }

    /// The operations in order.
    pub fn iter(&self) -> impl Iterator<Item = BatchOp<'_>> {
        let mut d = Decoder::new(&self.rep[HEADER_BYTES..]);
        std::iter::from_fn(move || decode_op(&mut d)).take(self.count as usize)
    }

    /// The payload of a WAL record for this batch with its first sequence number.
    pub(crate) fn encode_with_seq(&mut self, seq: u64) -> &[u8] {
        self.rep[..8].copy_from_slice(&seq.to_le_bytes());
        self.rep[8..12].copy_from_slice(&self.count.to_le_bytes());
        &self.rep
    }

    /// Parses a WAL record payload, checking every operation; returns the batch and its first
    /// sequence number. `None` means the payload is malformed.
    pub(crate) fn decode(payload: &[u8]) -> Option<(WriteBatch, u64)> {
        let mut d = Decoder::new(payload);
        let seq = d.u64()?;
        let count = d.u32()?;
        for _ in 0..count {
            decode_op(&mut d)?;
        }
        if !d.is_empty() {
            return None;
        }
        Some((
            WriteBatch {
                rep: payload.to_vec(),
                count,
            },
            seq,
        ))
    }
}

fn decode_op<'a>(d: &mut Decoder<'a>) -> Option<BatchOp<'a>> {
    let kind = ValueKind::from_u8(d.u8()?)?;
    let key = d.length_prefixed()?;
    let value = match kind {
        ValueKind::Put => d.length_prefixed()?,
        ValueKind::Delete => &[],
    };
    Some(BatchOp { kind, key, value })
}

fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_BYTES {
        return Err(Error::InvalidArgument(format!(
            "key of {} bytes exceeds the limit of {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_wal_payload() {
        let mut b = WriteBatch::new();
        b.put(b"k1", b"v1").expect("put");
        b.delete(b"k2").expect("delete");
        let payload = b.encode_with_seq(42).to_vec();
        let (decoded, seq) = WriteBatch::decode(&payload).expect("decodes");
        assert_eq!(seq, 42);
        let ops: Vec<_> = decoded.iter().collect();
        assert_eq!(ops.len(), 2);
        assert_eq!(
            (ops[0].kind, ops[0].key, ops[0].value),
            (ValueKind::Put, &b"k1"[..], &b"v1"[..])
        );
        assert_eq!((ops[1].kind, ops[1].key), (ValueKind::Delete, &b"k2"[..]));
    }

    #[test]
    fn rejects_malformed_payloads() {
        let mut b = WriteBatch::new();
        b.put(b"key", b"value").expect("put");
        let payload = b.encode_with_seq(1).to_vec();
        for cut in 0..payload.len() {
            assert!(
                WriteBatch::decode(&payload[..cut]).is_none(),
                "cut at {cut}"
            );
        }
        let mut extra = payload.clone();
        extra.push(0);
        assert!(WriteBatch::decode(&extra).is_none());
    }

    #[test]
    fn rejects_oversized_keys() {
        let mut b = WriteBatch::new();
        assert!(b.put(&vec![0; MAX_KEY_BYTES + 1], b"").is_err());
        assert!(b.is_empty());
    }
}
