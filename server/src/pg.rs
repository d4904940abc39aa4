//! PostgreSQL connections on a cluster node: each connection's session is a session of the
//! node's own SQL service ([`SqlService`]), called in-process, so it is routed exactly as a
//! gRPC client's would be: opened on the leader (a follower forwards), each statement sent to
//! the node that owns the session, with the same errors on every hop (08006 once the owner
//! stops leading, 40001 conflicts, 58030 unknown outcomes). The `pg` crate drives these
//! through its [`SessionBackend`] trait and knows nothing of Raft or gRPC.
//!
//! - Results stream: the worker pulls one stream message at a time (a bounded number of rows
//!   in memory, as for gRPC clients) and hands rows to the protocol task.
//! - The transaction state for ReadyForQuery comes from the `SessionState` message that ends
//!   every stream.
//! - CancelRequest becomes `Sql.CancelSession`, routed to the owner; statement_timeout is the
//!   session's own setting and so runs on the owner unchanged.
//! - A closed connection closes its session on the owner (and cancels what it was running).

use std::sync::Arc;

use async_trait::async_trait;
use chronos_pg::{Canceller, SessionBackend, SessionSource, TxState};
use chronos_proto::client::sql_server::Sql;
use chronos_proto::client::{
    CancelSessionRequest, CloseSessionRequest, ExecuteRequest, OpenSessionRequest,
    execute_stream_response::Item,
};
use chronos_sql::{
    ColumnInfo, DataType, Error as SqlError, PortalOutcome, SqlState, StatementDescription,
    Streamed, Value,
};
use tokio::runtime::Handle;
use tokio_stream::StreamExt;
use tonic::{Code, Request, Status};

use crate::client::{columns_from_pb, outcome_from_pb, rows_from_pb};
use crate::services::SqlService;

/// Where a node's PostgreSQL connections get their sessions.
#[derive(Debug)]
pub struct RoutedSessions {
    sql: Arc<SqlService>,
    runtime: Handle,
}

impl RoutedSessions {
    /// Sessions of `sql`; `runtime` runs the service's futures for the (blocking) workers.
    pub fn new(sql: Arc<SqlService>, runtime: Handle) -> Self {
        RoutedSessions { sql, runtime }
    }
}

#[async_trait]
impl SessionSource for RoutedSessions {
    async fn open(&self) -> Result<Box<dyn SessionBackend>, SqlError> {
        let id = self
            .sql
            .open_session(Request::new(OpenSessionRequest {}))
            .await
            .map_err(|status| {
                SqlError::new(
                    SqlState::ConnectionFailure,
                    format!("cannot open a session on the leader: {}", status.message()),
                )
            })?
            .into_inner()
            .session_id;
        Ok(Box::new(RoutedSession {
            id,
            sql: self.sql.clone(),
            runtime: self.runtime.clone(),
            state: TxState::Idle,
        }))
    }
}

/// One connection's session, living on the node that opened it (see the module doc).
#[derive(Debug)]
struct RoutedSession {
    id: u64,
    sql: Arc<SqlService>,
    runtime: Handle,
    state: TxState,
}

/// What a failed call means to the client. A session the owner does not know is gone
/// (08006: reconnect); anything else may have happened after the request left, so its outcome
/// is unknown (58030), unless the service said it refused it before running anything.
fn status_error(status: &Status, during: &str) -> SqlError {
    match status.code() {
        Code::NotFound => SqlError::new(
            SqlState::ConnectionFailure,
            format!("the session is lost: {}", status.message()),
        ),
        Code::InvalidArgument | Code::ResourceExhausted => SqlError::new(
            SqlState::ProgramLimitExceeded,
            format!("the request was refused: {}", status.message()),
        ),
        _ => SqlError::new(
            SqlState::IoError,
            "the outcome of the request is unknown: it may or may not have been applied",
        )
        .with_detail(format!("{during}: {}", status.message())),
    }
}

/// A malformed message from another node of the cluster (a version mismatch).
fn malformed(what: &str) -> SqlError {
    SqlError::new(
        SqlState::Internal,
        format!("malformed result stream from the cluster: {what}"),
    )
}

impl RoutedSession {
    /// After an error that ended the stream without a `SessionState`, the best knowledge of
    /// the state: an open block is failed (every error in a block fails it), outside a block
    /// nothing is open.
    fn after_broken_stream(&mut self) {
        if self.state == TxState::InBlock {
            self.state = TxState::Failed;
        }
    }
}

impl SessionBackend for RoutedSession {
    fn execute_streaming(&mut self, sql: &str, sink: &mut dyn FnMut(Streamed) -> bool) {
        let request = Request::new(ExecuteRequest {
            session_id: self.id,
            sql: sql.to_owned(),
        });
        // Only the calls block on the runtime; `sink` may block on its own channel, which
        // it must not do inside the runtime's context.
        let sql_service = self.sql.clone();
        let mut stream = match self
            .runtime
            .block_on(async move { sql_service.execute_stream(request).await })
        {
            Ok(response) => response.into_inner(),
            Err(status) => {
                self.after_broken_stream();
                sink(Streamed::Done(Err(status_error(
                    &status,
                    "starting the statement",
                ))));
                return;
            }
        };
        loop {
            // Dropping `stream` (on return) cancels what the owner still runs.
            let message = match self.runtime.block_on(stream.next()) {
                Some(Ok(message)) => message,
                None => return,
                Some(Err(status)) => {
                    self.after_broken_stream();
                    sink(Streamed::Done(Err(status_error(
                        &status,
                        "reading the results",
                    ))));
                    return;
                }
            };
            let carry_on = match message.item {
                Some(Item::Columns(c)) => sink(Streamed::Columns(columns_from_pb(&c.columns))),
                Some(Item::Rows(batch)) => match rows_from_pb(&batch.rows) {
                    Ok(rows) => rows.into_iter().all(|row| sink(Streamed::Row(row))),
                    Err(e) => {
                        self.after_broken_stream();
                        sink(Streamed::Done(Err(malformed(&e.to_string()))));
                        false
                    }
                },
                Some(Item::Result(r)) => match outcome_from_pb(r) {
                    Ok(outcome) => {
                        if let Err(e) = &outcome
                            && e.state == SqlState::ConnectionFailure
                        {
                            // The owner refused it: the session is gone with its block.
                            self.state = TxState::Idle;
                        }
                        sink(Streamed::Done(outcome))
                    }
                    Err(e) => {
                        self.after_broken_stream();
                        sink(Streamed::Done(Err(malformed(&e.to_string()))))
                    }
                },
                Some(Item::State(st)) => {
                    self.state = match (st.in_transaction, st.failed) {
                        (false, _) => TxState::Idle,
                        (true, false) => TxState::InBlock,
                        (true, true) => TxState::Failed,
                    };
                    true
                }
                None => {
                    self.after_broken_stream();
                    sink(Streamed::Done(Err(malformed("an empty message"))));
                    false
                }
            };
            if !carry_on {
                return;
            }
        }
    }

    fn transaction_state(&self) -> TxState {
        self.state
    }

    fn canceller(&self) -> Arc<dyn Canceller> {
        Arc::new(RoutedCancel {
            id: self.id,
            sql: self.sql.clone(),
            runtime: self.runtime.clone(),
        })
    }

    /// Runs `SET name TO 'value'` on the owner (its ParameterStatus report is dropped: the
    /// protocol layer reports startup parameters itself).
    fn set_startup_parameter(&mut self, name: &str, value: &str) -> Result<(), SqlError> {
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(SqlError::new(
                SqlState::InvalidParameterValue,
                format!("unrecognized configuration parameter \"{name}\""),
            ));
        }
        let sql = format!("SET {name} TO '{}'", value.replace('\'', "''"));
        let mut outcome = Ok(());
        self.execute_streaming(&sql, &mut |item| {
            if let Streamed::Done(Err(e)) = item {
                outcome = Err(e);
            }
            true
        });
        outcome
    }

    fn prepare(
        &mut self,
        _name: &str,
        _sql: &str,
        _declared: &[Option<DataType>],
    ) -> Result<StatementDescription, SqlError> {
        Err(extended_unsupported())
    }

    fn describe_statement(&mut self, _name: &str) -> Result<StatementDescription, SqlError> {
        Err(extended_unsupported())
    }

    fn close_statement(&mut self, _name: &str) {}

    fn bind(
        &mut self,
        _portal: &str,
        _statement: &str,
        _params: Vec<Value>,
    ) -> Result<(), SqlError> {
        Err(extended_unsupported())
    }

    fn describe_portal(&mut self, _name: &str) -> Result<Option<Vec<ColumnInfo>>, SqlError> {
        Err(extended_unsupported())
    }

    fn execute_portal(
        &mut self,
        _name: &str,
        _max_rows: u64,
        _sink: &mut dyn FnMut(Streamed) -> bool,
    ) -> Result<PortalOutcome, SqlError> {
        Err(extended_unsupported())
    }

    fn close_portal(&mut self, _name: &str) {}

    fn sync(&mut self) {}
}

/// The extended protocol's requests are not routed between nodes yet (they need RPCs that
/// carry statement and portal names and parameter values to the session's owner): refused,
/// never approximated.
fn extended_unsupported() -> SqlError {
    SqlError::unsupported(
        "the extended query protocol on a cluster node (use the simple query protocol: psql, \
         or a driver's simple_query)",
    )
}

impl Drop for RoutedSession {
    /// The connection is gone: release the session on its owner (the worker has already
    /// cancelled whatever it ran). Best effort: an unreachable owner has lost it anyway.
    fn drop(&mut self) {
        let (sql, session_id) = (self.sql.clone(), self.id);
        self.runtime.spawn(async move {
            if let Err(status) = sql
                .close_session(Request::new(CloseSessionRequest { session_id }))
                .await
            {
                tracing::debug!("closing session {session_id}: {status}");
            }
        });
    }
}

/// Cancels a routed session's statement on its owner.
#[derive(Debug)]
struct RoutedCancel {
    id: u64,
    sql: Arc<SqlService>,
    runtime: Handle,
}

impl Canceller for RoutedCancel {
    fn cancel(&self) {
        let (sql, session_id) = (self.sql.clone(), self.id);
        self.runtime.spawn(async move {
            if let Err(status) = sql
                .cancel_session(Request::new(CancelSessionRequest { session_id }))
                .await
            {
                tracing::debug!("cancelling session {session_id}: {status}");
            }
        });
    }
}
