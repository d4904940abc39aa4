//! Node configuration and the seeded random generator used for election timeouts.

use crate::error::{Error, Result};
use crate::types::{Index, NodeId};

/// Configuration of one node. All durations are in ticks: the core has no clock.
#[derive(Clone, Debug)]
pub struct Config {
    /// This node's id, non-zero.
    pub id: NodeId,
    /// Minimum election timeout; the actual timeout is drawn uniformly from
    /// `[election_timeout_ticks, 2 * election_timeout_ticks)` on every reset.
    pub election_timeout_ticks: u64,
    /// Heartbeat interval of a leader; must be smaller than the election timeout.
    pub heartbeat_interval_ticks: u64,
    /// Seed of the PRNG behind randomized election timeouts. Give every node a different seed.
    pub seed: u64,
    /// Poll voters before starting a real election (a rejoining node cannot disrupt a leader).
    pub pre_vote: bool,
    /// Leaders step down when they have not heard from a quorum within an election timeout;
    /// followers that heard from a leader within an election timeout ignore vote requests.
    pub check_quorum: bool,
    /// Followers forward proposals and reads to the leader instead of returning `NotLeader`.
    pub forward_proposals: bool,
    /// Largest batch of entries in one append message, in bytes (at least one entry is sent).
    pub max_msg_bytes: usize,
    /// Largest number of entries in one append message (>= 1).
    pub max_msg_entries: usize,
    /// Bound on append messages in flight to one follower in replicate mode.
    pub max_inflight_msgs: usize,
    /// Bound on entry bytes in flight to one follower in replicate mode.
    pub max_inflight_bytes: usize,
    /// Snapshot chunk size in bytes.
    pub snapshot_chunk_bytes: usize,
    /// Largest number of committed entries handed out in one `Ready`.
    pub max_committed_per_ready: usize,
    /// Bound on uncommitted entries a leader accepts before refusing proposals.
    pub max_uncommitted_entries: usize,
    /// Bound on pending ReadIndex requests at a leader.
    pub max_pending_reads: usize,
    /// Index the application has applied (restart). `0` means "from the snapshot".
    pub applied: Index,
    /// Serve reads at the leader without a heartbeat round while its lease holds (see the
    /// `lease` module for the clock assumption). Requires `check_quorum`. Must be the same on
    /// every node: it also makes a restarted node ignore vote requests for an election timeout.
    pub lease_reads: bool,
    /// Bound on how much longer one node's tick may last than another's, in percent.
    pub max_clock_drift_pct: u64,
    /// Voters of a brand-new cluster. Used only when the storage is empty; leave empty for a node
    /// that joins an existing cluster (it learns the membership from the log or a snapshot).
    pub bootstrap_voters: Vec<NodeId>,
}

impl Config {
    /// A configuration with conventional defaults for node `id`.
    pub fn new(id: NodeId) -> Self {
        Config {
            id,
            election_timeout_ticks: 10,
            heartbeat_interval_ticks: 2,
            seed: id.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            pre_vote: true,
            check_quorum: true,
            forward_proposals: true,
            max_msg_bytes: 64 * 1024,
            max_msg_entries: 64,
            max_inflight_msgs: 16,
            max_inflight_bytes: 1024 * 1024,
            snapshot_chunk_bytes: 64 * 1024,
            max_committed_per_ready: 1024,
            max_uncommitted_entries: 10_000,
            max_pending_reads: 1024,
            applied: 0,
            bootstrap_voters: Vec::new(),
            lease_reads: false,
            max_clock_drift_pct: 10,
        }
    }

    /// Check the configuration.
    pub fn validate(&self) -> Result<()> {
        if self.id == 0 {
            return Err(Error::Config("node id 0 is reserved".into()));
        }
        if self.heartbeat_interval_ticks == 0 {
            return Err(Error::Config(
                "heartbeat_interval_ticks must be >= 1".into(),
            ));
        }
        if self.election_timeout_ticks <= self.heartbeat_interval_ticks {
            return Err(Error::Config(
                "election_timeout_ticks must exceed heartbeat_interval_ticks".into(),
            ));
        }
        if self.max_msg_entries == 0 || self.max_inflight_msgs == 0 || self.max_inflight_bytes == 0
        {
            return Err(Error::Config(
                "message and in-flight bounds must be >= 1".into(),
            ));
        }
        if self.snapshot_chunk_bytes == 0 || self.max_committed_per_ready == 0 {
            return Err(Error::Config(
                "snapshot_chunk_bytes and max_committed_per_ready must be >= 1".into(),
            ));
        }
        if self.lease_reads && (!self.check_quorum || self.max_clock_drift_pct >= 50) {
            return Err(Error::Config(
                "lease_reads needs check_quorum and max_clock_drift_pct < 50".into(),
            ));
        }
        if self.max_uncommitted_entries == 0 || self.max_pending_reads == 0 {
            return Err(Error::Config("queue bounds must be >= 1".into()));
        }
        Ok(())
    }
}

/// A small deterministic PRNG (splitmix64). Not cryptographic; only spreads election timeouts.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `[lo, hi)`; `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo)
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        den > 0 && self.next_u64() % den < num
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.range(10, 20);
            assert_eq!(x, b.range(10, 20));
            assert!((10..20).contains(&x));
        }
        assert_eq!(Rng::new(1).range(5, 5), 5);
    }

    #[test]
    fn validate_rejects_bad_timeouts() {
        let mut c = Config::new(1);
        assert!(c.validate().is_ok());
        c.election_timeout_ticks = 2;
        assert!(c.validate().is_err());
        assert!(Config::new(0).validate().is_err());
    }
}
