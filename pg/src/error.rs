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
        c_string(&e.message),
    );
    info.detail = e.detail.as_deref().map(c_string);
    info
}

/// `text` as an ErrorResponse field can carry it. Fields are NUL-terminated on the wire, so a
/// NUL inside one (a conflict's detail names the raw key, whose encoding has 0x00 bytes) would
/// end the field early and desynchronise the client's parser ("message contents do not agree
/// with length"); it is shown escaped instead.
fn c_string(text: &str) -> String {
    if text.contains('\0') {
        text.replace('\0', "\\x00")
    } else {
        text.to_owned()
    }
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

    /// A NUL inside a message or detail never reaches the wire, where it would cut the field.
    #[test]
    fn error_fields_carry_no_nul() {
        let e = chronos_sql::Error::new(SqlState::SerializationFailure, "a\0b")
            .with_detail("write-write conflict on key \0\u{1}t\0\0");
        let info = sql_error_info(&e);
        assert_eq!(info.message, "a\\x00b");
        assert_eq!(
            info.detail.as_deref(),
            Some("write-write conflict on key \\x00\u{1}t\\x00\\x00")
        );
        assert_eq!(info.code, "40001");
    }
}
