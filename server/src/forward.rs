//! Forwarding a client request to the node that must serve it (the leader, or the node that
//! owns a session), bounded by that node's leadership.
//!
//! A forwarded request waits for its answer only while the target is still, as far as this
//! node's Raft knows, the leader. This node hears from the leader every heartbeat; a leader that
//! is paused, partitioned or dead is replaced within an election timeout, and this node learns
//! of the new leader (or starts an election itself). So a request forwarded to a leader that
//! stopped answering is given up within about one election timeout ([`watch_owner`]) instead of
//! waiting for the old leader to come back:
//!
//! - the request may already have run there (a commit may be in the old leader's log, and the
//!   new leader may commit it): its outcome is unknown, SQLSTATE 58030 ([`outcome_unknown`]);
//! - a session lives on the node that opened it. Once that node is not the leader, the session
//!   is over: its open transaction can never commit. Every later statement on it is refused
//!   before it is sent anywhere — nothing ran, a definite error — with SQLSTATE 08006
//!   ([`session_lost`]), which clients treat as a lost connection: open a new session (on the
//!   new leader) and retry the transaction there;
//! - a request without side effects of its own (opening a session) is re-routed to the new
//!   leader.
//!
//! The check runs every [`WATCH_INTERVAL`]; a query that takes long on a healthy leader is never
//! cut off, however long it runs.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronos_proto::client::sql_client::SqlClient;
use chronos_proto::client::{
    ExecuteResponse, ExecuteStreamResponse, StatementResult, execute_stream_response::Item,
};
use chronos_sql::{Error as SqlError, SqlState};
use parking_lot::Mutex;
use tonic::Status;
use tonic::transport::Channel;

use crate::convert::result_to_pb;
use crate::node::NodeHandle;

/// How often a waiting forward re-checks the target's leadership.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(20);

/// Clients of other nodes' SQL and admin services, one channel per address.
#[derive(Debug, Default, Clone)]
pub struct Forwarder {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
}

impl Forwarder {
    pub fn channel(&self, address: &str) -> Result<Channel, Status> {
        let mut c = self.channels.lock();
        if let Some(ch) = c.get(address) {
            return Ok(ch.clone());
        }
        let ch = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| Status::internal(format!("bad address {address}: {e}")))?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .connect_lazy();
        c.insert(address.to_string(), ch.clone());
        Ok(ch)
    }

    pub fn sql(&self, address: &str) -> Result<SqlClient<Channel>, Status> {
        Ok(SqlClient::new(self.channel(address)?)
            .max_decoding_message_size(chronos_proto::MAX_CLIENT_MESSAGE_BYTES)
            .max_encoding_message_size(chronos_proto::MAX_CLIENT_MESSAGE_BYTES))
    }
}

/// The outcome of a forwarded call watched by [`watch_owner`].
#[derive(Debug)]
pub enum Watched<T> {
    /// The target answered.
    Answered(T),
    /// The target is no longer the leader (or no leader was known for an election timeout):
    /// the call was abandoned. Says why.
    OwnerLost(String),
}

/// Why `owner` can no longer be expected to answer as the leader, if so. `leaderless_since`
/// tracks how long this node has known no leader.
fn owner_gone(
    node: &NodeHandle,
    owner: u64,
    leaderless_since: &mut Option<Instant>,
) -> Option<String> {
    match node.leader().0 {
        Some(l) if l == owner => {
            *leaderless_since = None;
            None
        }
        Some(l) => Some(format!(
            "node {owner} is no longer the leader (node {l} is)"
        )),
        None => {
            let since = *leaderless_since.get_or_insert_with(Instant::now);
            (since.elapsed() >= node.election_timeout).then(|| {
                format!(
                    "node {owner} stopped answering: no leader known for {:?}",
                    node.election_timeout
                )
            })
        }
    }
}

/// Runs `call` (a request forwarded to `owner`) while `owner` is the leader as far as this
/// node knows; abandons it once that stops being true.
pub async fn watch_owner<T>(
    node: &NodeHandle,
    owner: u64,
    call: impl std::future::Future<Output = T>,
) -> Watched<T> {
    tokio::pin!(call);
    let mut leaderless_since = None;
    let mut tick = tokio::time::interval(WATCH_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            out = &mut call => return Watched::Answered(out),
            _ = tick.tick() => {
                if let Some(why) = owner_gone(node, owner, &mut leaderless_since) {
                    return Watched::OwnerLost(why);
                }
            }
        }
    }
}

/// Whether `owner` is the leader, waiting up to `wait` for this node to know a leader at all
/// (an election may be under way). `None`: it leads; otherwise why not.
pub async fn check_owner_leads(node: &NodeHandle, owner: u64, wait: Duration) -> Option<String> {
    let start = Instant::now();
    loop {
        match node.leader().0 {
            Some(l) if l == owner => return None,
            Some(l) => {
                return Some(format!(
                    "node {owner} is no longer the leader (node {l} is)"
                ));
            }
            None if start.elapsed() >= wait => {
                return Some(format!("no leader known for {wait:?}"));
            }
            None => tokio::time::sleep(WATCH_INTERVAL).await,
        }
    }
}

/// The definite answer to a statement on a session whose node is no longer the leader: the
/// statement did not run; the session and its open transaction are gone.
pub fn session_lost(session: u64, why: &str) -> SqlError {
    SqlError::new(
        SqlState::ConnectionFailure,
        format!(
            "session {session} is lost: {why}; its open transaction (if any) was rolled back and \
             the statement did not run; open a new session and retry"
        ),
    )
    .with_detail("a session lives on the node that was the leader when it was opened")
}

/// The answer to a forwarded request abandoned while it may have been running.
pub fn outcome_unknown(owner: u64, why: &str) -> SqlError {
    SqlError::new(
        SqlState::IoError,
        "the outcome of the request is unknown: it may or may not have been applied",
    )
    .with_detail(format!(
        "forwarded to node {owner}, which was given up on: {why}"
    ))
}

/// A whole response made of one error.
pub fn error_response(e: SqlError, served_by: u64) -> ExecuteResponse {
    ExecuteResponse {
        results: vec![error_result(e)],
        served_by,
    }
}

/// A streamed response item made of one error.
pub fn error_item(e: SqlError, served_by: u64) -> ExecuteStreamResponse {
    ExecuteStreamResponse {
        item: Some(Item::Result(error_result(e))),
        served_by,
    }
}

fn error_result(e: SqlError) -> StatementResult {
    result_to_pb(&Err(e))
}
