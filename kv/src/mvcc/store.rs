//! [`MvccStore`]: versions over the engine, the commit verdict, snapshot bookkeeping.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

use parking_lot::Mutex;

use super::encoding::{self, KvBatch};
use super::timestamp::{HybridClock, Timestamp};
use super::txn::Transaction;
use crate::batch::WriteBatch;
use crate::db::{Db, WriteOptions};
use crate::error::{Error, Result};
use crate::iter::Direction;

const LAST_COMMIT_TS: &str = "last_commit_ts";
const GC_WATERMARK: &str = "gc_watermark";

/// Tuning of the MVCC layer.
#[derive(Debug, Clone)]
pub struct MvccOptions {
    /// Most bytes of keys and values one transaction may buffer.
    pub max_write_set_bytes: usize,
    /// Versions stay readable (time travel) for at least this long after being superseded.
    pub retention_ms: u64,
    /// Sync each commit to disk before acknowledging it.
    pub sync_commits: bool,
}

impl Default for MvccOptions {
    fn default() -> Self {
        MvccOptions {
            max_write_set_bytes: 64 << 20,
            retention_ms: 60 * 60 * 1000,
            sync_commits: true,
        }
    }
}

/// The verdict of applying a [`KvBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitVerdict {
    Committed(Timestamp),
    /// First committer wins: `key` has a version newer than the batch's read timestamp.
    Conflict {
        key: Vec<u8>,
    },
}

#[derive(Debug)]
pub(super) struct Tracker {
    /// Every commit at or below this is applied; new snapshots read here.
    pub(super) last_commit_ts: Timestamp,
    /// Versions needed only by reads below this may have been collected.
    pub(super) gc_watermark: Timestamp,
    /// Read timestamps of live transactions, with counts.
    pub(super) active: BTreeMap<Timestamp, usize>,
}

/// Snapshot-isolated transactions over a [`Db`].
#[derive(Debug)]
pub struct MvccStore {
    pub(super) db: Db,
    pub(super) clock: HybridClock,
    pub(super) opts: MvccOptions,
    pub(super) tracker: Mutex<Tracker>,
    /// Serialises commits so they apply in timestamp order.
    commit_lock: Mutex<()>,
    /// State layers above attach to this store (e.g. the SQL catalog cache), one per type.
    extensions:
        Mutex<std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>>,
}

fn read_meta_ts(db: &Db, name: &str) -> Result<Timestamp> {
    match db.get(&encoding::meta_key(name))? {
        None => Ok(Timestamp::ZERO),
        Some(v) => Timestamp::from_bytes(&v)
            .ok_or_else(|| Error::InvalidArgument(format!("malformed MVCC meta entry {name}"))),
    }
}

impl MvccStore {
    /// Wraps an open engine. The clock is advanced past every stored commit, so timestamps
    /// stay monotonic across restarts.
    pub fn open(db: Db, clock: HybridClock, opts: MvccOptions) -> Result<Arc<MvccStore>> {
        let last_commit_ts = read_meta_ts(&db, LAST_COMMIT_TS)?;
        let gc_watermark = read_meta_ts(&db, GC_WATERMARK)?;
        clock.update(last_commit_ts);
        Ok(Arc::new(MvccStore {
            db,
            clock,
            opts,
            tracker: Mutex::new(Tracker {
                last_commit_ts,
                gc_watermark,
                active: BTreeMap::new(),
            }),
            commit_lock: Mutex::new(()),
            extensions: Mutex::new(std::collections::HashMap::new()),
        }))
    }

    /// The instance of `T` attached to this store, created on first use. Lets layers above
    /// keep per-store state (caches) without this crate knowing their types.
    pub fn extension<T: std::any::Any + Send + Sync + Default>(&self) -> Arc<T> {
        let mut map = self.extensions.lock();
        let entry = map
            .entry(std::any::TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn std::any::Any + Send + Sync>)
            .clone();
        drop(map);
        entry
            .downcast::<T>()
            .unwrap_or_else(|_| Arc::new(T::default()))
    }

    /// The engine underneath (for statistics and inspection).
    pub fn engine(&self) -> &Db {
        &self.db
    }

    pub fn options(&self) -> &MvccOptions {
        &self.opts
    }

    /// A fresh timestamp from the store's clock, greater than any it handed out before
    /// (callers use it as a node-unique id, e.g. for hidden row ids).
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The newest applied commit timestamp.
    pub fn last_commit_ts(&self) -> Timestamp {
        self.tracker.lock().last_commit_ts
    }

    /// The oldest timestamp time-travel reads may use.
    pub fn gc_watermark(&self) -> Timestamp {
        self.tracker.lock().gc_watermark
    }

    /// Starts a read-write transaction reading the latest committed state.
    pub fn begin(self: &Arc<Self>) -> Transaction {
        let ts = self
            .register(None)
            .expect("invariant: the latest state is always readable");
        Transaction::new(self.clone(), ts, false)
    }

    /// Starts a read-only transaction on the latest committed state.
    pub fn begin_read_only(self: &Arc<Self>) -> Transaction {
        let ts = self
            .register(None)
            .expect("invariant: the latest state is always readable");
        Transaction::new(self.clone(), ts, true)
    }

    /// Starts a read-only transaction reading as of `ts` (time travel), which must be within
    /// the retention window and not in the future.
    pub fn begin_as_of(self: &Arc<Self>, ts: Timestamp) -> Result<Transaction> {
        let ts = self.register(Some(ts))?;
        Ok(Transaction::new(self.clone(), ts, true))
    }

    fn register(&self, at: Option<Timestamp>) -> Result<Timestamp> {
        let mut t = self.tracker.lock();
        let ts = at.unwrap_or(t.last_commit_ts);
        if ts < t.gc_watermark {
            return Err(Error::TimestampOutOfRange {
                ts: ts.to_string(),
                reason: format!(
                    "older versions were garbage collected (watermark {})",
                    t.gc_watermark
                ),
            });
        }
        if ts > t.last_commit_ts {
            return Err(Error::TimestampOutOfRange {
                ts: ts.to_string(),
                reason: format!("it is after the latest commit {}", t.last_commit_ts),
            });
        }
        *t.active.entry(ts).or_default() += 1;
        Ok(ts)
    }

    pub(super) fn unregister(&self, ts: Timestamp) {
        let mut t = self.tracker.lock();
        if let Some(n) = t.active.get_mut(&ts) {
            *n -= 1;
            if *n == 0 {
                t.active.remove(&ts);
            }
        }
    }

    /// The newest version of `key` at or below `ts`: `Some(None)` is a tombstone, `None` means
    /// no version at all. One engine seek.
    pub(super) fn read_version(
        &self,
        key: &[u8],
        ts: Timestamp,
    ) -> Result<Option<(Timestamp, Option<Vec<u8>>)>> {
        let start = encoding::version_key(key, ts);
        let end = encoding::version_key_last(key);
        let mut it = self.db.scan(
            Bound::Included(&start),
            Bound::Included(&end),
            Direction::Forward,
        )?;
        match it.next() {
            None => Ok(None),
            Some(entry) => {
                let (k, v) = entry?;
                let (_, version_ts) = encoding::decode_version_key(&k)?;
                Ok(Some((
                    version_ts,
                    encoding::decode_value(&v)?.map(<[u8]>::to_vec),
                )))
            }
        }
    }

    /// Reads `key` as of `ts`.
    pub fn get_at(&self, key: &[u8], ts: Timestamp) -> Result<Option<Vec<u8>>> {
        Ok(self.read_version(key, ts)?.and_then(|(_, v)| v))
    }

    /// Commits buffered writes: assigns a commit timestamp above every earlier one and applies
    /// the batch. Used by single-node transactions; a replicated node assigns the timestamp on
    /// the leader and calls [`MvccStore::apply`] on every replica instead.
    pub fn commit_writes(
        &self,
        read_ts: Timestamp,
        writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<Timestamp> {
        let _serial = self.commit_lock.lock();
        let last = self.tracker.lock().last_commit_ts;
        let commit_ts = self.clock.now().max(last.next());
        let batch = KvBatch {
            read_ts,
            commit_ts,
            writes,
        };
        match self.apply_locked(&batch)? {
            CommitVerdict::Committed(ts) => Ok(ts),
            CommitVerdict::Conflict { key } => Err(Error::Conflict {
                key: String::from_utf8_lossy(&key).into_owned(),
            }),
        }
    }

    /// Applies a commit: a deterministic function of the stored state and `batch`.
    ///
    /// Verdict: a batch whose commit timestamp is not above the last applied one is refused
    /// (an error: the caller broke the ordering contract); a batch any of whose keys has a
    /// version newer than its read timestamp is a [`CommitVerdict::Conflict`]; otherwise every
    /// version and the new last-commit timestamp are written as one atomic engine batch.
    pub fn apply(&self, batch: &KvBatch) -> Result<CommitVerdict> {
        let _serial = self.commit_lock.lock();
        self.apply_locked(batch)
    }

    fn apply_locked(&self, batch: &KvBatch) -> Result<CommitVerdict> {
        let last = self.tracker.lock().last_commit_ts;
        if batch.commit_ts <= last {
            return Err(Error::InvalidArgument(format!(
                "commit timestamp {} is not after the last commit {last}",
                batch.commit_ts
            )));
        }
        if batch.read_ts >= batch.commit_ts {
            return Err(Error::InvalidArgument(format!(
                "read timestamp {} is not before commit timestamp {}",
                batch.read_ts, batch.commit_ts
            )));
        }
        for (key, _) in &batch.writes {
            if let Some((ts, _)) = self.read_version(key, Timestamp::MAX)?
                && ts > batch.read_ts
            {
                return Ok(CommitVerdict::Conflict { key: key.clone() });
            }
        }
        let mut wb = WriteBatch::new();
        for (key, value) in &batch.writes {
            wb.put(
                &encoding::version_key(key, batch.commit_ts),
                &encoding::encode_value(value.as_deref()),
            )?;
        }
        wb.put(
            &encoding::meta_key(LAST_COMMIT_TS),
            &batch.commit_ts.to_bytes(),
        )?;
        let durability = if self.opts.sync_commits {
            WriteOptions::SYNC
        } else {
            WriteOptions::BUFFERED
        };
        self.db.write(wb, durability)?;
        self.clock.update(batch.commit_ts);
        self.tracker.lock().last_commit_ts = batch.commit_ts;
        Ok(CommitVerdict::Committed(batch.commit_ts))
    }

    pub(super) fn persist_gc_watermark(&self, ts: Timestamp) -> Result<()> {
        self.db.put(
            &encoding::meta_key(GC_WATERMARK),
            &ts.to_bytes(),
            WriteOptions::SYNC,
        )?;
        Ok(())
    }
}
