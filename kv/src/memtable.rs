//! The memtable: recent writes, sorted in memory, until they are flushed to an SSTable.
//!
//! A `BTreeMap` of internal keys under a reader-writer lock. The write path inserts a whole
//! group of batches under one write-lock acquisition. Iterators never hold the lock across
//! calls: they copy a bounded chunk of entries under a read lock and re-seek past the last one
//! for the next chunk, so a scan neither blocks writers for long nor loads the memtable whole.
//! Entries newer than an iterator's snapshot are filtered out above, by sequence number.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::RwLock;

use crate::batch::WriteBatch;
use crate::error::Result;
use crate::iter::{Direction, InternalIterator};
use crate::key::{self, InternalKey, ValueKind};

/// Per-entry bookkeeping the size estimate charges on top of key and value bytes.
const ENTRY_OVERHEAD_BYTES: usize = 48;

/// Entries an iterator copies on its first fill after a seek; each later fill doubles, up to
/// [`ITER_CHUNK_MAX_ENTRIES`]. Point reads (a seek and one entry) stay cheap; long scans
/// amortise the lock.
const ITER_CHUNK_FIRST_ENTRIES: usize = 4;
/// Most entries an iterator copies per lock acquisition.
const ITER_CHUNK_MAX_ENTRIES: usize = 128;

/// Sorted in-memory writes.
#[derive(Debug)]
pub struct Memtable {
    map: RwLock<BTreeMap<InternalKey, Vec<u8>>>,
    size_bytes: AtomicUsize,
    /// The WAL segment holding this memtable's writes.
    wal_number: u64,
}

impl Memtable {
    pub fn new(wal_number: u64) -> Self {
        Memtable {
            map: RwLock::new(BTreeMap::new()),
            size_bytes: AtomicUsize::new(0),
            wal_number,
        }
    }

    pub fn wal_number(&self) -> u64 {
        self.wal_number
    }

    /// Approximate memory used, in bytes.
    pub fn size_bytes(&self) -> usize {
        self.size_bytes.load(Ordering::Relaxed)
    }

    pub fn is_empty(&self) -> bool {
        self.map.read().is_empty()
    }

    /// Inserts batches, the first operation of each getting the paired sequence number.
    pub fn apply<'a>(&self, batches: impl IntoIterator<Item = (&'a WriteBatch, u64)>) {
        let mut map = self.map.write();
        let mut added = 0;
        for (batch, first_seq) in batches {
            for (i, op) in batch.iter().enumerate() {
                let k = key::encode(op.key, first_seq + i as u64, op.kind);
                added += k.len() + op.value.len() + ENTRY_OVERHEAD_BYTES;
                map.insert(InternalKey(k), op.value.to_vec());
            }
        }
        self.size_bytes.fetch_add(added, Ordering::Relaxed);
    }

    /// The newest version of `user_key` at or below `seq`: `Some(None)` for a tombstone,
    /// `None` if this memtable has no visible version.
    pub fn get(&self, user_key: &[u8], seq: u64) -> Option<Option<Vec<u8>>> {
        let target = InternalKey(key::seek_key(user_key, seq));
        let map = self.map.read();
        let (k, v) = map.range(target..).next()?;
        let parsed = key::parse(&k.0)?;
        if parsed.user_key != user_key {
            return None;
        }
        Some(match parsed.kind {
            ValueKind::Put => Some(v.clone()),
            ValueKind::Delete => None,
        })
    }

    /// An iterator over a snapshot-free view (callers filter by sequence).
    pub fn iter(self: &Arc<Self>) -> MemtableIterator {
        MemtableIterator {
            mem: self.clone(),
            chunk: Vec::new(),
            pos: 0,
            chunk_was_full: false,
            chunk_limit: ITER_CHUNK_FIRST_ENTRIES,
            direction: Direction::Forward,
        }
    }
}

/// Iterates a memtable chunk by chunk (see the module doc).
#[derive(Debug)]
pub struct MemtableIterator {
    mem: Arc<Memtable>,
    chunk: Vec<(Vec<u8>, Vec<u8>)>,
    pos: usize,
    /// Whether the last fill hit the chunk limit (more entries may follow).
    chunk_was_full: bool,
    /// Entries the next fill copies.
    chunk_limit: usize,
    direction: Direction,
}

impl MemtableIterator {
    fn fill(&mut self, direction: Direction, from: Bound<InternalKey>) {
        self.direction = direction;
        self.chunk.clear();
        self.pos = 0;
        let map = self.mem.map.read();
        let copy = |(k, v): (&InternalKey, &Vec<u8>)| (k.0.clone(), v.clone());
        match direction {
            Direction::Forward => self.chunk.extend(
                map.range((from, Bound::Unbounded))
                    .take(self.chunk_limit)
                    .map(copy),
            ),
            Direction::Reverse => self.chunk.extend(
                map.range((Bound::Unbounded, from))
                    .rev()
                    .take(self.chunk_limit)
                    .map(copy),
            ),
        }
        self.chunk_was_full = self.chunk.len() == self.chunk_limit;
    }

    fn advance(&mut self) {
        self.pos += 1;
        if self.pos == self.chunk.len() && self.chunk_was_full {
            self.chunk_limit = (self.chunk_limit * 2).min(ITER_CHUNK_MAX_ENTRIES);
            let last = InternalKey(self.chunk[self.pos - 1].0.clone());
            self.fill(self.direction, Bound::Excluded(last));
        }
    }
}

impl InternalIterator for MemtableIterator {
    fn valid(&self) -> bool {
        self.pos < self.chunk.len()
    }
    fn seek_to_first(&mut self) -> Result<()> {
        self.chunk_limit = ITER_CHUNK_FIRST_ENTRIES;
        self.fill(Direction::Forward, Bound::Unbounded);
        Ok(())
    }
    fn seek_to_last(&mut self) -> Result<()> {
        self.chunk_limit = ITER_CHUNK_FIRST_ENTRIES;
        self.fill(Direction::Reverse, Bound::Unbounded);
        Ok(())
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.chunk_limit = ITER_CHUNK_FIRST_ENTRIES;
        self.fill(
            Direction::Forward,
            Bound::Included(InternalKey(target.to_vec())),
        );
        Ok(())
    }
    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.chunk_limit = ITER_CHUNK_FIRST_ENTRIES;
        self.fill(
            Direction::Reverse,
            Bound::Included(InternalKey(target.to_vec())),
        );
        Ok(())
    }
    fn next(&mut self) -> Result<()> {
        debug_assert_eq!(self.direction, Direction::Forward);
        self.advance();
        Ok(())
    }
    fn prev(&mut self) -> Result<()> {
        debug_assert_eq!(self.direction, Direction::Reverse);
        self.advance();
        Ok(())
    }
    fn key(&self) -> &[u8] {
        &self.chunk[self.pos].0
    }
    fn value(&self) -> &[u8] {
        &self.chunk[self.pos].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_sees_newest_version_at_snapshot() {
        let mem = Memtable::new(1);
        let mut b1 = WriteBatch::new();
        b1.put(b"k", b"v1").expect("put");
        let mut b2 = WriteBatch::new();
        b2.delete(b"k").expect("delete");
        mem.apply([(&b1, 1), (&b2, 2)]);
        assert_eq!(mem.get(b"k", 1), Some(Some(b"v1".to_vec())));
        assert_eq!(mem.get(b"k", 2), Some(None));
        assert_eq!(mem.get(b"k", 0), None);
        assert_eq!(mem.get(b"j", 9), None);
    }

    #[test]
    fn iterates_across_chunks_both_ways() {
        let mem = Arc::new(Memtable::new(1));
        let mut b = WriteBatch::new();
        for i in 0..1000u32 {
            b.put(&i.to_be_bytes(), b"v").expect("put");
        }
        mem.apply([(&b, 1)]);
        let mut it = mem.iter();
        it.seek_to_first().expect("seek");
        let mut n = 0u32;
        while it.valid() {
            assert_eq!(key::user_key(it.key()), n.to_be_bytes());
            n += 1;
            it.next().expect("next");
        }
        assert_eq!(n, 1000);
        it.seek_to_last().expect("seek");
        while it.valid() {
            n -= 1;
            assert_eq!(key::user_key(it.key()), n.to_be_bytes());
            it.prev().expect("prev");
        }
        assert_eq!(n, 0);
    }
}
