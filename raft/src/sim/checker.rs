//! Safety checkers, separate from the workload: they observe every node after every step and
//! record the first violation.

use std::collections::BTreeMap;

use crate::RawNode;
use crate::types::{Entry, EntryPayload, HardState, Index, NodeId, Term};

/// Global observations across all nodes and all time.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    /// term -> the node that led it.
    leaders: BTreeMap<Term, NodeId>,
    /// index -> (term, payload) of every entry any node ever considered committed.
    committed: BTreeMap<Index, (Term, EntryPayload)>,
    /// (index, term) -> (payload, term of the previous entry) of every entry ever written.
    written: BTreeMap<(Index, Term), (EntryPayload, Option<Term>)>,
    /// node -> last durable hard state seen.
    durable: BTreeMap<NodeId, HardState>,
}

pub(crate) type Check = Result<(), String>;

impl Checker {
    /// At most one leader per term.
    pub fn observe_role(&mut self, node: &RawNode) -> Check {
        let r = node.raft();
        if r.role() == crate::types::Role::Leader {
            let prev = *self.leaders.entry(r.term()).or_insert(r.id());
            if prev != r.id() {
                return Err(format!(
                    "two leaders in term {}: {prev} and {}",
                    r.term(),
                    r.id()
                ));
            }
        }
        Ok(())
    }

    /// A node just became leader: its log must hold every committed entry (leader completeness).
    pub fn observe_new_leader(&self, node: &RawNode) -> Check {
        let log = node.raft().log();
        for (&i, (t, _)) in self.committed.range(log.snapshot_index() + 1..) {
            if log.term(i) != Some(*t) {
                return Err(format!(
                    "leader completeness: node {} leads term {} without committed entry {i}/{t} (has {:?})",
                    node.raft().id(),
                    node.raft().term(),
                    log.term(i)
                ));
            }
        }
        Ok(())
    }

    /// Entries handed out for persistence: (index, term) identifies payload and predecessor
    /// (log matching).
    pub fn observe_written(&mut self, node: &RawNode, entries: &[Entry]) -> Check {
        let log = node.raft().log();
        for e in entries {
            let prev = if e.index == 1 {
                Some(0)
            } else {
                log.term(e.index - 1)
            };
            match self.written.get(&(e.index, e.term)) {
                None => {
                    self.written
                        .insert((e.index, e.term), (e.payload.clone(), prev));
                }
                Some((p, pt)) => {
                    if *p != e.payload {
                        return Err(format!(
                            "log matching: two different entries at {}/{}",
                            e.index, e.term
                        ));
                    }
                    if prev.is_some() && pt.is_some() && prev != *pt {
                        return Err(format!(
                            "log matching: entry {}/{} follows term {prev:?} on node {} but {pt:?} elsewhere",
                            e.index,
                            e.term,
                            node.raft().id()
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    fn commit_entry(
        &mut self,
        index: Index,
        term: Term,
        payload: &EntryPayload,
        who: NodeId,
    ) -> Check {
        match self.committed.get(&index) {
            None => {
                self.committed.insert(index, (term, payload.clone()));
                Ok(())
            }
            Some((t, p)) if *t == term && p == payload => Ok(()),
            Some((t, _)) => Err(format!(
                "committed entry lost: index {index} committed at term {t}, node {who} has term {term} there"
            )),
        }
    }

    /// Everything up to a node's commit index agrees with what was committed before.
    pub fn observe_commit(&mut self, node: &RawNode, from: Index) -> Check {
        let log = node.raft().log();
        let id = node.raft().id();
        for i in from.max(log.first_index())..=log.commit() {
            let e = log
                .entry(i)
                .ok_or_else(|| format!("node {id}: committed index {i} missing from its log"))?;
            let (t, p) = (e.term, e.payload.clone());
            self.commit_entry(i, t, &p, id)?;
        }
        Ok(())
    }

    /// State-machine safety: an applied entry is the committed entry at its index.
    pub fn observe_applied(&mut self, id: NodeId, e: &Entry) -> Check {
        self.commit_entry(e.index, e.term, &e.payload, id)
    }

    /// A persisted hard state: term never decreases, at most one vote per term.
    pub fn observe_hard_state(&mut self, id: NodeId, hs: HardState) -> Check {
        if let Some(prev) = self.durable.get(&id) {
            if hs.term < prev.term {
                return Err(format!(
                    "node {id}: durable term went back {} -> {}",
                    prev.term, hs.term
                ));
            }
            if hs.term == prev.term && prev.vote.is_some() && hs.vote != prev.vote {
                return Err(format!(
                    "node {id}: changed its vote in term {}: {:?} -> {:?}",
                    hs.term, prev.vote, hs.vote
                ));
            }
        }
        self.durable.insert(id, hs);
        Ok(())
    }

    /// Log index of the committed write that set the register to `value` (0 for the initial 0).
    pub fn write_index(&self, value: u64) -> Option<Index> {
        if value == 0 {
            return Some(0);
        }
        self.committed.iter().find_map(|(&i, (_, p))| match p {
            EntryPayload::Normal(d) if super::decode_value(d) == Some(value) => Some(i),
            _ => None,
        })
    }

    /// Whether the committed entry at `index` wrote `value` (index 0: the initial value 0).
    pub fn is_committed_write(&self, index: Index, value: u64) -> bool {
        if index == 0 {
            return value == 0;
        }
        matches!(self.committed.get(&index), Some((_, EntryPayload::Normal(d))) if super::decode_value(d) == Some(value))
    }

    /// Highest committed index seen anywhere.
    pub fn max_committed(&self) -> Index {
        self.committed.keys().next_back().copied().unwrap_or(0)
    }
}
