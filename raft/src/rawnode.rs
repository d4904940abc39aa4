//! The driver-facing API: feed inputs, take a [`Ready`], act on it, call [`RawNode::advance`].

use crate::config::Config;
use crate::error::Result;
use crate::message::Message;
use crate::raft::Raft;
use crate::types::{
    ConfChange, Entry, EntryPayload, HardState, Index, ReadState, Snapshot, SoftState, Term,
};

/// What the durable storage holds at startup (see [`crate::storage::LogStorage::initial_state`]).
#[derive(Clone, Debug, Default)]
pub struct InitialState {
    /// Last persisted hard state.
    pub hard_state: HardState,
    /// Latest snapshot, if any.
    pub snapshot: Option<Snapshot>,
    /// Durable entries after the snapshot, contiguous.
    pub entries: Vec<Entry>,
}

/// Work for the driver, to be carried out in this order:
///
/// 1. persist `snapshot` (if any), then `entries` (truncating any conflicting suffix), then
///    `hard_state`, and make them durable (fsync);
/// 2. only then send `messages` (they may depend on the persisted vote, term and entries);
/// 3. restore the state machine from `snapshot` (if any) and apply `committed_entries` in order;
///    serve `read_states` once applied reaches their index;
/// 4. call [`RawNode::advance`].
#[derive(Debug, Default)]
#[must_use = "a Ready must be processed and acknowledged with advance()"]
pub struct Ready {
    /// Leader or role changed.
    pub soft_state: Option<SoftState>,
    /// Term, vote or commit changed.
    pub hard_state: Option<HardState>,
    /// Snapshot received from the leader: persist it (replacing the log) and restore from it.
    pub snapshot: Option<Snapshot>,
    /// Entries to append to the durable log.
    pub entries: Vec<Entry>,
    /// Messages to send once the above is durable.
    pub messages: Vec<Message>,
    /// Committed entries to apply, in index order.
    pub committed_entries: Vec<Entry>,
    /// Confirmed linearizable reads.
    pub read_states: Vec<ReadState>,
}

impl Ready {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.soft_state.is_none()
            && self.hard_state.is_none()
            && self.snapshot.is_none()
            && self.entries.is_empty()
            && self.messages.is_empty()
            && self.committed_entries.is_empty()
            && self.read_states.is_empty()
    }
}

/// What a handed-out `Ready` promised, applied by `advance`.
#[derive(Debug)]
struct Outstanding {
    last_entry: Option<(Index, Term)>,
    hard_state: Option<HardState>,
    soft_state: Option<SoftState>,
    applied_to: Option<Index>,
}

/// A Raft node without I/O: the caller owns storage, network, clock and state machine.
#[derive(Debug)]
pub struct RawNode {
    raft: Raft,
    persisted_hs: HardState,
    reported_ss: SoftState,
    outstanding: Option<Outstanding>,
}

impl RawNode {
    /// Start a node from its durable state. A brand-new member of a new cluster passes an empty
    /// `InitialState` and lists the initial voters in `config.bootstrap_voters`.
    pub fn new(config: Config, state: InitialState) -> Result<Self> {
        let persisted_hs = state.hard_state;
        let raft = Raft::new(config, state.hard_state, state.snapshot, state.entries)?;
        let reported_ss = raft.soft_state();
        Ok(RawNode {
            raft,
            persisted_hs,
            reported_ss,
            outstanding: None,
        })
    }

    fn assert_no_outstanding(&self) {
        assert!(
            self.outstanding.is_none(),
            "invariant: advance() must follow ready() before further input"
        );
    }

    /// Advance the logical clock by one tick.
    pub fn tick(&mut self) {
        self.assert_no_outstanding();
        self.raft.tick();
    }

    /// Handle a message from another node.
    pub fn step(&mut self, msg: Message) -> Result<()> {
        self.assert_no_outstanding();
        self.raft.step(msg)
    }

    /// Propose application data. On a follower it is forwarded to the leader if
    /// `forward_proposals` is set (no acknowledgement: watch the applied entries), otherwise
    /// `Error::NotLeader` with the leader hint.
    pub fn propose(&mut self, data: Vec<u8>) -> Result<()> {
        self.assert_no_outstanding();
        self.raft.propose(vec![EntryPayload::Normal(data)])
    }

    /// Propose a membership change (leader only; one at a time).
    pub fn propose_conf_change(&mut self, cc: ConfChange) -> Result<()> {
        self.assert_no_outstanding();
        self.raft.propose_conf_change(cc)
    }

    /// Request a linearizable read identified by `ctx`; a matching [`ReadState`] appears in a
    /// later `Ready` (or never, if leadership is lost: retry after a timeout).
    pub fn read_index(&mut self, ctx: u64) -> Result<()> {
        self.assert_no_outstanding();
        self.raft.read_index(ctx)
    }

    /// Transfer leadership to `to` (leader only).
    pub fn transfer_leader(&mut self, to: u64) -> Result<()> {
        self.assert_no_outstanding();
        self.raft.transfer_leader(to)
    }

    /// Start an election now (as if the election timeout elapsed). No-op on a leader.
    pub fn campaign(&mut self) {
        self.assert_no_outstanding();
        if self.raft.role() != crate::types::Role::Leader {
            self.raft.campaign(false);
        }
    }

    /// Compact the log up to `index` (applied) behind a snapshot of the state machine at that
    /// index. Returns the snapshot, which the caller must persist with
    /// [`crate::storage::LogStorage::compact`]; until then the storage simply keeps more log.
    pub fn compact(&mut self, index: Index, data: Vec<u8>) -> Result<Snapshot> {
        self.assert_no_outstanding();
        self.raft.compact(index, data)
    }

    /// Whether `ready()` would return something.
    pub fn has_ready(&self) -> bool {
        let r = &self.raft;
        r.soft_state() != self.reported_ss
            || r.hard_state() != self.persisted_hs
            || r.snapshot_to_install.is_some()
            || !r.msgs.is_empty()
            || !r.read_states.is_empty()
            || r.log.has_unstable()
            || r.log.commit().min(r.log.persisted()) > r.log.applied()
    }

    /// Take the pending work. Must be followed by [`RawNode::advance`] before any other input.
    pub fn ready(&mut self) -> Ready {
        self.assert_no_outstanding();
        let r = &mut self.raft;
        let ss = r.soft_state();
        let soft_state = (ss != self.reported_ss).then_some(ss);
        let hs = r.hard_state();
        let hard_state = (hs != self.persisted_hs).then_some(hs);
        let snapshot = r.snapshot_to_install.take();
        let entries = r.log.unstable_entries();
        r.log.mark_handed_out();
        let committed_entries = r.log.next_committed(r.cfg.max_committed_per_ready);
        let ready = Ready {
            soft_state,
            hard_state,
            snapshot,
            entries,
            messages: std::mem::take(&mut r.msgs),
            committed_entries,
            read_states: std::mem::take(&mut r.read_states),
        };
        self.outstanding = Some(Outstanding {
            last_entry: ready.entries.last().map(|e| (e.index, e.term)),
            hard_state: ready.hard_state,
            soft_state: ready.soft_state,
            applied_to: ready.committed_entries.last().map(|e| e.index),
        });
        ready
    }

    /// The last `Ready` was processed: its entries and hard state are durable, its messages sent,
    /// its committed entries applied.
    pub fn advance(&mut self) {
        let Some(o) = self.outstanding.take() else {
            panic!("invariant: advance() without a preceding ready()");
        };
        if let Some(hs) = o.hard_state {
            self.persisted_hs = hs;
        }
        if let Some(ss) = o.soft_state {
            self.reported_ss = ss;
        }
        if let Some((index, term)) = o.last_entry {
            self.raft.log.persisted_to(index, term);
        }
        if let Some(index) = o.applied_to {
            self.raft.log.applied_to(index);
        }
        self.raft.leader_on_persisted();
        self.raft.log.check();
    }

    /// The underlying state machine, for inspection.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// Test-only: inject the Figure 8 bug (commit earlier-term entries by counting replicas).
    #[cfg(test)]
    pub(crate) fn inject_bug_commit_earlier_terms(&mut self, on: bool) {
        self.raft.bug_commit_earlier_terms = on;
    }
}
