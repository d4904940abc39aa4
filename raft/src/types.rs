//! Plain data types shared by the core, the storage layer and the wire: entries, hard state,
//! membership and snapshots.

use std::collections::BTreeSet;
use std::fmt;

/// Identifier of a Raft node. `0` is reserved and never names a node.
pub type NodeId = u64;
/// A Raft term. Terms only grow on every node; `0` is the term before any election.
pub type Term = u64;
/// A log index. The first real entry has index 1; index 0 is the empty prefix (term 0).
pub type Index = u64;

/// What an entry carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryPayload {
    /// The no-op a new leader appends so that it can commit an entry of its own term.
    Empty,
    /// Application data, opaque to Raft.
    Normal(Vec<u8>),
    /// A membership change; it takes effect as soon as it is in the log (see [`Membership`]).
    ConfChange(ConfChange),
    /// The initial membership of a brand-new cluster: always the single entry at index 1, term 1,
    /// identical on every initial member. One entry, so a torn write cannot leave half of it.
    Bootstrap(Membership),
}

impl EntryPayload {
    /// Approximate payload size, used for batching and flow control.
    pub fn size_bytes(&self) -> usize {
        match self {
            EntryPayload::Empty => 0,
            EntryPayload::Normal(data) => data.len(),
            EntryPayload::ConfChange(_) => 9,
            EntryPayload::Bootstrap(m) => 8 * (m.voters.len() + m.learners.len()),
        }
    }
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Term of the leader that created the entry.
    pub term: Term,
    /// Position in the log, >= 1.
    pub index: Index,
    /// What the entry carries.
    pub payload: EntryPayload,
}

impl Entry {
    /// Approximate encoded size: payload plus a fixed header.
    pub fn size_bytes(&self) -> usize {
        16 + self.payload.size_bytes()
    }
}

/// A single-server membership change. Changes are applied one at a time: the leader refuses a new
/// one while an earlier one is not yet committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfChange {
    /// Add a voter, or promote a learner to voter.
    AddVoter(NodeId),
    /// Add a non-voting learner that receives the log but is not counted in any quorum.
    AddLearner(NodeId),
    /// Remove a voter or a learner.
    RemoveNode(NodeId),
}

/// The cluster membership: voters decide elections and commits, learners only replicate.
///
/// Invariant: `voters` and `learners` are disjoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    /// Nodes counted in quorums.
    pub voters: BTreeSet<NodeId>,
    /// Nodes that receive the log but never vote.
    pub learners: BTreeSet<NodeId>,
}

impl Membership {
    /// A membership of the given voters and no learners.
    pub fn with_voters(voters: impl IntoIterator<Item = NodeId>) -> Self {
        Membership {
            voters: voters.into_iter().collect(),
            learners: BTreeSet::new(),
        }
    }

    /// Whether `id` is a voter.
    pub fn is_voter(&self, id: NodeId) -> bool {
        self.voters.contains(&id)
    }

    /// Whether `id` is a voter or a learner.
    pub fn contains(&self, id: NodeId) -> bool {
        self.voters.contains(&id) || self.learners.contains(&id)
    }

    /// Every member, voters and learners.
    pub fn members(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.voters.iter().chain(self.learners.iter()).copied()
    }

    /// Apply a change. Changes that make no difference are no-ops.
    pub fn apply(&mut self, change: ConfChange) {
        match change {
            ConfChange::AddVoter(id) => {
                self.learners.remove(&id);
                self.voters.insert(id);
            }
            ConfChange::AddLearner(id) => {
                if !self.voters.contains(&id) {
                    self.learners.insert(id);
                }
            }
            ConfChange::RemoveNode(id) => {
                self.voters.remove(&id);
                self.learners.remove(&id);
            }
        }
        debug_assert!(
            self.voters.is_disjoint(&self.learners),
            "invariant: voters and learners disjoint"
        );
    }
}

impl fmt::Display for Membership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v: Vec<String> = self.voters.iter().map(|v| v.to_string()).collect();
        write!(f, "voters=[{}]", v.join(","))?;
        if !self.learners.is_empty() {
            let l: Vec<String> = self.learners.iter().map(|v| v.to_string()).collect();
            write!(f, " learners=[{}]", l.join(","))?;
        }
        Ok(())
    }
}

/// The state that must be durable before any message that depends on it is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HardState {
    /// Current term.
    pub term: Term,
    /// Candidate voted for in `term`, if any.
    pub vote: Option<NodeId>,
    /// Highest index known committed. Persisting it is an optimisation (restart applies sooner);
    /// correctness does not depend on it.
    pub commit: Index,
}

/// Describes the state a snapshot captures.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotMeta {
    /// Last index included in the snapshot.
    pub index: Index,
    /// Term of the entry at `index`.
    pub term: Term,
    /// Membership in effect at `index`.
    pub membership: Membership,
}

/// An application snapshot: the state machine as of `meta.index`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// What the snapshot covers.
    pub meta: SnapshotMeta,
    /// Opaque application state.
    pub data: Vec<u8>,
}

/// A linearizable read that is ready: once the application has applied up to `index`, reading its
/// state machine observes every write acknowledged before the read was requested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadState {
    /// The caller's request id given to `read_index`.
    pub ctx: u64,
    /// Commit index at the time leadership was confirmed.
    pub index: Index,
}

/// The role a node plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows a leader (or waits for one).
    Follower,
    /// Polls voters without changing its term (pre-vote) before a real election.
    PreCandidate,
    /// Campaigns for votes in its term.
    Candidate,
    /// Replicates the log and decides commits.
    Leader,
}

/// Volatile state worth reporting (changes are surfaced in `Ready::soft_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoftState {
    /// Known leader of the current term, if any.
    pub leader: Option<NodeId>,
    /// This node's role.
    pub role: Role,
}
