//! The server's error type.

/// Errors of a node and its clients.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the Raft core or its log storage.
    #[error("raft: {0}")]
    Raft(#[from] chronos_raft::Error),
    /// From the storage engine or MVCC.
    #[error("storage: {0}")]
    Kv(#[from] chronos_kv::Error),
    /// A file or socket operation.
    #[error("I/O error while {what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A message from the wire (or a log entry) that does not decode.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// The request needs the leader and this node does not know one (or is not it).
    #[error("not the leader (leader hint: {leader:?})")]
    NotLeader {
        /// The leader as far as this node knows.
        leader: Option<u64>,
    },
    /// A request did not complete in time; its outcome is unknown.
    #[error("timed out: {0}")]
    Timeout(&'static str),
    /// The node is shutting down.
    #[error("the node has stopped")]
    Stopped,
    /// A gRPC call failed.
    #[error("rpc: {0}")]
    Rpc(String),
    /// The PostgreSQL listener could not start.
    #[error("PostgreSQL listener on {addr}: {source}")]
    Pg {
        addr: String,
        #[source]
        source: chronos_pg::Error,
    },
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tonic::Status> for Error {
    fn from(s: tonic::Status) -> Self {
        Error::Rpc(format!("{:?}: {}", s.code(), s.message()))
    }
}

impl From<tonic::transport::Error> for Error {
    fn from(e: tonic::transport::Error) -> Self {
        Error::Rpc(format!("transport: {e}"))
    }
}
