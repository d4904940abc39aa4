//! The Chronos storage engine: a persistent, ordered key-value store in the LSM family.
//!
//! # What it owns
//! Durable storage of byte keys and values on one node: atomic write batches, point reads,
//! forward and reverse range scans, consistent snapshots, crash recovery. It knows nothing of
//! SQL, timestamps or replication; MVCC and the SQL encoding are layered on top.
//!
//! # How data flows
//! ```text
//! Db::write(batch) ─► group commit (db/write.rs) ─► WAL segment (wal.rs, chronos_io::record)
//!                                                 └► memtable (memtable.rs)
//! memtable full ─► frozen ─► flush (db/background.rs) ─► L0 SSTable (sstable/)
//! L0 / level too big ─► picker (compaction.rs) ─► merge ─► SSTables one level down
//! every flush/compaction ─► one VersionEdit in the manifest (manifest.rs, version.rs)
//! Db::get / Db::scan ─► ReadView (memtables + Current) ─► MergingIterator (iter.rs)
//!                        ─► visibility by sequence (db/iter.rs) ─► user keys
//! mvcc::Transaction ─► versions `0x01 | keycode(key) | !ts` in the Db ─► commit as a KvBatch
//!                        applied by MvccStore::apply (mvcc/) ─► one atomic WriteBatch
//! ```
//!
//! `keycode` is the order-preserving encoding the layers above build their keys with.
//!
//! # Invariants
//! - Every write gets a unique, increasing sequence number; internal keys order by user key,
//!   then sequence descending (key.rs). Readers see exactly the writes at or below the
//!   sequence they pinned, so a batch is visible whole or not at all.
//! - A write acknowledged with `sync` is in a synced WAL segment or in an SSTable recorded by a
//!   synced manifest edit; WAL segments are deleted only after the edit that covers them.
//! - Only the newest WAL segment may end torn; damage elsewhere is reported as corruption
//!   with file and offset, never skipped.
//! - Files are written, synced, and their directory synced before the manifest names them;
//!   at open, only files the recovered manifest proves obsolete are removed (db/open.rs).
//! - The engine never reads a clock or global randomness, and touches files only through
//!   [`fs::FileSystem`], so tests can crash it deterministically ([`fs::MemFs`]) and inject
//!   faults ([`fs::FaultFs`]). The seam and the record framing live in the `chronos_io` leaf
//!   crate, shared with the Raft log; [`fs`] re-exports the seam.

mod batch;
mod coding;
mod compaction;
mod db;
#[cfg(test)]
mod decode_fuzz;
mod error;
mod iter;
mod key;
pub mod keycode;
mod manifest;
mod memtable;
pub mod mvcc;
mod options;
pub mod sstable;
mod stats;
mod version;
mod wal;

/// The filesystem seam the engine runs on (shared with the Raft log; see `chronos_io`).
pub use chronos_io::fs;
use chronos_io::record;

pub use batch::{BatchOp, MAX_KEY_BYTES, MAX_VALUE_BYTES, WriteBatch};
pub use compaction::{CompactionTask, pick as pick_compaction};
pub use db::{Db, DbIterator, RecoveryReport, Snapshot, WriteOptions, prefix_successor};
pub use error::{Error, Result};
pub use iter::Direction;
pub use key::ValueKind;
pub use manifest::FORMAT_VERSION;
pub use options::{BackgroundMode, Options};
pub use stats::{LevelStats, StatsSnapshot};
pub use version::{FileMeta, Version};
