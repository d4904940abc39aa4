//! The Raft state machine shared by all roles: terms, votes, message dispatch, membership and
//! compaction. Role-specific behaviour lives in `follower.rs`, `candidate.rs` and `leader.rs`.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{Config, Rng};
use crate::error::{Error, Result};
use crate::log::RaftLog;
use crate::message::{Message, MessageBody};
use crate::progress::Progress;
use crate::read_only::ReadOnly;
use crate::types::{
    Entry, EntryPayload, HardState, Index, Membership, NodeId, ReadState, Role, Snapshot,
    SnapshotMeta, SoftState, Term,
};

/// Apply a configuration entry to `m`; returns whether `payload` was one.
fn apply_config_entry(m: &mut Membership, payload: &EntryPayload) -> bool {
    match payload {
        EntryPayload::ConfChange(cc) => m.apply(*cc),
        EntryPayload::Bootstrap(initial) => *m = initial.clone(),
        _ => return false,
    }
    true
}

/// State only a leader has.
#[derive(Clone, Debug)]
pub(crate) struct LeaderState {
    /// Progress of every member except the leader itself.
    pub progress: BTreeMap<NodeId, Progress>,
    /// Target of a leadership transfer in progress.
    pub transferee: Option<NodeId>,
    /// Ticks since the transfer started; it is abandoned after an election timeout.
    pub transfer_elapsed_ticks: u64,
    /// Ticks since the last heartbeat broadcast.
    pub heartbeat_elapsed_ticks: u64,
    /// Pending ReadIndex requests.
    pub reads: ReadOnly,
    /// Leader lease bookkeeping (used only with `lease_reads`).
    pub lease: crate::lease::Lease,
    /// Index of the latest membership change in the log; a new one is refused until it commits.
    pub pending_conf_index: Index,
}

/// Role with its role-specific state.
#[derive(Clone, Debug)]
pub(crate) enum RoleState {
    Follower,
    /// Votes received in a pre-vote round (true = granted).
    PreCandidate(BTreeMap<NodeId, bool>),
    /// Votes received in an election.
    Candidate(BTreeMap<NodeId, bool>),
    Leader(Box<LeaderState>),
}

/// A snapshot being received in chunks.
#[derive(Clone, Debug)]
pub(crate) struct IncomingSnapshot {
    pub meta: SnapshotMeta,
    pub data: Vec<u8>,
}

/// The Raft state machine of one node. Driven through [`crate::RawNode`].
#[derive(Debug)]
pub struct Raft {
    pub(crate) id: NodeId,
    pub(crate) cfg: Config,
    rng: Rng,
    /// Current term; only grows.
    pub(crate) term: Term,
    /// Vote cast in `term`.
    pub(crate) vote: Option<NodeId>,
    /// Leader of `term`, if known.
    pub(crate) leader: Option<NodeId>,
    pub(crate) log: RaftLog,
    /// Membership in effect: the snapshot's, plus every committed change.
    pub(crate) membership: Membership,
    /// (index, membership from that index on), increasing; the first element is the snapshot's.
    config_history: Vec<(Index, Membership)>,
    pub(crate) role: RoleState,
    /// Ticks since the last valid leader contact (follower) or election start (candidate), or
    /// since the last check-quorum round (leader).
    pub(crate) election_elapsed_ticks: u64,
    /// Current randomized election timeout, in `[timeout, 2 * timeout)`.
    randomized_timeout_ticks: u64,
    /// Ticks since this node started (its local clock).
    pub(crate) tick_count: u64,
    /// With `lease_reads`: ticks left during which a freshly started node ignores vote requests,
    /// because before its restart it may have acknowledged a heartbeat some lease counts on.
    vote_block_ticks: u64,
    /// Outgoing messages, handed out in the next `Ready` (after persistence).
    pub(crate) msgs: Vec<Message>,
    /// Confirmed reads of this node, handed out in the next `Ready`.
    pub(crate) read_states: Vec<ReadState>,
    /// Latest snapshot (local compaction or installed), used to catch followers up.
    pub(crate) snapshot: Option<Snapshot>,
    /// Snapshot received from the leader, to persist and restore in the next `Ready`.
    pub(crate) snapshot_to_install: Option<Snapshot>,
    pub(crate) incoming_snapshot: Option<IncomingSnapshot>,
    /// Test-only injected bug: commit entries of earlier terms by counting replicas (the Figure 8
    /// mistake). Compiled only in this crate's unit tests, so no production build can reach it.
    #[cfg(test)]
    pub(crate) bug_commit_earlier_terms: bool,
}

impl Raft {
    /// Build a node from its durable state.
    pub(crate) fn new(
        cfg: Config,
        hs: HardState,
        snapshot: Option<Snapshot>,
        entries: Vec<Entry>,
    ) -> Result<Self> {
        cfg.validate()?;
        let mut rng = Rng::new(cfg.seed);
        let (base, mut membership) = match &snapshot {
            Some(s) => ((s.meta.index, s.meta.term), s.meta.membership.clone()),
            None => ((0, 0), Membership::default()),
        };
        let mut hs = hs;
        let fresh = snapshot.is_none() && entries.is_empty() && hs == HardState::default();
        let log = if fresh && !cfg.bootstrap_voters.is_empty() {
            // Bootstrap: every initial member writes the same committed entry at index 1, term 1,
            // holding the initial membership, so nodes that join later learn it from the log. It
            // is not on disk yet: the first Ready hands it out.
            let mut log = RaftLog::restore_from((0, 0), Vec::new(), 0, 0);
            let payload = EntryPayload::Bootstrap(Membership::with_voters(
                cfg.bootstrap_voters.iter().copied(),
            ));
            log.append(Entry {
                term: 1,
                index: 1,
                payload,
            });
            log.commit_to(1);
            hs = HardState {
                term: 1,
                vote: None,
                commit: 1,
            };
            log
        } else {
            RaftLog::restore_from(base, entries, hs.commit, cfg.applied)
        };
        // A torn write can keep entries whose hard state record was lost. The term only grows:
        // holding an entry of term t means this node already accepted a leader of term >= t.
        // (A vote cast in a lost record was never sent: messages leave only after the sync.)
        if log.last_term() > hs.term {
            hs = HardState {
                term: log.last_term(),
                vote: None,
                commit: hs.commit,
            };
        }
        // A configuration takes effect as soon as it is in the log, committed or not (Raft
        // dissertation §4.1), so the whole log counts, not just its committed prefix.
        let mut config_history = vec![(base.0, membership.clone())];
        for i in log.first_index()..=log.last_index() {
            if let Some(e) = log.entry(i)
                && apply_config_entry(&mut membership, &e.payload)
            {
                config_history.push((i, membership.clone()));
            }
        }
        let randomized_timeout_ticks =
            rng.range(cfg.election_timeout_ticks, 2 * cfg.election_timeout_ticks);
        Ok(Raft {
            id: cfg.id,
            rng,
            term: hs.term,
            vote: hs.vote,
            leader: None,
            log,
            membership,
            config_history,
            role: RoleState::Follower,
            election_elapsed_ticks: 0,
            randomized_timeout_ticks,
            tick_count: 0,
            vote_block_ticks: if cfg.lease_reads {
                cfg.election_timeout_ticks
            } else {
                0
            },
            msgs: Vec::new(),
            read_states: Vec::new(),
            snapshot,
            snapshot_to_install: None,
            incoming_snapshot: None,
            #[cfg(test)]
            bug_commit_earlier_terms: false,
            cfg,
        })
    }

    /// Durable state as of now.
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            vote: self.vote,
            commit: self.log.commit(),
        }
    }

    /// Volatile state as of now.
    pub fn soft_state(&self) -> SoftState {
        SoftState {
            leader: self.leader,
            role: self.role(),
        }
    }

    /// Current role.
    pub fn role(&self) -> Role {
        match self.role {
            RoleState::Follower => Role::Follower,
            RoleState::PreCandidate(_) => Role::PreCandidate,
            RoleState::Candidate(_) => Role::Candidate,
            RoleState::Leader(_) => Role::Leader,
        }
    }

    /// Whether this node may campaign: it is a voter.
    pub(crate) fn promotable(&self) -> bool {
        self.membership.is_voter(self.id)
    }

    pub(crate) fn reset_election_timer(&mut self) {
        self.election_elapsed_ticks = 0;
        self.randomized_timeout_ticks = self.rng.range(
            self.cfg.election_timeout_ticks,
            2 * self.cfg.election_timeout_ticks,
        );
    }

    pub(crate) fn election_timed_out(&self) -> bool {
        self.election_elapsed_ticks >= self.randomized_timeout_ticks
    }

    /// Queue a message carrying our current term.
    pub(crate) fn send(&mut self, to: NodeId, body: MessageBody) {
        let term = if body.is_termless() { 0 } else { self.term };
        self.send_with_term(to, term, body);
    }

    pub(crate) fn send_with_term(&mut self, to: NodeId, term: Term, body: MessageBody) {
        debug_assert_ne!(to, self.id, "invariant: no message to self");
        self.msgs.push(Message {
            from: self.id,
            to,
            term,
            body,
        });
    }

    /// Become a follower in `term` (>= current), with `leader` if known.
    pub(crate) fn become_follower(&mut self, term: Term, leader: Option<NodeId>) {
        assert!(
            term >= self.term,
            "invariant: term regression {} -> {term}",
            self.term
        );
        if term > self.term {
            self.term = term;
            self.vote = None;
        }
        self.role = RoleState::Follower;
        self.leader = leader;
        self.reset_election_timer();
    }

    /// Advance time by one tick.
    pub(crate) fn tick(&mut self) {
        self.tick_count += 1;
        self.vote_block_ticks = self.vote_block_ticks.saturating_sub(1);
        match self.role {
            RoleState::Leader(_) => self.tick_leader(),
            _ => {
                self.election_elapsed_ticks += 1;
                if self.promotable() && self.election_timed_out() {
                    self.campaign(false);
                }
            }
        }
    }

    /// Handle one message.
    pub(crate) fn step(&mut self, msg: Message) -> Result<()> {
        if msg.to != self.id || msg.from == self.id {
            return Ok(());
        }
        if !msg.body.is_termless() {
            if msg.term > self.term {
                if let MessageBody::PreVote { .. } | MessageBody::Vote { .. } = msg.body {
                    let forced = matches!(msg.body, MessageBody::Vote { transfer: true, .. });
                    let in_lease = self.cfg.check_quorum
                        && self.leader.is_some()
                        && self.election_elapsed_ticks < self.cfg.election_timeout_ticks;
                    if (in_lease || self.vote_block_ticks > 0) && !forced {
                        // We heard from a leader recently: a (pre-)candidate cannot disrupt it.
                        return Ok(());
                    }
                    if !self.membership.is_voter(msg.from) {
                        // Not a voter in our (latest) configuration, typically a removed node
                        // that never learned it: it must not push the cluster's term up.
                        // Ignoring a request is always safe; at worst a lagging voter delays
                        // a newly added one's election until it catches up.
                        return Ok(());
                    }
                }
                match msg.body {
                    MessageBody::PreVote { .. }
                    | MessageBody::PreVoteResponse { reject: false } => {}
                    MessageBody::Append { .. }
                    | MessageBody::Heartbeat { .. }
                    | MessageBody::SnapshotChunk { .. } => {
                        self.become_follower(msg.term, Some(msg.from));
                    }
                    _ => self.become_follower(msg.term, None),
                }
            } else if msg.term < self.term {
                match msg.body {
                    MessageBody::Append { .. } | MessageBody::Heartbeat { .. } => {
                        // A stale leader (as in plain Raft, answer with our term so it steps
                        // down). Our higher term may reach it no other way: voters ignore vote
                        // requests in a lease or from non-voters, so without this a node with an
                        // inflated term (say, a learner that believes it is a voter) could
                        // never rejoin.
                        self.send(
                            msg.from,
                            MessageBody::AppendResponse {
                                index: 0,
                                reject: None,
                            },
                        );
                    }
                    MessageBody::PreVote { .. } => {
                        self.send(msg.from, MessageBody::PreVoteResponse { reject: true });
                    }
                    _ => {}
                }
                return Ok(());
            }
        }
        match msg.body {
            MessageBody::PreVote { .. } | MessageBody::Vote { .. } => {
                self.handle_vote_request(msg);
                Ok(())
            }
            _ => match self.role {
                RoleState::Leader(_) => self.step_leader(msg),
                RoleState::Candidate(_) | RoleState::PreCandidate(_) => {
                    self.step_candidate(msg);
                    Ok(())
                }
                RoleState::Follower => {
                    self.step_follower(msg);
                    Ok(())
                }
            },
        }
    }

    fn handle_vote_request(&mut self, msg: Message) {
        let (last_index, last_term, pre) = match msg.body {
            MessageBody::PreVote {
                last_index,
                last_term,
            } => (last_index, last_term, true),
            MessageBody::Vote {
                last_index,
                last_term,
                ..
            } => (last_index, last_term, false),
            _ => return,
        };
        let can_vote = self.vote == Some(msg.from)
            || (self.vote.is_none() && self.leader.is_none())
            || (pre && msg.term > self.term);
        let grant = can_vote && self.log.is_up_to_date(last_index, last_term);
        if pre {
            let term = if grant { msg.term } else { self.term };
            self.send_with_term(
                msg.from,
                term,
                MessageBody::PreVoteResponse { reject: !grant },
            );
        } else {
            if grant {
                self.vote = Some(msg.from);
                self.reset_election_timer();
            }
            self.send(msg.from, MessageBody::VoteResponse { reject: !grant });
        }
    }

    /// Commit index moved from `old` to the log's commit.
    pub(crate) fn on_commit_advanced(&mut self, _old: Index) {
        if let RoleState::Leader(_) = self.role {
            self.leader_on_commit();
        }
    }

    /// The log changed from index `from` on (appended, or truncated and rewritten): recompute the
    /// membership, which is the latest configuration in the log. Returns whether it changed.
    pub(crate) fn refresh_membership_from(&mut self, from: Index) -> bool {
        let before = self.membership.clone();
        while self.config_history.len() > 1
            && self.config_history.last().is_some_and(|(i, _)| *i >= from)
        {
            self.config_history.pop();
        }
        let mut m = self
            .config_history
            .last()
            .map(|(_, m)| m.clone())
            .expect("invariant: config history keeps its base entry");
        for i in from.max(self.log.first_index())..=self.log.last_index() {
            if let Some(e) = self.log.entry(i)
                && apply_config_entry(&mut m, &e.payload)
            {
                self.config_history.push((i, m.clone()));
            }
        }
        self.membership = m;
        self.membership != before
    }

    /// Index of the latest configuration in the log (the snapshot's if none after it).
    pub(crate) fn latest_conf_index(&self) -> Index {
        self.config_history.last().map_or(0, |(i, _)| *i)
    }

    /// The leader's membership changed (a change was appended): track the new members.
    pub(crate) fn on_membership_changed(&mut self) {
        let RoleState::Leader(ls) = &mut self.role else {
            return;
        };
        let last = self.log.last_index();
        let members: BTreeSet<NodeId> = self
            .membership
            .members()
            .filter(|&m| m != self.id)
            .collect();
        ls.progress.retain(|id, _| members.contains(id));
        for m in members {
            ls.progress.entry(m).or_insert_with(|| {
                Progress::new(
                    last,
                    self.cfg.max_inflight_msgs,
                    self.cfg.max_inflight_bytes,
                )
            });
        }
        // Only heartbeats sent under the new membership count towards a lease.
        ls.lease.epoch_seq = ls.reads.last_seq() + 1;
        if ls.transferee.is_some_and(|t| !self.membership.is_voter(t)) {
            ls.transferee = None;
        }
        // The quorum may have shrunk.
        self.maybe_commit();
    }

    /// A leader whose own removal is committed tells the followers the commit index, then
    /// steps down; the remaining voters elect a new leader.
    pub(crate) fn step_down_if_removed(&mut self) {
        let RoleState::Leader(ls) = &self.role else {
            return;
        };
        if self.membership.is_voter(self.id) || self.log.commit() < self.latest_conf_index() {
            return;
        }
        let targets: Vec<NodeId> = ls.progress.keys().copied().collect();
        let commit = self.log.commit();
        let (prev_index, prev_term) = (self.log.last_index(), self.log.last_term());
        for to in targets {
            let RoleState::Leader(ls) = &self.role else {
                break;
            };
            if ls
                .progress
                .get(&to)
                .is_some_and(|p| p.match_index == prev_index)
            {
                self.send(
                    to,
                    MessageBody::Append {
                        prev_index,
                        prev_term,
                        entries: Vec::new(),
                        commit,
                    },
                );
            }
        }
        let term = self.term;
        self.become_follower(term, None);
    }

    /// Membership in effect at `index` (which must not precede the snapshot).
    pub(crate) fn membership_at(&self, index: Index) -> Membership {
        self.config_history
            .iter()
            .rev()
            .find(|(i, _)| *i <= index)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// Compact the log up to `index` (applied) behind a snapshot holding `data`.
    pub(crate) fn compact(&mut self, index: Index, data: Vec<u8>) -> Result<Snapshot> {
        if index > self.log.applied() {
            return Err(Error::Compaction {
                index,
                reason: "index not applied yet",
            });
        }
        if index <= self.log.snapshot_index() {
            return Err(Error::Compaction {
                index,
                reason: "already compacted",
            });
        }
        let term = self
            .log
            .term(index)
            .expect("invariant: an applied, uncompacted index is in the log");
        let membership = self.membership_at(index);
        self.log.compact(index);
        let keep_from = self
            .config_history
            .iter()
            .rposition(|(i, _)| *i <= index)
            .unwrap_or(0);
        self.config_history.drain(..keep_from);
        let snap = Snapshot {
            meta: SnapshotMeta {
                index,
                term,
                membership,
            },
            data,
        };
        self.snapshot = Some(snap.clone());
        Ok(snap)
    }

    /// Replace log and membership with a received snapshot.
    pub(crate) fn install_snapshot(&mut self, snap: Snapshot) {
        self.log.install_snapshot(&snap.meta);
        self.membership = snap.meta.membership.clone();
        self.config_history = vec![(snap.meta.index, self.membership.clone())];
        self.snapshot = Some(snap.clone());
        self.snapshot_to_install = Some(snap);
    }

    /// Propose application data or a membership change.
    pub(crate) fn propose(&mut self, payloads: Vec<EntryPayload>) -> Result<()> {
        if let RoleState::Leader(_) = self.role {
            return self.leader_append(payloads).map(|_| ());
        }
        match self.leader {
            Some(leader)
                if self.cfg.forward_proposals && matches!(self.role, RoleState::Follower) =>
            {
                self.send(leader, MessageBody::Propose { payloads });
                Ok(())
            }
            leader => Err(Error::NotLeader { leader }),
        }
    }

    /// Ask for a linearizable read identified by `ctx`.
    pub(crate) fn read_index(&mut self, ctx: u64) -> Result<()> {
        if let RoleState::Leader(_) = self.role {
            return self.leader_read(ctx, self.id);
        }
        match self.leader {
            Some(leader)
                if self.cfg.forward_proposals && matches!(self.role, RoleState::Follower) =>
            {
                self.send(leader, MessageBody::ReadIndex { ctx });
                Ok(())
            }
            leader => Err(Error::NotLeader { leader }),
        }
    }

    /// Latest known membership.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }

    /// The log, for inspection.
    pub fn log(&self) -> &RaftLog {
        &self.log
    }

    /// Current term.
    pub fn term(&self) -> Term {
        self.term
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Known leader.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }

    /// The leader's replication progress per member (None unless leader).
    pub fn progress(&self) -> Option<&BTreeMap<NodeId, Progress>> {
        match &self.role {
            RoleState::Leader(ls) => Some(&ls.progress),
            _ => None,
        }
    }

    /// Match index of follower `id` as seen by this leader (None if not leader or unknown).
    pub fn progress_match(&self, id: NodeId) -> Option<Index> {
        match &self.role {
            RoleState::Leader(ls) => ls.progress.get(&id).map(|p| p.match_index),
            _ => None,
        }
    }
}
