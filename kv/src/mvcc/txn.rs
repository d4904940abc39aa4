//! [`Transaction`]: a snapshot plus buffered writes; and [`TxnScan`], its range reads.

use std::collections::BTreeMap;
use std::iter::Peekable;
use std::ops::Bound;
use std::sync::Arc;

use super::encoding;
use super::store::MvccStore;
use super::timestamp::Timestamp;
use crate::db::DbIterator;
use crate::error::{Error, Result};
use crate::iter::Direction;

/// A buffered write: `None` deletes the key.
pub type Write = (Vec<u8>, Option<Vec<u8>>);

type OwnWrites<'a> = Box<dyn Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)> + 'a>;

/// A snapshot-isolated transaction.
///
/// Reads see the newest version committed at or below the read timestamp, plus this
/// transaction's own writes. Writes are buffered until [`Transaction::commit`]; dropping the
/// transaction (or [`Transaction::rollback`]) discards them.
#[derive(Debug)]
pub struct Transaction {
    store: Arc<MvccStore>,
    read_ts: Timestamp,
    /// The store's hybrid clock when the transaction began: its wall time for layers above
    /// (SQL's `now()` is the transaction's start, as in PostgreSQL). Unrelated to `read_ts`,
    /// which is the snapshot (the last commit), not the present.
    begun_at: Timestamp,
    read_only: bool,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    write_bytes: usize,
    /// Whether `read_ts` is still registered with the store (until commit, rollback or drop).
    registered: bool,
}

impl Transaction {
    pub(super) fn new(store: Arc<MvccStore>, read_ts: Timestamp, read_only: bool) -> Self {
        let begun_at = store.now();
        Transaction {
            store,
            read_ts,
            begun_at,
            read_only,
            writes: BTreeMap::new(),
            write_bytes: 0,
            registered: true,
        }
    }

    /// The store this transaction runs in.
    pub fn store(&self) -> &Arc<MvccStore> {
        &self.store
    }

    /// Whether this transaction has buffered a write (or delete) of `key`.
    pub fn has_write(&self, key: &[u8]) -> bool {
        self.writes.contains_key(key)
    }

    /// A read-only transaction seeing exactly what this one sees now: the same snapshot and
    /// a copy of its writes so far (for a cursor that keeps reading, on another thread, what
    /// its transaction saw when it was opened).
    pub fn read_only_copy(&self) -> Result<Transaction> {
        let mut copy = self.store.begin_as_of(self.read_ts)?;
        copy.writes = self.writes.clone();
        copy.write_bytes = self.write_bytes;
        Ok(copy)
    }

    /// The snapshot this transaction reads.
    pub fn read_ts(&self) -> Timestamp {
        self.read_ts
    }

    /// The store's clock reading when this transaction began.
    pub fn begun_at(&self) -> Timestamp {
        self.begun_at
    }

    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Bytes of keys and values buffered so far.
    pub fn write_set_bytes(&self) -> usize {
        self.write_bytes
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(own) = self.writes.get(key) {
            return Ok(own.clone());
        }
        self.store.get_at(key, self.read_ts)
    }

    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.buffer(key, Some(value))
    }

    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.buffer(key, None)
    }

    fn buffer(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        if self.read_only {
            return Err(Error::ReadOnly);
        }
        if key.len() > crate::batch::MAX_KEY_BYTES - 32 {
            return Err(Error::InvalidArgument(format!(
                "key of {} bytes is too large",
                key.len()
            )));
        }
        let added = key.len() + value.map_or(0, <[u8]>::len);
        let removed = self
            .writes
            .get(key)
            .map_or(0, |v| key.len() + v.as_ref().map_or(0, Vec::len));
        let bytes = self.write_bytes - removed + added;
        let limit = self.store.opts.max_write_set_bytes;
        if bytes > limit {
            return Err(Error::WriteSetTooLarge { bytes, limit });
        }
        self.write_bytes = bytes;
        self.writes.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        Ok(())
    }

    /// Keys in the bounds, in `direction`, as this transaction sees them.
    pub fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<TxnScan<'_>> {
        let committed = VersionScan::new(&self.store, lower, upper, direction, self.read_ts)?;
        let own: OwnWrites<'_> = {
            let range = self.writes.range::<[u8], _>((lower, upper));
            match direction {
                Direction::Forward => Box::new(range),
                Direction::Reverse => Box::new(range.rev()),
            }
        };
        Ok(TxnScan {
            committed: committed.peekable(),
            own: own.peekable(),
            direction,
        })
    }

    /// Keys starting with `prefix`.
    pub fn scan_prefix(&self, prefix: &[u8], direction: Direction) -> Result<TxnScan<'_>> {
        let end = crate::db::prefix_successor(prefix);
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.scan(Bound::Included(prefix), upper, direction)
    }

    /// Commits: fails with [`Error::Conflict`] (retryable) if another transaction committed a
    /// write to one of this transaction's keys after its snapshot. Returns the commit
    /// timestamp (the read timestamp for a transaction that wrote nothing).
    pub fn commit(mut self) -> Result<Timestamp> {
        self.release();
        if self.writes.is_empty() {
            return Ok(self.read_ts);
        }
        let writes = std::mem::take(&mut self.writes).into_iter().collect();
        self.store.commit_writes(self.read_ts, writes)
    }

    /// Discards the buffered writes.
    pub fn rollback(mut self) {
        self.release();
    }

    /// The commit as data, for a replicated commit path (the commit timestamp is assigned by
    /// whoever orders commits). The transaction is finished afterwards.
    pub fn into_write_set(mut self) -> (Timestamp, Vec<Write>) {
        self.release();
        (
            self.read_ts,
            std::mem::take(&mut self.writes).into_iter().collect(),
        )
    }

    fn release(&mut self) {
        if self.registered {
            self.registered = false;
            self.store.unregister(self.read_ts);
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        self.release();
    }
}

/// Committed versions of a key range, as visible at a timestamp, streamed from the engine.
struct VersionScan {
    inner: DbIterator,
    read_ts: Timestamp,
    direction: Direction,
    /// Reverse scans see a key's versions oldest first: the candidate so far.
    pending: Option<(Vec<u8>, Option<Vec<u8>>)>,
    last_forward_key: Option<Vec<u8>>,
}

impl VersionScan {
    fn new(
        store: &MvccStore,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
        read_ts: Timestamp,
    ) -> Result<Self> {
        let (lo, hi) = encoding::engine_bounds(lower, upper);
        let inner = store.db.scan(
            lo.as_ref().map(Vec::as_slice),
            hi.as_ref().map(Vec::as_slice),
            direction,
        )?;
        Ok(VersionScan {
            inner,
            read_ts,
            direction,
            pending: None,
            last_forward_key: None,
        })
    }

    fn next_forward(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        for entry in self.inner.by_ref() {
            let (k, v) = entry?;
            let (user_key, ts) = encoding::decode_version_key(&k)?;
            if ts > self.read_ts || self.last_forward_key.as_ref() == Some(&user_key) {
                continue;
            }
            self.last_forward_key = Some(user_key.clone());
            if let Some(value) = encoding::decode_value(&v)? {
                return Ok(Some((user_key, value.to_vec())));
            }
        }
        Ok(None)
    }

    fn next_reverse(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        loop {
            let Some(entry) = self.inner.next() else {
                return Ok(match self.pending.take() {
                    Some((k, Some(v))) => Some((k, v)),
                    _ => None,
                });
            };
            let (k, v) = entry?;
            let (user_key, ts) = encoding::decode_version_key(&k)?;
            let emit = match &self.pending {
                Some((pk, _)) if *pk != user_key => self.pending.take(),
                _ => None,
            };
            if ts <= self.read_ts {
                // Versions arrive oldest first: a later visible one replaces the candidate.
                self.pending = Some((user_key, encoding::decode_value(&v)?.map(<[u8]>::to_vec)));
            } else if self.pending.as_ref().is_none_or(|(pk, _)| *pk != user_key) {
                self.pending = Some((user_key, None));
            }
            if let Some((k, Some(v))) = emit {
                return Ok(Some((k, v)));
            }
        }
    }
}

impl Iterator for VersionScan {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        let r = match self.direction {
            Direction::Forward => self.next_forward(),
            Direction::Reverse => self.next_reverse(),
        };
        r.transpose()
    }
}

/// A transaction's view of a key range: committed versions merged with its own writes.
pub struct TxnScan<'a> {
    committed: Peekable<VersionScan>,
    own: Peekable<OwnWrites<'a>>,
    direction: Direction,
}

impl std::fmt::Debug for TxnScan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TxnScan")
            .field("direction", &self.direction)
            .finish()
    }
}

impl Iterator for TxnScan<'_> {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            // Which source holds the next key in scan order (own writes win ties).
            let take_own = match (self.committed.peek(), self.own.peek()) {
                (None, None) => return None,
                (Some(Err(_)), _) => false,
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (Some(Ok((ck, _))), Some((ok, _))) => {
                    let order = ok.as_slice().cmp(ck.as_slice());
                    match self.direction {
                        Direction::Forward => order.is_le(),
                        Direction::Reverse => order.is_ge(),
                    }
                }
            };
            if !take_own {
                return self.committed.next();
            }
            let (key, value) = self.own.next()?;
            if let Some(Ok((ck, _))) = self.committed.peek()
                && ck == key
            {
                self.committed.next();
            }
            if let Some(v) = value {
                return Some(Ok((key.clone(), v.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

    use std::path::Path;
    use std::sync::Arc;

    use crate::fs::MemFs;
    use crate::mvcc::{HybridClock, ManualClock, MvccOptions, MvccStore};
    use crate::{Db, Options};

    #[test]
    fn a_read_only_copy_sees_the_snapshot_and_writes_of_the_moment_it_was_taken() {
        let db =
            Db::open_with_fs(Arc::new(MemFs::new()), Path::new("/db"), Options::tiny()).unwrap();
        let clock = HybridClock::new(Arc::new(ManualClock::new(1_000)));
        let s = MvccStore::open(db, clock, MvccOptions::default()).unwrap();
        let mut t = s.begin();
        t.put(b"own", b"1").unwrap();
        let copy = t.read_only_copy().unwrap();
        // Later writes of the transaction, and commits by others, stay invisible to the copy.
        t.put(b"later", b"2").unwrap();
        let mut other = s.begin();
        other.put(b"other", b"3").unwrap();
        other.commit().unwrap();
        assert_eq!(copy.get(b"own").unwrap(), Some(b"1".to_vec()));
        assert_eq!(copy.get(b"later").unwrap(), None);
        assert_eq!(copy.get(b"other").unwrap(), None);
        assert!(copy.is_read_only());
        assert_eq!(copy.read_ts(), t.read_ts());
        drop(copy);
        t.commit().unwrap();
    }
}
