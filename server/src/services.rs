//! The gRPC services of a node: Raft (inbound peer traffic), SQL (sessions) and admin.
//!
//! Routing of SQL requests: sessions live on the node that opened them, and session ids carry
//! that node's id in their top 16 bits. `OpenSession` and one-shot `Execute` (session 0) go to
//! the leader: a follower forwards them transparently (one hop; a forwarded request that reaches
//! a non-leader fails with `UNAVAILABLE` and the client retries). `Execute` on a session is sent
//! to the node that owns it. `ExecuteStream` routes the same way and streams query rows in
//! bounded batches (a forwarding node pipes the owner's stream through). `Raft.FetchSnapshot`
//! serves out-of-band snapshot data (`snapshot.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chronos_proto::admin::admin_server::Admin;
use chronos_proto::admin::{
    AddNodeRequest, AdminResponse, PartitionRequest, PeerStatus, RemoveNodeRequest, StatusRequest,
    StatusResponse, TransferLeaderRequest,
};
use chronos_proto::client::sql_server::Sql;
use chronos_proto::client::{
    CancelSessionRequest, CancelSessionResponse, CloseSessionRequest, CloseSessionResponse,
    ExecuteRequest, ExecuteResponse, ExecuteStreamResponse, OpenSessionRequest,
    OpenSessionResponse, QueryColumns, RowBatch, SessionState, execute_stream_response::Item,
};
use chronos_proto::raft::raft_server::Raft;
use chronos_proto::raft::{FetchSnapshotRequest, MessageBatch, SendAck, SnapshotData};
use chronos_raft::{ConfChange, Role};
use chronos_sql::{CancelHandle, Engine, Session};
use parking_lot::Mutex;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::convert::{column_to_pb, message_from_pb, result_to_pb, row_size, row_to_pb};
use crate::error::Error;
pub use crate::forward::Forwarder;
use crate::forward::{
    Watched, check_owner_leads, error_item, error_response, outcome_unknown, session_lost,
    watch_owner,
};
use crate::node::{Event, NodeHandle};

const FORWARDED: &str = "x-chronos-forwarded";
/// How long a request waits for a leader to be known.
const LEADER_WAIT: Duration = Duration::from_secs(5);
/// Bound on open sessions per node.
const MAX_SESSIONS: usize = 10_000;
/// Most rows per streamed `RowBatch`.
pub const ROW_BATCH_ROWS: usize = 1024;
/// Most bytes (approximately; one row may exceed it alone) per streamed `RowBatch`.
pub const ROW_BATCH_BYTES: usize = 64 << 10;
/// Streamed messages buffered between the engine and the network (back-pressure beyond).
const STREAM_MESSAGES_IN_FLIGHT: usize = 4;

/// A streamed execution's messages.
pub type ExecuteStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<ExecuteStreamResponse, Status>> + Send + 'static>,
>;

fn status_of(e: Error) -> Status {
    match e {
        Error::NotLeader { .. } | Error::Stopped | Error::Timeout(_) => {
            Status::unavailable(e.to_string())
        }
        Error::Raft(chronos_raft::Error::NotLeader { .. })
        | Error::Raft(chronos_raft::Error::TransferInProgress { .. }) => {
            Status::unavailable(e.to_string())
        }
        Error::Malformed(_) | Error::Config(_) => Status::invalid_argument(e.to_string()),
        _ => Status::internal(e.to_string()),
    }
}

/// Inbound Raft traffic.
#[derive(Debug)]
pub struct RaftService {
    pub node: NodeHandle,
    pub transport: crate::transport::Transport,
    pub data_dir: std::path::PathBuf,
    pub downloads: Arc<crate::snapshot::Downloads>,
}

impl RaftService {
    /// An out-of-band snapshot message: fetch its data first (see `snapshot.rs`). Returns the
    /// message if it can go to Raft now.
    fn intercept_snapshot(
        &self,
        m: chronos_raft::Message,
        from_address: &str,
    ) -> Option<chronos_raft::Message> {
        let chronos_raft::MessageBody::SnapshotChunk { meta, data, .. } = &m.body else {
            return Some(m);
        };
        if data.as_slice() != crate::snapshot::OUT_OF_BAND_SNAPSHOT {
            return Some(m);
        }
        let index = meta.index;
        if self.node.shared.lock().applied >= index
            || crate::snapshot::dump_path(&self.data_dir, index).exists()
        {
            return Some(m);
        }
        if !self.downloads.claim(index) {
            return None; // Being fetched; the leader resends.
        }
        let address = if from_address.is_empty() {
            self.node.shared.lock().addresses.get(&m.from).cloned()
        } else {
            Some(from_address.to_string())
        };
        let Some(address) = address else {
            self.downloads.release(index);
            return None;
        };
        let (node, downloads, data_dir) = (
            self.node.clone(),
            self.downloads.clone(),
            self.data_dir.clone(),
        );
        tokio::spawn(async move {
            match crate::snapshot::fetch(&address, index, &data_dir, &node.snapshots).await {
                Ok(()) => {
                    let _ = node.send(Event::Raft(m));
                }
                Err(e) => tracing::warn!("node {}: snapshot {index} download: {e}", node.id),
            }
            downloads.release(index);
        });
        None
    }
}

#[tonic::async_trait]
impl Raft for RaftService {
    type FetchSnapshotStream = tokio_stream::wrappers::ReceiverStream<Result<SnapshotData, Status>>;

    async fn fetch_snapshot(
        &self,
        req: Request<FetchSnapshotRequest>,
    ) -> Result<Response<Self::FetchSnapshotStream>, Status> {
        let rx = crate::snapshot::serve(&self.node, req.into_inner().index)?;
        Ok(Response::new(tokio_stream::wrappers::ReceiverStream::new(
            rx,
        )))
    }

    async fn send(&self, req: Request<MessageBatch>) -> Result<Response<SendAck>, Status> {
        let batch = req.into_inner();
        for m in batch.messages {
            let m = message_from_pb(m).map_err(status_of)?;
            if self.transport.is_blocked(m.from) {
                continue;
            }
            self.transport.learn_address(m.from, &batch.from_address);
            if m.to != self.node.id {
                return Err(Status::invalid_argument(format!(
                    "message for node {} reached node {}",
                    m.to, self.node.id
                )));
            }
            let Some(m) = self.intercept_snapshot(m, &batch.from_address) else {
                continue;
            };
            self.node.send(Event::Raft(m)).map_err(status_of)?;
        }
        Ok(Response::new(SendAck {}))
    }
}

/// Where a request should run.
enum Route {
    Local,
    /// On the leader: its id and address.
    Remote(u64, String),
}

/// How long a request waits for this node to know a leader: a healthy majority elects one
/// within an election timeout or two, so a node that knows none for longer is likely cut off and
/// its client is better served elsewhere.
fn leader_wait(node: &NodeHandle) -> Duration {
    (2 * node.election_timeout).min(LEADER_WAIT)
}

/// Finds the leader (waiting a little for an election), or refuses a forwarded request.
async fn route_to_leader(node: &NodeHandle, forwarded: bool) -> Result<Route, Status> {
    let start = Instant::now();
    loop {
        if node.is_leader() {
            return Ok(Route::Local);
        }
        let (leader, address) = node.leader();
        if let (Some(l), Some(a)) = (leader, address)
            && l != node.id
        {
            if forwarded {
                return Err(Status::unavailable(format!(
                    "node {} is not the leader (leader hint: {l})",
                    node.id
                )));
            }
            return Ok(Route::Remote(l, a));
        }
        if start.elapsed() > leader_wait(node) {
            return Err(Status::unavailable(format!(
                "node {} knows no leader (it may be partitioned from the majority)",
                node.id
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn forwarded<T>(req: T) -> Request<T> {
    let mut r = Request::new(req);
    r.metadata_mut()
        .insert(FORWARDED, tonic::metadata::MetadataValue::from_static("1"));
    r
}

/// Pipes a stream forwarded from `owner` through, giving up (with an "outcome unknown" item)
/// once `owner` is no longer the leader (see [`crate::forward`]).
fn pipe_watched(
    node: NodeHandle,
    owner: u64,
    mut inner: tonic::codec::Streaming<ExecuteStreamResponse>,
) -> ExecuteStream {
    let (tx, rx) = tokio::sync::mpsc::channel(STREAM_MESSAGES_IN_FLIGHT);
    tokio::spawn(async move {
        loop {
            // A client that goes away (the shell's Ctrl-C) must cancel the statement on the
            // owner at once, not when the owner next sends something (a long sort or join sends
            // nothing for a while): returning drops `inner`, which cancels the owner's stream.
            let next = tokio::select! {
                _ = tx.closed() => return,
                next = watch_owner(&node, owner, inner.message()) => next,
            };
            // (item, whether the stream ends with it)
            let (item, end) = match next {
                Watched::Answered(Ok(Some(m))) => (Ok(m), false),
                Watched::Answered(Ok(None)) => return,
                Watched::Answered(Err(status)) => (Err(status), true),
                Watched::OwnerLost(why) => {
                    (Ok(error_item(outcome_unknown(owner, &why), node.id)), true)
                }
            };
            if tx.send(item).await.is_err() || end {
                return;
            }
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// A session open on this node. The cancel handle is kept beside the session's lock because
/// the lock is held for as long as a statement runs, which is when a cancel must get through.
#[derive(Debug, Clone)]
pub struct OpenSession {
    session: Arc<std::sync::Mutex<Session>>,
    cancel: CancelHandle,
}

impl OpenSession {
    fn new(session: Session) -> Self {
        OpenSession {
            cancel: session.cancel_handle(),
            session: Arc::new(std::sync::Mutex::new(session)),
        }
    }
}

/// The SQL client API.
#[derive(Debug)]
pub struct SqlService {
    pub node: NodeHandle,
    pub engine: Engine,
    pub sessions: Mutex<HashMap<u64, OpenSession>>,
    pub next_session: AtomicU64,
    pub forwarder: Forwarder,
}

impl SqlService {
    pub fn new(node: NodeHandle, engine: Engine) -> Self {
        SqlService {
            node,
            engine,
            sessions: Mutex::new(HashMap::new()),
            next_session: AtomicU64::new(1),
            forwarder: Forwarder::default(),
        }
    }

    /// A session of this node. Once this node is not the leader its sessions are over (their
    /// transactions can never commit): the session is dropped and the statement refused.
    fn local_session(
        &self,
        session_id: u64,
    ) -> Result<Arc<std::sync::Mutex<Session>>, Box<chronos_sql::Error>> {
        if !self.node.is_leader() {
            let known = self.sessions.lock().remove(&session_id).is_some();
            let why = match self.node.leader().0 {
                Some(l) => format!(
                    "node {} is no longer the leader (node {l} is)",
                    self.node.id
                ),
                None => format!("node {} is no longer the leader", self.node.id),
            };
            if known {
                return Err(Box::new(session_lost(session_id, &why)));
            }
        }
        self.sessions
            .lock()
            .get(&session_id)
            .map(|open| open.session.clone())
            .ok_or_else(|| {
                Box::new(session_lost(
                    session_id,
                    &format!(
                        "node {} does not know it (its node may have restarted)",
                        self.node.id
                    ),
                ))
            })
    }

    fn new_session_id(&self) -> u64 {
        (self.node.id << 48) | (self.next_session.fetch_add(1, Ordering::Relaxed) & ((1 << 48) - 1))
    }

    async fn run(
        &self,
        session: Arc<std::sync::Mutex<Session>>,
        sql: String,
    ) -> Result<ExecuteResponse, Status> {
        let results = tokio::task::spawn_blocking(move || {
            let mut s = session
                .lock()
                .map_err(|_| Status::internal("session poisoned by an earlier panic"))?;
            Ok::<_, Status>(s.execute(&sql))
        })
        .await
        .map_err(|e| Status::internal(format!("session task: {e}")))??;
        Ok(ExecuteResponse {
            results: results.iter().map(result_to_pb).collect(),
            served_by: self.node.id,
        })
    }

    /// Runs `sql` in `session` on a blocking thread, streaming query rows in batches of at most
    /// [`ROW_BATCH_ROWS`] rows / [`ROW_BATCH_BYTES`] bytes through a channel of
    /// [`STREAM_MESSAGES_IN_FLIGHT`] messages: the engine waits for the network, so the rows
    /// in memory at once are bounded whatever the result size. A client that goes away (the
    /// shell's Ctrl-C drops the stream; a forwarding follower passes that on) cancels the
    /// statement at once, even one that sends no rows for a long time (a sort, an aggregate).
    fn run_streaming(&self, session: Arc<std::sync::Mutex<Session>>, sql: String) -> ExecuteStream {
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_MESSAGES_IN_FLIGHT);
        let served_by = self.node.id;
        let runtime = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let send = |item: Item| {
                tx.blocking_send(Ok(ExecuteStreamResponse {
                    item: Some(item),
                    served_by,
                }))
                .is_ok()
            };
            let Ok(mut s) = session.lock() else {
                let _ = tx.blocking_send(Err(Status::internal(
                    "session poisoned by an earlier panic",
                )));
                return;
            };
            let cancel = s.cancel_handle();
            let to_client = tx.clone();
            let watcher = runtime.spawn(async move {
                // Resolves when the response stream (the channel's receiver) is dropped.
                to_client.closed().await;
                cancel.cancel();
            });
            let mut batch = Vec::new();
            let mut bytes = 0;
            s.execute_streaming(&sql, &mut |item| match item {
                // Notices and parameter reports have no gRPC message yet; the result itself
                // is complete without them.
                chronos_sql::Streamed::Message(_) => true,
                chronos_sql::Streamed::Columns(c) => send(Item::Columns(QueryColumns {
                    columns: c.iter().map(column_to_pb).collect(),
                })),
                chronos_sql::Streamed::Row(r) => {
                    bytes += row_size(&r);
                    batch.push(row_to_pb(&r));
                    if batch.len() >= ROW_BATCH_ROWS || bytes >= ROW_BATCH_BYTES {
                        bytes = 0;
                        return send(Item::Rows(RowBatch {
                            rows: std::mem::take(&mut batch),
                        }));
                    }
                    true
                }
                chronos_sql::Streamed::Done(r) => {
                    if !batch.is_empty() {
                        bytes = 0;
                        if !send(Item::Rows(RowBatch {
                            rows: std::mem::take(&mut batch),
                        })) {
                            return false;
                        }
                    }
                    send(Item::Result(result_to_pb(&r)))
                }
            });
            // What a PostgreSQL front end reports in ReadyForQuery (a client gone by now
            // does not need it).
            let _ = send(Item::State(SessionState {
                in_transaction: s.in_transaction(),
                failed: s.transaction_failed(),
            }));
            // Should it still fire, the session's next request clears the flag as it starts.
            watcher.abort();
        });
        Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}

#[tonic::async_trait]
impl Sql for SqlService {
    async fn open_session(
        &self,
        req: Request<OpenSessionRequest>,
    ) -> Result<Response<OpenSessionResponse>, Status> {
        let fwd = req.metadata().contains_key(FORWARDED);
        let r = req.into_inner();
        let start = Instant::now();
        loop {
            match route_to_leader(&self.node, fwd).await? {
                Route::Remote(leader, a) => {
                    let mut client = self.forwarder.sql(&a)?;
                    match watch_owner(&self.node, leader, client.open_session(forwarded(r))).await {
                        // The leader could not be reached (a cut link): it is probably being
                        // replaced, and opening a session is safe to retry.
                        Watched::Answered(Err(status))
                            if status.code() == tonic::Code::Unavailable
                                && start.elapsed() < LEADER_WAIT =>
                        {
                            tracing::debug!("open session re-routed: {status}");
                            tokio::time::sleep(crate::forward::WATCH_INTERVAL).await;
                        }
                        Watched::Answered(resp) => return resp,
                        // Opening a session has no effect worth keeping: try the new leader.
                        Watched::OwnerLost(why) if start.elapsed() < LEADER_WAIT => {
                            tracing::debug!("open session re-routed: {why}");
                        }
                        Watched::OwnerLost(why) => return Err(Status::unavailable(why)),
                    }
                }
                Route::Local => {
                    let mut sessions = self.sessions.lock();
                    if sessions.len() >= MAX_SESSIONS {
                        return Err(Status::resource_exhausted("too many sessions"));
                    }
                    let id = self.new_session_id();
                    sessions.insert(id, OpenSession::new(self.engine.session()));
                    return Ok(Response::new(OpenSessionResponse { session_id: id }));
                }
            }
        }
    }

    async fn execute(
        &self,
        req: Request<ExecuteRequest>,
    ) -> Result<Response<ExecuteResponse>, Status> {
        let fwd = req.metadata().contains_key(FORWARDED);
        let r = req.into_inner();
        let id = self.node.id;
        if r.session_id == 0 {
            return match route_to_leader(&self.node, fwd).await? {
                Route::Remote(leader, a) => {
                    let mut client = self.forwarder.sql(&a)?;
                    match watch_owner(&self.node, leader, client.execute(forwarded(r))).await {
                        Watched::Answered(resp) => resp,
                        Watched::OwnerLost(why) => Ok(Response::new(error_response(
                            outcome_unknown(leader, &why),
                            id,
                        ))),
                    }
                }
                Route::Local => {
                    let session = Arc::new(std::sync::Mutex::new(self.engine.session()));
                    Ok(Response::new(self.run(session, r.sql).await?))
                }
            };
        }
        let owner = r.session_id >> 48;
        if owner != id {
            if fwd {
                return Err(Status::not_found("unknown session"));
            }
            let address = self.node.shared.lock().addresses.get(&owner).cloned();
            let Some(a) = address else {
                return Err(Status::not_found(format!(
                    "session of unknown node {owner}"
                )));
            };
            if let Some(why) = check_owner_leads(&self.node, owner, leader_wait(&self.node)).await {
                return Ok(Response::new(error_response(
                    session_lost(r.session_id, &why),
                    id,
                )));
            }
            let mut client = self.forwarder.sql(&a)?;
            return match watch_owner(&self.node, owner, client.execute(forwarded(r))).await {
                Watched::Answered(resp) => resp,
                Watched::OwnerLost(why) => Ok(Response::new(error_response(
                    outcome_unknown(owner, &why),
                    id,
                ))),
            };
        }
        let session = match self.local_session(r.session_id) {
            Ok(s) => s,
            Err(lost) => return Ok(Response::new(error_response(*lost, id))),
        };
        Ok(Response::new(self.run(session, r.sql).await?))
    }

    type ExecuteStreamStream = ExecuteStream;

    async fn execute_stream(
        &self,
        req: Request<ExecuteRequest>,
    ) -> Result<Response<ExecuteStream>, Status> {
        let fwd = req.metadata().contains_key(FORWARDED);
        let r = req.into_inner();
        let id = self.node.id;
        let one = |e: chronos_sql::Error| {
            Response::new(Box::pin(tokio_stream::once(Ok(error_item(e, id)))) as ExecuteStream)
        };
        let (owner, address) = if r.session_id == 0 {
            match route_to_leader(&self.node, fwd).await? {
                Route::Remote(leader, a) => (leader, a),
                Route::Local => {
                    let session = Arc::new(std::sync::Mutex::new(self.engine.session()));
                    return Ok(Response::new(self.run_streaming(session, r.sql)));
                }
            }
        } else {
            let owner = r.session_id >> 48;
            if owner == id {
                return Ok(match self.local_session(r.session_id) {
                    Ok(session) => Response::new(self.run_streaming(session, r.sql)),
                    Err(lost) => one(*lost),
                });
            }
            if fwd {
                return Err(Status::not_found("unknown session"));
            }
            let address = self.node.shared.lock().addresses.get(&owner).cloned();
            let Some(a) = address else {
                return Err(Status::not_found(format!(
                    "session of unknown node {owner}"
                )));
            };
            if let Some(why) = check_owner_leads(&self.node, owner, leader_wait(&self.node)).await {
                return Ok(one(session_lost(r.session_id, &why)));
            }
            (owner, a)
        };
        let mut client = self.forwarder.sql(&address)?;
        match watch_owner(&self.node, owner, client.execute_stream(forwarded(r))).await {
            Watched::Answered(resp) => Ok(Response::new(pipe_watched(
                self.node.clone(),
                owner,
                resp?.into_inner(),
            ))),
            Watched::OwnerLost(why) => Ok(one(outcome_unknown(owner, &why))),
        }
    }

    async fn close_session(
        &self,
        req: Request<CloseSessionRequest>,
    ) -> Result<Response<CloseSessionResponse>, Status> {
        let fwd = req.metadata().contains_key(FORWARDED);
        let r = req.into_inner();
        let owner = r.session_id >> 48;
        if owner != self.node.id && !fwd {
            let address = self.node.shared.lock().addresses.get(&owner).cloned();
            if let Some(a) = address {
                return self.forwarder.sql(&a)?.close_session(forwarded(r)).await;
            }
        }
        self.sessions.lock().remove(&r.session_id);
        Ok(Response::new(CloseSessionResponse {}))
    }

    async fn cancel_session(
        &self,
        req: Request<CancelSessionRequest>,
    ) -> Result<Response<CancelSessionResponse>, Status> {
        let fwd = req.metadata().contains_key(FORWARDED);
        let r = req.into_inner();
        let owner = r.session_id >> 48;
        if owner != self.node.id {
            if fwd {
                return Err(Status::not_found("unknown session"));
            }
            let address = self.node.shared.lock().addresses.get(&owner).cloned();
            let Some(a) = address else {
                return Err(Status::not_found(format!(
                    "session of unknown node {owner}"
                )));
            };
            return self.forwarder.sql(&a)?.cancel_session(forwarded(r)).await;
        }
        // A session that is gone or idle has nothing to cancel: not an error, as in
        // PostgreSQL, where a late CancelRequest is silently ignored.
        if let Some(open) = self.sessions.lock().get(&r.session_id) {
            open.cancel.cancel();
        }
        Ok(Response::new(CancelSessionResponse {}))
    }
}

/// Cluster administration.
#[derive(Debug)]
pub struct AdminService {
    pub node: NodeHandle,
    pub forwarder: Forwarder,
    pub transport: crate::transport::Transport,
    /// This node's SQL service, for the sessions it reports.
    pub sql: Arc<SqlService>,
}

fn role_name(r: Role) -> &'static str {
    match r {
        Role::Follower => "follower",
        Role::PreCandidate => "pre-candidate",
        Role::Candidate => "candidate",
        Role::Leader => "leader",
    }
}

impl AdminService {
    fn admin_client(
        &self,
        address: &str,
    ) -> Result<chronos_proto::admin::admin_client::AdminClient<Channel>, Status> {
        Ok(chronos_proto::admin::admin_client::AdminClient::new(
            self.forwarder.channel(address)?,
        ))
    }

    async fn conf_change(&self, change: ConfChange) -> Result<(), Status> {
        // A change is refused while the previous one is uncommitted: retry for a while.
        let start = Instant::now();
        loop {
            match self
                .node
                .call(|reply| Event::ConfChange { change, reply })
                .await
            {
                Ok(()) => return Ok(()),
                Err(Error::Raft(chronos_raft::Error::ConfChangeRefused { .. }))
                    if start.elapsed() < Duration::from_secs(10) =>
                {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(status_of(e)),
            }
        }
    }

    async fn wait_membership(
        &self,
        pred: impl Fn(&crate::node::Status) -> bool,
    ) -> Result<(), Status> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            let st = self.node.status().await.map_err(status_of)?;
            if pred(&st) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(Status::deadline_exceeded(
            "membership change did not complete in 60 s",
        ))
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn status(
        &self,
        _req: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        let st = self.node.status().await.map_err(status_of)?;
        let addresses = self.node.shared.lock().addresses.clone();
        let mut peers: Vec<PeerStatus> = st
            .voters
            .iter()
            .map(|id| (*id, true))
            .chain(st.learners.iter().map(|id| (*id, false)))
            .filter(|(id, _)| *id != st.id)
            .map(|(id, voter)| {
                let p = st.progress.iter().find(|p| p.id == id);
                PeerStatus {
                    id,
                    address: addresses.get(&id).cloned().unwrap_or_default(),
                    match_index: p.map_or(0, |p| p.match_index),
                    next_index: p.map_or(0, |p| p.next_index),
                    lag: p.map_or(0, |p| st.last_index.saturating_sub(p.match_index)),
                    state: p.map_or_else(String::new, |p| p.state.clone()),
                    voter,
                }
            })
            .collect();
        peers.sort_by_key(|p| p.id);
        Ok(Response::new(StatusResponse {
            node_id: st.id,
            role: role_name(st.role).to_string(),
            leader: st.leader.unwrap_or(0),
            term: st.term,
            commit_index: st.commit,
            applied_index: st.applied,
            last_index: st.last_index,
            snapshot_index: st.snapshot_index,
            peers,
            leader_address: st
                .leader
                .and_then(|l| addresses.get(&l).cloned())
                .unwrap_or_default(),
            snapshot_chunks_sent: self.node.snapshots.chunks_sent.load(Ordering::Relaxed),
            snapshot_chunks_received: self.node.snapshots.chunks_received.load(Ordering::Relaxed),
            snapshot_bytes_received: self.node.snapshots.bytes_received.load(Ordering::Relaxed),
            snapshots_installed: self.node.snapshots.installed.load(Ordering::Relaxed),
            open_sessions: self.sql.sessions.lock().len() as u64,
        }))
    }

    async fn add_node(
        &self,
        req: Request<AddNodeRequest>,
    ) -> Result<Response<AdminResponse>, Status> {
        let fwd = req.metadata().contains_key(FORWARDED);
        let r = req.into_inner();
        if r.id == 0 || !r.address.contains(':') {
            return Err(Status::invalid_argument(
                "add-node needs an id and HOST:PORT",
            ));
        }
        if let Route::Remote(_, a) = route_to_leader(&self.node, fwd).await? {
            return self.admin_client(&a)?.add_node(forwarded(r)).await;
        }
        let (id, address) = (r.id, r.address.clone());
        self.node
            .call(|reply| Event::SetAddress {
                node: id,
                address,
                reply,
            })
            .await
            .map_err(status_of)?;
        self.conf_change(ConfChange::AddLearner(id)).await?;
        // Promote once the learner has caught up with the leader's commit index.
        self.wait_membership(|st| {
            st.progress
                .iter()
                .any(|p| p.id == id && p.match_index > 0 && p.match_index + 16 >= st.commit)
        })
        .await?;
        if r.learner {
            return Ok(Response::new(AdminResponse {
                message: format!("node {id} added as a learner"),
            }));
        }
        self.conf_change(ConfChange::AddVoter(id)).await?;
        self.wait_membership(|st| st.voters.contains(&id)).await?;
        Ok(Response::new(AdminResponse {
            message: format!("node {id} added as a voter"),
        }))
    }

    async fn remove_node(
        &self,
        req: Request<RemoveNodeRequest>,
    ) -> Result<Response<AdminResponse>, Status> {
        let fwd = req.metadata().contains_key(FORWARDED);
        let r = req.into_inner();
        if let Route::Remote(_, a) = route_to_leader(&self.node, fwd).await? {
            return self.admin_client(&a)?.remove_node(forwarded(r)).await;
        }
        let id = r.id;
        self.conf_change(ConfChange::RemoveNode(id)).await?;
        Ok(Response::new(AdminResponse {
            message: format!("removal of node {id} proposed (stop its process once committed)"),
        }))
    }

    async fn transfer_leader(
        &self,
        req: Request<TransferLeaderRequest>,
    ) -> Result<Response<AdminResponse>, Status> {
        let fwd = req.metadata().contains_key(FORWARDED);
        let r = req.into_inner();
        if let Route::Remote(_, a) = route_to_leader(&self.node, fwd).await? {
            return self.admin_client(&a)?.transfer_leader(forwarded(r)).await;
        }
        let to = r.to;
        self.node
            .call(|reply| Event::Transfer { to, reply })
            .await
            .map_err(status_of)?;
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if self.node.leader().0 == Some(to) {
                return Ok(Response::new(AdminResponse {
                    message: format!("node {to} is the leader"),
                }));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(Status::deadline_exceeded(format!(
            "node {to} did not take over within 5 s"
        )))
    }

    async fn inject_partition(
        &self,
        req: Request<PartitionRequest>,
    ) -> Result<Response<AdminResponse>, Status> {
        let blocked: std::collections::BTreeSet<u64> =
            req.into_inner().blocked.into_iter().collect();
        let message = if blocked.is_empty() {
            "partition healed".to_string()
        } else {
            format!("dropping Raft traffic with {blocked:?}")
        };
        tracing::warn!("node {}: fault injection: {message}", self.node.id);
        self.transport.set_blocked(blocked);
        Ok(Response::new(AdminResponse { message }))
    }
}
