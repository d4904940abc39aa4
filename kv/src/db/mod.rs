//! The store: [`Db`] ties the WAL, memtables, SSTables, manifest and compaction together.
//!
//! Write path (write.rs): writers queue their batches; one of them becomes the *leader*, takes
//! every queued batch, assigns sequence numbers, appends them to the WAL with one write and (if
//! any writer asked) one sync — group commit — inserts them into the memtable, publishes the new
//! last sequence, hands each member its result through the member's own condition variable, and
//! passes the leader role straight to the oldest writer queued meanwhile. When the memtable is full the leader freezes it, starts a
//! new WAL segment and hands the frozen memtable to the background for flushing.
//!
//! Background (background.rs): flush the oldest frozen memtable to an L0 SSTable, or run the
//! compaction the picker chooses; each result is one manifest edit, after which a new
//! [`Current`] (version + open tables) replaces the old one.
//!
//! Read path (this file, iter.rs): a reader takes a [`ReadView`] — the memtables, the
//! `Arc<Current>` and the last published sequence — under the state lock, then reads without
//! it. Everything a view references stays alive (and its files on disk) until the view is
//! dropped, so a scan sees one consistent state while flushes and compactions run.

mod background;
mod iter;
mod open;
mod write;

use std::collections::HashMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};

pub use iter::DbIterator;
pub use open::RecoveryReport;

use crate::batch::WriteBatch;
use crate::error::{Error, Result};
use crate::fs::{FileLock, FileSystem};
use crate::iter::Direction;
use crate::manifest::ManifestWriter;
use crate::memtable::Memtable;
use crate::options::{BackgroundMode, Options};
use crate::sstable::Table;
use crate::stats::{LevelStats, Stats, StatsSnapshot};
use crate::version::Version;
use crate::wal::WalWriter;

/// Durability of one write.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Sync the WAL before returning: the write survives power loss. Without it the write is
    /// in the OS and survives a process crash, but not a machine crash.
    pub sync: bool,
}

impl WriteOptions {
    pub const SYNC: WriteOptions = WriteOptions { sync: true };
    pub const BUFFERED: WriteOptions = WriteOptions { sync: false };
}

/// A version and its open tables: what readers of the SSTables need.
#[derive(Debug)]
pub struct Current {
    pub version: Version,
    tables: HashMap<u64, Arc<Table>>,
}

impl Current {
    fn table(&self, number: u64) -> Result<&Arc<Table>> {
        self.tables.get(&number).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "invariant: table {number} of the version is not open"
            ))
        })
    }
}

/// Everything a reader needs, pinned.
#[derive(Debug, Clone)]
pub(crate) struct ReadView {
    /// Newest first.
    mems: Vec<Arc<Memtable>>,
    current: Arc<Current>,
    seq: u64,
}

impl ReadView {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        for mem in &self.mems {
            if let Some(found) = mem.get(key, self.seq) {
                return Ok(found);
            }
        }
        let version = &self.current.version;
        for f in &version.levels[0] {
            if f.overlaps(Some(key), Some(key))
                && let Some(found) = self.current.table(f.number)?.get(key, self.seq)?
            {
                return Ok(found);
            }
        }
        for files in &version.levels[1..] {
            let i = files.partition_point(|f| f.largest_user_key() < key);
            if let Some(f) = files.get(i).filter(|f| f.smallest_user_key() <= key)
                && let Some(found) = self.current.table(f.number)?.get(key, self.seq)?
            {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

/// State guarded by the state lock.
#[derive(Debug)]
struct State {
    mem: Arc<Memtable>,
    /// Frozen memtables waiting for flush, oldest first.
    imm: Vec<Arc<Memtable>>,
    current: Arc<Current>,
    /// `None` when opened read-only.
    manifest: Option<ManifestWriter>,
    log_number: u64,
    next_file_number: u64,
    /// The newest sequence number whose write is fully in the memtable (visible to readers).
    last_sequence: u64,
    /// Set when a write or background job failed in a way that leaves durability unknown.
    bg_error: Option<String>,
    /// A flush or compaction is running (only one at a time).
    bg_running: bool,
    closing: bool,
    read_only: bool,
}

impl State {
    fn allocate_file_number(&mut self) -> u64 {
        let n = self.next_file_number;
        self.next_file_number += 1;
        n
    }

    fn view(&self) -> ReadView {
        let mut mems = Vec::with_capacity(1 + self.imm.len());
        mems.push(self.mem.clone());
        mems.extend(self.imm.iter().rev().cloned());
        ReadView {
            mems,
            current: self.current.clone(),
            seq: self.last_sequence,
        }
    }

    fn check_error(&self) -> Result<()> {
        match (&self.bg_error, self.closing) {
            (Some(e), _) => Err(Error::BackgroundFailed(e.clone())),
            (None, true) => Err(Error::Closed),
            (None, false) if self.read_only => {
                Err(Error::InvalidArgument("the store is open read-only".into()))
            }
            (None, false) => Ok(()),
        }
    }
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    fs: Arc<dyn FileSystem>,
    opts: Options,
    stats: Arc<Stats>,
    state: Mutex<State>,
    /// Wakes the background worker: new work, or closing.
    work_cv: Condvar,
    /// Wakes writers waiting for room and callers waiting for background work to finish.
    room_cv: Condvar,
    queue: Mutex<write::WriteQueue>,
    queue_cv: Condvar,
    /// The live WAL segment; used only by the holder of the writer role. `None` when opened
    /// read-only.
    wal: Mutex<Option<WalWriter>>,
    recovery: RecoveryReport,
    _lock: Box<dyn FileLock>,
}

/// A persistent, ordered key-value store (an LSM tree).
///
/// Cheap to share across threads by reference (`&Db` is `Sync`); dropping it stops the
/// background worker and syncs the WAL.
#[derive(Debug)]
pub struct Db {
    inner: Arc<Inner>,
    worker: Option<JoinHandle<()>>,
}

/// A consistent read-only view of the store at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    view: ReadView,
}

impl Snapshot {
    /// The sequence number this snapshot reads at.
    pub fn sequence(&self) -> u64 {
        self.view.seq
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.view.get(key)
    }

    /// Iterates keys in `[lower, upper]` per the bounds, in `direction`.
    pub fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<DbIterator> {
        DbIterator::new(self.view.clone(), lower, upper, direction)
    }
}

/// The smallest key greater than every key starting with `prefix`, if any.
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Db {
    /// Opens (or creates) the store in `dir` on the real filesystem.
    pub fn open(dir: impl AsRef<Path>, opts: Options) -> Result<Db> {
        Self::open_with_fs(Arc::new(crate::fs::RealFs), dir.as_ref(), opts)
    }

    /// Opens (or creates) the store in `dir` on `fs`.
    pub fn open_with_fs(fs: Arc<dyn FileSystem>, dir: &Path, opts: Options) -> Result<Db> {
        let inner = Arc::new(open::open(fs, dir, opts)?);
        let worker = match inner.opts.background {
            _ if inner.opts.read_only => None,
            BackgroundMode::Thread => {
                let inner = inner.clone();
                let handle = std::thread::Builder::new()
                    .name("chronos-kv-bg".into())
                    .spawn(move || background::worker(&inner))
                    .map_err(|e| Error::io("starting the background thread", e))?;
                Some(handle)
            }
            BackgroundMode::Inline => {
                background::run_inline(&inner)?;
                None
            }
        };
        Ok(Db { inner, worker })
    }

    /// What recovery found when the store was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Applies `batch` atomically; returns the sequence number of its last operation.
    pub fn write(&self, batch: WriteBatch, opts: WriteOptions) -> Result<u64> {
        write::write(&self.inner, batch, opts)
    }

    pub fn put(&self, key: &[u8], value: &[u8], opts: WriteOptions) -> Result<u64> {
        let mut b = WriteBatch::new();
        b.put(key, value)?;
        self.write(b, opts)
    }

    pub fn delete(&self, key: &[u8], opts: WriteOptions) -> Result<u64> {
        let mut b = WriteBatch::new();
        b.delete(key)?;
        self.write(b, opts)
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let view = self.inner.state.lock().view();
        view.get(key)
    }

    /// Pins the current state for consistent reads.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            view: self.inner.state.lock().view(),
        }
    }

    /// Iterates keys within the bounds, in `direction`, at the current state.
    pub fn scan(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
        direction: Direction,
    ) -> Result<DbIterator> {
        self.snapshot().scan(lower, upper, direction)
    }

    /// Iterates keys starting with `prefix`.
    pub fn scan_prefix(&self, prefix: &[u8], direction: Direction) -> Result<DbIterator> {
        let end = prefix_successor(prefix);
        let upper = end.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        self.scan(Bound::Included(prefix), upper, direction)
    }

    /// Flushes the memtable (if not empty) and waits until no frozen memtable remains.
    pub fn flush(&self) -> Result<()> {
        write::force_rotate(&self.inner)?;
        background::wait_until(&self.inner, |st| st.imm.is_empty())
    }

    /// Runs compactions until the picker finds nothing to do.
    pub fn compact(&self) -> Result<()> {
        let opts = &self.inner.opts;
        background::wait_until(&self.inner, |st| {
            st.imm.is_empty() && crate::compaction::pick(&st.current.version, opts).is_none()
        })
    }

    /// Flushes, then compacts every level into the deepest non-empty one, dropping every
    /// shadowed version and tombstone (returns the space of deleted data).
    pub fn compact_all(&self) -> Result<()> {
        self.flush()?;
        background::compact_all(&self.inner)
    }

    /// Makes every write so far durable.
    pub fn sync_wal(&self) -> Result<()> {
        write::with_writer_role(&self.inner, |inner| match inner.wal.lock().as_mut() {
            Some(wal) => wal.sync(),
            None => Ok(()),
        })
    }

    /// Counters and the shape of the tree.
    pub fn stats(&self) -> StatsSnapshot {
        let mut s = self.inner.stats.snapshot();
        let st = self.inner.state.lock();
        s.levels = st
            .current
            .version
            .levels
            .iter()
            .map(|files| LevelStats {
                files: files.len(),
                bytes: files.iter().map(|f| f.size_bytes).sum(),
            })
            .collect();
        s.memtable_bytes = st.mem.size_bytes();
        s.immutable_memtables = st.imm.len();
        s.last_sequence = st.last_sequence;
        s
    }

    /// The current version (for inspection tools).
    pub fn version(&self) -> Version {
        self.inner.state.lock().current.version.clone()
    }

    /// Reads every block of every SSTable, checking every checksum; returns entries checked.
    pub fn verify(&self) -> Result<u64> {
        let current = self.inner.state.lock().current.clone();
        let mut entries = 0;
        for table in current.tables.values() {
            entries += table.verify_all()?;
        }
        Ok(entries)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        {
            let mut st = self.inner.state.lock();
            st.closing = true;
        }
        self.inner.work_cv.notify_all();
        self.inner.room_cv.notify_all();
        if let Some(worker) = self.worker.take()
            && worker.join().is_err()
        {
            tracing::error!("the background thread panicked");
        }
        // Buffered writes were handed to the OS already; a final sync makes a clean shutdown
        // durable against power loss too.
        if let Some(Err(e)) = self.inner.wal.lock().as_mut().map(WalWriter::sync) {
            tracing::warn!(error = %e, "could not sync the WAL on close");
        }
    }
}
