//! The SQL engine's commit path in a cluster node: commits and snapshot reads go through Raft.
//!
//! Errors keep their meaning (see [`CommitError`]): a proposal the Raft core refused, or an
//! entry the replicated log refused, is definitely not committed; a proposal that was in the log
//! when it timed out or the driver stopped has an unknown outcome; a conflict is a conflict.

use chronos_kv::mvcc::{Timestamp, Write};
use chronos_sql::{CommitError, CommitPath};

use crate::error::Error;
use crate::node::{Event, NodeHandle};

/// Proposes each commit through the node's Raft driver and waits until it is committed and
/// applied here; confirms leadership (ReadIndex) before each transaction's snapshot.
#[derive(Debug)]
pub struct RaftCommit {
    node: NodeHandle,
}

impl RaftCommit {
    pub fn new(node: NodeHandle) -> Self {
        RaftCommit { node }
    }
}

impl CommitPath for RaftCommit {
    fn commit(&self, read_ts: Timestamp, writes: Vec<Write>) -> Result<Timestamp, CommitError> {
        self.node.commit_blocking(read_ts, writes)
    }

    fn before_snapshot(&self) -> Result<(), CommitError> {
        // Nothing is written before the snapshot: whatever went wrong, nothing happened.
        self.node
            .call_blocking(|reply| Event::ReadIndex { reply })
            .map_err(|e| match e {
                Error::Kv(k) => CommitError::Fatal(k),
                other => CommitError::NotCommitted {
                    reason: format!(
                        "node {} could not confirm it leads before the snapshot: {other}",
                        self.node.id
                    ),
                },
            })
    }
}
