//! The in-memory Raft log of one node: a snapshot base followed by entries, with the commit,
//! applied and persisted watermarks.
//!
//! The core keeps every entry after the last snapshot in memory (the storage holds the durable
//! copy); compaction bounds it. Entries come in two flavours: durable (at or below `persisted`)
//! and not yet durable (handed out in a `Ready`, or not even that). Only durable entries count
//! towards the leader's own acknowledgement and only durable committed entries are applied.

use crate::message::RejectHint;
use crate::types::{Entry, Index, SnapshotMeta, Term};

/// The log. Invariants (checked by [`RaftLog::check`]):
/// - `entries[i].index == snapshot_index + 1 + i` and terms never decrease along the log;
/// - `snapshot_index <= applied <= commit <= last_index()`;
/// - `persisted <= last_index()` and `unstable_from <= last_index() + 1`.
#[derive(Clone, Debug)]
pub struct RaftLog {
    snapshot_index: Index,
    snapshot_term: Term,
    entries: Vec<Entry>,
    commit: Index,
    applied: Index,
    persisted: Index,
    unstable_from: Index,
}

impl RaftLog {
    /// A log restored from storage: a snapshot base, the durable entries after it, and the
    /// commit and applied indexes (clamped into the valid range).
    pub fn restore_from(
        base: (Index, Term),
        entries: Vec<Entry>,
        commit: Index,
        applied: Index,
    ) -> Self {
        let (snapshot_index, snapshot_term) = base;
        let last = snapshot_index + entries.len() as Index;
        let commit = commit.clamp(snapshot_index, last);
        let log = RaftLog {
            snapshot_index,
            snapshot_term,
            entries,
            commit,
            applied: applied.clamp(snapshot_index, commit),
            persisted: last,
            unstable_from: last + 1,
        };
        log.check();
        log
    }

    /// Assert the invariants (cheap parts always, the per-entry scan in debug builds).
    pub fn check(&self) {
        assert!(
            self.snapshot_index <= self.applied
                && self.applied <= self.commit
                && self.commit <= self.last_index(),
            "invariant: snapshot {} <= applied {} <= commit {} <= last {}",
            self.snapshot_index,
            self.applied,
            self.commit,
            self.last_index()
        );
        assert!(
            self.persisted <= self.last_index(),
            "invariant: persisted {} <= last {}",
            self.persisted,
            self.last_index()
        );
        if cfg!(debug_assertions) {
            let mut prev_term = self.snapshot_term;
            for (i, e) in self.entries.iter().enumerate() {
                assert_eq!(
                    e.index,
                    self.snapshot_index + 1 + i as Index,
                    "invariant: contiguous log"
                );
                assert!(
                    e.term >= prev_term,
                    "invariant: terms never decrease ({} then {})",
                    prev_term,
                    e.term
                );
                prev_term = e.term;
            }
        }
    }

    /// Index of the entry covered by the snapshot base (0 if none).
    pub fn snapshot_index(&self) -> Index {
        self.snapshot_index
    }

    /// Term at the snapshot base.
    pub fn snapshot_term(&self) -> Term {
        self.snapshot_term
    }

    /// First index held as an entry.
    pub fn first_index(&self) -> Index {
        self.snapshot_index + 1
    }

    /// Last index in the log (the snapshot index if there are no entries).
    pub fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    /// Term of the last entry.
    pub fn last_term(&self) -> Term {
        self.entries.last().map_or(self.snapshot_term, |e| e.term)
    }

    /// Commit index.
    pub fn commit(&self) -> Index {
        self.commit
    }

    /// Applied index (handed to the application).
    pub fn applied(&self) -> Index {
        self.applied
    }

    /// Highest durable index.
    pub fn persisted(&self) -> Index {
        self.persisted
    }

    /// Term of the entry at `index`, or `None` if it was compacted away or does not exist yet.
    pub fn term(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`, if held.
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        if index <= self.snapshot_index {
            return None;
        }
        self.entries.get((index - self.snapshot_index - 1) as usize)
    }

    /// Whether the log holds an entry (or the snapshot base) at `index` with `term`.
    pub fn match_term(&self, index: Index, term: Term) -> bool {
        self.term(index) == Some(term)
    }

    /// Raft's election restriction: is a log ending at (`last_index`, `last_term`) at least as
    /// up to date as ours?
    pub fn is_up_to_date(&self, last_index: Index, last_term: Term) -> bool {
        last_term > self.last_term()
            || (last_term == self.last_term() && last_index >= self.last_index())
    }

    /// Leader path: append one entry at the end.
    pub fn append(&mut self, entry: Entry) {
        assert_eq!(
            entry.index,
            self.last_index() + 1,
            "invariant: append at the end of the log"
        );
        assert!(
            entry.term >= self.last_term(),
            "invariant: appended term {} >= last term {}",
            entry.term,
            self.last_term()
        );
        self.entries.push(entry);
    }

    /// Follower path: after (`prev_index`, `prev_term`) matched, merge `entries`, truncating a
    /// conflicting suffix. Returns the last index the leader's message proves we match.
    pub fn merge(&mut self, prev_index: Index, entries: Vec<Entry>) -> Index {
        let last_new = prev_index + entries.len() as Index;
        let mut conflict = None;
        for (i, e) in entries.iter().enumerate() {
            debug_assert_eq!(
                e.index,
                prev_index + 1 + i as Index,
                "invariant: contiguous append"
            );
            if !self.match_term(e.index, e.term) {
                conflict = Some(i);
                break;
            }
        }
        if let Some(i) = conflict {
            let from = entries[i].index;
            assert!(
                from > self.commit,
                "invariant: truncating committed entry {from} (commit {})",
                self.commit
            );
            self.truncate_from(from);
            self.entries.extend(entries.into_iter().skip(i));
        }
        last_new
    }

    fn truncate_from(&mut self, from: Index) {
        let keep = (from - self.snapshot_index - 1) as usize;
        self.entries.truncate(keep);
        self.persisted = self.persisted.min(from - 1);
        self.unstable_from = self.unstable_from.min(from);
    }

    /// The hint a follower returns when `prev_index` does not match.
    pub fn reject_hint(&self, prev_index: Index) -> RejectHint {
        if prev_index > self.last_index() {
            return RejectHint {
                conflict_term: None,
                conflict_index: self.last_index() + 1,
            };
        }
        let Some(term) = self.term(prev_index) else {
            // Below our snapshot: cannot happen for a prev_index above commit; be conservative.
            return RejectHint {
                conflict_term: None,
                conflict_index: self.first_index(),
            };
        };
        let mut first = prev_index;
        while first > self.first_index() && self.term(first - 1) == Some(term) {
            first -= 1;
        }
        RejectHint {
            conflict_term: Some(term),
            conflict_index: first,
        }
    }

    /// Leader side of the hint: where to probe next after a rejection of `rejected`.
    pub fn next_from_hint(&self, rejected: Index, hint: RejectHint) -> Index {
        let Some(term) = hint.conflict_term else {
            return hint.conflict_index;
        };
        // Find our last entry with a term <= the follower's conflicting term.
        let mut i = rejected.min(self.last_index());
        while i > self.snapshot_index {
            match self.term(i) {
                Some(t) if t > term => i -= 1,
                Some(t) if t == term => return i + 1,
                _ => break,
            }
        }
        hint.conflict_index
    }

    /// Set the commit index (never decreases; must be within the log).
    pub fn commit_to(&mut self, index: Index) -> bool {
        if index <= self.commit {
            return false;
        }
        assert!(
            index <= self.last_index(),
            "invariant: commit {index} beyond last index {}",
            self.last_index()
        );
        self.commit = index;
        true
    }

    /// Up to `max_count` entries from `lo`, stopping after `max_bytes` (at least one entry).
    pub fn slice(&self, lo: Index, max_bytes: usize, max_count: usize) -> Vec<Entry> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut i = lo.max(self.first_index());
        while i <= self.last_index() && out.len() < max_count {
            let Some(e) = self.entry(i) else { break };
            bytes += e.size_bytes();
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(e.clone());
            i += 1;
        }
        out
    }

    /// Entries the storage has not been given yet.
    pub fn unstable_entries(&self) -> Vec<Entry> {
        self.slice(self.unstable_from, usize::MAX, usize::MAX)
    }

    /// Whether some entries were not handed to the storage yet.
    pub fn has_unstable(&self) -> bool {
        self.unstable_from <= self.last_index()
    }

    /// The storage was handed every entry up to the end of the log.
    pub fn mark_handed_out(&mut self) {
        self.unstable_from = self.last_index() + 1;
    }

    /// The storage made entries durable up to `index`, whose term was `term` when handed out.
    pub fn persisted_to(&mut self, index: Index, term: Term) {
        if index > self.persisted && self.match_term(index, term) {
            self.persisted = index;
        }
    }

    /// Committed, durable, unapplied entries, at most `max_count`.
    pub fn next_committed(&self, max_count: usize) -> Vec<Entry> {
        let hi = self.commit.min(self.persisted);
        if hi <= self.applied {
            return Vec::new();
        }
        let count = ((hi - self.applied) as usize).min(max_count);
        self.slice(self.applied + 1, usize::MAX, count)
    }

    /// The application applied up to `index`.
    pub fn applied_to(&mut self, index: Index) {
        assert!(
            index >= self.applied && index <= self.commit,
            "invariant: applied {index} within [{}, {}]",
            self.applied,
            self.commit
        );
        self.applied = index;
    }

    /// Drop entries up to `index` (which must be applied) behind a snapshot base.
    pub fn compact(&mut self, index: Index) {
        assert!(
            index <= self.applied && index > self.snapshot_index,
            "invariant: compact within (snapshot, applied]"
        );
        let term = self
            .term(index)
            .expect("invariant: index within (snapshot, applied] is held");
        let drop = (index - self.snapshot_index) as usize;
        self.entries.drain(..drop);
        self.snapshot_index = index;
        self.snapshot_term = term;
        self.check();
    }

    /// Replace the whole log with a received snapshot. The snapshot is committed and, once the
    /// `Ready` carrying it is processed, durable and applied.
    pub fn install_snapshot(&mut self, meta: &SnapshotMeta) {
        assert!(
            meta.index > self.commit,
            "invariant: installed snapshot {} beyond commit {}",
            meta.index,
            self.commit
        );
        self.entries.clear();
        self.snapshot_index = meta.index;
        self.snapshot_term = meta.term;
        self.commit = meta.index;
        self.applied = meta.index;
        self.persisted = meta.index;
        self.unstable_from = meta.index + 1;
        self.check();
    }

    /// Every entry held, for inspection.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::EntryPayload;

    fn ents(terms: &[(Index, Term)]) -> Vec<Entry> {
        terms
            .iter()
            .map(|&(index, term)| Entry {
                index,
                term,
                payload: EntryPayload::Empty,
            })
            .collect()
    }

    fn log(terms: &[Term]) -> RaftLog {
        let e: Vec<_> = terms
            .iter()
            .enumerate()
            .map(|(i, &t)| (i as Index + 1, t))
            .collect();
        RaftLog::restore_from((0, 0), ents(&e), 0, 0)
    }

    #[test]
    fn merge_truncates_conflicting_suffix() {
        let mut l = log(&[1, 1, 2, 2]);
        let last = l.merge(2, ents(&[(3, 3), (4, 3)]));
        assert_eq!(last, 4);
        assert_eq!(l.term(3), Some(3));
        assert_eq!(l.persisted(), 2);
        // A duplicate, older message does not truncate.
        let last = l.merge(1, ents(&[(2, 1)]));
        assert_eq!(last, 2);
        assert_eq!(l.last_index(), 4);
    }

    #[test]
    fn reject_hint_and_leader_lookup() {
        let follower = log(&[1, 1, 2, 2, 2]);
        let h = follower.reject_hint(5);
        assert_eq!(
            h,
            RejectHint {
                conflict_term: Some(2),
                conflict_index: 3
            }
        );
        let h2 = follower.reject_hint(9);
        assert_eq!(
            h2,
            RejectHint {
                conflict_term: None,
                conflict_index: 6
            }
        );
        let leader = log(&[1, 1, 3, 3, 3, 3]);
        // Leader has no term 2: jump to the follower's first index of term 2.
        assert_eq!(leader.next_from_hint(5, h), 3);
        let leader2 = log(&[1, 1, 2, 3, 3, 3]);
        assert_eq!(leader2.next_from_hint(5, h), 4);
    }

    #[test]
    fn compact_and_install() {
        let mut l = log(&[1, 1, 2, 2]);
        l.commit_to(3);
        l.applied_to(3);
        l.compact(2);
        assert_eq!(l.first_index(), 3);
        assert_eq!(l.term(2), Some(1));
        assert_eq!(l.term(1), None);
        assert_eq!(l.slice(1, usize::MAX, 10).len(), 2);
        l.install_snapshot(&SnapshotMeta {
            index: 10,
            term: 4,
            membership: Default::default(),
        });
        assert_eq!((l.last_index(), l.last_term(), l.commit()), (10, 4, 10));
    }

    #[test]
    fn up_to_date_rule() {
        let l = log(&[1, 2, 2]);
        assert!(l.is_up_to_date(3, 2));
        assert!(l.is_up_to_date(1, 3));
        assert!(!l.is_up_to_date(5, 1));
        assert!(!l.is_up_to_date(2, 2));
    }
}
