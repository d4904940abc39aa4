//! Wire formats for Chronos: Protocol Buffers messages and gRPC services.
//!
//! # What it owns
//! The `.proto` definitions in `proto/` and the Rust generated from them at build time by the
//! pure-Rust `protox` compiler and `tonic-prost-build` (no `protoc`):
//!
//! - [`raft`]: node-to-node Raft traffic, one protobuf message per variant of chronos-raft's
//!   `MessageBody` (votes, appends, heartbeats, snapshot chunks, forwarded proposals and reads),
//!   delivered in batches by the `Raft.Send` RPC.
//! - [`client`]: the client API: open a session, execute SQL text, get typed results (columns,
//!   rows of typed values with NULL, command tags, errors with their SQLSTATE), close it.
//!   Transaction control is plain SQL (`BEGIN`/`COMMIT`/`ROLLBACK`).
//! - [`admin`]: cluster status (role, leader, term, commit/applied index, per-follower match and
//!   lag), add/remove a node, transfer leadership.
//!
//! This crate is a leaf: it imports no other Chronos crate. Conversions between these messages and
//! the raft/sql types live in `chronos-server`, and are fallible: a malformed message is an error
//! on that request, never a panic.
//!
//! # Size limits
//! Decoding limits are explicit constants here, applied by the server and the clients to every
//! tonic service and channel: [`MAX_RAFT_MESSAGE_BYTES`] and [`MAX_CLIENT_MESSAGE_BYTES`].
//!
//! # Not implemented
//! - Rows are returned whole in one response, not streamed.
//! - The decoders and the server's conversions are fuzzed by `server/tests/wire_fuzz.rs`
//!   (proptest; `CHRONOS_FUZZ_CASES`), not by a coverage-guided fuzzer (no nightly toolchain).

/// Largest encoded Raft message batch accepted or sent (appends are bounded by the Raft config's
/// `max_msg_bytes`, snapshot chunks by `snapshot_chunk_bytes`; this leaves ample headroom).
pub const MAX_RAFT_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// Largest client request or response (SQL text in, result sets out).
pub const MAX_CLIENT_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Raft traffic between nodes.
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod raft {
    tonic::include_proto!("chronos.raft");
}

/// The SQL client API.
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod client {
    tonic::include_proto!("chronos.client");
}

/// Cluster administration.
#[allow(missing_docs, missing_debug_implementations, clippy::all)]
pub mod admin {
    tonic::include_proto!("chronos.admin");
}
