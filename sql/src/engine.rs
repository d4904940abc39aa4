//! The public face of the SQL engine: an [`Engine`] over a store, and [`Session`]s on it.
//!
//! A session holds at most one explicit transaction (BEGIN … COMMIT/ROLLBACK); outside one,
//! every statement runs in its own transaction and commits when it succeeds. After an error
//! inside a transaction block, statements are refused (SQLSTATE 25P02) until ROLLBACK, and
//! COMMIT rolls back, as in PostgreSQL. A write-write conflict at commit is SQLSTATE 40001.
//!
//! A running statement stops with 57014 when its session's [`CancelHandle`] fires or its
//! `statement_timeout` passes (see [`crate::cancel`]); it has then failed like any statement.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chronos_kv::fs::MemFs;
use chronos_kv::mvcc::{
    HybridClock, MvccOptions, MvccStore, Timestamp, Transaction, WallClock, Write,
};
use chronos_kv::{Db, Options};
use sqlparser::ast::{self, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::{Parser, ParserError};

use crate::cancel::{CancelHandle, Interrupt, StatementLimits, SystemTicker, Ticker};
use crate::catalog;
use crate::ddl;
use crate::depth;
use crate::dml;
use crate::error::{Error, Result, SqlState};
use crate::exec::{DEFAULT_MEMORY_LIMIT_BYTES, Executor};
use crate::planner::Planner;
use crate::settings::Settings;
use crate::sql_error;
use crate::value::{DataType, Row, Value};

/// A result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// `None` when the type is unknown (e.g. a column of only NULLs).
    pub data_type: Option<DataType>,
}

/// What one statement produced.
#[derive(Debug, Clone, PartialEq)]
pub enum StatementResult {
    /// Rows of a query (SELECT, VALUES, SHOW, DESCRIBE).
    Query {
        columns: Vec<ColumnInfo>,
        rows: Vec<Row>,
    },
    /// INSERT, UPDATE or DELETE and the number of rows it touched; `tag` is "INSERT" etc.
    Modified { tag: &'static str, rows: u64 },
    /// Any other command: `tag` is e.g. "CREATE TABLE", "BEGIN", "COMMIT", "ROLLBACK".
    Command { tag: String },
    /// The plan EXPLAIN printed, one line per plan node.
    Explain { lines: Vec<String> },
}

/// Something a statement tells its client besides its result, as PostgreSQL's NoticeResponse
/// and ParameterStatus messages do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionMessage {
    /// A NOTICE (e.g. `table "x" does not exist, skipping`), with its SQLSTATE.
    Notice { code: &'static str, message: String },
    /// A reported parameter (application_name) changed to `value`.
    ParameterStatus { name: String, value: String },
}

/// What [`Session::execute_streaming`] hands its sink, in order.
#[derive(Debug)]
pub enum Streamed {
    /// A notice or parameter change of the current statement, before its `Done`.
    Message(SessionMessage),
    /// A query's columns, before its rows.
    Columns(Vec<ColumnInfo>),
    /// One row of the current query.
    Row(Row),
    /// A statement's end, with its result. A query whose rows were streamed ends with `Query`
    /// holding its columns and no rows (SHOW TABLES and DESCRIBE, small, still carry theirs).
    /// After an error nothing follows.
    Done(Result<StatementResult>),
}

/// A sink of streamed results; returns false when its receiver went away.
pub type StreamSink<'a> = &'a mut dyn FnMut(Streamed) -> bool;

fn receiver_gone() -> Error {
    Error::internal("the result receiver went away")
}

/// The system clock: the one place the SQL engine reads wall time, for MVCC timestamps.
#[derive(Debug)]
struct SystemClock;

impl WallClock for SystemClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// How a transaction's writes become durable: applied to the local store, or replicated (a
/// cluster node proposes the batch through Raft and returns once it is applied).
pub trait CommitPath: Send + Sync + std::fmt::Debug {
    /// Commits a write set read at `read_ts`; returns the commit timestamp.
    fn commit(&self, read_ts: Timestamp, writes: Vec<Write>) -> Result<Timestamp, CommitError>;

    /// Runs before a transaction takes its snapshot, so that it sees every write acknowledged
    /// before it began (a replicated node confirms its leadership here: ReadIndex). Nothing has
    /// been written when this fails, so its errors are never [`CommitError::Unknown`].
    fn before_snapshot(&self) -> Result<(), CommitError> {
        Ok(())
    }
}

/// Why a commit did not (certainly) happen. The four answers mean different things to a client
/// and keep their meaning across every hop to it: the first two are definite (nothing was
/// written; retrying the transaction is safe), `Unknown` is not.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// A write-write conflict with a transaction that committed first (SQLSTATE 40001).
    #[error("write-write conflict on key {key}")]
    Conflict { key: String },
    /// Provably not committed for another reason: the proposal never reached the replicated
    /// log (this node is not the leader), or the log refused it deterministically (SQLSTATE
    /// 40001: retrying the transaction is safe).
    #[error("not committed: {reason}")]
    NotCommitted { reason: String },
    /// The commit may or may not have happened (a proposal in the log when leadership changed,
    /// a timeout waiting for it): SQLSTATE 58030; the client must check before retrying.
    #[error("outcome unknown: {reason}")]
    Unknown { reason: String },
    /// The storage failed.
    #[error(transparent)]
    Fatal(#[from] chronos_kv::Error),
}

impl From<CommitError> for Error {
    fn from(e: CommitError) -> Error {
        match e {
            CommitError::Conflict { key } => Error::new(
                SqlState::SerializationFailure,
                "could not serialize access due to a concurrent update; retry the transaction",
            )
            .with_detail(format!("write-write conflict on key {key}")),
            CommitError::NotCommitted { reason } => Error::new(
                SqlState::SerializationFailure,
                "the transaction was not committed (nothing was written); retry the transaction",
            )
            .with_detail(reason),
            CommitError::Unknown { reason } => Error::new(
                SqlState::IoError,
                "the outcome of the commit is unknown: it may or may not have been applied",
            )
            .with_detail(reason),
            CommitError::Fatal(e) => commit_error(e),
        }
    }
}

/// Commits straight into the local store (an embedded, single-node database).
#[derive(Debug)]
pub struct LocalCommit {
    store: Arc<MvccStore>,
}

impl CommitPath for LocalCommit {
    fn commit(&self, read_ts: Timestamp, writes: Vec<Write>) -> Result<Timestamp, CommitError> {
        self.store
            .commit_writes(read_ts, writes)
            .map_err(|e| match e {
                chronos_kv::Error::Conflict { key } => CommitError::Conflict { key },
                e => CommitError::Fatal(e),
            })
    }
}

/// An embedded Chronos database.
#[derive(Debug, Clone)]
pub struct Engine {
    store: Arc<MvccStore>,
    commit_path: Arc<dyn CommitPath>,
    /// The clock statement deadlines are measured on.
    ticker: Arc<dyn Ticker>,
    /// The `statement_timeout` new sessions start with and RESET returns to (zero: none).
    default_statement_timeout: Duration,
}

impl Engine {
    /// Opens (or creates) a database in `dir`.
    pub fn open(dir: &Path) -> Result<Engine> {
        let db = Db::open(dir, Options::default())?;
        Self::with_db(db)
    }

    /// A fresh database in memory (for tests and `chronos slt`).
    pub fn temporary() -> Result<Engine> {
        let opts = Options {
            write_buffer_size_bytes: 8 << 20,
            ..Options::default()
        };
        let db = Db::open_with_fs(Arc::new(MemFs::new()), Path::new("/chronos"), opts)?;
        Self::with_db(db)
    }

    fn with_db(db: Db) -> Result<Engine> {
        let clock = HybridClock::new(Arc::new(SystemClock));
        let store = MvccStore::open(db, clock, MvccOptions::default())?;
        let commit_path = Arc::new(LocalCommit {
            store: store.clone(),
        });
        Ok(Engine::with_commit_path(store, commit_path))
    }

    /// An engine over an already open store, committing locally (inspection tools).
    pub fn from_store(store: Arc<MvccStore>) -> Engine {
        let commit_path = Arc::new(LocalCommit {
            store: store.clone(),
        });
        Engine::with_commit_path(store, commit_path)
    }

    /// An engine over `store` whose commits go through `commit_path` (a cluster node).
    pub fn with_commit_path(store: Arc<MvccStore>, commit_path: Arc<dyn CommitPath>) -> Engine {
        Engine {
            store,
            commit_path,
            ticker: Arc::new(SystemTicker::new()),
            default_statement_timeout: Duration::ZERO,
        }
    }

    /// The `statement_timeout` of sessions opened from now on (and what RESET returns to);
    /// zero turns it off. A server sets it from `chronos start --statement-timeout`.
    pub fn set_default_statement_timeout(&mut self, timeout: Duration) {
        self.default_statement_timeout = timeout;
    }

    /// Measures statement deadlines on `ticker` instead of the process's monotonic clock.
    pub fn set_ticker(&mut self, ticker: Arc<dyn Ticker>) {
        self.ticker = ticker;
    }

    /// The transactional store underneath.
    pub fn store(&self) -> &Arc<MvccStore> {
        &self.store
    }

    /// A new session (a connection).
    pub fn session(&self) -> Session {
        Session {
            engine: self.clone(),
            txn: None,
            failed: false,
            read_only: false,
            memory_limit_bytes: DEFAULT_MEMORY_LIMIT_BYTES,
            cancel: CancelHandle::default(),
            settings: Settings::new(self.default_statement_timeout),
            messages: parking_lot::Mutex::new(Vec::new()),
        }
    }
}

/// A connection: its own transaction state.
#[derive(Debug)]
pub struct Session {
    engine: Engine,
    /// The explicit transaction, if BEGIN was run.
    txn: Option<Transaction>,
    /// An error happened inside the explicit transaction.
    failed: bool,
    /// The explicit transaction is READ ONLY (BEGIN READ ONLY, SET TRANSACTION READ ONLY).
    read_only: bool,
    memory_limit_bytes: usize,
    /// Fires to stop the running statement; cleared when a request starts.
    cancel: CancelHandle,
    settings: Settings,
    /// What the running request's statements told the client so far; see
    /// [`Session::take_messages`]. Emptied as each request starts, so it never outgrows one
    /// request's statements.
    messages: parking_lot::Mutex<Vec<SessionMessage>>,
}

fn parse(sql: &str) -> Result<Vec<Statement>> {
    depth::check_nesting(sql)?;
    let sql = rewrite_empty_in_lists(sql);
    parser(&sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(parse_error)
}

/// A parser over `sql` with our recursion limit (see `depth`).
fn parser(sql: &str) -> Result<Parser<'static>, ParserError> {
    static DIALECT: PostgreSqlDialect = PostgreSqlDialect {};
    Parser::new(&DIALECT)
        .with_recursion_limit(depth::PARSER_RECURSION_LIMIT)
        .try_with_sql(sql)
}

fn parse_error(e: ParserError) -> Error {
    match e {
        ParserError::RecursionLimitExceeded => depth::too_complex(),
        e => Error::new(SqlState::SyntaxError, e.to_string()),
    }
}

/// `x IN ()` (an empty list, as SQLite allows; the parser does not) becomes `x IN (SELECT
/// NULL WHERE FALSE)`, which means the same: false, and NOT IN true, for every x. Quoted
/// strings and identifiers are left alone.
fn rewrite_empty_in_lists(sql: &str) -> std::borrow::Cow<'_, str> {
    let b = sql.as_bytes();
    let mut out = String::new();
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                i += 1;
            }
            b'i' | b'I'
                if i + 1 < b.len()
                    && b[i + 1].eq_ignore_ascii_case(&b'n')
                    && (i == 0 || !is_word(b[i - 1]))
                    && (i + 2 == b.len() || !is_word(b[i + 2])) =>
            {
                let mut j = i + 2;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && b[j] == b'(' {
                    let mut k = j + 1;
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if k < b.len() && b[k] == b')' {
                        out.push_str(&sql[copied..j]);
                        out.push_str("(SELECT NULL WHERE FALSE)");
                        copied = k + 1;
                        i = k + 1;
                        continue;
                    }
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(sql);
    }
    out.push_str(&sql[copied..]);
    std::borrow::Cow::Owned(out)
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl Session {
    /// Bytes a statement may buffer for sorting, joining and grouping.
    pub fn set_memory_limit(&mut self, bytes: usize) {
        self.memory_limit_bytes = bytes;
    }

    /// A handle that cancels the statement this session is running, from another thread
    /// (Ctrl-C in a shell; a server whose client went away).
    pub fn cancel_handle(&self) -> CancelHandle {
        self.cancel.clone()
    }

    /// Runs the statements in `sql` in order. Stops after the first failing statement, whose
    /// error is the last element. A parse error is the only element.
    pub fn execute(&mut self, sql: &str) -> Vec<Result<StatementResult>> {
        self.cancel.reset();
        self.messages.lock().clear();
        if sql.len() > depth::MAX_STATEMENT_BYTES {
            return vec![Err(depth::too_long(sql.len()))];
        }
        depth::with_statement_stack(sql.len(), || self.execute_here(sql))
    }

    fn execute_here(&mut self, sql: &str) -> Vec<Result<StatementResult>> {
        let statements = match parse(sql) {
            Ok(s) => s,
            Err(e) => return vec![Err(e)],
        };
        let mut out = Vec::new();
        for st in &statements {
            let r = self.execute_statement(st, None);
            self.queue_reports();
            let failed = r.is_err();
            out.push(r);
            if failed {
                break;
            }
        }
        out
    }

    /// Like [`Session::execute`], but a query's rows go to `sink` one at a time as the executor
    /// produces them instead of being collected (memory: whatever the plan itself buffers, such
    /// as a sort, bounded by the memory limit). If the sink returns false the statement fails
    /// and nothing more runs. A query that fails after some rows were handed over ends with
    /// its error (its transaction, if explicit, is then aborted, as for any error).
    pub fn execute_streaming(&mut self, sql: &str, sink: StreamSink<'_>) {
        self.cancel.reset();
        self.messages.lock().clear();
        if sql.len() > depth::MAX_STATEMENT_BYTES {
            sink(Streamed::Done(Err(depth::too_long(sql.len()))));
            return;
        }
        depth::with_statement_stack(sql.len(), || self.execute_streaming_here(sql, sink))
    }

    fn execute_streaming_here(&mut self, sql: &str, sink: StreamSink<'_>) {
        let statements = match parse(sql) {
            Ok(s) => s,
            Err(e) => {
                sink(Streamed::Done(Err(e)));
                return;
            }
        };
        for st in &statements {
            let r = self.execute_statement(st, Some(&mut *sink));
            self.queue_reports();
            let failed = r.is_err();
            let messages = std::mem::take(&mut *self.messages.lock());
            for m in messages {
                if !sink(Streamed::Message(m)) {
                    return;
                }
            }
            if !sink(Streamed::Done(r)) || failed {
                break;
            }
        }
    }

    /// Queues the reported parameters the last statement changed (SET, RESET, ROLLBACK).
    fn queue_reports(&mut self) {
        let reports = self.settings.take_reports();
        self.messages.lock().extend(
            reports
                .into_iter()
                .map(|(name, value)| SessionMessage::ParameterStatus { name, value }),
        );
    }

    /// The notices and parameter changes of the last [`Session::execute`] call (a streaming
    /// call hands them to its sink instead).
    pub fn take_messages(&mut self) -> Vec<SessionMessage> {
        std::mem::take(&mut *self.messages.lock())
    }

    /// The value of a parameter reported in ParameterStatus (application_name), to set from
    /// a connection's startup packet. Values are as `SET` takes them.
    pub fn set_startup_parameter(&mut self, name: &str, value: &str) -> Result<()> {
        self.settings.set_reported(name, value)?;
        // The startup packet's own ParameterStatus is sent by the protocol layer.
        self.settings.take_reports();
        Ok(())
    }

    /// Whether the session is inside an explicit transaction block.
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// Whether the explicit transaction block has failed: every statement but COMMIT or
    /// ROLLBACK is refused (25P02) until it ends. False outside a block.
    pub fn transaction_failed(&self) -> bool {
        self.txn.is_some() && self.failed
    }

    /// Names of the tables, sorted.
    pub fn list_tables(&mut self) -> Result<Vec<String>> {
        self.with_txn(false, |_, txn| {
            let mut names: Vec<String> = catalog::list_tables(txn)?
                .into_iter()
                .map(|t| t.name)
                .collect();
            names.sort();
            Ok(names)
        })
    }

    /// Columns, types, nullability, defaults, primary key and indexes of a table, as rows.
    pub fn describe_table(&mut self, name: &str) -> Result<StatementResult> {
        let name = name.to_lowercase();
        self.with_txn(false, |_, txn| ddl::describe(txn, &name))
    }

    fn execute_statement(
        &mut self,
        st: &Statement,
        sink: Option<StreamSink<'_>>,
    ) -> Result<StatementResult> {
        match st {
            Statement::StartTransaction {
                modes,
                modifier,
                statements,
                exception,
                ..
            } => {
                if modifier.is_some() || !statements.is_empty() || exception.is_some() {
                    return Err(Error::unsupported(format!("{st}")));
                }
                let read_only = crate::declared::read_only(modes)?.unwrap_or(false);
                if self.txn.is_some() {
                    return Err(sql_error!(
                        ActiveTransaction,
                        "there is already a transaction in progress"
                    ));
                }
                self.engine.commit_path.before_snapshot()?;
                self.txn = Some(if read_only {
                    self.engine.store.begin_read_only()
                } else {
                    self.engine.store.begin()
                });
                self.failed = false;
                self.settings.begin();
                self.read_only = read_only;
                Ok(StatementResult::Command {
                    tag: "BEGIN".into(),
                })
            }
            Statement::Set(ast::Set::SetTransaction {
                modes,
                snapshot,
                session,
            }) => {
                if *session || snapshot.is_some() {
                    return Err(Error::unsupported(format!("{st}")));
                }
                if self.txn.is_none() {
                    return Err(sql_error!(
                        NoActiveTransaction,
                        "SET TRANSACTION can only be used in transaction blocks"
                    ));
                }
                match crate::declared::read_only(modes)? {
                    Some(true) => self.read_only = true,
                    // The kv transaction may have been begun read-only; PostgreSQL too allows
                    // going back to READ WRITE only before the first query.
                    Some(false) if self.read_only => {
                        return Err(sql_error!(
                            ReadOnlyTransaction,
                            "transaction read-write mode must be set before any query"
                        ));
                    }
                    _ => {}
                }
                Ok(StatementResult::Command { tag: "SET".into() })
            }
            Statement::Commit { .. } => {
                let Some(txn) = self.txn.take() else {
                    return Err(sql_error!(
                        NoActiveTransaction,
                        "there is no transaction in progress"
                    ));
                };
                if std::mem::take(&mut self.failed) {
                    txn.rollback();
                    self.settings.rollback();
                    return Ok(StatementResult::Command {
                        tag: "ROLLBACK".into(),
                    });
                }
                if let Err(e) = self.commit_txn(txn) {
                    self.settings.rollback();
                    return Err(e);
                }
                self.settings.commit();
                Ok(StatementResult::Command {
                    tag: "COMMIT".into(),
                })
            }
            Statement::Rollback { savepoint, .. } => {
                if savepoint.is_some() {
                    return Err(Error::unsupported("savepoints"));
                }
                match self.txn.take() {
                    Some(txn) => txn.rollback(),
                    None => {
                        return Err(sql_error!(
                            NoActiveTransaction,
                            "there is no transaction in progress"
                        ));
                    }
                }
                self.failed = false;
                self.settings.rollback();
                Ok(StatementResult::Command {
                    tag: "ROLLBACK".into(),
                })
            }
            st => {
                if self.failed {
                    return Err(sql_error!(
                        InFailedTransaction,
                        "current transaction is aborted, commands ignored until end of transaction block"
                    ));
                }
                let in_block = self.txn.is_some();
                if let Some(r) = self.settings.execute(st, in_block) {
                    if r.is_err() && in_block {
                        self.failed = true;
                    }
                    return r;
                }
                let writes = !matches!(
                    st,
                    Statement::Query(_)
                        | Statement::Explain { .. }
                        | Statement::ShowTables { .. }
                        | Statement::ExplainTable { .. }
                );
                if writes && self.read_only && self.txn.is_some() {
                    self.failed = true;
                    return Err(sql_error!(
                        ReadOnlyTransaction,
                        "cannot execute {} in a read-only transaction",
                        match st {
                            Statement::Insert(_) => "INSERT".to_string(),
                            Statement::Update(_) => "UPDATE".to_string(),
                            Statement::Delete(_) => "DELETE".to_string(),
                            Statement::CreateIndex(_) => "CREATE INDEX".to_string(),
                            st => statement_kind(st),
                        }
                    ));
                }
                // The deadline counts from here, as PostgreSQL's from the statement's arrival.
                let limits = StatementLimits {
                    memory_limit_bytes: self.memory_limit_bytes,
                    interrupt: Interrupt::new(
                        self.cancel.clone(),
                        self.engine.ticker.clone(),
                        self.settings.statement_timeout(),
                    ),
                };
                self.with_txn(writes, |session, txn| session.run(st, txn, sink, &limits))
            }
        }
    }

    /// Runs `f` in the explicit transaction, or in a new one committed on success.
    fn with_txn<T>(
        &mut self,
        writes: bool,
        f: impl FnOnce(&Session, &mut Transaction) -> Result<T>,
    ) -> Result<T> {
        if let Some(mut txn) = self.txn.take() {
            let r = f(self, &mut txn);
            self.txn = Some(txn);
            if r.is_err() {
                self.failed = true;
            }
            return r;
        }
        self.engine.commit_path.before_snapshot()?;
        let mut txn = if writes {
            self.engine.store.begin()
        } else {
            self.engine.store.begin_read_only()
        };
        let out = f(self, &mut txn)?;
        self.commit_txn(txn)?;
        Ok(out)
    }

    /// Commits through the engine's commit path (the local store, or Raft in a cluster node).
    /// A transaction that wrote nothing commits locally: there is nothing to replicate.
    fn commit_txn(&self, txn: Transaction) -> Result<()> {
        if txn.is_read_only() || txn.write_set_bytes() == 0 {
            txn.commit().map_err(commit_error)?;
            return Ok(());
        }
        let (read_ts, writes) = txn.into_write_set();
        self.engine.commit_path.commit(read_ts, writes)?;
        Ok(())
    }

    fn run(
        &self,
        st: &Statement,
        txn: &mut Transaction,
        sink: Option<StreamSink<'_>>,
        limits: &StatementLimits,
    ) -> Result<StatementResult> {
        match st {
            Statement::Query(q) => {
                let (plan, scope) = Planner::new(txn).plan_query(q)?;
                let exec = Executor::new(txn, limits);
                let columns: Vec<ColumnInfo> = scope
                    .columns
                    .into_iter()
                    .map(|c| ColumnInfo {
                        name: c.name,
                        data_type: c.data_type,
                    })
                    .collect();
                if let Some(sink) = sink {
                    if !sink(Streamed::Columns(columns.clone())) {
                        return Err(receiver_gone());
                    }
                    for row in exec.rows(&plan)? {
                        if !sink(Streamed::Row(row?)) {
                            return Err(receiver_gone());
                        }
                    }
                    return Ok(StatementResult::Query {
                        columns,
                        rows: Vec::new(),
                    });
                }
                let rows: Vec<Row> = exec.rows(&plan)?.collect::<Result<_>>()?;
                Ok(StatementResult::Query { columns, rows })
            }
            Statement::Explain {
                statement, analyze, ..
            } => {
                if *analyze {
                    return Err(Error::unsupported("EXPLAIN ANALYZE"));
                }
                let lines = match statement.as_ref() {
                    Statement::Query(q) => Planner::new(txn).plan_query(q)?.0.explain(),
                    other => dml::explain(txn, other)?,
                };
                Ok(StatementResult::Explain { lines })
            }
            Statement::CreateTable(ct) => ddl::create_table(txn, ct),
            Statement::CreateIndex(ci) => ddl::create_index(txn, ci),
            Statement::Drop {
                object_type,
                if_exists,
                names,
                ..
            } => {
                let mut notices = Vec::new();
                let r = ddl::drop(txn, object_type, *if_exists, names, &mut notices);
                self.messages
                    .lock()
                    .extend(notices.into_iter().map(|message| SessionMessage::Notice {
                        code: "00000",
                        message,
                    }));
                r
            }
            Statement::ShowTables { .. } => {
                let mut names: Vec<String> = catalog::list_tables(txn)?
                    .into_iter()
                    .map(|t| t.name)
                    .collect();
                names.sort();
                Ok(StatementResult::Query {
                    columns: vec![ColumnInfo {
                        name: "name".into(),
                        data_type: Some(DataType::Text),
                    }],
                    rows: names.into_iter().map(|n| vec![Value::Text(n)]).collect(),
                })
            }
            Statement::ExplainTable { table_name, .. } => ddl::describe(
                txn,
                &crate::declared::table_name(table_name, crate::declared::NameUse::Lookup)?,
            ),
            Statement::Insert(ins) => dml::insert(&self.engine.store, txn, ins, limits),
            Statement::Update(up) => dml::update(txn, up, limits),
            Statement::Delete(del) => dml::delete(txn, del, limits),
            other => Err(Error::unsupported(statement_kind(other))),
        }
    }
}

fn commit_error(e: chronos_kv::Error) -> Error {
    let retry = e.is_retryable();
    let mut err = Error::from(e);
    if retry {
        err.message = format!(
            "could not serialize access due to a concurrent update; retry the transaction ({})",
            err.message
        );
    }
    err
}

/// A short name for an unsupported statement.
fn statement_kind(st: &Statement) -> String {
    let text = st.to_string();
    let words: Vec<&str> = text.split_whitespace().take(2).collect();
    words.join(" ")
}

/// Used by DDL to evaluate DEFAULT expressions and by DML.
pub(crate) fn parse_expr(sql: &str) -> Result<ast::Expr> {
    parser(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(parse_error)
}

#[cfg(test)]
mod tests {
    use super::rewrite_empty_in_lists;

    #[test]
    fn empty_in_lists_become_empty_subqueries() {
        assert_eq!(
            rewrite_empty_in_lists("SELECT 1 IN ()"),
            "SELECT 1 IN (SELECT NULL WHERE FALSE)"
        );
        assert_eq!(
            rewrite_empty_in_lists("x NOT IN ( ) AND y in(1)"),
            "x NOT IN (SELECT NULL WHERE FALSE) AND y in(1)"
        );
        assert_eq!(
            rewrite_empty_in_lists("SELECT 'IN ()', join_in ()"),
            "SELECT 'IN ()', join_in ()"
        );
    }

    #[test]
    #[expect(clippy::unwrap_used, reason = "tests")]
    fn streaming_hands_rows_over_one_at_a_time_and_stops_when_the_sink_does() {
        use super::{Engine, StatementResult, Streamed};
        let engine = Engine::temporary().unwrap();
        let mut s = engine.session();
        for r in
            s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)")
        {
            r.unwrap();
        }
        let mut seen = Vec::new();
        s.execute_streaming("SELECT id FROM t ORDER BY id; SELECT 7", &mut |item| {
            seen.push(match item {
                Streamed::Columns(c) => format!("columns {}", c.len()),
                Streamed::Row(r) => format!("row {}", r[0]),
                Streamed::Done(Ok(StatementResult::Query { rows, .. })) => {
                    format!("done {}", rows.len())
                }
                Streamed::Done(r) => format!("done {r:?}"),
                Streamed::Message(m) => format!("message {m:?}"),
            });
            true
        });
        assert_eq!(
            seen,
            [
                "columns 1",
                "row 1",
                "row 2",
                "row 3",
                "done 0",
                "columns 1",
                "row 7",
                "done 0"
            ]
        );
        // A sink that goes away after the first row: the statement fails, nothing more runs.
        let mut items = 0;
        s.execute_streaming("SELECT id FROM t; SELECT 1", &mut |item| {
            items += 1;
            !matches!(item, Streamed::Row(_))
        });
        assert_eq!(items, 3, "columns, one row, the failed statement's end");
        // The session is still usable.
        assert!(s.execute("SELECT 1").pop().unwrap().is_ok());
    }
}
