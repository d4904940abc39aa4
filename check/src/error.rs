//! The checker's one error type: everything that stops a history from being checked at all.
//!
//! A history that parses but shows anomalies is not an error: it is a [`crate::Report`] with an
//! `Invalid` verdict.

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a history could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not well-formed EDN or JSON.
    #[error("line {line}, column {column}: {message}")]
    Parse {
        line: usize,
        column: usize,
        message: String,
    },

    /// The text parses, but an operation is not what the workload expects.
    #[error("line {line}: {message}")]
    BadOp { line: usize, message: String },

    /// An option (model name, workload name, format) is not known.
    #[error("{0}")]
    BadOption(String),
}

impl Error {
    pub(crate) fn parse(line: usize, message: impl Into<String>) -> Self {
        Error::Parse {
            line,
            column: 1,
            message: message.into(),
        }
    }

    pub(crate) fn bad_op(line: usize, message: impl Into<String>) -> Self {
        Error::BadOp {
            line,
            message: message.into(),
        }
    }
}
