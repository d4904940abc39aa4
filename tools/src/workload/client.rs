//! The database as a workload sees it: a [`Client`] runs SQL text in one session, and a
//! [`Connector`] opens clients. The embedded implementation wraps [`chronos_sql::Session`]; a
//! cluster implementation (sessions over the gRPC client API) plugs in behind the same traits.
//!
//! The one distinction a history needs is between a *definite* failure, after which the
//! database guarantees the statement (and, on COMMIT, the transaction) had no effect, and an
//! *indeterminate* outcome (timeout, lost connection, an I/O error while committing), after
//! which it may or may not have taken effect. Definite failures become `:fail` in the history,
//! indeterminate ones `:info`.
//!
//! # For a cluster connector
//! Over the client API (`OpenSession`, `Execute`, `CloseSession`): a [`Client`] owns one
//! session id; `execute` sends one statement with a deadline and maps the `ExecuteResponse`:
//! a query's rows to [`Reply::rows`] (proto `Value` to [`chronos_sql::Value`]), `Modified.rows`
//! to [`Reply::affected`], an `SqlError` to [`ClientError::Definite`] with its SQLSTATE, unless
//! the server cannot know whether a commit happened (a proposal lost to a leader change, a
//! timeout waiting for apply), which must come back as [`ClientError::Indeterminate`]. A gRPC
//! deadline, `Unavailable`, a reset connection or an unknown session id are indeterminate: the
//! caller decides whether that matters (only for COMMIT and autocommit writes; see
//! [`crate::workload::OpError`]) and opens a new client. [`Connector::connect`] gets the
//! history's process number, so clients can be spread over nodes (`process % nodes`) and a
//! reconnect can move to another node.

use chronos_sql::{Engine, Session, SqlState, StatementResult, Value};

/// What one successful statement returned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// Rows of a query; empty for other statements.
    pub rows: Vec<Vec<Value>>,
    /// Rows an INSERT, UPDATE or DELETE touched; 0 for other statements.
    pub affected: u64,
}

/// Why a statement did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The database answered with an error and the statement had no effect (a failed COMMIT
    /// rolled the transaction back): serialization failures (40001), constraint violations
    /// (23xxx), syntax and type errors, failed transaction blocks.
    Definite { sqlstate: String, message: String },
    /// The outcome is unknown: the request timed out, the connection was lost, or the server
    /// failed in a way that does not say whether a commit happened. The session is unusable
    /// afterwards; open a new client.
    Indeterminate { message: String },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Definite { sqlstate, message } => {
                write!(f, "{message} (SQLSTATE {sqlstate})")
            }
            ClientError::Indeterminate { message } => write!(f, "indeterminate: {message}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    pub fn indeterminate(message: impl Into<String>) -> Self {
        ClientError::Indeterminate {
            message: message.into(),
        }
    }

    pub fn is_indeterminate(&self) -> bool {
        matches!(self, ClientError::Indeterminate { .. })
    }

    /// A short label for summaries: the SQLSTATE, or `indeterminate`.
    pub fn label(&self) -> String {
        match self {
            ClientError::Definite { sqlstate, .. } => sqlstate.clone(),
            ClientError::Indeterminate { .. } => "indeterminate".to_string(),
        }
    }
}

/// One session of a database (a connection). Statements run in order; BEGIN, COMMIT and
/// ROLLBACK are plain SQL, as in the cluster's client API.
pub trait Client: Send {
    /// Runs one statement. Implementations enforce their own timeouts and report them as
    /// [`ClientError::Indeterminate`].
    fn execute(&mut self, sql: &str) -> Result<Reply, ClientError>;
}

/// Opens clients: one per worker, and a fresh one after an indeterminate outcome.
pub trait Connector: Send + Sync {
    /// A new session. `process` is the history's process number, which a cluster connector may
    /// use to spread clients over nodes.
    fn connect(&self, process: u64) -> Result<Box<dyn Client>, ClientError>;

    /// What the clients talk to, for summaries ("embedded, temporary", "cluster n1,n2,n3").
    fn describe(&self) -> String;
}

/// Sessions on an embedded [`Engine`].
#[derive(Debug, Clone)]
pub struct EmbeddedConnector {
    engine: Engine,
    description: String,
}

impl EmbeddedConnector {
    pub fn new(engine: Engine, description: impl Into<String>) -> Self {
        EmbeddedConnector {
            engine,
            description: description.into(),
        }
    }
}

impl Connector for EmbeddedConnector {
    fn connect(&self, _process: u64) -> Result<Box<dyn Client>, ClientError> {
        Ok(Box::new(EmbeddedClient {
            session: self.engine.session(),
        }))
    }

    fn describe(&self) -> String {
        self.description.clone()
    }
}

/// A [`Client`] over one [`Session`] of an embedded engine.
#[derive(Debug)]
pub struct EmbeddedClient {
    session: Session,
}

impl Client for EmbeddedClient {
    fn execute(&mut self, sql: &str) -> Result<Reply, ClientError> {
        let results = self.session.execute(sql);
        let mut reply = Reply::default();
        for r in results {
            match r {
                Ok(StatementResult::Query { rows, .. }) => reply.rows = rows,
                Ok(StatementResult::Modified { rows, .. }) => reply.affected = rows,
                Ok(StatementResult::Command { .. } | StatementResult::Explain { .. }) => {}
                Err(e) => return Err(classify(e.state, e.message)),
            }
        }
        Ok(reply)
    }
}

/// Which embedded errors leave the outcome unknown: storage I/O errors, corruption and internal
/// errors may strike after a commit became durable. Everything else is refused before any
/// effect.
pub(crate) fn classify(state: SqlState, message: String) -> ClientError {
    match state {
        SqlState::IoError | SqlState::DataCorrupted | SqlState::Internal => {
            ClientError::indeterminate(format!("{message} (SQLSTATE {})", state.code()))
        }
        _ => ClientError::Definite {
            sqlstate: state.code().to_string(),
            message,
        },
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn embedded_client_runs_statements_and_classifies_errors() {
        let engine = Engine::temporary().unwrap();
        let connector = EmbeddedConnector::new(engine, "embedded");
        let mut a = connector.connect(0).unwrap();
        let mut b = connector.connect(1).unwrap();
        a.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v INTEGER)")
            .unwrap();
        let r = a.execute("INSERT INTO t VALUES (1, 10), (2, 20)").unwrap();
        assert_eq!(r.affected, 2);
        let r = a.execute("SELECT v FROM t ORDER BY k").unwrap();
        assert_eq!(
            r.rows,
            vec![vec![Value::Integer(10)], vec![Value::Integer(20)]]
        );

        // Two transactions write the same row: the second commit is a definite 40001.
        a.execute("BEGIN").unwrap();
        b.execute("BEGIN").unwrap();
        a.execute("UPDATE t SET v = 11 WHERE k = 1").unwrap();
        b.execute("UPDATE t SET v = 12 WHERE k = 1").unwrap();
        a.execute("COMMIT").unwrap();
        let err = b.execute("COMMIT").unwrap_err();
        assert_eq!(err.label(), "40001", "{err}");
        assert!(!err.is_indeterminate());

        let err = a.execute("INSERT INTO t VALUES (1, 0)").unwrap_err();
        assert_eq!(err.label(), "23505", "{err}");
        assert!(classify(SqlState::IoError, "disk".into()).is_indeterminate());
    }
}
