//! Outbound Raft traffic: one tokio task per peer with a bounded queue and a lazily connected,
//! reconnecting tonic channel. Sends are best-effort (Raft tolerates loss): a full queue drops
//! the message, a failed RPC drops the batch and whatever queued behind it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chronos_proto::raft::MessageBatch;
use chronos_proto::raft::raft_client::RaftClient;
use chronos_raft::Message;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::convert::message_to_pb;

/// Messages queued per peer before new ones are dropped.
const PEER_QUEUE_MESSAGES: usize = 4096;
/// Most messages per `Send` RPC.
const MAX_BATCH_MESSAGES: usize = 512;
/// Most bytes (approximately) per `Send` RPC.
const MAX_BATCH_BYTES: usize = 8 << 20;

#[derive(Debug)]
struct Peer {
    address: String,
    tx: mpsc::Sender<Message>,
}

/// Sends Raft messages to peers by node id.
#[derive(Debug, Clone)]
pub struct Transport {
    rt: tokio::runtime::Handle,
    peers: Arc<Mutex<HashMap<u64, Peer>>>,
    addresses: Arc<Mutex<HashMap<u64, String>>>,
    /// Fault injection: nodes whose traffic is dropped (see `Admin.InjectPartition`).
    blocked: Arc<Mutex<std::collections::BTreeSet<u64>>>,
    /// This node's advertised address, sent with every batch.
    self_address: String,
}

impl Transport {
    /// A transport spawning its tasks on `rt`, with the initial address book.
    pub fn new(
        rt: tokio::runtime::Handle,
        addresses: HashMap<u64, String>,
        self_address: String,
    ) -> Self {
        Transport {
            self_address,
            rt,
            peers: Arc::new(Mutex::new(HashMap::new())),
            addresses: Arc::new(Mutex::new(addresses)),
            blocked: Arc::default(),
        }
    }

    /// Fault injection: drop all traffic to and from `blocked` (empty heals).
    pub fn set_blocked(&self, blocked: std::collections::BTreeSet<u64>) {
        *self.blocked.lock() = blocked;
    }

    /// Whether traffic with `id` is being dropped.
    pub fn is_blocked(&self, id: u64) -> bool {
        self.blocked.lock().contains(&id)
    }

    /// Records a node's address if none is known (from an inbound batch).
    pub fn learn_address(&self, id: u64, address: &str) {
        if !address.is_empty() {
            self.addresses
                .lock()
                .entry(id)
                .or_insert_with(|| address.to_string());
        }
    }

    /// Records (or changes) a node's address.
    pub fn set_address(&self, id: u64, address: String) {
        self.addresses.lock().insert(id, address);
    }

    /// Queues a message for its recipient; drops it if the peer is unknown or its queue full.
    pub fn send(&self, msg: Message) {
        let to = msg.to;
        if self.is_blocked(to) {
            return;
        }
        let Some(address) = self.addresses.lock().get(&to).cloned() else {
            tracing::debug!("no address for node {to}; dropping {msg}");
            return;
        };
        let mut peers = self.peers.lock();
        let stale = peers
            .get(&to)
            .is_some_and(|p| p.address != address || p.tx.is_closed());
        if stale {
            peers.remove(&to);
        }
        let peer = peers.entry(to).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(PEER_QUEUE_MESSAGES);
            self.rt
                .spawn(peer_loop(address.clone(), self.self_address.clone(), rx));
            Peer { address, tx }
        });
        if peer.tx.try_send(msg).is_err() {
            tracing::debug!("queue to node {to} full; dropping a message");
        }
    }
}

async fn peer_loop(address: String, self_address: String, mut rx: mpsc::Receiver<Message>) {
    let endpoint = match tonic::transport::Endpoint::from_shared(format!("http://{address}")) {
        Ok(e) => e
            .connect_timeout(Duration::from_millis(500))
            .timeout(Duration::from_secs(5))
            .tcp_nodelay(true),
        Err(e) => {
            tracing::warn!("bad peer address {address}: {e}");
            return;
        }
    };
    let mut client = RaftClient::new(endpoint.connect_lazy())
        .max_decoding_message_size(chronos_proto::MAX_RAFT_MESSAGE_BYTES)
        .max_encoding_message_size(chronos_proto::MAX_RAFT_MESSAGE_BYTES);
    while let Some(first) = rx.recv().await {
        let mut bytes = first.body.size_bytes();
        let mut messages = vec![message_to_pb(&first)];
        while messages.len() < MAX_BATCH_MESSAGES && bytes < MAX_BATCH_BYTES {
            match rx.try_recv() {
                Ok(m) => {
                    bytes += m.body.size_bytes();
                    messages.push(message_to_pb(&m));
                }
                Err(_) => break,
            }
        }
        let batch = MessageBatch {
            messages,
            from_address: self_address.clone(),
        };
        if let Err(e) = client.send(batch).await {
            tracing::debug!("send to {address} failed: {e}");
            // Drop what queued behind the failure: it is stale by the time the peer is back.
            while rx.try_recv().is_ok() {}
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
