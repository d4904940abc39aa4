//! `chronos sql --host`: the shell's statements run in a session on a cluster node.

use anyhow::Context;
use chronos_server::Client;
use chronos_sql::{SqlState, StatementResult};

use super::SqlTarget;

/// A session on a cluster node, driven from a synchronous shell by a private tokio runtime.
#[derive(Debug)]
pub struct RemoteSession {
    rt: tokio::runtime::Runtime,
    client: Client,
    session_id: u64,
    in_transaction: bool,
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
        let results = match self.rt.block_on(streamed) {
            Ok(r) => r,
            Err(e) => return vec![Err(rpc_error(e))],
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
