//! The SQL engine's error type: a PostgreSQL SQLSTATE code and a message.

use std::fmt;

/// PostgreSQL's SQLSTATE codes for the errors Chronos raises: one table, so that a code read
/// back from the wire (a cluster client, a forwarded statement) maps to the same variant that
/// raised it.
macro_rules! sql_states {
    ($($variant:ident => $code:literal,)*) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SqlState {
            $($variant,)*
        }

        impl SqlState {
            /// Every state, in declaration order.
            pub const ALL: &'static [SqlState] = &[$(SqlState::$variant,)*];

            /// The five-character code.
            pub fn code(self) -> &'static str {
                match self {
                    $(SqlState::$variant => $code,)*
                }
            }

            /// The state with this code, if Chronos raises it.
            pub fn from_code(code: &str) -> Option<SqlState> {
                match code {
                    $($code => Some(SqlState::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

sql_states! {
    SyntaxError => "42601",
    FeatureNotSupported => "0A000",
    UndefinedTable => "42P01",
    InvalidSchemaName => "3F000",
    UndefinedColumn => "42703",
    UndefinedFunction => "42883",
    UndefinedObject => "42704",
    DuplicateTable => "42P07",
    DuplicateColumn => "42701",
    DuplicateObject => "42710",
    AmbiguousColumn => "42702",
    DatatypeMismatch => "42804",
    InvalidTextRepresentation => "22P02",
    NumericValueOutOfRange => "22003",
    StringDataRightTruncation => "22001",
    InvalidDatetimeFormat => "22007",
    DatetimeFieldOverflow => "22008",
    CannotCoerce => "42846",
    DivisionByZero => "22012",
    NotNullViolation => "23502",
    UniqueViolation => "23505",
    CardinalityViolation => "21000",
    GroupingError => "42803",
    InsufficientPrivilege => "42501",
    WrongObjectType => "42809",
    InvalidParameterValue => "22023",
    InvalidRegularExpression => "2201B",
    SerializationFailure => "40001",
    InFailedTransaction => "25P02",
    ActiveTransaction => "25001",
    NoActiveTransaction => "25P01",
    ReadOnlyTransaction => "25006",
    ProgramLimitExceeded => "54000",
    OutOfMemory => "53200",
    StatementTooComplex => "54001",
    ObjectInUse => "55006",
    QueryCanceled => "57014",
    DataCorrupted => "XX001",
    IoError => "58030",
    ConnectionFailure => "08006",
    ProtocolViolation => "08P01",
    DuplicatePreparedStatement => "42P05",
    UndefinedParameter => "42P02",
    IndeterminateDatatype => "42P18",
    InvalidSqlStatementName => "26000",
    InvalidCursorName => "34000",
    DuplicateCursor => "42P03",
    InvalidBinaryRepresentation => "22P03",
    CharacterNotInRepertoire => "22021",
    ObjectNotInPrerequisiteState => "55000",
    Internal => "XX000",
}

/// A SQL error: what went wrong, with the SQLSTATE a client can branch on, and optionally a
/// detail line (PostgreSQL's DETAIL: the conflicting key, why a commit was not replicated).
/// All three travel unchanged through a cluster node to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    pub state: SqlState,
    pub message: String,
    pub detail: Option<String>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.state.code())?;
        if let Some(d) = &self.detail {
            write!(f, "\nDETAIL: {d}")?;
        }
        Ok(())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(state: SqlState, message: impl Into<String>) -> Self {
        Error {
            state,
            message: message.into(),
            detail: None,
        }
    }

    /// The same error with a DETAIL line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn unsupported(what: impl fmt::Display) -> Self {
        Error::new(
            SqlState::FeatureNotSupported,
            format!("not supported: {what}"),
        )
    }

    pub fn internal(what: impl fmt::Display) -> Self {
        Error::new(SqlState::Internal, format!("internal error: {what}"))
    }

    /// Whether retrying the transaction may succeed.
    pub fn is_retryable(&self) -> bool {
        self.state == SqlState::SerializationFailure
    }
}

/// `Error::new(SqlState::X, format!(...))` in one line.
#[macro_export]
macro_rules! sql_error {
    ($state:ident, $($arg:tt)*) => {
        $crate::Error::new($crate::SqlState::$state, format!($($arg)*))
    };
}

impl From<chronos_kv::Error> for Error {
    fn from(e: chronos_kv::Error) -> Self {
        use chronos_kv::Error as Kv;
        let state = match &e {
            Kv::Conflict { .. } => SqlState::SerializationFailure,
            Kv::WriteSetTooLarge { .. } => SqlState::ProgramLimitExceeded,
            Kv::ReadOnly => SqlState::ReadOnlyTransaction,
            Kv::TimestampOutOfRange { .. } | Kv::InvalidArgument(_) => {
                SqlState::InvalidParameterValue
            }
            Kv::Corruption { .. } | Kv::MissingCurrent { .. } => SqlState::DataCorrupted,
            Kv::Locked { .. } => SqlState::ObjectInUse,
            Kv::Io { .. } => SqlState::IoError,
            _ => SqlState::Internal,
        };
        Error::new(state, format!("storage: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::SqlState;

    #[test]
    fn every_code_maps_back_to_its_state() {
        for &state in SqlState::ALL {
            assert_eq!(SqlState::from_code(state.code()), Some(state), "{state:?}");
        }
        assert_eq!(SqlState::from_code("99999"), None);
    }
}
