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

fn sqlstate_of(code: &str) -> chronos_sql::SqlState {
    use chronos_sql::SqlState as S;
    // The states a client branches on; everything else keeps its message.
    match code {
        "40001" => S::SerializationFailure,
        "42601" => S::SyntaxError,
        "42P01" => S::UndefinedTable,
        "42P07" => S::DuplicateTable,
        "23505" => S::UniqueViolation,
        "23502" => S::NotNullViolation,
        "25P02" => S::InFailedTransaction,
        "58030" => S::IoError,
        "0A000" => S::FeatureNotSupported,
        _ => S::Internal,
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
    pub async fn execute(&mut self, session_id: u64, sql: &str) -> Result<Vec<StatementOutcome>> {
        let resp = self
            .sql
            .execute(ExecuteRequest {
                session_id,
                sql: sql.to_string(),
            })
            .await?
            .into_inner();
        resp.results
            .into_iter()
            .map(|r| {
                Ok(
                    match r
                        .result
                        .ok_or_else(|| Error::Malformed("empty result".into()))?
                    {
                        R::Query(q) => Ok(StatementResult::Query {
                            columns: q
                                .columns
                                .iter()
                                .map(|c| ColumnInfo {
                                    name: c.name.clone(),
                                    data_type: match c.data_type() {
                                        chronos_proto::client::DataType::Unknown => None,
                                        chronos_proto::client::DataType::Boolean => {
                                            Some(DataType::Boolean)
                                        }
                                        chronos_proto::client::DataType::Integer => {
                                            Some(DataType::Integer)
                                        }
                                        chronos_proto::client::DataType::Float => {
                                            Some(DataType::Float)
                                        }
                                        chronos_proto::client::DataType::Text => {
                                            Some(DataType::Text)
                                        }
                                    },
                                })
                                .collect(),
                            rows: q
                                .rows
                                .iter()
                                .map(|row| {
                                    row.values
                                        .iter()
                                        .map(value_from_pb)
                                        .collect::<Result<Vec<Value>>>()
                                })
                                .collect::<Result<_>>()?,
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
                        R::Error(e) => {
                            Err(chronos_sql::Error::new(sqlstate_of(&e.sqlstate), e.message))
                        }
                    },
                )
            })
            .collect()
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
