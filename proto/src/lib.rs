//! Wire formats for Chronos.
//!
//! This crate will own the Protocol Buffers definitions for node-to-node Raft traffic and the client
//! and admin APIs, generated with tonic/prost by a pure-Rust protobuf compiler, plus fallible
//! conversions between wire messages and the types of the other crates.
//!
//! Nothing is implemented here yet: see the replicated cluster issue.
