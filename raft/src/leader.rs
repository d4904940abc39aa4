//! Leader behaviour: replication with flow control, commit by quorum of the current term,
//! check-quorum, heartbeats, ReadIndex, leadership transfer and membership changes.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::{Error, Result};
use crate::message::{Message, MessageBody};
use crate::progress::{Progress, ProgressState};
use crate::quorum;
use crate::raft::{LeaderState, Raft, RoleState};
use crate::read_only::ReadOnly;
use crate::types::{ConfChange, Entry, EntryPayload, Index, NodeId, ReadState};

impl Raft {
    fn ls(&mut self) -> &mut LeaderState {
        let role = self.role();
        match &mut self.role {
            RoleState::Leader(ls) => ls,
            _ => panic!("invariant: leader-only path taken as {role:?}"),
        }
    }

    /// Won an election: take over, append a no-op of the new term and replicate it.
    pub(crate) fn become_leader(&mut self) {
        assert!(
            matches!(self.role, RoleState::Candidate(_)),
            "invariant: only a candidate becomes leader"
        );
        let last = self.log.last_index();
        let mut progress = BTreeMap::new();
        for m in self.membership.members().filter(|&m| m != self.id) {
            progress.insert(
                m,
                Progress::new(
                    last,
                    self.cfg.max_inflight_msgs,
                    self.cfg.max_inflight_bytes,
                ),
            );
        }
        self.role = RoleState::Leader(Box::new(LeaderState {
            progress,
            transferee: None,
            transfer_elapsed_ticks: 0,
            heartbeat_elapsed_ticks: 0,
            reads: ReadOnly::default(),
            lease: crate::lease::Lease::default(),
            // Conservative: any membership change in the uncommitted tail blocks a new one.
            pending_conf_index: last,
        }));
        self.leader = Some(self.id);
        self.election_elapsed_ticks = 0;
        let entry = Entry {
            term: self.term,
            index: last + 1,
            payload: EntryPayload::Empty,
        };
        self.log.append(entry);
        self.bcast_append();
    }

    pub(crate) fn tick_leader(&mut self) {
        self.election_elapsed_ticks += 1;
        let election_timeout = self.cfg.election_timeout_ticks;
        let ls = self.ls();
        ls.heartbeat_elapsed_ticks += 1;
        if ls.transferee.is_some() {
            ls.transfer_elapsed_ticks += 1;
            if ls.transfer_elapsed_ticks >= election_timeout {
                ls.transferee = None;
            }
        }
        if self.election_elapsed_ticks >= election_timeout {
            self.election_elapsed_ticks = 0;
            if self.cfg.check_quorum {
                if !self.quorum_active() {
                    let term = self.term;
                    self.become_follower(term, None);
                    return;
                }
                for pr in self.ls().progress.values_mut() {
                    pr.recent_active = false;
                }
            }
        }
        if self.ls().heartbeat_elapsed_ticks >= self.cfg.heartbeat_interval_ticks {
            self.ls().heartbeat_elapsed_ticks = 0;
            self.bcast_heartbeat();
        }
    }

    fn quorum_active(&mut self) -> bool {
        let id = self.id;
        let voters = self.membership.voters.clone();
        let ls = self.ls();
        let active: BTreeSet<NodeId> = ls
            .progress
            .iter()
            .filter(|(_, p)| p.recent_active)
            .map(|(&k, _)| k)
            .chain(std::iter::once(id))
            .collect();
        quorum::has_quorum(&voters, &active)
    }

    pub(crate) fn bcast_heartbeat(&mut self) {
        let commit = self.log.commit();
        let now = self.tick_count;
        let ls = self.ls();
        let read_seq = ls.reads.next_heartbeat_seq();
        ls.lease.record_sent(read_seq, now);
        let targets: Vec<(NodeId, Index)> = ls
            .progress
            .iter_mut()
            .map(|(&id, p)| {
                let c = p.match_index.min(commit);
                p.commit_sent = p.commit_sent.max(c);
                (id, c)
            })
            .collect();
        for (to, commit) in targets {
            self.send(to, MessageBody::Heartbeat { commit, read_seq });
        }
    }

    pub(crate) fn bcast_append(&mut self) {
        if !matches!(self.role, RoleState::Leader(_)) {
            return; // stepped down while committing (removed from the membership)
        }
        let targets: Vec<NodeId> = self.ls().progress.keys().copied().collect();
        for to in targets {
            self.send_append(to, true);
        }
    }

    /// Send the next append (or snapshot chunk) to `to` if flow control allows. With `allow_empty`
    /// an append without entries still goes out (to carry the commit index). Returns whether a
    /// message carrying entries was sent.
    fn send_append(&mut self, to: NodeId, allow_empty: bool) -> bool {
        let (max_bytes, max_entries) = (self.cfg.max_msg_bytes, self.cfg.max_msg_entries);
        let commit = self.log.commit();
        let RoleState::Leader(ls) = &self.role else {
            return false;
        };
        let Some(pr) = ls.progress.get(&to) else {
            return false;
        };
        if pr.paused() {
            return false;
        }
        if let ProgressState::Snapshot { .. } = pr.state {
            return self.send_snapshot_chunk(to);
        }
        let next = pr.next_index;
        let prev_index = next - 1;
        let Some(prev_term) = self.log.term(prev_index) else {
            // The entries the follower needs were compacted away.
            return self.send_snapshot_chunk(to);
        };
        let entries = self.log.slice(next, max_bytes, max_entries);
        if entries.is_empty() && !allow_empty {
            return false;
        }
        let sent_entries = !entries.is_empty();
        let last = prev_index + entries.len() as Index;
        let bytes: usize = entries.iter().map(Entry::size_bytes).sum();
        let pr = self
            .ls()
            .progress
            .get_mut(&to)
            .expect("invariant: looked up above");
        match pr.state {
            ProgressState::Replicate if sent_entries => {
                pr.next_index = last + 1;
                pr.inflights.add(last, bytes);
            }
            ProgressState::Probe => pr.probe_sent = true,
            _ => {}
        }
        pr.commit_sent = pr.commit_sent.max(commit);
        self.send(
            to,
            MessageBody::Append {
                prev_index,
                prev_term,
                entries,
                commit,
            },
        );
        sent_entries
    }

    fn send_snapshot_chunk(&mut self, to: NodeId) -> bool {
        let chunk_bytes = self.cfg.snapshot_chunk_bytes;
        let Some(snap) = self.snapshot.clone() else {
            // Cannot happen: the log is only compacted behind a snapshot. Keep probing.
            return false;
        };
        let pr = self
            .ls()
            .progress
            .get_mut(&to)
            .expect("invariant: caller checked progress exists");
        let offset = match pr.state {
            ProgressState::Snapshot {
                index, acked_bytes, ..
            } if index == snap.meta.index => acked_bytes,
            _ => {
                pr.become_snapshot(snap.meta.index);
                0
            }
        };
        let start = (offset as usize).min(snap.data.len());
        let end = (start + chunk_bytes).min(snap.data.len());
        let last = end == snap.data.len();
        if let ProgressState::Snapshot {
            chunk_in_flight, ..
        } = &mut pr.state
        {
            *chunk_in_flight = true;
        }
        let data = snap.data[start..end].to_vec();
        self.send(
            to,
            MessageBody::SnapshotChunk {
                meta: snap.meta,
                offset: start as u64,
                data,
                last,
            },
        );
        true
    }

    pub(crate) fn step_leader(&mut self, msg: Message) -> Result<()> {
        let from = msg.from;
        match msg.body {
            MessageBody::AppendResponse { index, reject } => {
                let Some(pr) = self.ls().progress.get_mut(&from) else {
                    return Ok(());
                };
                pr.recent_active = true;
                match reject {
                    Some(hint) => {
                        let hint_next = self.log.next_from_hint(index, hint);
                        let pr = self
                            .ls()
                            .progress
                            .get_mut(&from)
                            .expect("invariant: checked above");
                        if pr.maybe_decr_to(index, hint_next) {
                            if pr.state == ProgressState::Replicate {
                                pr.become_probe();
                            }
                            self.send_append(from, true);
                        }
                    }
                    None => self.handle_append_ack(from, index),
                }
            }
            MessageBody::HeartbeatResponse { read_seq } => {
                let last = self.log.last_index();
                let voters = self.membership.voters.clone();
                let ls = self.ls();
                let Some(pr) = ls.progress.get_mut(&from) else {
                    return Ok(());
                };
                pr.recent_active = true;
                pr.on_heartbeat_response();
                if let ProgressState::Snapshot {
                    chunk_in_flight, ..
                } = &mut pr.state
                {
                    *chunk_in_flight = false;
                }
                let behind = pr.match_index < last;
                // A probe lost while the follower was unreachable is resent now, even when
                // there is no new entry to carry (an empty probe): otherwise a follower whose
                // next index is past the leader's last entry waits for the next proposal.
                let probing = pr.state == ProgressState::Probe;
                ls.reads.ack(from, read_seq);
                ls.lease.record_ack(from, read_seq);
                let confirmed = ls.reads.take_confirmed(&voters);
                for r in confirmed {
                    self.respond_read(r.ctx, r.origin, r.index);
                }
                if behind {
                    self.send_append(from, probing);
                }
            }
            MessageBody::SnapshotResponse {
                index,
                received,
                reject,
            } => {
                let ls = self.ls();
                let Some(pr) = ls.progress.get_mut(&from) else {
                    return Ok(());
                };
                pr.recent_active = true;
                if let ProgressState::Snapshot {
                    index: sending,
                    acked_bytes,
                    chunk_in_flight,
                } = &mut pr.state
                    && *sending == index
                    // A stale acknowledgement (reordered or duplicated) changes nothing; a
                    // rejection means the follower lost its partial copy: go back.
                    && (reject || received > *acked_bytes)
                {
                    *acked_bytes = received;
                    *chunk_in_flight = false;
                    self.send_append(from, false);
                }
            }
            MessageBody::Propose { payloads } => {
                // Forwarded by a follower; errors go nowhere (the client times out and retries).
                let _ = self.leader_append(payloads);
            }
            MessageBody::ReadIndex { ctx } => {
                let _ = self.leader_read(ctx, from);
            }
            _ => {}
        }
        Ok(())
    }

    fn handle_append_ack(&mut self, from: NodeId, index: Index) {
        let last = self.log.last_index();
        let pr = self
            .ls()
            .progress
            .get_mut(&from)
            .expect("invariant: caller checked progress exists");
        let old_paused = pr.paused();
        if !pr.maybe_update(index) {
            return;
        }
        match pr.state {
            ProgressState::Probe => pr.become_replicate(),
            ProgressState::Snapshot {
                index: snap_index, ..
            } if pr.match_index >= snap_index => {
                pr.become_probe();
                pr.become_replicate();
            }
            ProgressState::Replicate => pr.inflights.free_to(index),
            ProgressState::Snapshot { .. } => {}
        }
        let caught_up = pr.match_index == last;
        if self.maybe_commit() {
            self.bcast_append();
        } else if old_paused {
            self.send_append(from, false);
        }
        // Pipeline: keep sending while the window allows.
        let mut budget = self.cfg.max_inflight_msgs;
        while budget > 0 && self.send_append(from, false) {
            budget -= 1;
        }
        // A follower that was paused when the commit index moved has not heard of it yet.
        let commit = self.log.commit();
        if let RoleState::Leader(ls) = &self.role
            && ls
                .progress
                .get(&from)
                .is_some_and(|p| p.commit_sent < commit.min(p.match_index))
        {
            self.send_append(from, true);
        }
        if let RoleState::Leader(ls) = &self.role
            && caught_up
            && ls.transferee == Some(from)
        {
            self.ls().lease.void = true;
            self.send(from, MessageBody::TimeoutNow);
        }
    }

    /// Advance the commit index to what a majority of voters holds, if that entry is of the
    /// current term (Raft §5.4.2: earlier-term entries commit only indirectly). Returns whether
    /// the commit index moved.
    pub(crate) fn maybe_commit(&mut self) -> bool {
        let id = self.id;
        let persisted = self.log.persisted();
        let voters = self.membership.voters.clone();
        let ls = self.ls();
        let candidate = quorum::committed_index(&voters, |v| {
            if v == id {
                persisted
            } else {
                ls.progress.get(&v).map_or(0, |p| p.match_index)
            }
        });
        if candidate <= self.log.commit() {
            return false;
        }
        let current_term = self.log.term(candidate) == Some(self.term);
        #[cfg(test)]
        let current_term = {
            if !current_term && self.bug_commit_earlier_terms {
                BUG_HITS.with(|c| c.set(c.get() + 1));
            }
            current_term || self.bug_commit_earlier_terms
        };
        if !current_term {
            return false;
        }
        let old = self.log.commit();
        self.log.commit_to(candidate);
        self.on_commit_advanced(old);
        true
    }

    /// Called when the commit index moved while leader.
    pub(crate) fn leader_on_commit(&mut self) {
        self.step_down_if_removed();
        if !matches!(self.role, RoleState::Leader(_)) {
            return;
        }
        if self.log.term(self.log.commit()) != Some(self.term) {
            return;
        }
        // First commit in this term releases reads that waited for it.
        let waiting: Vec<(u64, NodeId)> = self.ls().reads.waiting.drain(..).collect();
        for (ctx, origin) in waiting {
            let _ = self.leader_read(ctx, origin);
        }
    }

    /// Append client payloads at the leader and replicate them. Returns the last index.
    pub(crate) fn leader_append(&mut self, payloads: Vec<EntryPayload>) -> Result<Index> {
        let uncommitted = (self.log.last_index() - self.log.commit()) as usize;
        let limit = self.cfg.max_uncommitted_entries;
        let ls = self.ls();
        if let Some(to) = ls.transferee {
            return Err(Error::TransferInProgress { to });
        }
        if uncommitted + payloads.len() > limit {
            return Err(Error::Backpressure {
                what: "uncommitted entries",
                limit,
            });
        }
        let mut first_conf = None;
        for p in payloads {
            let index = self.log.last_index() + 1;
            if let EntryPayload::ConfChange(_) = p {
                self.ls().pending_conf_index = index;
                first_conf.get_or_insert(index);
            }
            self.log.append(Entry {
                term: self.term,
                index,
                payload: p,
            });
        }
        // A configuration takes effect once appended.
        if let Some(from) = first_conf
            && self.refresh_membership_from(from)
        {
            self.on_membership_changed();
        }
        self.bcast_append();
        Ok(self.log.last_index())
    }

    /// Queue a ReadIndex request from `origin` (ourselves or a follower).
    pub(crate) fn leader_read(&mut self, ctx: u64, origin: NodeId) -> Result<()> {
        let limit = self.cfg.max_pending_reads;
        let committed_in_term = self.log.term(self.log.commit()) == Some(self.term);
        let commit = self.log.commit();
        let id = self.id;
        let single = self.membership.voters.len() == 1 && self.membership.is_voter(id);
        let ls = self.ls();
        if ls.reads.len() >= limit {
            return Err(Error::Backpressure {
                what: "reads",
                limit,
            });
        }
        if !committed_in_term {
            ls.reads.waiting.push_back((ctx, origin));
            return Ok(());
        }
        if single || self.lease_valid() {
            #[cfg(test)]
            if !single {
                LEASE_READS.with(|c| c.set(c.get() + 1));
            }
            self.respond_read(ctx, origin, commit);
            return Ok(());
        }
        let ls = self.ls();
        ls.reads.add(ctx, origin, commit, id);
        self.bcast_heartbeat();
        Ok(())
    }

    /// Whether this leader may serve a read from its lease (see `lease.rs`).
    pub(crate) fn lease_valid(&mut self) -> bool {
        if !self.cfg.lease_reads {
            return false;
        }
        let lease_ticks = (self.cfg.election_timeout_ticks * (100 - self.cfg.max_clock_drift_pct)
            / 100)
            .saturating_sub(2);
        let (id, now) = (self.id, self.tick_count);
        let voters = self.membership.voters.clone();
        let ls = self.ls();
        !ls.lease.void
            && ls
                .lease
                .start_tick(&voters, id, now)
                .is_some_and(|start| now < start + lease_ticks)
    }

    fn respond_read(&mut self, ctx: u64, origin: NodeId, index: Index) {
        if origin == self.id {
            self.read_states.push(ReadState { ctx, index });
        } else {
            self.send(origin, MessageBody::ReadIndexResponse { ctx, index });
        }
    }

    /// Hand leadership to `to` once it has caught up.
    pub(crate) fn transfer_leader(&mut self, to: NodeId) -> Result<()> {
        if !matches!(self.role, RoleState::Leader(_)) {
            return Err(Error::NotLeader {
                leader: self.leader,
            });
        }
        if to == self.id {
            return Ok(());
        }
        if !self.membership.is_voter(to) {
            return Err(Error::InvalidArgument(format!(
                "transfer target {to} is not a voter"
            )));
        }
        let last = self.log.last_index();
        let ls = self.ls();
        ls.transferee = Some(to);
        ls.transfer_elapsed_ticks = 0;
        let caught_up = ls.progress.get(&to).is_some_and(|p| p.match_index == last);
        if caught_up {
            self.ls().lease.void = true;
            self.send(to, MessageBody::TimeoutNow);
        } else {
            self.send_append(to, true);
        }
        Ok(())
    }

    /// Propose a single-server membership change.
    pub(crate) fn propose_conf_change(&mut self, cc: ConfChange) -> Result<()> {
        if !matches!(self.role, RoleState::Leader(_)) {
            return Err(Error::NotLeader {
                leader: self.leader,
            });
        }
        let commit = self.log.commit();
        if self.log.term(commit) != Some(self.term) {
            return Err(Error::ConfChangeRefused {
                reason: "leader has not committed an entry of its term yet",
            });
        }
        if self.ls().pending_conf_index > commit {
            return Err(Error::ConfChangeRefused {
                reason: "a membership change is still uncommitted",
            });
        }
        let m = &self.membership;
        match cc {
            ConfChange::AddVoter(id) if m.is_voter(id) => {
                return Err(Error::InvalidArgument(format!("{id} is already a voter")));
            }
            ConfChange::AddLearner(id) if m.contains(id) => {
                return Err(Error::InvalidArgument(format!("{id} is already a member")));
            }
            ConfChange::RemoveNode(id) if !m.contains(id) => {
                return Err(Error::InvalidArgument(format!("{id} is not a member")));
            }
            ConfChange::RemoveNode(id) if m.is_voter(id) && m.voters.len() == 1 => {
                return Err(Error::InvalidArgument(
                    "cannot remove the last voter".into(),
                ));
            }
            ConfChange::AddVoter(0) | ConfChange::AddLearner(0) => {
                return Err(Error::InvalidArgument("node id 0 is reserved".into()));
            }
            _ => {}
        }
        self.leader_append(vec![EntryPayload::ConfChange(cc)])
            .map(|_| ())
    }

    /// The leader made entries durable: count its own acknowledgement.
    pub(crate) fn leader_on_persisted(&mut self) {
        if matches!(self.role, RoleState::Leader(_)) && self.maybe_commit() {
            self.bcast_append();
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Reads served from a leader lease (test statistics).
    pub(crate) static LEASE_READS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// How often the injected bug committed an entry the correct rule would not have.
    pub(crate) static BUG_HITS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}
