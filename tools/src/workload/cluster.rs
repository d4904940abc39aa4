//! Sessions on a running cluster over its gRPC client API ([`chronos_server::Client`], what
//! `chronos sql --host` uses): a [`ClusterConnector`] opens a session on a node chosen
//! round-robin by process number (`process % hosts`, then the next ones if that node does not
//! answer), and each [`ClusterClient`] runs statements in its session with a per-request
//! deadline.
//!
//! Error mapping (see [`super::client`]): a missed deadline, any RPC failure (`Unavailable`, a
//! reset connection, `NotFound` for a session its node forgot after a restart) and the server's
//! "outcome unknown" errors (SQLSTATE 58030 for a commit whose leader changed or timed out,
//! XX000, XX001) are [`ClientError::Indeterminate`]; every other SQLSTATE (40001, 23505, 25P02,
//! ...) is [`ClientError::Definite`].
//!
//! SQLSTATEs arrive unchanged from the node that raised them ([`chronos_server::Client`] maps
//! every code back); 08006 ("session lost": its node no longer leads, the statement did not
//! run) is definite, like 40001.

use std::sync::Arc;
use std::time::Duration;

use chronos_sql::StatementResult;

use super::client::classify;
use super::{Client, ClientError, Connector, Reply};

/// Bound on opening a connection and a session on one node.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Opens sessions on the nodes of a cluster.
#[derive(Debug)]
pub struct ClusterConnector {
    hosts: Vec<String>,
    timeout: Duration,
    rt: Arc<tokio::runtime::Runtime>,
}

impl ClusterConnector {
    /// Clients of `hosts` (`host:port` each), each request bounded by `timeout`.
    pub fn new(hosts: Vec<String>, timeout: Duration) -> anyhow::Result<Self> {
        anyhow::ensure!(!hosts.is_empty(), "no cluster host given");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("chronos-check-client")
            .enable_all()
            .build()?;
        Ok(ClusterConnector {
            hosts,
            timeout,
            rt: Arc::new(rt),
        })
    }

    async fn open(host: &str) -> Result<(chronos_server::Client, u64), ClientError> {
        let mut c = chronos_server::Client::connect(host)
            .await
            .map_err(|e| ClientError::indeterminate(format!("{host}: {e}")))?;
        let session = c
            .open_session()
            .await
            .map_err(|e| ClientError::indeterminate(format!("{host}: {e}")))?;
        Ok((c, session))
    }
}

impl Connector for ClusterConnector {
    fn connect(&self, process: u64) -> Result<Box<dyn Client>, ClientError> {
        let n = self.hosts.len();
        let first = (process % n as u64) as usize;
        let mut last = None;
        for i in 0..n {
            let host = &self.hosts[(first + i) % n];
            let opened = self
                .rt
                .block_on(async { tokio::time::timeout(CONNECT_TIMEOUT, Self::open(host)).await });
            match opened {
                Ok(Ok((client, session))) => {
                    return Ok(Box::new(ClusterClient {
                        rt: self.rt.clone(),
                        client: Some(client),
                        session,
                        host: host.clone(),
                        timeout: self.timeout,
                    }));
                }
                Ok(Err(e)) => last = Some(e),
                Err(_) => {
                    last = Some(ClientError::indeterminate(format!(
                        "{host}: no session within {CONNECT_TIMEOUT:?}"
                    )));
                }
            }
        }
        Err(last.unwrap_or_else(|| ClientError::indeterminate("no host")))
    }

    fn describe(&self) -> String {
        format!("cluster {}", self.hosts.join(","))
    }
}

/// One session on a cluster node (the session lives on the leader the node forwarded it to).
#[derive(Debug)]
pub struct ClusterClient {
    rt: Arc<tokio::runtime::Runtime>,
    /// `None` once the session is known to be unusable.
    client: Option<chronos_server::Client>,
    session: u64,
    host: String,
    timeout: Duration,
}

impl Client for ClusterClient {
    fn execute(&mut self, sql: &str) -> Result<Reply, ClientError> {
        let Some(client) = self.client.as_mut() else {
            return Err(ClientError::indeterminate("session abandoned"));
        };
        let (timeout, session) = (self.timeout, self.session);
        let outcome = self
            .rt
            .block_on(async { tokio::time::timeout(timeout, client.execute(session, sql)).await });
        let results = match outcome {
            Ok(Ok(results)) => results,
            Ok(Err(e)) => {
                self.client = None;
                return Err(ClientError::indeterminate(format!("{}: {e}", self.host)));
            }
            Err(_) => {
                self.client = None;
                return Err(ClientError::indeterminate(format!(
                    "{}: no answer within {:?}",
                    self.host, self.timeout
                )));
            }
        };
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

impl Drop for ClusterClient {
    fn drop(&mut self) {
        // Best effort, in the background: the node may be gone or paused.
        if let Some(mut c) = self.client.take() {
            let session = self.session;
            self.rt.spawn(async move {
                let _ =
                    tokio::time::timeout(Duration::from_secs(1), c.close_session(session)).await;
            });
        }
    }
}
