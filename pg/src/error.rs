//! The pg crate's error type, and how SQL errors become ErrorResponse fields.

use chronos_sql::SqlState;
use pgwire::error::{ErrorInfo, PgWireError, SEVERITY_ERROR, SEVERITY_FATAL};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start a session thread: {source}")]
    Spawn { source: std::io::Error },
    #[error("the session thread of this connection has stopped")]
    SessionGone,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("accepting a connection: {source}")]
    Accept { source: std::io::Error },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An ERROR-severity response carrying the SQL error's SQLSTATE, message and detail.
pub(crate) fn sql_error_info(e: &chronos_sql::Error) -> ErrorInfo {
    let mut info = ErrorInfo::new(
        SEVERITY_ERROR.to_owned(),
        e.state.code().to_owned(),
        without_nul(&e.message),
    );
    info.detail = e.detail.as_deref().map(without_nul);
    info
}

/// Fields of an ErrorResponse are NUL-terminated strings: a NUL inside one (a conflict's
/// detail shows a raw key) would cut the field and desynchronise the client's parser
/// (pgbench then aborts instead of retrying the 40001). It is shown as `\0` instead.
fn without_nul(s: &str) -> String {
    s.replace('\0', "\\0")
}

/// A FATAL error that ends the connection (startup refusals).
pub(crate) fn fatal(state: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        SEVERITY_FATAL.to_owned(),
        state.to_owned(),
        message.into(),
    )))
}

/// An internal failure of this connection's machinery, as an ERROR.
pub(crate) fn internal(e: &Error) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        SEVERITY_ERROR.to_owned(),
        SqlState::Internal.code().to_owned(),
        e.to_string(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_fields_never_contain_nul() {
        let e = chronos_sql::Error::new(SqlState::SerializationFailure, "a\0b")
            .with_detail("key /\0\x01");
        let info = sql_error_info(&e);
        assert_eq!(info.message, "a\\0b");
        assert_eq!(info.detail.as_deref(), Some("key /\\0\x01"));
    }
}
