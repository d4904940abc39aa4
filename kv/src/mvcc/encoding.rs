//! How MVCC data is laid out in the storage engine, and the commit batch's wire form.
//!
//! ```text
//! engine key                                              engine value
//! 0x00 | meta name                                        meta value
//! 0x01 | keycode bytes(user key) | timestamp (desc, 12B)  0x00 (tombstone) | 0x01 value
//! ```
//!
//! The user key is escaped and terminated (see [`crate::keycode`]), so no encoded user key is
//! a prefix of another: versions order by user key ascending, then timestamp descending, and
//! the newest version at or below `ts` is the first entry at or after `version_key(key, ts)`.
//!
//! [`KvBatch`] encoding (what Raft will replicate):
//!
//! ```text
//! format u8 (1) | read_ts 12B | commit_ts 12B | count varint
//!   | count × (key: varint len + bytes | kind u8 (0 delete, 1 put) | [value: varint len + bytes])
//! ```

use std::ops::Bound;

use super::timestamp::Timestamp;
use crate::coding::{Decoder, put_length_prefixed, put_varint};
use crate::error::{Error, Result};
use crate::keycode::{KeyDecoder, encode_bytes};

pub const META_PREFIX: u8 = 0x00;
pub const VERSION_PREFIX: u8 = 0x01;
const TS_BYTES: usize = 12;

/// The engine key of a meta entry.
pub fn meta_key(name: &str) -> Vec<u8> {
    let mut k = vec![META_PREFIX];
    k.extend_from_slice(name.as_bytes());
    k
}

/// The engine-key prefix shared by every version of `user_key`.
pub fn version_prefix(user_key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(user_key.len() + 3 + TS_BYTES);
    k.push(VERSION_PREFIX);
    encode_bytes(&mut k, user_key);
    k
}

/// The engine key of the version of `user_key` written at `ts`.
pub fn version_key(user_key: &[u8], ts: Timestamp) -> Vec<u8> {
    let mut k = version_prefix(user_key);
    ts.encode_desc(&mut k);
    k
}

/// The largest engine key any version of `user_key` can have.
pub fn version_key_last(user_key: &[u8]) -> Vec<u8> {
    version_key(user_key, Timestamp::ZERO)
}

/// Splits a version key into user key and timestamp.
pub fn decode_version_key(key: &[u8]) -> Result<(Vec<u8>, Timestamp)> {
    let bad = || Error::InvalidArgument("malformed MVCC version key".into());
    let rest = key.strip_prefix(&[VERSION_PREFIX]).ok_or_else(bad)?;
    let mut d = KeyDecoder::new(rest);
    let user_key = d.bytes()?;
    let ts_bytes = d.remaining();
    if ts_bytes.len() != TS_BYTES {
        return Err(bad());
    }
    let ts = Timestamp::decode_desc(ts_bytes).ok_or_else(bad)?;
    Ok((user_key, ts))
}

/// What an engine key of the MVCC layer is, for inspection tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineKey {
    /// MVCC bookkeeping (last commit timestamp, GC watermark).
    Meta(String),
    /// A version of `user_key` committed at `ts`.
    Version { user_key: Vec<u8>, ts: Timestamp },
}

/// Decodes any engine key the MVCC layer writes.
pub fn decode_engine_key(key: &[u8]) -> Result<EngineKey> {
    match key.split_first() {
        Some((&META_PREFIX, name)) => {
            Ok(EngineKey::Meta(String::from_utf8_lossy(name).into_owned()))
        }
        Some((&VERSION_PREFIX, _)) => {
            let (user_key, ts) = decode_version_key(key)?;
            Ok(EngineKey::Version { user_key, ts })
        }
        _ => Err(Error::InvalidArgument("not an MVCC engine key".into())),
    }
}

/// A version's value: `None` is a tombstone.
pub fn encode_value(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![0],
        Some(v) => {
            let mut out = Vec::with_capacity(v.len() + 1);
            out.push(1);
            out.extend_from_slice(v);
            out
        }
    }
}

pub fn decode_value(bytes: &[u8]) -> Result<Option<&[u8]>> {
    match bytes.split_first() {
        Some((0, [])) => Ok(None),
        Some((1, v)) => Ok(Some(v)),
        _ => Err(Error::InvalidArgument("malformed MVCC value".into())),
    }
}

/// Engine bounds covering the versions of user keys within `(lower, upper)`.
pub fn engine_bounds(lower: Bound<&[u8]>, upper: Bound<&[u8]>) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let lo = match lower {
        Bound::Included(k) => Bound::Included(version_prefix(k)),
        Bound::Excluded(k) => Bound::Excluded(version_key_last(k)),
        Bound::Unbounded => Bound::Included(vec![VERSION_PREFIX]),
    };
    let hi = match upper {
        Bound::Included(k) => Bound::Included(version_key_last(k)),
        Bound::Excluded(k) => Bound::Excluded(version_prefix(k)),
        Bound::Unbounded => Bound::Excluded(vec![VERSION_PREFIX + 1]),
    };
    (lo, hi)
}

/// A transaction's commit as plain data: applied by
/// [`MvccStore::apply`](super::MvccStore::apply), which every replica runs on the same
/// batches in the same order to reach the same verdict and the same bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvBatch {
    pub read_ts: Timestamp,
    pub commit_ts: Timestamp,
    /// Sorted by key, each key once; `None` deletes.
    pub writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

const BATCH_FORMAT: u8 = 1;

impl KvBatch {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![BATCH_FORMAT];
        out.extend_from_slice(&self.read_ts.to_bytes());
        out.extend_from_slice(&self.commit_ts.to_bytes());
        put_varint(&mut out, self.writes.len() as u64);
        for (k, v) in &self.writes {
            put_length_prefixed(&mut out, k);
            match v {
                None => out.push(0),
                Some(v) => {
                    out.push(1);
                    put_length_prefixed(&mut out, v);
                }
            }
        }
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<KvBatch> {
        let bad = |what: &str| Error::InvalidArgument(format!("malformed KV batch: {what}"));
        let mut d = Decoder::new(bytes);
        match d.u8() {
            Some(BATCH_FORMAT) => {}
            Some(v) => return Err(bad(&format!("unknown format {v}"))),
            None => return Err(bad("empty")),
        }
        let read_ts = d
            .bytes(12)
            .and_then(Timestamp::from_bytes)
            .ok_or_else(|| bad("read timestamp"))?;
        let commit_ts = d
            .bytes(12)
            .and_then(Timestamp::from_bytes)
            .ok_or_else(|| bad("commit timestamp"))?;
        let count = d.varint().ok_or_else(|| bad("count"))?;
        let mut writes = Vec::with_capacity(count.min(1024) as usize);
        for _ in 0..count {
            let k = d.length_prefixed().ok_or_else(|| bad("key"))?.to_vec();
            let v = match d.u8() {
                Some(0) => None,
                Some(1) => Some(d.length_prefixed().ok_or_else(|| bad("value"))?.to_vec()),
                _ => return Err(bad("write kind")),
            };
            writes.push((k, v));
        }
        if !d.is_empty() {
            return Err(bad("trailing bytes"));
        }
        if !writes.windows(2).all(|w| w[0].0 < w[1].0) {
            return Err(bad("writes not sorted by key"));
        }
        Ok(KvBatch {
            read_ts,
            commit_ts,
            writes,
        })
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn versions_order_by_key_then_newest_first() {
        let a_old = version_key(b"a", Timestamp::new(1, 0));
        let a_new = version_key(b"a", Timestamp::new(2, 0));
        let a0 = version_key(b"a\x00", Timestamp::new(9, 0));
        let b = version_key(b"b", Timestamp::new(0, 0));
        assert!(a_new < a_old && a_old < a0 && a0 < b);
        assert_eq!(
            decode_version_key(&a0).unwrap(),
            (b"a\x00".to_vec(), Timestamp::new(9, 0))
        );
        assert!(version_prefix(b"a") < a_new && a_old <= version_key_last(b"a"));
    }

    #[test]
    fn batch_round_trips_and_rejects_garbage() {
        let batch = KvBatch {
            read_ts: Timestamp::new(5, 1),
            commit_ts: Timestamp::new(6, 0),
            writes: vec![(b"a".to_vec(), Some(b"1".to_vec())), (b"b".to_vec(), None)],
        };
        let bytes = batch.encode();
        assert_eq!(KvBatch::decode(&bytes).unwrap(), batch);
        for cut in 0..bytes.len() {
            assert!(KvBatch::decode(&bytes[..cut]).is_err());
        }
    }
}
