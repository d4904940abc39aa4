//! Internal keys: a user key plus the sequence number and kind of the write.
//!
//! ```text
//! +----------------------+---------------------------------+
//! | user key (n bytes)   | trailer: (seq << 8 | kind) u64 LE|
//! +----------------------+---------------------------------+
//! ```
//!
//! Ordering invariant (used by every iterator, block and table): user keys ascending by bytes,
//! then sequence numbers **descending**, so the newest version of a key comes first and the
//! newest version visible at snapshot `s` is found by one seek to `(key, s)`. Sequence numbers
//! are unique per write, so two internal keys never compare equal unless identical.

use std::cmp::Ordering;

/// Sequence numbers fit in 56 bits; the low byte of the trailer is the kind.
pub const MAX_SEQUENCE: u64 = (1 << 56) - 1;

/// Width of the trailer appended to every user key.
pub const TRAILER_BYTES: usize = 8;

/// What a version of a key says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ValueKind {
    /// The key was deleted (a tombstone).
    Delete = 0,
    /// The key was set to a value.
    Put = 1,
}

impl ValueKind {
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            _ => None,
        }
    }
}

/// Encodes `user_key` with its trailer into `out` (cleared first).
pub fn encode_into(out: &mut Vec<u8>, user_key: &[u8], seq: u64, kind: ValueKind) {
    debug_assert!(seq <= MAX_SEQUENCE, "sequence {seq} exceeds 56 bits");
    out.clear();
    out.reserve(user_key.len() + TRAILER_BYTES);
    out.extend_from_slice(user_key);
    out.extend_from_slice(&((seq << 8) | kind as u64).to_le_bytes());
}

/// Encodes `user_key` with its trailer.
pub fn encode(user_key: &[u8], seq: u64, kind: ValueKind) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(&mut out, user_key, seq, kind);
    out
}

/// The key that sorts before every version of `user_key` visible at `seq` and after every
/// newer one: seek here to find the newest visible version.
pub fn seek_key(user_key: &[u8], seq: u64) -> Vec<u8> {
    encode(user_key, seq, ValueKind::Put)
}

/// A decoded view of an encoded internal key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedKey<'a> {
    pub user_key: &'a [u8],
    pub seq: u64,
    pub kind: ValueKind,
}

/// Splits an encoded internal key; `None` if it is too short or has an unknown kind.
pub fn parse(key: &[u8]) -> Option<ParsedKey<'_>> {
    let split = key.len().checked_sub(TRAILER_BYTES)?;
    let trailer = u64::from_le_bytes(key[split..].try_into().ok()?);
    Some(ParsedKey {
        user_key: &key[..split],
        seq: trailer >> 8,
        kind: ValueKind::from_u8(trailer as u8)?,
    })
}

/// The user key part of an encoded internal key (the whole key if it is malformed).
pub fn user_key(key: &[u8]) -> &[u8] {
    &key[..key.len().saturating_sub(TRAILER_BYTES)]
}

fn trailer(key: &[u8]) -> u64 {
    let split = key.len().saturating_sub(TRAILER_BYTES);
    key[split..]
        .try_into()
        .map(u64::from_le_bytes)
        .unwrap_or_default()
}

/// The internal key order: user key ascending, then sequence descending.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    user_key(a)
        .cmp(user_key(b))
        .then_with(|| (trailer(b) >> 8).cmp(&(trailer(a) >> 8)))
}

/// An owned internal key ordered by [`compare`], for maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalKey(pub Vec<u8>);

impl Ord for InternalKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare(&self.0, &other.0)
    }
}

impl PartialOrd for InternalKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_sort_first_and_prefixes_sort_before() {
        let a5 = encode(b"a", 5, ValueKind::Put);
        let a9 = encode(b"a", 9, ValueKind::Delete);
        let ab1 = encode(b"ab", 1, ValueKind::Put);
        assert_eq!(compare(&a9, &a5), Ordering::Less);
        assert_eq!(compare(&a5, &ab1), Ordering::Less);
        assert_eq!(compare(&a9, &ab1), Ordering::Less);
        let parsed = parse(&a9).expect("well formed");
        assert_eq!(
            (parsed.user_key, parsed.seq, parsed.kind),
            (&b"a"[..], 9, ValueKind::Delete)
        );
    }

    #[test]
    fn seek_key_lands_on_newest_visible_version() {
        let v3 = encode(b"k", 3, ValueKind::Put);
        let v7 = encode(b"k", 7, ValueKind::Put);
        let at5 = seek_key(b"k", 5);
        assert_eq!(compare(&v7, &at5), Ordering::Less);
        assert_eq!(compare(&at5, &v3), Ordering::Less);
    }
}
