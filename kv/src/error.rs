//! The storage engine's one error type.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the storage engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong inside the storage engine.
///
/// Callers branch on [`Error::Corruption`] (stop, report, never serve the data) versus
/// [`Error::Io`] (the environment failed; the data on disk is as it was before the call).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The filesystem failed; `context` says what the engine was doing.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// Bytes on disk are not what the engine wrote. Never skipped silently.
    #[error("corruption in {} at offset {offset}: {reason}", file.display())]
    Corruption {
        file: PathBuf,
        offset: u64,
        reason: String,
    },

    /// The directory exists but is not a Chronos data directory.
    #[error("{} is not a Chronos data directory: {reason}", path.display())]
    NotADataDirectory { path: PathBuf, reason: String },

    /// The directory holds files but no `CURRENT`, and nothing proves them the leftovers of an
    /// interrupted creation: nothing was changed. `hint` says how to recover.
    #[error(
        "{} has no CURRENT file but holds {} file(s): {}; nothing was changed. {hint}",
        path.display(), files.len(), files.join(", ")
    )]
    MissingCurrent {
        path: PathBuf,
        files: Vec<String>,
        hint: String,
    },

    /// The data directory was written by a newer (or unknown) format version.
    #[error(
        "{} uses storage format version {found}, this build supports up to {supported}",
        path.display()
    )]
    UnsupportedFormatVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// Another process (or another handle in this process) holds the data directory. The lock
    /// is the kernel's (flock): it dies with its holder, so it is never stale.
    #[error("{} is in use by another process: {holder}", path.display())]
    Locked { path: PathBuf, holder: String },

    /// The caller passed something the engine cannot accept (e.g. an oversized key).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A background flush or compaction failed earlier; the engine refuses further writes
    /// until it is reopened, so that nothing is acknowledged that might not be durable.
    #[error("the store stopped accepting writes after a background error: {0}")]
    BackgroundFailed(String),

    /// Another transaction committed a newer version of a key this transaction wrote, after
    /// this transaction's snapshot (first committer wins). Retrying the transaction may succeed.
    #[error(
        "serialization failure: key {key:?} was written by a transaction that committed after this one began; retry the transaction"
    )]
    Conflict { key: String },

    /// The transaction's buffered writes exceed the configured limit.
    #[error("transaction write set of {bytes} bytes exceeds the limit of {limit} bytes")]
    WriteSetTooLarge { bytes: usize, limit: usize },

    /// A write was attempted in a read-only transaction.
    #[error("cannot write in a read-only transaction")]
    ReadOnly,

    /// A read timestamp outside what the store can serve (garbage collected, or in the future).
    #[error("cannot read at timestamp {ts}: {reason}")]
    TimestampOutOfRange { ts: String, reason: String },

    /// The store was closed.
    #[error("the store is closed")]
    Closed,
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn corruption(
        file: impl Into<PathBuf>,
        offset: u64,
        reason: impl Into<String>,
    ) -> Self {
        Error::Corruption {
            file: file.into(),
            offset,
            reason: reason.into(),
        }
    }

    /// True for errors after which retrying the whole transaction may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Conflict { .. })
    }

    /// True for errors that mean the stored bytes cannot be trusted.
    pub fn is_corruption(&self) -> bool {
        matches!(self, Error::Corruption { .. })
    }
}

impl From<chronos_io::Error> for Error {
    fn from(e: chronos_io::Error) -> Self {
        match e {
            chronos_io::Error::Corruption {
                file,
                offset,
                reason,
            } => Error::Corruption {
                file,
                offset,
                reason,
            },
            e @ chronos_io::Error::TooLarge { .. } => Error::InvalidArgument(e.to_string()),
        }
    }
}

/// Adds "what the engine was doing" to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::io(what(), source))
    }
}
