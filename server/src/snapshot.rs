//! Out-of-band snapshot transfer: the state machine travels in bounded chunks over a dedicated
//! gRPC stream, never whole in memory.
//!
//! The raft crate keeps a snapshot's data in memory (the leader cuts chunks from it, the
//! follower buffers it whole), so the data of every Raft snapshot a node takes is only the
//! descriptor [`OUT_OF_BAND_SNAPSHOT`]; the Raft snapshot itself is its metadata (index, term,
//! membership). Taking one (log compaction) writes nothing but the store's marker.
//!
//! # Protocol
//! ```text
//! leader: Raft decides follower F needs snapshot S ─► SnapshotChunk{meta S, data=descriptor}
//! F's Raft service (services.rs) intercepts it before its Raft node sees it:
//!   - already applied ≥ S, or the dump of S already on disk: hand it to Raft at once;
//!   - a download of S already running: drop it (the leader resends);
//!   - else spawn a download: Raft.FetchSnapshot{index S} to the sender ─► the sender checks
//!     applied ≥ S, pins a consistent `Db::snapshot()` on a blocking thread and streams the
//!     dump of its MVCC keyspace in CHUNK_BYTES chunks through a channel of CHUNKS_IN_FLIGHT
//!     (back-pressure: the scan waits for the network), then a `done` message with totals;
//!   - F writes each chunk to `snapshots/snapshot-S.partial` as it arrives, checks the totals
//!     at `done`, fsyncs, renames it to `snapshot-S.dump`, fsyncs the directory, and only then
//!     hands the SnapshotChunk to Raft.
//! F's driver: Raft installs S ─► the Ready persists the snapshot's metadata in the Raft storage
//!   ─► state_machine::restore_file streams the dump into the store (merge: keys absent from
//!   the dump deleted, the dump's written, bounded write batches), the marker "loaded S" last
//!   (synced) ─► the dump file is deleted ─► the driver acknowledges the snapshot to Raft
//!   (advance; Raft's AppendResponse went out with the same Ready).
//! ```
//! The state served may be newer than S (the leader's store has applied past S): F then
//! replays entries S+1.. on top, which the timestamp order makes no-ops (the same idempotence
//! that makes replay after a restart safe).
//!
//! # Crash safety
//! - Crash during the download: only a `.partial` file exists; Raft never saw the snapshot, the
//!   store is the old one. Startup deletes the leftovers; the leader resends, F downloads again.
//! - Crash after the rename, before Raft persisted the snapshot: a stray dump, deleted at
//!   startup; the store is the old one.
//! - Crash after Raft persisted the snapshot, during the load into the store: the store holds
//!   a mix on disk, but its marker is below S, and startup (`node::start`, before the node
//!   serves anything) loads the durable dump of S again, completely, before the driver starts.
//!   So the store a node serves from is always the old one or the complete new one. (The store
//!   is loaded in place rather than built in a fresh directory and swapped by rename: the store
//!   is shared by the SQL engine and open sessions, which hold it without an indirection.)
//!
//! # Memory
//! Sender: at most CHUNKS_IN_FLIGHT + 1 chunks buffered (plus tonic's encode buffer of one
//! message). Receiver: one chunk at a time. Load: a 64 KiB read buffer and one write batch of at
//! most 4096 keys / 4 MiB. None of it grows with the store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chronos_proto::raft::raft_client::RaftClient;
use chronos_proto::raft::{FetchSnapshotRequest, SnapshotData};
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tonic::Status;

use crate::error::{Error, Result};
use crate::node::NodeHandle;
use crate::state_machine;

pub use state_machine::OUT_OF_BAND_SNAPSHOT;

/// Bytes of dump per streamed message.
pub const CHUNK_BYTES: usize = 256 << 10;
/// Chunks the sender produces ahead of the network.
const CHUNKS_IN_FLIGHT: usize = 2;
/// A download stalls out if no chunk arrives for this long.
const CHUNK_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// Counters of out-of-band transfers since the process started (shown by `Admin.Status`).
#[derive(Debug, Default)]
pub struct Stats {
    pub chunks_sent: AtomicU64,
    pub chunks_received: AtomicU64,
    pub bytes_received: AtomicU64,
    pub installed: AtomicU64,
}

/// The directory of received dumps.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("snapshots")
}

/// The complete, durable dump of snapshot `index`.
pub fn dump_path(data_dir: &Path, index: u64) -> PathBuf {
    dir(data_dir).join(format!("snapshot-{index:020}.dump"))
}

fn partial_path(data_dir: &Path, index: u64) -> PathBuf {
    dir(data_dir).join(format!("snapshot-{index:020}.partial"))
}

/// Deletes received dumps and partial downloads of snapshots up to `up_to`.
pub fn clean(data_dir: &Path, up_to: u64) -> Result<()> {
    let rd = match std::fs::read_dir(dir(data_dir)) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::Io {
                what: "listing the snapshot directory".into(),
                source: e,
            });
        }
    };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let index = name
            .strip_prefix("snapshot-")
            .and_then(|n| n.split('.').next())
            .and_then(|n| n.parse::<u64>().ok());
        if index.is_none_or(|i| i <= up_to) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    Ok(())
}

/// Sender side of `Raft.FetchSnapshot`: a stream of the store's dump as of at least `index`.
pub fn serve(
    node: &NodeHandle,
    index: u64,
) -> std::result::Result<mpsc::Receiver<std::result::Result<SnapshotData, Status>>, Status> {
    let applied = node.shared.lock().applied;
    if applied < index {
        return Err(Status::failed_precondition(format!(
            "node {} has applied {applied}, below snapshot {index}",
            node.id
        )));
    }
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let store = node.store.clone();
    let stats = node.snapshots.clone();
    let id = node.id;
    tokio::task::spawn_blocking(move || {
        let r = state_machine::dump_chunks(store.engine(), CHUNK_BYTES, |data| {
            stats.chunks_sent.fetch_add(1, Ordering::Relaxed);
            tx.blocking_send(Ok(SnapshotData {
                data,
                ..SnapshotData::default()
            }))
            .is_ok()
        });
        let last = match r {
            Ok((chunks, total_bytes)) => {
                tracing::info!(
                    "node {id}: streamed snapshot {index}: {total_bytes} bytes in {chunks} chunks"
                );
                Ok(SnapshotData {
                    data: Vec::new(),
                    done: true,
                    total_bytes,
                    chunks,
                })
            }
            Err(e) => Err(Status::internal(format!("dumping the store: {e}"))),
        };
        let _ = tx.blocking_send(last);
    });
    Ok(rx)
}

/// Receiver side: downloads in progress, by snapshot index.
#[derive(Debug, Default)]
pub struct Downloads {
    running: Mutex<BTreeSet<u64>>,
}

impl Downloads {
    /// Claims the download of `index`; false if one is running.
    pub fn claim(&self, index: u64) -> bool {
        self.running.lock().insert(index)
    }

    pub fn release(&self, index: u64) {
        self.running.lock().remove(&index);
    }
}

fn io(what: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        what: what.to_string(),
        source,
    }
}

/// Downloads snapshot `index` from `address` into its durable dump file.
pub async fn fetch(address: &str, index: u64, data_dir: &Path, stats: &Arc<Stats>) -> Result<()> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| Error::Malformed(format!("bad address {address}: {e}")))?
        .connect_timeout(Duration::from_secs(1))
        .tcp_nodelay(true);
    let channel = endpoint.connect().await?;
    let mut client = RaftClient::new(channel)
        .max_decoding_message_size(chronos_proto::MAX_RAFT_MESSAGE_BYTES)
        .max_encoding_message_size(chronos_proto::MAX_RAFT_MESSAGE_BYTES);
    let mut stream = client
        .fetch_snapshot(FetchSnapshotRequest { index })
        .await
        .map_err(|s| Error::Malformed(format!("fetching snapshot {index}: {s}")))?
        .into_inner();
    tokio::fs::create_dir_all(dir(data_dir))
        .await
        .map_err(io("creating the snapshot directory"))?;
    let partial = partial_path(data_dir, index);
    let mut file = tokio::fs::File::create(&partial)
        .await
        .map_err(io("creating a snapshot file"))?;
    let (mut chunks, mut bytes) = (0u64, 0u64);
    loop {
        let msg = tokio::time::timeout(CHUNK_IDLE_TIMEOUT, stream.message())
            .await
            .map_err(|_| Error::Timeout("snapshot chunk"))?
            .map_err(|s| Error::Malformed(format!("snapshot stream: {s}")))?
            .ok_or_else(|| Error::Malformed("snapshot stream ended early".into()))?;
        if msg.done {
            if msg.chunks != chunks || msg.total_bytes != bytes {
                return Err(Error::Malformed(format!(
                    "snapshot stream: got {chunks} chunks / {bytes} bytes, sender says {} / {}",
                    msg.chunks, msg.total_bytes
                )));
            }
            break;
        }
        file.write_all(&msg.data)
            .await
            .map_err(io("writing a snapshot file"))?;
        chunks += 1;
        bytes += msg.data.len() as u64;
        stats.chunks_received.fetch_add(1, Ordering::Relaxed);
        stats
            .bytes_received
            .fetch_add(msg.data.len() as u64, Ordering::Relaxed);
    }
    file.sync_all()
        .await
        .map_err(io("syncing a snapshot file"))?;
    drop(file);
    tokio::fs::rename(&partial, dump_path(data_dir, index))
        .await
        .map_err(io("renaming a snapshot file"))?;
    tokio::fs::File::open(dir(data_dir))
        .await
        .map_err(io("opening the snapshot directory"))?
        .sync_all()
        .await
        .map_err(io("syncing the snapshot directory"))?;
    tracing::info!("downloaded snapshot {index} from {address}: {bytes} bytes in {chunks} chunks");
    Ok(())
}
