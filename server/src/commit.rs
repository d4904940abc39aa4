//! The SQL engine's commit path in a cluster node: commits and snapshot reads go through Raft.

use chronos_kv::mvcc::{Timestamp, Write};
use chronos_sql::CommitPath;

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

fn to_kv(e: Error) -> chronos_kv::Error {
    match e {
        Error::Kv(k) => k,
        other => chronos_kv::Error::Io {
            context: "replication".into(),
            source: std::io::Error::other(other.to_string()),
        },
    }
}

impl CommitPath for RaftCommit {
    fn commit(&self, read_ts: Timestamp, writes: Vec<Write>) -> chronos_kv::Result<Timestamp> {
        self.node
            .call_blocking(|reply| Event::Commit {
                read_ts,
                writes,
                reply,
            })
            .map_err(to_kv)
    }

    fn before_snapshot(&self) -> chronos_kv::Result<()> {
        self.node
            .call_blocking(|reply| Event::ReadIndex { reply })
            .map_err(to_kv)
    }
}
