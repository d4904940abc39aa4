//! Raft consensus for Chronos (placeholder docs, rewritten below).

mod candidate;
mod codec;
pub mod config;
pub mod error;
mod follower;
mod leader;
pub mod log;
pub mod message;
pub mod progress;
pub mod quorum;
mod raft;
mod rawnode;
pub mod read_only;
#[cfg(test)]
mod sim;
pub mod storage;
pub mod types;

pub use config::{Config, Rng};
pub use error::{Error, Result};
pub use message::{Message, MessageBody, RejectHint};
pub use raft::Raft;
pub use rawnode::{InitialState, RawNode, Ready};
pub use types::*;

/// Render an entry compactly for logs and golden files: `index/term:payload`.
pub fn format_entry(e: &Entry) -> String {
    let p = match &e.payload {
        EntryPayload::Empty => "-".to_string(),
        EntryPayload::Normal(d) => String::from_utf8_lossy(d).into_owned(),
        EntryPayload::ConfChange(ConfChange::AddVoter(id)) => format!("+v{id}"),
        EntryPayload::ConfChange(ConfChange::AddLearner(id)) => format!("+l{id}"),
        EntryPayload::ConfChange(ConfChange::RemoveNode(id)) => format!("-n{id}"),
    };
    format!("{}/{}:{}", e.index, e.term, p)
}
