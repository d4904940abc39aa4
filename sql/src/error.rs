//! The SQL engine's error type: a PostgreSQL SQLSTATE code and a message.

use std::fmt;

/// PostgreSQL's SQLSTATE codes for the errors Chronos raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlState {
    SyntaxError,
    FeatureNotSupported,
    UndefinedTable,
    UndefinedColumn,
    UndefinedFunction,
    UndefinedObject,
    DuplicateTable,
    DuplicateColumn,
    DuplicateObject,
    AmbiguousColumn,
    DatatypeMismatch,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
    DivisionByZero,
    NotNullViolation,
    UniqueViolation,
    CardinalityViolation,
    GroupingError,
    InvalidParameterValue,
    SerializationFailure,
    InFailedTransaction,
    ActiveTransaction,
    NoActiveTransaction,
    ReadOnlyTransaction,
    ProgramLimitExceeded,
    OutOfMemory,
    DataCorrupted,
    IoError,
    Internal,
}

impl SqlState {
    /// The five-character code.
    pub fn code(self) -> &'static str {
        match self {
            SqlState::SyntaxError => "42601",
            SqlState::FeatureNotSupported => "0A000",
            SqlState::UndefinedTable => "42P01",
            SqlState::UndefinedColumn => "42703",
            SqlState::UndefinedFunction => "42883",
            SqlState::UndefinedObject => "42704",
            SqlState::DuplicateTable => "42P07",
            SqlState::DuplicateColumn => "42701",
            SqlState::DuplicateObject => "42710",
            SqlState::AmbiguousColumn => "42702",
            SqlState::DatatypeMismatch => "42804",
            SqlState::InvalidTextRepresentation => "22P02",
            SqlState::NumericValueOutOfRange => "22003",
            SqlState::DivisionByZero => "22012",
            SqlState::NotNullViolation => "23502",
            SqlState::UniqueViolation => "23505",
            SqlState::CardinalityViolation => "21000",
            SqlState::GroupingError => "42803",
            SqlState::InvalidParameterValue => "22023",
            SqlState::SerializationFailure => "40001",
            SqlState::InFailedTransaction => "25P02",
            SqlState::ActiveTransaction => "25001",
            SqlState::NoActiveTransaction => "25P01",
            SqlState::ReadOnlyTransaction => "25006",
            SqlState::ProgramLimitExceeded => "54000",
            SqlState::OutOfMemory => "53200",
            SqlState::DataCorrupted => "XX001",
            SqlState::IoError => "58030",
            SqlState::Internal => "XX000",
        }
    }
}

/// A SQL error: what went wrong, with the SQLSTATE a client can branch on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Error {
    pub state: SqlState,
    pub message: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.state.code())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(state: SqlState, message: impl Into<String>) -> Self {
        Error {
            state,
            message: message.into(),
        }
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
            Kv::Corruption { .. } => SqlState::DataCorrupted,
            Kv::Io { .. } => SqlState::IoError,
            _ => SqlState::Internal,
        };
        Error::new(state, format!("storage: {e}"))
    }
}
