//! The leader's view of each follower's log, and flow control towards it.

use std::collections::VecDeque;

use crate::types::Index;

/// How the leader currently sends to a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressState {
    /// The match point is unknown: send one append at a time and wait for the answer.
    Probe,
    /// The follower is known to match up to `match_index`: pipeline appends optimistically,
    /// bounded by [`Inflights`].
    Replicate,
    /// The follower needs the snapshot at `index`, streamed one chunk at a time.
    Snapshot {
        /// Index of the snapshot being sent.
        index: Index,
        /// Bytes the follower confirmed holding.
        acked_bytes: u64,
        /// Whether a chunk beyond `acked_bytes` is outstanding.
        chunk_in_flight: bool,
    },
}

/// Bounded window of append messages in flight to one follower.
///
/// Invariant: `queue.len() <= max_msgs` and `bytes` is the sum of the queued sizes.
#[derive(Clone, Debug)]
pub struct Inflights {
    /// (last index of the message, entry bytes), oldest first.
    queue: VecDeque<(Index, usize)>,
    bytes: usize,
    max_msgs: usize,
    max_bytes: usize,
}

impl Inflights {
    /// An empty window.
    pub fn new(max_msgs: usize, max_bytes: usize) -> Self {
        Inflights {
            queue: VecDeque::new(),
            bytes: 0,
            max_msgs,
            max_bytes,
        }
    }

    /// No more messages may be sent until some are acknowledged.
    pub fn full(&self) -> bool {
        self.queue.len() >= self.max_msgs || self.bytes >= self.max_bytes
    }

    /// Record a message whose last entry is `last` carrying `bytes` of entries.
    pub fn add(&mut self, last: Index, bytes: usize) {
        assert!(
            !self.full(),
            "invariant: inflights add while full ({} msgs, {} bytes)",
            self.queue.len(),
            self.bytes
        );
        if let Some(&(prev, _)) = self.queue.back() {
            assert!(
                last > prev,
                "invariant: inflight indexes increase ({prev} then {last})"
            );
        }
        self.queue.push_back((last, bytes));
        self.bytes += bytes;
    }

    /// Forget every message whose last index is <= `index` (acknowledged).
    pub fn free_to(&mut self, index: Index) {
        while let Some(&(last, bytes)) = self.queue.front() {
            if last > index {
                break;
            }
            self.queue.pop_front();
            self.bytes -= bytes;
        }
    }

    /// Forget everything.
    pub fn reset(&mut self) {
        self.queue.clear();
        self.bytes = 0;
    }

    /// Number of messages in flight.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// Replication progress of one follower (or learner) as seen by the leader.
///
/// Invariant: `match_index < next_index`.
#[derive(Clone, Debug)]
pub struct Progress {
    /// Highest index known to be replicated on the follower.
    pub match_index: Index,
    /// Next index to send.
    pub next_index: Index,
    /// Sending mode.
    pub state: ProgressState,
    /// In `Probe`: an append is outstanding; wait for its answer or a heartbeat answer.
    pub probe_sent: bool,
    /// In `Replicate`: the window of outstanding appends.
    pub inflights: Inflights,
    /// Heard from since the last check-quorum round.
    pub recent_active: bool,
    /// `match_index` at the previous heartbeat response: no movement across two heartbeat
    /// rounds while appends are in flight means they were lost, so replication restarts.
    pub match_at_last_heartbeat: Index,
    /// Highest commit index sent to the follower (in an append or heartbeat).
    pub commit_sent: Index,
}

impl Progress {
    /// Progress for a follower whose log is unknown; the leader's last index is `last`.
    pub fn new(last: Index, max_inflight_msgs: usize, max_inflight_bytes: usize) -> Self {
        Progress {
            match_index: 0,
            next_index: last + 1,
            state: ProgressState::Probe,
            probe_sent: false,
            inflights: Inflights::new(max_inflight_msgs, max_inflight_bytes),
            recent_active: true,
            match_at_last_heartbeat: 0,
            commit_sent: 0,
        }
    }

    fn check(&self) {
        assert!(
            self.match_index < self.next_index,
            "invariant: match {} < next {}",
            self.match_index,
            self.next_index
        );
    }

    /// Whether sending must wait.
    pub fn paused(&self) -> bool {
        match self.state {
            ProgressState::Probe => self.probe_sent,
            ProgressState::Replicate => self.inflights.full(),
            ProgressState::Snapshot {
                chunk_in_flight, ..
            } => chunk_in_flight,
        }
    }

    /// A heartbeat response arrived: unpause probing, and detect a replicate window whose
    /// messages were lost (no progress since the previous heartbeat response), falling back to
    /// probing so they are resent. Returns whether it fell back.
    pub fn on_heartbeat_response(&mut self) -> bool {
        self.probe_sent = false;
        let stalled = self.state == ProgressState::Replicate
            && !self.inflights.is_empty()
            && self.match_index == self.match_at_last_heartbeat;
        self.match_at_last_heartbeat = self.match_index;
        if stalled {
            self.become_probe();
        }
        stalled
    }

    /// Switch to probing from `match_index + 1`.
    pub fn become_probe(&mut self) {
        if let ProgressState::Snapshot { index, .. } = self.state {
            self.next_index = (self.match_index + 1).max(index + 1);
        } else {
            self.next_index = self.match_index + 1;
        }
        self.state = ProgressState::Probe;
        self.probe_sent = false;
        self.inflights.reset();
        self.check();
    }

    /// Switch to pipelined replication.
    pub fn become_replicate(&mut self) {
        self.state = ProgressState::Replicate;
        self.next_index = self.match_index + 1;
        self.probe_sent = false;
        self.inflights.reset();
        self.check();
    }

    /// Switch to sending the snapshot at `index`.
    pub fn become_snapshot(&mut self, index: Index) {
        self.state = ProgressState::Snapshot {
            index,
            acked_bytes: 0,
            chunk_in_flight: false,
        };
        self.probe_sent = false;
        self.inflights.reset();
    }

    /// The follower acknowledged `index`; returns whether `match_index` grew.
    pub fn maybe_update(&mut self, index: Index) -> bool {
        let updated = index > self.match_index;
        if updated {
            self.match_index = index;
            self.probe_sent = false;
        }
        self.next_index = self.next_index.max(index + 1);
        self.check();
        updated
    }

    /// The follower rejected an append at `rejected` (its `prev_index`); `hint_next` is where the
    /// leader would probe next according to the follower's hint. Returns false for stale rejections.
    pub fn maybe_decr_to(&mut self, rejected: Index, hint_next: Index) -> bool {
        match self.state {
            ProgressState::Replicate => {
                if rejected <= self.match_index {
                    return false;
                }
                self.next_index = self.match_index + 1;
            }
            ProgressState::Probe => {
                if self.next_index == 0 || self.next_index - 1 != rejected {
                    return false;
                }
                self.next_index =
                    hint_next.clamp(self.match_index + 1, rejected.max(self.match_index + 1));
                self.probe_sent = false;
            }
            ProgressState::Snapshot { .. } => return false,
        }
        self.check();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inflights_bounded_by_msgs_and_bytes() {
        let mut w = Inflights::new(3, 100);
        w.add(1, 10);
        w.add(2, 10);
        assert!(!w.full());
        w.add(5, 90);
        assert!(w.full());
        w.free_to(2);
        assert_eq!(w.len(), 1);
        assert!(!w.full());
        w.free_to(5);
        assert!(w.is_empty());
        let mut b = Inflights::new(10, 50);
        b.add(1, 60);
        assert!(b.full(), "one oversized message fills the byte window");
    }

    #[test]
    fn probe_ignores_stale_rejects_and_uses_hint() {
        let mut p = Progress::new(10, 4, 1000);
        assert_eq!(p.next_index, 11);
        assert!(!p.maybe_decr_to(7, 3), "stale: we did not send prev=7");
        assert!(p.maybe_decr_to(10, 4));
        assert_eq!(p.next_index, 4);
        p.probe_sent = true;
        assert!(p.maybe_update(3));
        assert_eq!(p.next_index, 4);
        p.become_replicate();
        assert!(!p.maybe_decr_to(2, 1), "stale in replicate: below match");
        assert!(p.maybe_decr_to(5, 1));
        assert_eq!(p.next_index, 4);
    }
}
