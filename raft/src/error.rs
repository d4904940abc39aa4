//! The crate's single error type.

use std::path::PathBuf;

use crate::types::{Index, NodeId};

/// Errors returned by the Raft core and its storage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// This node is not the leader (and does not forward this request). `leader` is a hint.
    #[error("not the leader (leader hint: {leader:?})")]
    NotLeader {
        /// Leader of the current term as far as this node knows.
        leader: Option<NodeId>,
    },
    /// A leadership transfer is in progress; proposals are refused until it ends.
    #[error("leadership transfer to {to} in progress")]
    TransferInProgress {
        /// Target of the transfer.
        to: NodeId,
    },
    /// A membership change is refused for now (one is pending, or the leader has not yet committed
    /// an entry of its term). Retry later.
    #[error("membership change refused: {reason}")]
    ConfChangeRefused {
        /// Why.
        reason: &'static str,
    },
    /// A request named an invalid argument.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// Too many requests are queued (proposals or reads); back off.
    #[error("too many pending {what} (limit {limit})")]
    Backpressure {
        /// What is full.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The configuration is invalid.
    #[error("invalid config: {0}")]
    Config(String),
    /// Compaction asked for an index the log cannot compact to.
    #[error("cannot compact to {index}: {reason}")]
    Compaction {
        /// Requested index.
        index: Index,
        /// Why not.
        reason: &'static str,
    },
    /// An I/O error from the storage, with the file involved.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another process (or handle) has the storage directory open.
    #[error("{path} is in use: {reason}")]
    Locked {
        /// The storage directory.
        path: PathBuf,
        /// Who holds it, as far as known.
        reason: String,
    },
    /// Durable data is corrupt somewhere other than a torn tail.
    #[error("corruption in {path} at offset {offset}: {reason}")]
    Corruption {
        /// The file.
        path: PathBuf,
        /// Byte offset of the bad record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
