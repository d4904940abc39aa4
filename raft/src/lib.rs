//! Raft consensus for Chronos.
//!
//! This crate will own a deterministic, sans-IO Raft core: the caller feeds it messages, ticks and
//! proposals and takes back what to persist, what to send and which entries are committed. It depends
//! on no other Chronos crate; durable log storage is a trait the node implements.
//!
//! Nothing is implemented here yet: see the Raft consensus issue.
