//! A Chronos node: the storage engine (`kv`), consensus (`raft`), the SQL engine (`sql`) and the
//! wire formats (`proto`) joined into one process. It is the only library crate that owns tokio,
//! sockets, the wall clock and the real filesystem.
//!
//! # Data flow of a write
//!
//! ```text
//! client ─gRPC Sql.Execute─► any node ─(follower: forward to the leader)─► SqlService
//!   ─► chronos_sql::Session (blocking thread) ─► plan, execute, buffer writes in a Transaction
//!   ─► COMMIT ─► RaftCommit (CommitPath) ─Event::Commit─► driver thread (node.rs)
//!   ─► commit_ts = HLC now (single thread: log order = timestamp order) ─► RawNode::propose
//!   ─► Ready: append to FileStorage + one fsync for every proposal of the turn (group commit)
//!   ─► Raft.Send to followers (transport.rs) ─► their drivers persist and acknowledge
//!   ─► committed ─► every replica: state_machine::apply_txn ─► MvccStore::apply (deterministic
//!      first-committer-wins verdict, same on every replica) ─► the leader answers the client
//! ```
//!
//! Reads: each transaction first runs `CommitPath::before_snapshot`: the leader confirms it still
//! leads (under its lease by default — `lease_reads`, resting on the raft crate's clock-drift
//! bound — or by a ReadIndex heartbeat round when `lease_reads` is off) and waits until applied
//! reaches the read index, so its snapshot includes every write acknowledged before it began.
//!
//! Group commit: the driver drains its whole queue (up to [`node::MAX_EVENTS_PER_TURN`]
//! events) before taking a `Ready`, so every commit that arrived during the previous fsync shares
//! the next append and fsync; followers likewise persist every append that arrived in one turn
//! with one fsync. The store's own writes are not synced per commit (see the invariants).
//!
//! Results: `Sql.ExecuteStream` (used by `chronos sql --host`) streams a query's rows as the
//! executor produces them (`chronos_sql::Session::execute_streaming`), in `RowBatch` messages of
//! at most 1024 rows / ~64 KiB, through a 4-message channel from the session's blocking thread,
//! so a node holds a bounded number of rows per query beyond what the plan itself buffers
//! (sorts, hash joins, bounded by the session memory limit); a forwarding follower pipes the
//! stream through. The unary `Sql.Execute` still returns every result in one message.
//!
//! PostgreSQL: with `pg_listen` set (`chronos start --pg-listen`, default 127.0.0.1:26257), the
//! node also serves the PostgreSQL protocol (`chronos_pg`); each connection's session is a
//! session of this node's SQL service called in-process, so it is routed as below (`pg.rs`).
//!
//! Routing: SQL sessions live on the node that opened them (the leader when opened), with the
//! owner's id in the session id; a follower forwards `OpenSession`, one-shot `Execute` and admin
//! changes to the leader transparently (one hop), and forwards a session's statements to its
//! owner (`services.rs`). A forwarded request waits only while its target is the leader as far as
//! this node's Raft knows (`forward.rs`): a paused or partitioned leader is given up within about
//! an election timeout. Errors keep their meaning on every hop: SQLSTATE, message and detail
//! travel unchanged; the commit path answers conflict / definitely not committed (both 40001) /
//! outcome unknown (58030) / fatal (`chronos_sql::CommitError`); a statement on a session whose
//! node no longer leads is refused before it runs (08006: open a new session).
//!
//! Membership: `chronos start --join` starts an empty node; `Admin.AddNode` (via any node)
//! replicates its address as a log entry, adds it as a learner, waits until it has caught up
//! (by snapshot if the log was compacted), then promotes it to voter. Every Raft batch carries the
//! sender's address, and a new leader replicates the addresses of the initial members (known
//! from flags), so every node can reach every other after any change of leader.
//!
//! # Running a cluster
//! ```text
//! chronos demo-cluster 3 --dir chronos-cluster        # nodes 1..3 on 127.0.0.1:7001..7003
//! chronos sql --host 127.0.0.1:7002                    # any node; followers forward
//! chronos status --host 127.0.0.1:7001                 # roles, term, commit/applied, lag
//! chronos start --id 4 --listen 127.0.0.1:7004 --data-dir chronos-cluster/node4 --join
//! chronos admin --host 127.0.0.1:7001 add-node --id 4 --address 127.0.0.1:7004
//! chronos admin --host 127.0.0.1:7001 transfer --to 4
//! chronos admin --host 127.0.0.1:7001 remove-node --id 4
//! chronos cluster-bench --host 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003
//! ```
//!
//! # Invariants
//! - A client hears "committed" only after its entry is committed by a majority and applied on
//!   the node that answers.
//! - Commit timestamps increase along the log among applied batches: the leader assigns them on
//!   one thread, and every node's clock is advanced past every transaction entry it appends, so
//!   a new leader starts above its predecessor. A batch that would break the order (a deposed
//!   leader's) is refused on every replica alike, as a serialization failure.
//! - Applying is idempotent on replay: the store's writes are not synced per entry (the Raft
//!   log is the durable record); after a restart the entries since the last snapshot are applied
//!   again and those already in the store are refused by the timestamp order, without effect.
//!   (Buffered writes survive a process crash; a machine crash may lose the store's tail, which
//!   the replay restores.)
//! - A snapshot is taken only after the store's WAL is synced, and a received snapshot is
//!   recorded in the store (a marker key, written last) so that a crash between persisting it
//!   in the Raft storage and loading it completely into the store is repaired at startup.
//! - Snapshots are streamed, never whole in memory: a Raft snapshot is metadata only (index,
//!   term, membership, an "out of band" descriptor); the follower fetches the data over
//!   `Raft.FetchSnapshot` (a dump of a consistent `Db::snapshot()` in 256 KiB chunks, at most
//!   3 buffered by the sender), writes it to a file as it arrives, makes it durable, and only
//!   then lets Raft install the snapshot, which loads the file into the store in bounded
//!   batches (`snapshot.rs` has the protocol and the crash cases).
//! - A storage or apply error that is not deterministic stops the process (exit code 70).
//! - Every queue is bounded: the per-peer send queues (messages dropped when full), the driver's
//!   turn, sessions per node; the driver's own input channel is not (callers block on replies).
//!
//! # Modules
//! `config` (flags and config file), `node` (the driver thread), `state_machine` (entry
//! format, apply, snapshot dump/restore, address book), `snapshot` (out-of-band snapshot
//! transfer), `transport` (outbound Raft RPCs, the
//! partition fault hook), `services` (gRPC servers), `commit` (the SQL commit path), `convert`
//! (wire ↔ raft/sql), `client` (used by the tools and tests), `pg` (PostgreSQL connections:
//! sessions of the node's own SQL service, routed like gRPC clients').
//!
//! # Not implemented (or weaker than the issue asks)
//! - Snapshot transfer is a logical dump of the MVCC keyspace (streamed, bounded memory), not a
//!   checkpoint of SSTables: the sender scans its whole keyspace per transfer and the receiver
//!   rewrites every key. A received snapshot is loaded into the live store in place (merge,
//!   marker last, redone at startup after a crash) rather than built in a fresh directory and
//!   swapped by rename; the store served after any crash is the old or the complete new one,
//!   but during a load concurrent readers on that node can see a partly loaded keyspace (a
//!   follower being caught up serves no reads: reads go to the leader). A transfer that fails
//!   restarts from the beginning (no resume). The load runs on the driver thread, which
//!   handles no Raft traffic meanwhile (fine for a follower being caught up; long for huge
//!   stores).
//! - The unary `Sql.Execute` (used by `Client::execute`, the workload tools and tests) still
//!   sends results whole, bounded by the message size limit; only `ExecuteStream` streams. The
//!   `chronos sql --host` shell reads the stream batch by batch but assembles a statement's rows
//!   before printing them (its table format needs every row for column widths). A query that
//!   fails after some batches were sent ends with its error after those rows. SHOW TABLES and
//!   DESCRIBE results still travel in their final message (catalog-sized). Sessions are lost if their node restarts or
//!   loses leadership in a way that kills it; sessions never time out (only a count bound).
//! - A commit pending when its leader is deposed answers "outcome unknown" (SQLSTATE 58030) at
//!   once; one whose leader stops answering is given up by a forwarding follower within about an
//!   election timeout, also 58030; there is no deduplication of retried transactions. A proposal
//!   refused because this node does not lead is definitely not committed (40001); it is not
//!   re-proposed to the new leader (the session, and its snapshot, live here).
//! - Sessions do not move: once their node stops leading they are lost (08006), even an idle
//!   one; the client opens a new one, which goes to the new leader.
//! - Open finding of the soak (`tests/tests/check_cluster.rs`): with the leader isolated by a
//!   partition, clients that lose their session often cannot open a new one until the
//!   partition heals (a gap of about the 3 s fault window in `chronos check run --nemesis
//!   partition`); pauses and kills do not show it. Not yet diagnosed.
//! - The partition hook (`Admin.InjectPartition`) is unauthenticated, like every API here: no
//!   TLS, no authentication.
//! - Removing a node does not stop its process; a removed node's data directory is not wiped.
//! - The driver's event channel is unbounded; overload shows as latency, not back-pressure.

pub mod client;
mod commit;
pub mod config;
pub mod convert;
pub mod error;
pub mod forward;
pub mod node;
pub mod pg;
pub mod services;
pub mod snapshot;
pub mod state_machine;
pub mod transport;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use chronos_kv::mvcc::{HybridClock, MvccOptions, MvccStore, WallClock};
use chronos_kv::{Db, Options};
use chronos_proto::admin::admin_server::AdminServer;
use chronos_proto::client::sql_server::SqlServer;
use chronos_proto::raft::raft_server::RaftServer;
use chronos_raft::Role;
use parking_lot::Mutex;

pub use client::{Client, ResultStream, StreamItem};
pub use config::NodeConfig;
pub use error::{Error, Result};

/// How long a stopping node waits for open connections to close after handing over leadership.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// The wall clock of a real node (the only place the cluster reads wall time for timestamps).
#[derive(Debug)]
struct SystemClock;

impl WallClock for SystemClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// Runs a node until `shutdown` resolves, then hands leadership to another node (if it leads)
/// and stops.
pub async fn serve(cfg: NodeConfig, shutdown: impl std::future::Future<Output = ()>) -> Result<()> {
    cfg.validate()?;
    let io = |what: &str| {
        let what = what.to_string();
        move |source| Error::Io { what, source }
    };
    std::fs::create_dir_all(&cfg.data_dir).map_err(io("creating the data directory"))?;
    let db = Db::open(cfg.data_dir.join("kv"), Options::default())?;
    let clock = HybridClock::new(Arc::new(SystemClock));
    let store = MvccStore::open(
        db,
        clock.clone(),
        MvccOptions {
            // The Raft log is the durable record; the store is rebuilt from it after a crash.
            sync_commits: false,
            ..MvccOptions::default()
        },
    )?;
    let mut addresses: HashMap<u64, String> = cfg.peers.clone().into_iter().collect();
    // Addresses replicated by membership changes; the flags win for the nodes they name.
    for (id, addr) in state_machine::load_addresses(store.engine())? {
        addresses.entry(id).or_insert(addr);
    }
    addresses.insert(cfg.id, cfg.advertise.clone());
    let shared = Arc::new(Mutex::new(node::Shared {
        addresses: addresses.clone().into_iter().collect(),
        ..node::Shared::default()
    }));
    let transport = transport::Transport::new(
        tokio::runtime::Handle::current(),
        addresses,
        cfg.advertise.clone(),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let (node, thread) = node::start(
        cfg.clone(),
        store.clone(),
        clock,
        transport.clone(),
        shared,
        tx,
        rx,
    )?;
    let mut engine = chronos_sql::Engine::with_commit_path(
        store,
        Arc::new(commit::RaftCommit::new(node.clone())),
    );
    engine.set_default_statement_timeout(cfg.statement_timeout);
    let forwarder = services::Forwarder::default();
    let raft = RaftServer::new(services::RaftService {
        node: node.clone(),
        transport: transport.clone(),
        data_dir: cfg.data_dir.clone(),
        downloads: Arc::default(),
    })
    .max_decoding_message_size(chronos_proto::MAX_RAFT_MESSAGE_BYTES)
    .max_encoding_message_size(chronos_proto::MAX_RAFT_MESSAGE_BYTES);
    let sql_service = Arc::new(services::SqlService {
        node: node.clone(),
        engine,
        sessions: Mutex::new(HashMap::new()),
        next_session: AtomicU64::new(1),
        forwarder: forwarder.clone(),
    });
    // Bound before the gRPC listener so that a taken port fails the start, not later.
    let pg_server = match &cfg.pg_listen {
        Some(addr) => {
            let sessions = Arc::new(pg::RoutedSessions::new(
                sql_service.clone(),
                tokio::runtime::Handle::current(),
            ));
            let server = chronos_pg::PgServer::bind_sessions(
                addr,
                sessions,
                chronos_pg::PgConfig::default(),
            )
            .await
            .map_err(|source| Error::Pg {
                addr: addr.clone(),
                source,
            })?;
            if let Ok(bound) = server.local_addr() {
                tracing::info!("node {} serving PostgreSQL on {bound}", cfg.id);
            }
            Some(tokio::spawn(server.run()))
        }
        None => None,
    };
    let sql = SqlServer::from_arc(sql_service.clone())
        .max_decoding_message_size(chronos_proto::MAX_CLIENT_MESSAGE_BYTES)
        .max_encoding_message_size(chronos_proto::MAX_CLIENT_MESSAGE_BYTES);
    let admin = AdminServer::new(services::AdminService {
        node: node.clone(),
        forwarder,
        transport,
        sql: sql_service,
    });
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(io("binding the listen address"))?;
    tracing::info!("node {} listening on {}", cfg.id, cfg.listen);
    let stop_node = node.clone();
    let stopping = Arc::new(tokio::sync::Notify::new());
    let stopping_tx = stopping.clone();
    let server = tonic::transport::Server::builder()
        .add_service(raft)
        .add_service(sql)
        .add_service(admin)
        .serve_with_incoming_shutdown(tokio_stream_listener(listener), async move {
            shutdown.await;
            hand_over_leadership(&stop_node).await;
            stopping_tx.notify_one();
        });
    // Graceful shutdown waits for open connections (peers, clients) to finish; bound it.
    tokio::select! {
        r = server => r?,
        () = async {
            stopping.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => tracing::info!("node {}: connections still open after the grace period", node.id),
    }
    if let Some(pg_server) = pg_server {
        pg_server.abort();
    }
    let _ = node.send(node::Event::Shutdown);
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    Ok(())
}

/// The accepted connections of the gRPC listener, with Nagle's algorithm off: tonic sets
/// TCP_NODELAY only on connections it accepts itself, and without it a forwarded request's
/// small HTTP/2 frames wait for the peer's delayed ACK (about 40 ms per forwarded statement,
/// measured through a follower: 30 ms average latency instead of 4 ms).
fn tokio_stream_listener(
    listener: tokio::net::TcpListener,
) -> impl tokio_stream::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use tokio_stream::StreamExt;
    tokio_stream::wrappers::TcpListenerStream::new(listener).map(|accepted| {
        let stream = accepted?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
}

/// Clean shutdown: a leader transfers leadership to its most up-to-date voter and waits (up to
/// 3 s) for it to take over.
async fn hand_over_leadership(node: &node::NodeHandle) {
    let Ok(st) = node.status().await else { return };
    if st.role != Role::Leader {
        return;
    }
    let Some(target) = st
        .progress
        .iter()
        .filter(|p| p.voter)
        .max_by_key(|p| p.match_index)
        .map(|p| p.id)
    else {
        return;
    };
    if node
        .call(|reply| node::Event::Transfer { to: target, reply })
        .await
        .is_err()
    {
        return;
    }
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(3) {
        if !node.is_leader() {
            tracing::info!("leadership handed to node {target}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    /// Connections the gRPC listener accepts have Nagle's algorithm off (it cost a forwarded
    /// statement about 40 ms of delayed ACK).
    #[tokio::test]
    async fn accepted_connections_have_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let mut incoming = Box::pin(super::tokio_stream_listener(listener));
        let _client = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let accepted = incoming
            .next()
            .await
            .expect("a connection")
            .expect("accepted");
        assert!(accepted.nodelay().expect("reading TCP_NODELAY"));
    }
}
