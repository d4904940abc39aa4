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

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::sync::Arc;

    use chronos_kv::mvcc::{HybridClock, MvccOptions, MvccStore, Timestamp};
    use chronos_kv::{Db, Options};
    use chronos_sql::{CommitError, CommitPath, SqlState};
    use parking_lot::Mutex;

    use super::RaftCommit;
    use crate::config::NodeConfig;
    use crate::node;

    /// A node of a three-node cluster whose peers never answer: it never leads.
    fn lonely_follower(dir: &std::path::Path, rt: &tokio::runtime::Runtime) -> node::NodeHandle {
        let mut cfg = NodeConfig::new(1, ([127, 0, 0, 1], 1).into(), dir.to_path_buf());
        cfg.peers.insert(2, "127.0.0.1:1".into());
        cfg.peers.insert(3, "127.0.0.1:1".into());
        let clock = HybridClock::new(Arc::new(crate::SystemClock));
        let db = Db::open(dir.join("kv"), Options::default()).unwrap();
        let store = MvccStore::open(db, clock.clone(), MvccOptions::default()).unwrap();
        let transport =
            crate::transport::Transport::new(rt.handle().clone(), Default::default(), "x".into());
        let (tx, rx) = std::sync::mpsc::channel();
        let shared = Arc::new(Mutex::new(node::Shared::default()));
        let (handle, _thread) = node::start(cfg, store, clock, transport, shared, tx, rx).unwrap();
        handle
    }

    #[test]
    fn a_proposal_refused_by_a_non_leader_is_definitely_not_committed() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let node = lonely_follower(dir.path(), &rt);
        let commit = RaftCommit::new(node.clone());
        let writes = vec![(b"k".to_vec(), Some(b"v".to_vec()))];
        // Before: reported as an I/O error, SQLSTATE 58030 "outcome unknown".
        let e = commit.commit(Timestamp::new(1, 0), writes).unwrap_err();
        assert!(matches!(e, CommitError::NotCommitted { .. }), "{e:?}");
        let e = chronos_sql::Error::from(e);
        assert_eq!(e.state, SqlState::SerializationFailure, "{e}");
        assert!(e.detail.unwrap().contains("not the leader"));
        // Confirming leadership before a snapshot fails definitely too.
        let e = commit.before_snapshot().unwrap_err();
        assert!(matches!(e, CommitError::NotCommitted { .. }), "{e:?}");
        let _ = node.send(node::Event::Shutdown);
    }
}
