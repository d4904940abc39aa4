//! `chronos sql --host`: the shell's statements run in a session on a cluster node.
//!
//! Cancelling (Ctrl-C) drops the statement's result stream: the node sees its client go away
//! and cancels the statement (a forwarding follower passes the reset on to the session's
//! node). The shell reports 57014 at once, without waiting for the node.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use chronos_server::Client;
use chronos_sql::{SqlState, StatementResult};
use tokio::sync::Notify;

use super::SqlTarget;
use super::interrupt::Canceller;

/// A session on a cluster node, driven from a synchronous shell by a private tokio runtime.
#[derive(Debug)]
pub struct RemoteSession {
    rt: tokio::runtime::Runtime,
    client: Client,
    session_id: u64,
    in_transaction: bool,
    /// Set by the canceller; cleared when a statement starts.
    cancelled: Arc<AtomicBool>,
    /// Wakes the running statement's wait when `cancelled` is set.
    wake: Arc<Notify>,
}

impl RemoteSession {
    pub fn connect(host: &str) -> anyhow::Result<RemoteSession> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the client runtime")?;
        let mut client = rt
            .block_on(Client::connect(host))
            .with_context(|| format!("connecting to {host}"))?;
        let session_id = rt
            .block_on(client.open_session())
            .with_context(|| format!("opening a session on {host}"))?;
        Ok(RemoteSession {
            rt,
            client,
            session_id,
            in_transaction: false,
            cancelled: Arc::default(),
            wake: Arc::default(),
        })
    }
}

fn rpc_error(e: chronos_server::Error) -> chronos_sql::Error {
    chronos_sql::Error::new(SqlState::IoError, format!("cluster: {e}"))
}

impl SqlTarget for RemoteSession {
    fn execute(&mut self, sql: &str) -> Vec<chronos_sql::Result<StatementResult>> {
        // Streamed: query rows arrive in bounded batches (ExecuteStream), read one message at a
        // time and assembled here, since the shell's table format needs every row for widths.
        let client = &mut self.client;
        let session_id = self.session_id;
        let streamed = async move {
            client
                .execute_stream(session_id, sql)
                .await?
                .collect()
                .await
        };
        self.cancelled.store(false, Ordering::SeqCst);
        let (cancelled, wake) = (self.cancelled.clone(), self.wake.clone());
        let cancel = async move {
            loop {
                // Created before the flag is read: a wake-up in between is not lost.
                let woken = wake.notified();
                if cancelled.load(Ordering::SeqCst) {
                    return;
                }
                woken.await;
            }
        };
        let outcome = self.rt.block_on(async {
            tokio::select! {
                r = streamed => Some(r),
                () = cancel => None,
            }
        });
        let results = match outcome {
            Some(Ok(r)) => r,
            Some(Err(e)) => return vec![Err(rpc_error(e))],
            // The stream is dropped: the node cancels the statement.
            None => {
                return vec![Err(chronos_sql::Error::new(
                    SqlState::QueryCanceled,
                    "canceling statement due to user request",
                ))];
            }
        };
        for r in &results {
            match r {
                Ok(StatementResult::Command { tag }) if tag == "BEGIN" => {
                    self.in_transaction = true;
                }
                Ok(StatementResult::Command { tag }) if tag == "COMMIT" || tag == "ROLLBACK" => {
                    self.in_transaction = false;
                }
                _ => {}
            }
        }
        results
    }

    fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    fn list_tables(&mut self) -> chronos_sql::Result<Vec<String>> {
        match self.execute("SHOW TABLES").pop() {
            Some(Ok(StatementResult::Query { rows, .. })) => Ok(rows
                .iter()
                .filter_map(|r| r.first().map(|v| v.to_string()))
                .collect()),
            Some(Err(e)) => Err(e),
            _ => Err(chronos_sql::Error::internal(
                "unexpected SHOW TABLES result",
            )),
        }
    }

    fn canceller(&self) -> Canceller {
        let (cancelled, wake) = (self.cancelled.clone(), self.wake.clone());
        Arc::new(move || {
            cancelled.store(true, Ordering::SeqCst);
            wake.notify_waiters();
        })
    }

    fn describe_table(&mut self, name: &str) -> chronos_sql::Result<StatementResult> {
        let q = format!("DESCRIBE \"{}\"", name.replace('"', "\"\""));
        self.execute(&q)
            .pop()
            .unwrap_or_else(|| Err(chronos_sql::Error::internal("no result")))
    }
}

impl Drop for RemoteSession {
    fn drop(&mut self) {
        let id = self.session_id;
        let _ = self.rt.block_on(self.client.close_session(id));
    }
}
