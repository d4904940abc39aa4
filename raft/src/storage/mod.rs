//! Durable log storage: the trait the driver persists a `Ready` through, an in-memory
//! implementation that can simulate crashes, and a file implementation running on the shared
//! filesystem seam (`chronos_io::fs`: the real filesystem, or its crash-simulating `MemFs`).
//!
//! The core never calls storage itself: it keeps the log in memory and hands out what must be
//! written. Storage is read only at startup ([`LogStorage::initial_state`]).

#[cfg(test)]
mod decode_fuzz;
mod file;
mod mem;

pub use file::FileStorage;
pub use mem::MemStorage;

use crate::error::Result;
use crate::rawnode::{InitialState, Ready};
use crate::types::{Entry, HardState, Snapshot};

/// Durable storage of one node's hard state, log and snapshot.
///
/// Writes may be buffered; only [`LogStorage::sync`] makes them durable, and a crash may lose any
/// write not followed by a completed `sync`, but never reorders them: if a later write survived,
/// every earlier one did.
pub trait LogStorage {
    /// The durable state, to start a node from.
    fn initial_state(&self) -> Result<InitialState>;
    /// Append entries; any existing entry at or after `entries[0].index` is discarded first.
    fn append(&mut self, entries: &[Entry]) -> Result<()>;
    /// Record the hard state.
    fn set_hard_state(&mut self, hs: HardState) -> Result<()>;
    /// Replace the whole log with a snapshot received from the leader.
    fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<()>;
    /// Save a locally taken snapshot and drop the entries it covers (later entries stay).
    fn compact(&mut self, snapshot: &Snapshot) -> Result<()>;
    /// Make every preceding write durable.
    fn sync(&mut self) -> Result<()>;
}

/// Persist the durable part of a `Ready` in the required order and sync, before its messages go
/// out: snapshot, entries, hard state, then one `sync`.
pub fn persist_ready<S: LogStorage + ?Sized>(storage: &mut S, ready: &Ready) -> Result<()> {
    if let Some(snap) = &ready.snapshot {
        storage.install_snapshot(snap)?;
    }
    if !ready.entries.is_empty() {
        storage.append(&ready.entries)?;
    }
    if let Some(hs) = ready.hard_state {
        storage.set_hard_state(hs)?;
    }
    if ready.snapshot.is_some() || !ready.entries.is_empty() || ready.hard_state.is_some() {
        storage.sync()?;
    }
    Ok(())
}
