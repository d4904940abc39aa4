//! The pgwire handlers: startup (trust authentication of `root` to `chronos` from loopback,
//! the connection limit, ParameterStatus), the simple query protocol streamed from the
//! connection's session thread, and CancelRequest.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

use async_trait::async_trait;
use chronos_sql::{DataType, Row, SessionMessage, StatementResult, Streamed, Value};
use futures::{Sink, SinkExt};
use parking_lot::Mutex;
use pgwire::api::auth::{
    DefaultServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::cancel::CancelHandler;
use pgwire::api::portal::Portal;
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::Response;
use pgwire::api::stmt::NoopQueryParser;
use pgwire::api::store::PortalStore;
use pgwire::api::{
    ClientInfo, ClientPortalStore, METADATA_DATABASE, METADATA_USER, PgWireConnectionState,
    PgWireServerHandlers,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::extendedquery::{
    Bind, Close, Describe, Execute, Parse, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, ErrorResponse, NoticeResponse, ReadyForQuery,
    TransactionStatus,
};
use pgwire::messages::simplequery::Query;
use pgwire::messages::startup::{ParameterStatus, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use crate::backend::{Canceller, SessionSource, TxState};
use crate::error::{fatal, internal, sql_error_info};
use crate::extended::Request;
use crate::types::{command_tag, data_row, row_description};
use crate::worker::{Event, Worker};
use crate::{DATABASE, PgConfig, SERVER_VERSION, USER};

/// State shared by every connection of one server.
#[derive(Debug)]
pub(crate) struct Shared {
    sessions: Arc<dyn SessionSource>,
    config: PgConfig,
    open_connections: AtomicUsize,
    next_pid: AtomicI32,
    /// Backend key → the secret a CancelRequest must present and the session to cancel.
    cancel_keys: Mutex<HashMap<i32, CancelKey>>,
}

/// What a CancelRequest must present, and what it then cancels.
type CancelKey = (SecretKey, Arc<dyn Canceller>);

impl Shared {
    pub(crate) fn new(sessions: Arc<dyn SessionSource>, config: PgConfig) -> Shared {
        Shared {
            sessions,
            config,
            open_connections: AtomicUsize::new(0),
            next_pid: AtomicI32::new(1),
            cancel_keys: Mutex::new(HashMap::new()),
        }
    }
}

/// One connection's claim on a connection slot and its cancel key; given back on drop.
#[derive(Debug)]
struct Slot {
    shared: Arc<Shared>,
    pid: Option<i32>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            self.shared.cancel_keys.lock().remove(&pid);
        }
        self.shared.open_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The handlers pgwire calls; one per server, shared by its connections.
#[derive(Debug, Clone)]
pub(crate) struct Handlers {
    pub(crate) shared: Arc<Shared>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        Arc::new(self.clone())
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        Arc::new(self.clone())
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        Arc::new(self.clone())
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        Arc::new(self.clone())
    }
}

/// The ParameterStatus values sent at startup: what a driver needs to parse our output.
fn server_parameters() -> DefaultServerParameterProvider {
    let mut p = DefaultServerParameterProvider::default();
    p.server_version = SERVER_VERSION.to_owned();
    p.client_encoding = Some("UTF8".to_owned());
    p.date_style = "ISO, MDY".to_owned();
    p.time_zone = "UTC".to_owned();
    p.integer_datetimes = true;
    p.standard_conforming_strings = true;
    p
}

impl Handlers {
    /// Checks who connects to what; a refusal is FATAL, as PostgreSQL's are.
    fn admit<C: ClientInfo>(&self, client: &C) -> PgWireResult<()> {
        if !client.socket_addr().ip().is_loopback() {
            return Err(fatal(
                "28000",
                format!(
                    "trust authentication is only allowed from the loopback interface, not {}",
                    client.socket_addr().ip()
                ),
            ));
        }
        let user = client.metadata().get(METADATA_USER).cloned();
        let Some(user) = user else {
            return Err(fatal(
                "28000",
                "no PostgreSQL user name specified in startup packet",
            ));
        };
        if user != USER {
            return Err(fatal("28000", format!("role \"{user}\" does not exist")));
        }
        // As in PostgreSQL, the database defaults to the user's name.
        let database = client
            .metadata()
            .get(METADATA_DATABASE)
            .cloned()
            .unwrap_or(user);
        if database != DATABASE {
            return Err(fatal(
                "3D000",
                format!("database \"{database}\" does not exist"),
            ));
        }
        Ok(())
    }

    /// Claims a connection slot, or refuses with 53300 past `max_connections`.
    fn claim_slot(&self) -> PgWireResult<Slot> {
        let max = self.shared.config.max_connections;
        let before = self.shared.open_connections.fetch_add(1, Ordering::SeqCst);
        let slot = Slot {
            shared: self.shared.clone(),
            pid: None,
        };
        if before >= max {
            return Err(fatal(
                "53300",
                format!("sorry, too many connections (max_connections is {max})"),
            ));
        }
        Ok(slot)
    }
}

#[async_trait]
impl StartupHandler for Handlers {
    async fn on_startup<C>(
        &self,
        client: &mut C,
        message: PgWireFrontendMessage,
    ) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let PgWireFrontendMessage::Startup(ref startup) = message else {
            // Trust authentication asks for nothing, so nothing else may arrive here.
            return Err(fatal("08P01", "unexpected message during startup"));
        };
        protocol_negotiation(client, startup).await?;
        save_startup_parameters_to_metadata(client, startup);
        self.admit(client)?;
        let mut slot = self.claim_slot()?;

        // A routed session is opened on the leader: if none can be reached the connection is
        // refused with the reason's SQLSTATE (08006), as PostgreSQL refuses one it cannot serve.
        let mut session = self.shared.sessions.open().await.map_err(|e| {
            let mut info = sql_error_info(&e);
            info.severity = pgwire::error::SEVERITY_FATAL.to_owned();
            PgWireError::UserError(Box::new(info))
        })?;
        // pgwire reports the startup packet's application_name in its ParameterStatus; the
        // session starts with the same value so SHOW and later reports agree.
        if let Some(name) = client.metadata().get("application_name") {
            session
                .set_startup_parameter("application_name", name)
                .map_err(|e| PgWireError::UserError(Box::new(sql_error_info(&e))))?;
        }
        let pid = self.shared.next_pid.fetch_add(1, Ordering::Relaxed);
        let secret = SecretKey::I32(cancel_secret(pid));
        self.shared
            .cancel_keys
            .lock()
            .insert(pid, (secret.clone(), session.canceller()));
        slot.pid = Some(pid);
        client.set_pid_and_secret_key(pid, secret);
        let worker = Worker::spawn(session, Arc::new(slot)).map_err(|e| internal(&e))?;
        client.session_extensions().insert(worker);

        finish_authentication(client, &server_parameters()).await?;
        Ok(())
    }
}

/// A cancel secret that a client which did not receive it cannot guess. Derived from the
/// process-wide random state of the standard library's hasher (seeded from the OS), so no
/// randomness crate is needed; cancellation keys are not an authentication mechanism in
/// PostgreSQL either, only a guard against cancelling others' statements by accident.
fn cancel_secret(pid: i32) -> i32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i32(pid);
    h.finish() as i32
}

#[async_trait]
impl CancelHandler for Handlers {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let keys = self.shared.cancel_keys.lock();
        // The cancel connection negotiates no protocol version, so pgwire may decode our
        // 4-byte key as bytes: compare by value, not by variant.
        if let Some((secret, handle)) = keys.get(&request.pid)
            && secret.eq_value(&request.secret_key)
        {
            handle.cancel();
        }
    }
}

#[async_trait]
impl SimpleQueryHandler for Handlers {
    /// Replaces pgwire's default, which wants every statement's result schema before
    /// sending anything; ours streams each statement's RowDescription, rows and tag as the
    /// session produces them, and takes the transaction state from the session.
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        client.set_state(PgWireConnectionState::QueryInProgress);
        let state = if query.query.chars().all(|c| c == ';' || c.is_whitespace()) {
            client
                .feed(PgWireBackendMessage::EmptyQueryResponse(
                    EmptyQueryResponse::new(),
                ))
                .await?;
            tx_state(client.transaction_status())
        } else {
            run_simple(client, query.query).await?
        };
        let status = match state {
            TxState::Idle => TransactionStatus::Idle,
            TxState::InBlock => TransactionStatus::Transaction,
            TxState::Failed => TransactionStatus::Error,
        };
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    /// Not reached: `on_query` above handles every simple query itself.
    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(internal(&crate::Error::SessionGone))
    }
}

fn tx_state(status: TransactionStatus) -> TxState {
    match status {
        TransactionStatus::Idle => TxState::Idle,
        TransactionStatus::Transaction => TxState::InBlock,
        TransactionStatus::Error => TxState::Failed,
    }
}

/// Runs `sql` on the connection's session thread and relays what it streams; returns the
/// transaction state after it.
async fn run_simple<C>(client: &mut C, sql: String) -> PgWireResult<TxState>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let worker = client
        .session_extensions()
        .get::<Worker>()
        .ok_or_else(|| internal(&crate::Error::SessionGone))?;
    let mut events = worker.submit(sql).map_err(|e| internal(&e))?;
    drop(worker);
    // Rows of the current statement sent so far (for its `SELECT n` tag), and whether its
    // RowDescription went out.
    let mut streamed_rows: u64 = 0;
    let mut described = false;
    while let Some(event) = events.recv().await {
        match event {
            Event::Streamed(Streamed::Columns(columns)) => {
                streamed_rows = 0;
                described = true;
                let desc = row_description(columns.iter().map(|c| (c.name.as_str(), c.data_type)));
                client
                    .feed(PgWireBackendMessage::RowDescription(desc))
                    .await?;
            }
            Event::Streamed(Streamed::Row(row)) => {
                streamed_rows += 1;
                client
                    .feed(PgWireBackendMessage::DataRow(data_row(&row)))
                    .await?;
            }
            Event::Streamed(Streamed::Message(m)) => {
                client.feed(session_message(m)).await?;
            }
            Event::Streamed(Streamed::Done(Ok(result))) => {
                send_unstreamed(client, &result, described).await?;
                let tag = command_tag(&result, streamed_rows);
                streamed_rows = 0;
                described = false;
                client
                    .send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        tag,
                    )))
                    .await?;
            }
            // The session is gone (its node stopped leading): nothing more can run on this
            // connection, so end it as PostgreSQL ends a connection it cannot serve, and the
            // driver's pool opens a new one (which reaches the new leader).
            Event::Streamed(Streamed::Done(Err(e)))
                if e.state == chronos_sql::SqlState::ConnectionFailure =>
            {
                let mut info = sql_error_info(&e);
                info.severity = pgwire::error::SEVERITY_FATAL.to_owned();
                return Err(PgWireError::UserError(Box::new(info)));
            }
            Event::Streamed(Streamed::Done(Err(e))) => {
                streamed_rows = 0;
                described = false;
                client
                    .send(PgWireBackendMessage::ErrorResponse(ErrorResponse::from(
                        sql_error_info(&e),
                    )))
                    .await?;
            }
            Event::Finished(state) => return Ok(state),
            // Only extended-protocol requests produce these.
            Event::Message(_) | Event::Failed(_) => {}
        }
    }
    Err(internal(&crate::Error::SessionGone))
}

/// The rows a result carries itself (SHOW, DESCRIBE and EXPLAIN are built whole), with their
/// RowDescription unless the statement's columns were already streamed.
async fn send_unstreamed<C>(
    client: &mut C,
    result: &StatementResult,
    described: bool,
) -> PgWireResult<()>
where
    C: Sink<PgWireBackendMessage> + Unpin + Send,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let lines: Vec<Row>;
    let (desc, rows) = match result {
        StatementResult::Query { columns, rows } => {
            let desc = (!described)
                .then(|| row_description(columns.iter().map(|c| (c.name.as_str(), c.data_type))));
            (desc, rows)
        }
        StatementResult::Explain { lines: text } => {
            lines = text.iter().map(|l| vec![Value::Text(l.clone())]).collect();
            let desc = row_description(std::iter::once(("QUERY PLAN", Some(DataType::Text))));
            (Some(desc), &lines)
        }
        StatementResult::Modified { .. } | StatementResult::Command { .. } => return Ok(()),
    };
    if let Some(desc) = desc {
        client
            .feed(PgWireBackendMessage::RowDescription(desc))
            .await?;
    }
    for row in rows {
        client
            .feed(PgWireBackendMessage::DataRow(data_row(row)))
            .await?;
    }
    Ok(())
}

/// Hands one extended-protocol message to the connection's session thread and relays its
/// answers; a failure is returned so that pgwire reports it and skips to Sync.
async fn run_extended<C>(client: &mut C, request: Request) -> PgWireResult<TxState>
where
    C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
    C::Error: Debug,
    PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
{
    let worker = client
        .session_extensions()
        .get::<Worker>()
        .ok_or_else(|| internal(&crate::Error::SessionGone))?;
    let mut events = worker.submit_extended(request).map_err(|e| internal(&e))?;
    drop(worker);
    let mut failure = None;
    while let Some(event) = events.recv().await {
        match event {
            Event::Message(m) => client.feed(m).await?,
            Event::Failed(e) => failure = Some(e),
            Event::Finished(state) => {
                client.set_transaction_status(status_of(state));
                return match failure {
                    None => Ok(state),
                    Some(e) => Err(PgWireError::UserError(Box::new(sql_error_info(&e)))),
                };
            }
            Event::Streamed(_) => {}
        }
    }
    Err(internal(&crate::Error::SessionGone))
}

fn status_of(state: TxState) -> TransactionStatus {
    match state {
        TxState::Idle => TransactionStatus::Idle,
        TxState::InBlock => TransactionStatus::Transaction,
        TxState::Failed => TransactionStatus::Error,
    }
}

/// The extended query protocol. pgwire's defaults keep statements and portals in its own
/// store and re-run queries per Execute; ours live in the session (shared with SQL PREPARE,
/// plans cached, suspended portals keeping their executor), so every message is overridden
/// and pgwire's store stays unused.
#[async_trait]
impl ExtendedQueryHandler for Handlers {
    type Statement = String;
    type QueryParser = NoopQueryParser;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        Arc::new(NoopQueryParser)
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let request = Request::Parse {
            name: message.name.unwrap_or_default(),
            sql: message.query,
            type_oids: message.type_oids,
        };
        run_extended(client, request).await.map(drop)
    }

    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        run_extended(client, Request::Bind(message)).await.map(drop)
    }

    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // A negative limit is as good as none (PostgreSQL reads it as unsigned... and 0).
        let max_rows = u64::try_from(message.max_rows).unwrap_or(0);
        let request = Request::Execute {
            portal: message.name.unwrap_or_default(),
            max_rows,
        };
        run_extended(client, request).await.map(drop)
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let request = Request::Describe {
            portal: message.target_type == TARGET_TYPE_BYTE_PORTAL,
            name: message.name.unwrap_or_default(),
        };
        run_extended(client, request).await.map(drop)
    }

    async fn on_close<C>(&self, client: &mut C, message: Close) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let request = Request::Close {
            portal: message.target_type == TARGET_TYPE_BYTE_PORTAL,
            name: message.name.unwrap_or_default(),
        };
        run_extended(client, request).await.map(drop)
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // A Sync never fails: the session thread only closes portals.
        let state = run_extended(client, Request::Sync)
            .await
            .unwrap_or(TxState::Idle);
        let status = status_of(state);
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(
                status,
            )))
            .await?;
        Ok(())
    }

    /// Not reached: `on_execute` above runs every portal itself.
    async fn do_query<C>(
        &self,
        _client: &mut C,
        _portal: &Portal<Self::Statement>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Err(internal(&crate::Error::SessionGone))
    }
}

/// A statement's notice or reported parameter as the protocol's message.
pub(crate) fn session_message(m: SessionMessage) -> PgWireBackendMessage {
    match m {
        SessionMessage::Notice { code, message } => {
            let info = ErrorInfo::new("NOTICE".to_owned(), code.to_owned(), message);
            PgWireBackendMessage::NoticeResponse(NoticeResponse::from(info))
        }
        SessionMessage::ParameterStatus { name, value } => {
            PgWireBackendMessage::ParameterStatus(ParameterStatus::new(name, value))
        }
    }
}
