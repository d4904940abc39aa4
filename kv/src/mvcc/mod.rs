//! Multi-version concurrency control: snapshot-isolated transactions over the engine.
//!
//! Every write creates a *version* of its key stamped with the commit timestamp of its
//! transaction (a hybrid logical clock [`Timestamp`]); a delete creates a tombstone version.
//! Versions live in the engine under keys that sort by user key and then newest first
//! (layout in `encoding.rs`), so the newest version at or below a read timestamp is one seek,
//! and a range scan at a timestamp streams visible rows ([`TxnScan`]).
//!
//! Transactions ([`Transaction`]) read a snapshot — the last commit timestamp when they began —
//! plus their own buffered writes. Commit is the plain value [`KvBatch`] (read timestamp, write
//! set, commit timestamp) applied by [`MvccStore::apply`], a deterministic function of the
//! stored state: first committer wins (a key with a version newer than the read timestamp is
//! a conflict), otherwise all versions and the new last-commit timestamp go into one atomic
//! engine batch. Commits apply one at a time in timestamp order, and a new snapshot reads at
//! the last *applied* commit, so a snapshot never changes under its reader.
//!
//! Garbage collection (`gc.rs`) drops versions older than both the oldest live snapshot and
//! the retention window; time-travel reads ([`MvccStore::begin_as_of`]) below that are refused.

mod encoding;
mod gc;
mod store;
mod timestamp;
mod txn;

pub use encoding::{
    EngineKey, KvBatch, decode_engine_key, decode_value as decode_version_value, version_prefix,
};
pub use gc::GcReport;
pub use store::{CommitVerdict, MvccOptions, MvccStore};
pub use timestamp::{HybridClock, ManualClock, Timestamp, WallClock};
pub use txn::{Transaction, TxnScan, Write};
