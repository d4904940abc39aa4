//! The durable-file layer every Chronos on-disk format stands on.
//!
//! # What it owns
//! - [`fs`]: the filesystem seam. A narrow [`fs::FileSystem`] trait with the real
//!   implementation ([`fs::RealFs`]), an in-memory one that keeps what was synced apart from
//!   what was only written so tests can crash and reopen ([`fs::MemFs`]), and a wrapper that
//!   injects failures, short writes and bit flips ([`fs::FaultFs`]).
//! - [`record`]: the checksummed record framing of append-only files, and the replay reader that
//!   classifies how a file ends (clean, provably torn by a crash, or corrupt at file X offset Y).
//!
//! # Who uses it
//! ```text
//!            chronos-io  (this crate: fs seam + record framing; no Chronos dependency)
//!            ▲        ▲
//!   chronos-kv        chronos-raft
//!   WAL, manifest     log segments, snapshot file
//!   SSTables (fs)     (fs)
//! ```
//! Both consumers share one copy of each so that the formats and the crash model cannot drift
//! apart (they once did: the Raft log framed records without the length check and treated a
//! flipped length bit as a torn tail). It knows nothing of keys, entries or SQL: payloads are
//! bytes.
//!
//! # Invariants
//! - A record is either read back exactly as written or reported: a torn tail only where a
//!   crash can have produced it, corruption (with file and offset) everywhere else.
//! - No length field read from disk causes an allocation: payloads are slices of the file.

mod error;
pub mod fs;
pub mod record;

pub use error::{Error, Result};
