//! A small client of a node's SQL and admin services, for the `chronos` tools and the tests.

use std::time::Duration;

use chronos_proto::admin::admin_client::AdminClient;
use chronos_proto::admin::{
    AddNodeRequest, PartitionRequest, RemoveNodeRequest, StatusRequest, StatusResponse,
    TransferLeaderRequest,
};
use chronos_proto::client::sql_client::SqlClient;
use chronos_proto::client::statement_result::Result as R;
use chronos_proto::client::{CloseSessionRequest, ExecuteRequest, OpenSessionRequest};
use chronos_sql::{ColumnInfo, DataType, StatementResult, Value};
use tonic::transport::Channel;

use crate::convert::value_from_pb;
use crate::error::{Error, Result};

/// A connection to one node.
#[derive(Debug, Clone)]
pub struct Client {
    sql: SqlClient<Channel>,
    admin: AdminClient<Channel>,
}

/// One statement's outcome as the client sees it: the engine's result, or its SQL error.
pub type StatementOutcome = std::result::Result<StatementResult, chronos_sql::Error>;

/// One item of a streamed execution, in order: per query statement `Columns`, any number of
/// `Rows` batches, then `Done` (a `Query` with the columns and, usually, no rows: the rows came
/// in the batches; SHOW TABLES and DESCRIBE carry their few rows here); per other statement
/// just `Done`. Nothing follows a `Done` with an error.
#[derive(Debug)]
pub enum StreamItem {
    Columns(Vec<ColumnInfo>),
    Rows(Vec<Vec<Value>>),
    Done(StatementOutcome),
}

/// The messages of [`Client::execute_stream`], read one at a time.
#[derive(Debug)]
pub struct ResultStream {
    inner: tonic::codec::Streaming<chronos_proto::client::ExecuteStreamResponse>,
}

impl ResultStream {
    /// The next item; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<StreamItem>> {
        use chronos_proto::client::execute_stream_response::Item;
        // Bounded: at most one session state per stream, and it is the last message.
        loop {
            let Some(msg) = self.inner.message().await? else {
                return Ok(None);
            };
            return Ok(Some(
                match msg
                    .item
                    .ok_or_else(|| Error::Malformed("empty stream message".into()))?
                {
                    Item::Columns(c) => StreamItem::Columns(columns_from_pb(&c.columns)),
                    Item::Rows(b) => StreamItem::Rows(rows_from_pb(&b.rows)?),
                    Item::Result(r) => StreamItem::Done(outcome_from_pb(r)?),
                    // The shell and the tools track no transaction state.
                    Item::State(_) => continue,
                },
            ));
        }
    }

    /// Reads the rest, assembling each query's rows: the same outcomes as [`Client::execute`].
    pub async fn collect(mut self) -> Result<Vec<StatementOutcome>> {
        let mut out = Vec::new();
        let mut rows = Vec::new();
        while let Some(item) = self.next().await? {
            match item {
                StreamItem::Columns(_) => rows.clear(),
                StreamItem::Rows(mut r) => rows.append(&mut r),
                StreamItem::Done(Ok(StatementResult::Query {
                    columns,
                    rows: mut more,
                })) => {
                    let mut all = std::mem::take(&mut rows);
                    all.append(&mut more);
                    out.push(Ok(StatementResult::Query { columns, rows: all }));
                }
                StreamItem::Done(r) => out.push(r),
            }
        }
        Ok(out)
    }
}

pub(crate) fn columns_from_pb(columns: &[chronos_proto::client::Column]) -> Vec<ColumnInfo> {
    use chronos_proto::client::DataType as T;
    columns
        .iter()
        .map(|c| ColumnInfo {
            name: c.name.clone(),
            data_type: match c.data_type() {
                T::Unknown => None,
                T::Boolean => Some(DataType::Boolean),
                T::Integer => Some(DataType::Integer),
                T::Float => Some(DataType::Float),
                T::Text => Some(DataType::Text),
                T::Char => Some(DataType::Char),
                T::Timestamp => Some(DataType::Timestamp),
                T::Timestamptz => Some(DataType::TimestampTz),
                T::Date => Some(DataType::Date),
            },
        })
        .collect()
}

pub(crate) fn rows_from_pb(rows: &[chronos_proto::client::Row]) -> Result<Vec<Vec<Value>>> {
    rows.iter()
        .map(|row| {
            row.values
                .iter()
                .map(value_from_pb)
                .collect::<Result<Vec<Value>>>()
        })
        .collect()
}

pub(crate) fn outcome_from_pb(
    r: chronos_proto::client::StatementResult,
) -> Result<StatementOutcome> {
    Ok(
        match r
            .result
            .ok_or_else(|| Error::Malformed("empty result".into()))?
        {
            R::Query(q) => Ok(StatementResult::Query {
                columns: columns_from_pb(&q.columns),
                rows: rows_from_pb(&q.rows)?,
            }),
            R::Modified(m) => Ok(StatementResult::Modified {
                tag: match m.tag.as_str() {
                    "INSERT" => "INSERT",
                    "UPDATE" => "UPDATE",
                    "DELETE" => "DELETE",
                    _ => "MODIFIED",
                },
                rows: m.rows,
            }),
            R::Command(c) => Ok(StatementResult::Command { tag: c.tag }),
            R::Explain(e) => Ok(StatementResult::Explain { lines: e.lines }),
            R::Error(e) => Err(error_from_pb(e)),
        },
    )
}

/// A SQL error from the wire: SQLSTATE, message and detail as the executing node raised them.
/// A code this binary does not know (a newer node) becomes an internal error that keeps the
/// code in its message.
pub fn error_from_pb(e: chronos_proto::client::SqlError) -> chronos_sql::Error {
    let err = match chronos_sql::SqlState::from_code(&e.sqlstate) {
        Some(state) => chronos_sql::Error::new(state, e.message),
        None => chronos_sql::Error::new(
            chronos_sql::SqlState::Internal,
            format!("{} (SQLSTATE {} from the server)", e.message, e.sqlstate),
        ),
    };
    if e.detail.is_empty() {
        err
    } else {
        err.with_detail(e.detail)
    }
}

impl Client {
    /// Connects to `address` (`host:port`).
    pub async fn connect(address: &str) -> Result<Client> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
            .map_err(|e| Error::Config(format!("bad address {address}: {e}")))?
            .connect_timeout(Duration::from_secs(2))
            .tcp_nodelay(true)
            .connect()
            .await?;
        Ok(Client {
            sql: SqlClient::new(channel.clone())
                .max_decoding_message_size(chronos_proto::MAX_CLIENT_MESSAGE_BYTES)
                .max_encoding_message_size(chronos_proto::MAX_CLIENT_MESSAGE_BYTES),
            admin: AdminClient::new(channel),
        })
    }

    /// Opens a session (on the leader, wherever this node forwards it).
    pub async fn open_session(&mut self) -> Result<u64> {
        Ok(self
            .sql
            .open_session(OpenSessionRequest {})
            .await?
            .into_inner()
            .session_id)
    }

    pub async fn close_session(&mut self, session_id: u64) -> Result<()> {
        self.sql
            .close_session(CloseSessionRequest { session_id })
            .await?;
        Ok(())
    }

    /// Runs SQL text in a session (0: a one-shot autocommit session); one outcome per statement.
    /// Every result arrives in one response (see [`Client::execute_stream`] for large results).
    pub async fn execute(&mut self, session_id: u64, sql: &str) -> Result<Vec<StatementOutcome>> {
        let resp = self
            .sql
            .execute(ExecuteRequest {
                session_id,
                sql: sql.to_string(),
            })
            .await?
            .into_inner();
        resp.results.into_iter().map(outcome_from_pb).collect()
    }

    /// Runs SQL text like [`Client::execute`], receiving query rows in bounded batches as the
    /// server produces them; read them with [`ResultStream::next`].
    pub async fn execute_stream(&mut self, session_id: u64, sql: &str) -> Result<ResultStream> {
        let inner = self
            .sql
            .execute_stream(ExecuteRequest {
                session_id,
                sql: sql.to_string(),
            })
            .await?
            .into_inner();
        Ok(ResultStream { inner })
    }

    /// The node's view of the cluster.
    pub async fn status(&mut self) -> Result<StatusResponse> {
        Ok(self.admin.status(StatusRequest {}).await?.into_inner())
    }

    pub async fn add_node(&mut self, id: u64, address: &str, learner: bool) -> Result<String> {
        Ok(self
            .admin
            .add_node(AddNodeRequest {
                id,
                address: address.to_string(),
                learner,
            })
            .await?
            .into_inner()
            .message)
    }

    pub async fn remove_node(&mut self, id: u64) -> Result<String> {
        Ok(self
            .admin
            .remove_node(RemoveNodeRequest { id })
            .await?
            .into_inner()
            .message)
    }

    pub async fn transfer_leader(&mut self, to: u64) -> Result<String> {
        Ok(self
            .admin
            .transfer_leader(TransferLeaderRequest { to })
            .await?
            .into_inner()
            .message)
    }

    /// Fault injection: the node drops Raft traffic with `blocked` (empty heals).
    pub async fn inject_partition(&mut self, blocked: Vec<u64>) -> Result<String> {
        Ok(self
            .admin
            .inject_partition(PartitionRequest { blocked })
            .await?
            .into_inner()
            .message)
    }
}
