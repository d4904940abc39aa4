//! Elections: pre-vote rounds, real elections and counting votes.
//!
//! A pre-candidate asks voters whether they *would* vote for it in `term + 1` without changing any
//! durable state; only if a majority agrees does it become a candidate, increment its term and vote
//! for itself. A node cut off from the cluster therefore cannot inflate its term and, when it
//! rejoins, cannot force a healthy leader to step down.

use std::collections::BTreeMap;

use crate::message::{Message, MessageBody};
use crate::quorum::{self, VoteResult};
use crate::raft::{Raft, RoleState};
use crate::types::NodeId;

impl Raft {
    /// Start an election: a pre-vote round first if configured, unless this is a leadership
    /// transfer (`transfer`), which skips pre-vote and overrides voters' leases.
    pub(crate) fn campaign(&mut self, transfer: bool) {
        assert!(
            !matches!(self.role, RoleState::Leader(_)),
            "invariant: a leader does not campaign"
        );
        if !self.promotable() {
            return;
        }
        if self.cfg.pre_vote && !transfer {
            self.become_pre_candidate();
        } else {
            self.become_candidate(transfer);
        }
    }

    fn voters_except_self(&self) -> Vec<NodeId> {
        self.membership
            .voters
            .iter()
            .copied()
            .filter(|&v| v != self.id)
            .collect()
    }

    fn become_pre_candidate(&mut self) {
        // Term and vote stay as they are: nothing durable changes in a pre-vote.
        let mut votes = BTreeMap::new();
        votes.insert(self.id, true);
        self.role = RoleState::PreCandidate(votes);
        self.leader = None;
        self.reset_election_timer();
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        for to in self.voters_except_self() {
            self.send_with_term(
                to,
                self.term + 1,
                MessageBody::PreVote {
                    last_index,
                    last_term,
                },
            );
        }
        self.check_votes();
    }

    fn become_candidate(&mut self, transfer: bool) {
        self.term += 1;
        self.vote = Some(self.id);
        self.leader = None;
        let mut votes = BTreeMap::new();
        votes.insert(self.id, true);
        self.role = RoleState::Candidate(votes);
        self.reset_election_timer();
        let (last_index, last_term) = (self.log.last_index(), self.log.last_term());
        for to in self.voters_except_self() {
            self.send(
                to,
                MessageBody::Vote {
                    last_index,
                    last_term,
                    transfer,
                },
            );
        }
        self.check_votes();
    }

    fn check_votes(&mut self) {
        let (result, pre) = match &self.role {
            RoleState::PreCandidate(v) => (quorum::vote_result(&self.membership.voters, v), true),
            RoleState::Candidate(v) => (quorum::vote_result(&self.membership.voters, v), false),
            _ => return,
        };
        match (result, pre) {
            (VoteResult::Won, true) => self.become_candidate(false),
            (VoteResult::Won, false) => self.become_leader(),
            (VoteResult::Lost, _) => {
                let term = self.term;
                self.become_follower(term, None);
            }
            (VoteResult::Pending, _) => {}
        }
    }

    /// Messages while (pre-)campaigning. Terms were already reconciled by `step`.
    pub(crate) fn step_candidate(&mut self, msg: Message) {
        match msg.body {
            MessageBody::PreVoteResponse { reject } => {
                if let RoleState::PreCandidate(votes) = &mut self.role {
                    votes.insert(msg.from, !reject);
                    self.check_votes();
                }
            }
            MessageBody::VoteResponse { reject } => {
                if let RoleState::Candidate(votes) = &mut self.role {
                    votes.insert(msg.from, !reject);
                    self.check_votes();
                }
            }
            MessageBody::Append { .. }
            | MessageBody::Heartbeat { .. }
            | MessageBody::SnapshotChunk { .. } => {
                // A leader exists in our term (or, for a pre-candidate, in our current term).
                let term = self.term;
                self.become_follower(term, Some(msg.from));
                self.step_follower(msg);
            }
            _ => {}
        }
    }
}
