//! The PostgreSQL wire protocol (v3) in front of a Chronos SQL engine, so that psql and
//! PostgreSQL drivers connect unchanged.
//!
//! ```text
//! TCP ──pgwire (framing, startup, message codec)──► handler (ours: auth, limits, tags,
//!   types, errors) ──SQL text──► worker thread owning a SessionBackend (a local
//!   chronos_sql::Session, or on a cluster node a session routed to the leader)
//!   ──execute_streaming──► rows back through a bounded channel ──► DataRow
//! ```
//!
//! - `backend`: the session a connection drives ([`SessionBackend`]) and where sessions come
//!   from ([`SessionSource`]): an embedded engine here, a node's routed sessions in `server`.
//! - `handler`: the pgwire handlers: startup, the simple and extended query protocols,
//!   CancelRequest.
//! - `extended`: Parse/Bind/Describe/Execute/Close/Sync on the session thread, over the
//!   session's prepared statements and portals (suspended portals keep their executor).
//! - `formats`: text and binary formats of parameters and results.
//! - `worker`: one thread per connection owning its synchronous session.
//! - `types`: type OIDs, PostgreSQL's text output of our values, command tags.
//! - `error`: this crate's error type and SQL errors as ErrorResponse fields.
//!
//! What a connection gets: trust authentication for user `root` from the loopback
//! interface only, database `chronos` (any other: 3D000), ParameterStatus for
//! server_version, client_encoding UTF8, DateStyle `ISO, MDY`, TimeZone UTC,
//! integer_datetimes and standard_conforming_strings on; the simple query protocol with
//! every statement streamed, our SQLSTATE, message and detail in ErrorResponse, the
//! transaction state in ReadyForQuery; CancelRequest (57014 from the engine). At most
//! [`PgConfig::max_connections`] sessions (53300 past it).
//!
//! A statement's notices (NoticeResponse) and reported parameter changes (ParameterStatus
//! for `application_name`, which the startup packet may also set) go out before its
//! CommandComplete. The catalogs psql and drivers read are the SQL engine's (`pg_catalog`,
//! `information_schema`).
//!
//! The extended query protocol: named and unnamed statements and portals, parameter types
//! inferred or declared (bool, int2/4/8, float4/8, text, varchar, bpchar, name), text and
//! binary formats both ways, Execute with a row limit (PortalSuspended; the next Execute
//! continues), errors skipping to Sync. Not implemented: the implicit transaction spanning
//! an extended batch up to Sync (each statement outside BEGIN commits by itself).
//!
//! Not implemented yet: COPY, SCRAM and TLS.
//! Message size is bounded by pgwire's codec (1 GiB for a Query, 10 kB for most other
//! frontend messages); the engine then refuses statements over 16 MiB.

mod backend;
mod error;
mod extended;
mod formats;
mod handler;
mod types;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;

use chronos_sql::Engine;
use tokio::net::TcpListener;

pub use backend::{Canceller, SessionBackend, SessionSource, TxState};
pub use error::{Error, Result};

/// The only user, and the only database.
pub const USER: &str = "root";
pub const DATABASE: &str = "chronos";

/// What `server_version` reports: the PostgreSQL version whose behaviour we follow.
pub const SERVER_VERSION: &str = concat!("15.0 (Chronos ", env!("CARGO_PKG_VERSION"), ")");

/// The default listen address (CockroachDB's port, which such users expect).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:26257";

/// Limits of a server.
#[derive(Debug, Clone)]
pub struct PgConfig {
    /// Sessions open at once; one more is refused with 53300.
    pub max_connections: usize,
}

impl Default for PgConfig {
    fn default() -> Self {
        // PostgreSQL's default max_connections.
        PgConfig {
            max_connections: 100,
        }
    }
}

/// A bound PostgreSQL listener, ready to serve.
#[derive(Debug)]
pub struct PgServer {
    listener: TcpListener,
    handlers: handler::Handlers,
}

impl PgServer {
    /// Binds `addr` (port 0 picks a free port; see [`PgServer::local_addr`]) for an embedded
    /// engine: each connection gets a local session.
    pub async fn bind(addr: &str, engine: Engine, config: PgConfig) -> Result<PgServer> {
        PgServer::bind_sessions(addr, Arc::new(engine), config).await
    }

    /// Binds `addr` for connections whose sessions come from `sessions` (a cluster node's
    /// routed sessions).
    pub async fn bind_sessions(
        addr: &str,
        sessions: Arc<dyn SessionSource>,
        config: PgConfig,
    ) -> Result<PgServer> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_owned(),
                source,
            })?;
        Ok(PgServer {
            listener,
            handlers: handler::Handlers {
                shared: Arc::new(handler::Shared::new(sessions, config)),
            },
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener
            .local_addr()
            .map_err(|source| Error::Accept { source })
    }

    /// Accepts connections until the task is dropped. Each connection runs in its own task;
    /// whatever goes wrong in one (a malformed message, a client that vanishes) ends only
    /// that connection.
    pub async fn run(self) -> Result<()> {
        let handlers = Arc::new(self.handlers);
        loop {
            let (socket, peer) = match self.listener.accept().await {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: the listener itself is fine, so
                // keep serving the connections that can be.
                Err(e) => {
                    tracing::warn!("accepting a PostgreSQL connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            let handlers = handlers.clone();
            tokio::spawn(async move {
                if let Err(e) = pgwire::tokio::process_socket(socket, None, handlers).await {
                    tracing::debug!("PostgreSQL connection from {peer}: {e}");
                }
            });
        }
    }
}
