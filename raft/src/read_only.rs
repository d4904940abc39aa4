//! ReadIndex bookkeeping at the leader: reads wait for a heartbeat round acknowledged by a
//! quorum, which proves the leader was still leader when the read arrived.

use std::collections::{BTreeSet, VecDeque};

use crate::quorum;
use crate::types::{Index, NodeId};

/// A read waiting for leadership confirmation.
#[derive(Clone, Debug)]
pub struct PendingRead {
    /// Caller's request id.
    pub ctx: u64,
    /// Node that asked (this node or a follower that forwarded it).
    pub origin: NodeId,
    /// Commit index when the read arrived: the read is served once applied reaches it.
    pub index: Index,
    /// Heartbeat sequence number that confirms it.
    pub seq: u64,
    /// Voters that acknowledged a heartbeat with sequence >= `seq`.
    pub acks: BTreeSet<NodeId>,
}

/// Pending reads of one leader term. Invariant: `pending` is ordered by strictly increasing `seq`,
/// and `pending.len() + waiting.len() <= limit` is enforced by the caller through [`ReadOnly::len`].
#[derive(Clone, Debug, Default)]
pub struct ReadOnly {
    last_seq: u64,
    pending: VecDeque<PendingRead>,
    /// Reads that arrived before the leader committed an entry of its term: its commit index
    /// may lag behind entries committed by earlier leaders, so they must wait.
    pub waiting: VecDeque<(u64, NodeId)>,
}

impl ReadOnly {
    /// Number of queued reads.
    pub fn len(&self) -> usize {
        self.pending.len() + self.waiting.len()
    }

    /// Whether no read is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sequence number of the newest pending read (0 if none ever): heartbeats carry it.
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// A new heartbeat sequence number (heartbeats confirm every read queued before them).
    pub fn next_heartbeat_seq(&mut self) -> u64 {
        self.last_seq += 1;
        self.last_seq
    }

    /// Queue a read at `index`; `self_id` acknowledges it at once. Returns its sequence.
    pub fn add(&mut self, ctx: u64, origin: NodeId, index: Index, self_id: NodeId) -> u64 {
        self.last_seq += 1;
        let mut acks = BTreeSet::new();
        acks.insert(self_id);
        self.pending.push_back(PendingRead {
            ctx,
            origin,
            index,
            seq: self.last_seq,
            acks,
        });
        self.last_seq
    }

    /// `from` acknowledged heartbeats up to `seq`.
    pub fn ack(&mut self, from: NodeId, seq: u64) {
        for p in self.pending.iter_mut().take_while(|p| p.seq <= seq) {
            p.acks.insert(from);
        }
    }

    /// Remove and return every read confirmed by a quorum of `voters`; a confirmed read also
    /// confirms every earlier one.
    pub fn take_confirmed(&mut self, voters: &BTreeSet<NodeId>) -> Vec<PendingRead> {
        let Some(pos) = self
            .pending
            .iter()
            .rposition(|p| quorum::has_quorum(voters, &p.acks))
        else {
            return Vec::new();
        };
        self.pending.drain(..=pos).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_confirmation_releases_earlier_reads() {
        let voters: BTreeSet<NodeId> = [1, 2, 3].into_iter().collect();
        let mut r = ReadOnly::default();
        let s1 = r.add(10, 1, 5, 1);
        let s2 = r.add(11, 1, 6, 1);
        r.ack(2, s1);
        let done = r.take_confirmed(&voters);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].ctx, 10);
        r.ack(3, s2);
        assert_eq!(r.take_confirmed(&voters).len(), 1);
        assert!(r.is_empty());
    }
}
