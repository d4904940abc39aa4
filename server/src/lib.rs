//! A Chronos node.
//!
//! This crate will join the storage engine (`kv`), consensus (`raft`), the SQL engine (`sql`) and the
//! wire formats (`proto`) into one process: SQL sessions whose transactions commit as one KV batch
//! replicated through Raft and applied by every replica. It is the only library crate that owns
//! sockets, the wall clock and the real filesystem.
//!
//! Nothing is implemented here yet: see the replicated cluster issue.
