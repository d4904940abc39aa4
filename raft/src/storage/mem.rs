//! In-memory storage that keeps a durable image apart from unsynced writes, so a test can crash
//! a node and lose exactly what was not synced.

use crate::error::Result;
use crate::rawnode::InitialState;
use crate::storage::LogStorage;
use crate::types::{Entry, HardState, Snapshot};

#[derive(Clone, Debug)]
enum Op {
    Append(Vec<Entry>),
    HardState(HardState),
    Install(Snapshot),
    Compact(Snapshot),
}

/// In-memory [`LogStorage`]. Invariant: `state.entries` are contiguous and start right after the
/// snapshot index (or at any index if there is no snapshot and the log was never compacted).
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    state: InitialState,
    unsynced: Vec<Op>,
}

fn apply(state: &mut InitialState, op: Op) {
    match op {
        Op::Append(entries) => {
            let Some(first) = entries.first() else { return };
            let base = state.snapshot.as_ref().map_or(0, |s| s.meta.index);
            let keep = first.index.saturating_sub(base + 1) as usize;
            assert!(
                keep <= state.entries.len(),
                "invariant: storage append leaves no gap at {}",
                first.index
            );
            state.entries.truncate(keep);
            state.entries.extend(entries);
        }
        Op::HardState(hs) => state.hard_state = hs,
        Op::Install(snap) => {
            state.entries.clear();
            state.snapshot = Some(snap);
        }
        Op::Compact(snap) => {
            if state
                .snapshot
                .as_ref()
                .is_some_and(|s| s.meta.index >= snap.meta.index)
            {
                return;
            }
            let base = state.snapshot.as_ref().map_or(0, |s| s.meta.index);
            let drop = ((snap.meta.index - base) as usize).min(state.entries.len());
            state.entries.drain(..drop);
            state.snapshot = Some(snap);
        }
    }
}

impl MemStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulate a crash: every write since the last `sync` is lost.
    pub fn crash(&mut self) {
        self.unsynced.clear();
    }

    /// Number of durable entries (after the snapshot).
    pub fn durable_len(&self) -> usize {
        self.state.entries.len()
    }
}

impl LogStorage for MemStorage {
    fn initial_state(&self) -> Result<InitialState> {
        let mut s = self.state.clone();
        for op in &self.unsynced {
            apply(&mut s, op.clone());
        }
        Ok(s)
    }

    fn append(&mut self, entries: &[Entry]) -> Result<()> {
        self.unsynced.push(Op::Append(entries.to_vec()));
        Ok(())
    }

    fn set_hard_state(&mut self, hs: HardState) -> Result<()> {
        self.unsynced.push(Op::HardState(hs));
        Ok(())
    }

    fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.unsynced.push(Op::Install(snapshot.clone()));
        Ok(())
    }

    fn compact(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.unsynced.push(Op::Compact(snapshot.clone()));
        Ok(())
    }

    fn sync(&mut self) -> Result<()> {
        for op in self.unsynced.drain(..) {
            apply(&mut self.state, op);
        }
        Ok(())
    }
}
