//! What a connection's worker drives: a SQL session, wherever it runs.
//!
//! The protocol side (handler, worker) knows only these traits, so the same server fronts an
//! embedded [`chronos_sql::Engine`] (`chronos serve`: the session is a local
//! [`chronos_sql::Session`]) and a cluster node (the `server` crate implements them for a
//! session routed through the node's own SQL service, which forwards to the leader). This
//! crate must not depend on `server`; the dependency points the other way.
//!
//! Contract for implementations and for whoever extends them (prepared statements will add
//! methods here): every request a session takes is plain data — SQL text, and later statement
//! ids and parameter values — never a closure or a handle to local state, so that a routed
//! implementation can send it to the node that owns the session.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use chronos_sql::{
    CancelHandle, ColumnInfo, DataType, Engine, PortalOutcome, Result, Session,
    StatementDescription, Streamed, Value,
};

/// The transaction state a ReadyForQuery reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxState {
    /// Not inside an explicit transaction block.
    Idle,
    /// Inside a block that can still commit.
    InBlock,
    /// Inside a block that failed: only COMMIT/ROLLBACK (which roll back) are accepted.
    Failed,
}

/// A SQL session one connection's worker thread drives, one request at a time. Methods may
/// block for as long as a statement runs (the worker owns a thread for this).
pub trait SessionBackend: Send + Debug {
    /// Runs `sql` (one or more statements), handing what it produces to `sink` in the order
    /// of [`Streamed`]; when `sink` returns false the running statement is stopped and
    /// nothing more is handed over. Errors arrive as `Streamed::Done(Err(..))` with their
    /// SQLSTATE.
    fn execute_streaming(&mut self, sql: &str, sink: &mut dyn FnMut(Streamed) -> bool);

    /// The transaction state after the last request.
    fn transaction_state(&self) -> TxState;

    /// Cancels whatever statement this session runs at the moment it is called, from any
    /// thread (CancelRequest, a closed connection).
    fn canceller(&self) -> Arc<dyn Canceller>;

    /// Sets a parameter the startup packet carried (`application_name`), as `SET` would but
    /// without reporting it back (the protocol layer reports the startup parameters).
    fn set_startup_parameter(&mut self, name: &str, value: &str) -> Result<()>;

    // The extended query protocol: prepared statements and portals by name (`""`: the
    // unnamed one), as `chronos_sql::Session` documents them.

    /// Prepares `sql` as statement `name`; `declared` holds the client's parameter types
    /// (`None`: infer).
    fn prepare(
        &mut self,
        name: &str,
        sql: &str,
        declared: &[Option<DataType>],
    ) -> Result<StatementDescription>;

    /// Parameter types and result columns of statement `name`.
    fn describe_statement(&mut self, name: &str) -> Result<StatementDescription>;

    /// Forgets statement `name` (no error if there is none).
    fn close_statement(&mut self, name: &str);

    /// Binds `params` to statement `statement` as portal `portal`.
    fn bind(&mut self, portal: &str, statement: &str, params: Vec<Value>) -> Result<()>;

    /// Result columns of portal `name` (`None`: it returns no rows).
    fn describe_portal(&mut self, name: &str) -> Result<Option<Vec<ColumnInfo>>>;

    /// Runs portal `name` for at most `max_rows` rows (0: all), handing them to `sink`.
    fn execute_portal(
        &mut self,
        name: &str,
        max_rows: u64,
        sink: &mut dyn FnMut(Streamed) -> bool,
    ) -> Result<PortalOutcome>;

    /// Forgets portal `name` (no error if there is none).
    fn close_portal(&mut self, name: &str);

    /// The end of an extended-protocol batch.
    fn sync(&mut self);
}

/// Cancels a session's running statement (which then fails with 57014). A cancel that
/// arrives while nothing runs does nothing, as in PostgreSQL.
pub trait Canceller: Send + Sync + Debug {
    fn cancel(&self);
}

/// Opens a session for each new connection.
#[async_trait]
pub trait SessionSource: Send + Sync + Debug {
    /// A new session, or why there is none (its SQLSTATE goes to the client as a FATAL
    /// startup error: e.g. 08006 when no leader can be reached).
    async fn open(&self) -> Result<Box<dyn SessionBackend>, chronos_sql::Error>;
}

impl Canceller for CancelHandle {
    fn cancel(&self) {
        CancelHandle::cancel(self);
    }
}

impl SessionBackend for Session {
    fn execute_streaming(&mut self, sql: &str, sink: &mut dyn FnMut(Streamed) -> bool) {
        Session::execute_streaming(self, sql, sink);
    }

    fn transaction_state(&self) -> TxState {
        if !self.in_transaction() {
            TxState::Idle
        } else if self.transaction_failed() {
            TxState::Failed
        } else {
            TxState::InBlock
        }
    }

    fn canceller(&self) -> Arc<dyn Canceller> {
        Arc::new(self.cancel_handle())
    }

    fn set_startup_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        Session::set_startup_parameter(self, name, value)
    }

    fn prepare(
        &mut self,
        name: &str,
        sql: &str,
        declared: &[Option<DataType>],
    ) -> Result<StatementDescription> {
        Session::prepare(self, name, sql, declared)
    }

    fn describe_statement(&mut self, name: &str) -> Result<StatementDescription> {
        Session::describe_statement(self, name)
    }

    fn close_statement(&mut self, name: &str) {
        Session::close_statement(self, name);
    }

    fn bind(&mut self, portal: &str, statement: &str, params: Vec<Value>) -> Result<()> {
        Session::bind(self, portal, statement, params)
    }

    fn describe_portal(&mut self, name: &str) -> Result<Option<Vec<ColumnInfo>>> {
        Session::describe_portal(self, name)
    }

    fn execute_portal(
        &mut self,
        name: &str,
        max_rows: u64,
        sink: &mut dyn FnMut(Streamed) -> bool,
    ) -> Result<PortalOutcome> {
        Session::execute_portal(self, name, max_rows, sink)
    }

    fn close_portal(&mut self, name: &str) {
        Session::close_portal(self, name);
    }

    fn sync(&mut self) {
        Session::sync(self);
    }
}

/// An embedded engine: each connection gets its own local session.
#[async_trait]
impl SessionSource for Engine {
    async fn open(&self) -> Result<Box<dyn SessionBackend>, chronos_sql::Error> {
        Ok(Box::new(self.session()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded implementation reports the session's transaction state as ReadyForQuery
    /// needs it, including a failed block.
    #[test]
    fn local_session_reports_transaction_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(dir.path()).expect("engine");
        let mut s: Box<dyn SessionBackend> = Box::new(engine.session());
        let run = |s: &mut Box<dyn SessionBackend>, sql: &str| {
            s.execute_streaming(sql, &mut |_| true);
            s.transaction_state()
        };
        assert_eq!(
            run(&mut s, "CREATE TABLE t (a INT PRIMARY KEY)"),
            TxState::Idle
        );
        assert_eq!(run(&mut s, "BEGIN"), TxState::InBlock);
        assert_eq!(run(&mut s, "SELECT * FROM missing"), TxState::Failed);
        assert_eq!(run(&mut s, "ROLLBACK"), TxState::Idle);
    }
}
