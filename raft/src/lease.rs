//! Leader leases: serving a read at the leader without a heartbeat round, when a recent round
//! proves no other leader can exist yet (optional, `Config::lease_reads`).
//!
//! # Clock assumption
//!
//! A follower that acknowledges a heartbeat ignores vote requests for `election_timeout_ticks`
//! of its own ticks (the check-quorum lease), and a restarted node ignores them for as long after
//! starting. If a quorum acknowledged a heartbeat the leader sent at its tick `t`, no other
//! leader can be elected until each of those followers' election timeouts runs out. The leader
//! trusts the lease for `election_timeout_ticks * (100 - max_clock_drift_pct) / 100 - 2` of its
//! own ticks after `t`, which is safe if **no node's tick lasts more than
//! `max_clock_drift_pct` percent longer than any other node's** over an election timeout (and
//! messages are not delivered before they are sent). Leadership transfer voids the lease for the
//! rest of the term (the target campaigns at once, overriding leases), and a membership change
//! restarts it (only heartbeats sent after the change count).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::quorum;
use crate::types::NodeId;

/// Heartbeats remembered for lease computation; older acknowledgements simply do not count.
const MAX_TRACKED_HEARTBEATS: usize = 256;

/// Lease bookkeeping of one leader term.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lease {
    /// (heartbeat sequence, leader tick when sent), increasing, at most
    /// `MAX_TRACKED_HEARTBEATS` long.
    sent: VecDeque<(u64, u64)>,
    /// Highest heartbeat sequence acknowledged by each follower.
    acked: BTreeMap<NodeId, u64>,
    /// Only heartbeats with a sequence at or above this count.
    pub epoch_seq: u64,
    /// A `TimeoutNow` went out this term: another node may win an election at any moment.
    pub void: bool,
}

impl Lease {
    /// A heartbeat with sequence `seq` was sent at leader tick `tick`.
    pub fn record_sent(&mut self, seq: u64, tick: u64) {
        self.sent.push_back((seq, tick));
        while self.sent.len() > MAX_TRACKED_HEARTBEATS {
            self.sent.pop_front();
        }
    }

    /// `from` acknowledged heartbeats up to `seq`.
    pub fn record_ack(&mut self, from: NodeId, seq: u64) {
        let e = self.acked.entry(from).or_insert(0);
        *e = (*e).max(seq);
    }

    fn sent_tick(&self, seq: u64) -> Option<u64> {
        if seq < self.epoch_seq {
            return None;
        }
        let i = self.sent.binary_search_by_key(&seq, |&(s, _)| s).ok()?;
        Some(self.sent[i].1)
    }

    /// The leader tick from which a quorum of `voters` is known to have heard from the leader,
    /// if any (the leader itself counts as hearing at `now`).
    pub fn start_tick(&self, voters: &BTreeSet<NodeId>, self_id: NodeId, now: u64) -> Option<u64> {
        // Encode "no valid acknowledgement" as 0 and tick t as t + 1.
        let start = quorum::committed_index(voters, |id| {
            if id == self_id {
                now + 1
            } else {
                self.acked
                    .get(&id)
                    .and_then(|&s| self.sent_tick(s))
                    .map_or(0, |t| t + 1)
            }
        });
        start.checked_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_starts_at_the_quorum_th_latest_acknowledged_send() {
        let voters: BTreeSet<NodeId> = [1, 2, 3].into_iter().collect();
        let mut l = Lease {
            epoch_seq: 1,
            ..Lease::default()
        };
        assert_eq!(l.start_tick(&voters, 1, 10), None);
        l.record_sent(1, 4);
        l.record_sent(2, 6);
        l.record_ack(2, 1);
        assert_eq!(l.start_tick(&voters, 1, 10), Some(4));
        l.record_ack(3, 2);
        l.record_ack(2, 2);
        assert_eq!(l.start_tick(&voters, 1, 10), Some(6));
        // A membership change restarts the lease.
        l.epoch_seq = 3;
        assert_eq!(l.start_tick(&voters, 1, 10), None);
    }
}
