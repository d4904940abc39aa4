//! The crate's one error type.

use std::path::PathBuf;

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the record layer refuses. Filesystem operations return `std::io::Error` unchanged, so
/// callers keep the OS error and add their own context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A payload too large to frame; nothing was written.
    #[error("a record of {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the refused payload.
        len: usize,
        /// The largest payload a record holds.
        limit: usize,
    },
    /// Damage that is not provably a torn tail: the file cannot be trusted from `offset` on.
    #[error("corruption in {} at offset {offset}: {reason}", file.display())]
    Corruption {
        /// The damaged file.
        file: PathBuf,
        /// Offset of the damaged record's header.
        offset: u64,
        /// What is wrong, for the operator.
        reason: String,
    },
}
