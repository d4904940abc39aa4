//! The node driver: one thread owns the Raft `RawNode`, its `FileStorage` and the apply loop.
//!
//! Everything that touches Raft goes through the driver's queue as an [`Event`]: messages from
//! peers, commits and reads from SQL sessions, status queries and admin requests. One loop turn
//! drains the queue (up to [`MAX_EVENTS_PER_TURN`]), ticks if a tick is due, then processes
//! every `Ready`: persist (one fsync for all proposals taken in this turn — group commit), send,
//! apply committed entries in order through [`crate::state_machine`], answer waiting clients,
//! `advance`. It runs on its own OS thread, not a tokio task, because persisting and applying
//! block on fsync; the network side is async and talks to it through channels.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use chronos_kv::mvcc::{HybridClock, KvBatch, MvccStore, Timestamp, Write};
use chronos_raft::storage::{FileStorage, LogStorage, persist_ready};
use chronos_raft::{ConfChange, EntryPayload, Message, RawNode, Role};
use chronos_sql::CommitError;
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::config::NodeConfig;
use crate::error::{Error, Result};
use crate::state_machine::{self, Applied, Command};
use crate::transport::Transport;

/// Bound on queued events handled in one loop turn (the rest wait for the next turn).
pub const MAX_EVENTS_PER_TURN: usize = 8192;
/// Raft log segment size.
const SEGMENT_MAX_BYTES: u64 = 64 << 20;

/// A reply channel to a waiting caller.
pub type Reply<T> = oneshot::Sender<Result<T>>;
/// The reply channel of a commit.
pub type CommitReply = oneshot::Sender<std::result::Result<Timestamp, CommitError>>;

/// Inputs to the driver.
#[derive(Debug)]
pub enum Event {
    /// A message from a peer.
    Raft(Message),
    /// Commit a transaction's writes read at `read_ts`; answered once applied here. The answer
    /// says which of committed / conflict / definitely not committed / unknown it is.
    Commit {
        read_ts: Timestamp,
        writes: Vec<Write>,
        reply: CommitReply,
    },
    /// Confirm leadership (ReadIndex) and wait until applied reaches the read index.
    ReadIndex { reply: Reply<()> },
    /// Replicate a node's address; answered once applied here.
    SetAddress {
        node: u64,
        address: String,
        reply: Reply<()>,
    },
    /// Propose a membership change (answered when proposed, not when applied).
    ConfChange {
        change: ConfChange,
        reply: Reply<()>,
    },
    /// Transfer leadership.
    Transfer { to: u64, reply: Reply<()> },
    /// Report the state.
    Status { reply: oneshot::Sender<Status> },
    /// Stop the loop.
    Shutdown,
}

/// Replication progress of one peer, as the leader sees it.
#[derive(Debug, Clone)]
pub struct PeerProgress {
    pub id: u64,
    pub voter: bool,
    pub match_index: u64,
    pub next_index: u64,
    pub state: String,
}

/// A snapshot of the node's Raft state.
#[derive(Debug, Clone)]
pub struct Status {
    pub id: u64,
    pub role: Role,
    pub leader: Option<u64>,
    pub term: u64,
    pub commit: u64,
    pub applied: u64,
    pub last_index: u64,
    pub snapshot_index: u64,
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    /// Only on the leader.
    pub progress: Vec<PeerProgress>,
}

/// State the services read without a round trip through the driver.
#[derive(Debug, Default)]
pub struct Shared {
    pub leader: Option<u64>,
    pub role: Option<Role>,
    pub term: u64,
    /// The last applied Raft index (snapshot transfers serve only states at or after theirs).
    pub applied: u64,
    /// Every known node's address, this one included.
    pub addresses: BTreeMap<u64, String>,
}

/// Handle to a running driver.
#[derive(Debug, Clone)]
pub struct NodeHandle {
    pub id: u64,
    pub tx: Sender<Event>,
    pub shared: Arc<Mutex<Shared>>,
    pub store: Arc<MvccStore>,
    pub request_timeout: Duration,
    /// The longest election timeout (`2 * election_timeout_ticks` ticks): a follower that has
    /// not heard from its leader for this long has started an election.
    pub election_timeout: Duration,
    /// Out-of-band snapshot transfer counters.
    pub snapshots: Arc<crate::snapshot::Stats>,
}

impl NodeHandle {
    /// Queues an event; fails if the driver stopped.
    pub fn send(&self, ev: Event) -> Result<()> {
        self.tx.send(ev).map_err(|_| Error::Stopped)
    }

    /// The leader as far as this node knows, and its address.
    pub fn leader(&self) -> (Option<u64>, Option<String>) {
        let s = self.shared.lock();
        let addr = s.leader.and_then(|l| s.addresses.get(&l).cloned());
        (s.leader, addr)
    }

    pub fn is_leader(&self) -> bool {
        self.shared.lock().role == Some(Role::Leader)
    }

    /// Asks the driver for its status.
    pub async fn status(&self) -> Result<Status> {
        let (tx, rx) = oneshot::channel();
        self.send(Event::Status { reply: tx })?;
        rx.await.map_err(|_| Error::Stopped)
    }

    /// Sends an event built around a reply channel and waits (async) for the answer.
    pub async fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Event) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// Proposes a commit and waits (blocking: SQL sessions run on blocking threads) for its
    /// outcome. A driver that stopped before taking the event definitely did not propose it; one
    /// that stopped with the proposal pending leaves its outcome unknown.
    pub fn commit_blocking(
        &self,
        read_ts: Timestamp,
        writes: Vec<Write>,
    ) -> std::result::Result<Timestamp, CommitError> {
        let (reply, rx) = oneshot::channel();
        self.send(Event::Commit {
            read_ts,
            writes,
            reply,
        })
        .map_err(|e| CommitError::NotCommitted {
            reason: format!("node {}: {e}", self.id),
        })?;
        rx.blocking_recv().map_err(|_| CommitError::Unknown {
            reason: format!("node {} stopped while the commit was pending", self.id),
        })?
    }

    /// Same as [`NodeHandle::call`], blocking the calling thread (for SQL sessions running on
    /// blocking threads).
    pub fn call_blocking<T>(&self, make: impl FnOnce(Reply<T>) -> Event) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.blocking_recv().map_err(|_| Error::Stopped)?
    }
}

struct Waiting<R> {
    reply: R,
    deadline: Instant,
}

/// Removes every waiter whose deadline passed and hands it to `answer`.
fn expire_map<R>(map: &mut HashMap<u64, Waiting<R>>, now: Instant, mut answer: impl FnMut(R)) {
    let expired: Vec<u64> = map
        .iter()
        .filter(|(_, w)| w.deadline <= now)
        .map(|(k, _)| *k)
        .collect();
    for k in expired {
        if let Some(w) = map.remove(&k) {
            answer(w.reply);
        }
    }
}

/// Answers a timed-out waiter.
fn timed_out<T>(what: &'static str) -> impl FnMut(Reply<T>) {
    move |reply| {
        let _ = reply.send(Err(Error::Timeout(what)));
    }
}

/// The driver's state, owned by its thread.
struct Driver {
    cfg: NodeConfig,
    raw: RawNode,
    storage: FileStorage,
    store: Arc<MvccStore>,
    clock: HybridClock,
    transport: Transport,
    shared: Arc<Mutex<Shared>>,
    snapshots: Arc<crate::snapshot::Stats>,
    next_request: u64,
    commits: HashMap<u64, Waiting<CommitReply>>,
    addresses_waiting: HashMap<u64, Waiting<Reply<()>>>,
    reads_unconfirmed: HashMap<u64, Waiting<Reply<()>>>,
    reads_confirmed: Vec<(u64, Waiting<Reply<()>>)>,
    timeout: Duration,
    /// Addresses recorded in the replicated state (applied `SetAddress` entries).
    replicated_addresses: BTreeMap<u64, String>,
    /// Set on becoming leader: replicate every address this node knows that the log lacks
    /// (initial members are known from flags only), so that any later leader can reach them.
    announce_addresses: bool,
}

/// Opens storage and Raft and starts the driver thread.
pub fn start(
    cfg: NodeConfig,
    store: Arc<MvccStore>,
    clock: HybridClock,
    transport: Transport,
    shared: Arc<Mutex<Shared>>,
    tx: Sender<Event>,
    rx: Receiver<Event>,
) -> Result<(NodeHandle, std::thread::JoinHandle<()>)> {
    let raft_dir = cfg.data_dir.join("raft");
    let storage = FileStorage::open(&raft_dir, SEGMENT_MAX_BYTES)?;
    let init = storage.initial_state()?;
    if let Some(snap) = &init.snapshot
        && state_machine::loaded_snapshot_index(store.engine())? < snap.meta.index
    {
        // Crashed between persisting a received snapshot and loading it (completely) into the
        // store: load it again from its durable dump (see `snapshot.rs`).
        if snap.data == state_machine::OUT_OF_BAND_SNAPSHOT {
            let path = crate::snapshot::dump_path(&cfg.data_dir, snap.meta.index);
            state_machine::restore_file(&store, &path, snap.meta.index)?;
        } else {
            state_machine::restore(&store, &snap.data, snap.meta.index)?;
        }
    }
    // Partial downloads, and dumps loaded or never handed to Raft, are not needed.
    crate::snapshot::clean(&cfg.data_dir, u64::MAX)?;
    let mut rc = chronos_raft::Config::new(cfg.id);
    rc.election_timeout_ticks = cfg.election_timeout_ticks;
    rc.heartbeat_interval_ticks = cfg.heartbeat_interval_ticks;
    rc.seed ^= std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    rc.max_msg_bytes = 1 << 20;
    rc.max_msg_entries = 1024;
    rc.max_inflight_bytes = 16 << 20;
    rc.max_committed_per_ready = 4096;
    rc.max_uncommitted_entries = 50_000;
    rc.snapshot_chunk_bytes = 1 << 20;
    // Reads under the leader's lease skip a heartbeat round (the raft crate's `lease` module
    // states the clock-drift assumption); otherwise a ReadIndex round confirms leadership.
    rc.lease_reads = cfg.lease_reads;
    if !cfg.join {
        rc.bootstrap_voters = std::iter::once(cfg.id)
            .chain(cfg.peers.keys().copied())
            .collect();
    }
    let raw = RawNode::new(rc, init)?;
    shared.lock().applied = raw.raft().log().applied();
    let replicated_addresses = state_machine::load_addresses(store.engine())?
        .into_iter()
        .collect();
    let timeout = Duration::from_millis(cfg.request_timeout_ms);
    let handle = NodeHandle {
        id: cfg.id,
        tx,
        shared: shared.clone(),
        store: store.clone(),
        request_timeout: timeout,
        election_timeout: Duration::from_millis(
            2 * cfg.election_timeout_ticks.max(1) * cfg.tick_ms.max(1),
        ),
        snapshots: Arc::default(),
    };
    let mut driver = Driver {
        cfg,
        raw,
        storage,
        store,
        clock,
        transport,
        shared,
        snapshots: handle.snapshots.clone(),
        next_request: 1,
        commits: HashMap::new(),
        addresses_waiting: HashMap::new(),
        reads_unconfirmed: HashMap::new(),
        reads_confirmed: Vec::new(),
        timeout,
        replicated_addresses,
        announce_addresses: false,
    };
    let thread = std::thread::Builder::new()
        .name(format!("raft-driver-{}", driver.cfg.id))
        .spawn(move || {
            if let Err(e) = driver.run(rx) {
                // A storage or apply failure must stop the node, or replicas could diverge.
                tracing::error!("node {} stopped: {e}", driver.cfg.id);
                eprintln!("fatal: node {} stopped: {e}", driver.cfg.id);
                std::process::exit(70);
            }
        })
        .map_err(|e| Error::Io {
            what: "starting the driver thread".into(),
            source: e,
        })?;
    Ok((handle, thread))
}

impl Driver {
    fn run(&mut self, rx: Receiver<Event>) -> Result<()> {
        let tick = Duration::from_millis(self.cfg.tick_ms);
        let mut next_tick = Instant::now() + tick;
        self.process_ready()?;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Event::Shutdown) => return Ok(()),
                Ok(ev) => {
                    self.handle(ev);
                    for _ in 0..MAX_EVENTS_PER_TURN {
                        match rx.try_recv() {
                            Ok(Event::Shutdown) => return Ok(()),
                            Ok(ev) => self.handle(ev),
                            Err(_) => break,
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            let now = Instant::now();
            if now >= next_tick {
                self.raw.tick();
                next_tick = now + tick;
                self.expire(now);
            }
            self.process_ready()?;
            if std::mem::take(&mut self.announce_addresses) {
                self.propose_missing_addresses();
                self.process_ready()?;
            }
        }
    }

    fn propose_missing_addresses(&mut self) {
        let known = self.shared.lock().addresses.clone();
        for (node, address) in known {
            if self.replicated_addresses.get(&node) != Some(&address) {
                let cmd = Command::SetAddress { node, address };
                if let Err(e) = self.raw.propose(cmd.encode()) {
                    tracing::debug!("address announcement: {e}");
                }
            }
        }
    }

    fn handle(&mut self, ev: Event) {
        match ev {
            Event::Raft(m) => {
                if let Err(e) = self.raw.step(m) {
                    tracing::debug!("step: {e}");
                }
            }
            Event::Commit {
                read_ts,
                writes,
                reply,
            } => {
                // The commit timestamp comes from this (single) thread, so log order is
                // timestamp order for one leader's proposals; the clock has seen every entry in
                // the log (see `process_ready`), so it is also past a previous leader's.
                let commit_ts = self.clock.now().max(read_ts.next());
                let request = self.next_request;
                self.next_request += 1;
                let cmd = Command::Txn {
                    origin: self.cfg.id,
                    request,
                    batch: KvBatch {
                        read_ts,
                        commit_ts,
                        writes,
                    },
                };
                match self.raw.propose(cmd.encode()) {
                    Ok(()) => {
                        self.commits.insert(
                            request,
                            Waiting {
                                reply,
                                deadline: Instant::now() + self.timeout,
                            },
                        );
                    }
                    Err(e) => {
                        // Refused by the Raft core: the entry never reached the log.
                        let _ = reply.send(Err(CommitError::NotCommitted {
                            reason: format!("node {}: {e}", self.cfg.id),
                        }));
                    }
                }
            }
            Event::SetAddress {
                node,
                address,
                reply,
            } => {
                // The waiter is keyed by node id.
                let cmd = Command::SetAddress { node, address };
                match self.raw.propose(cmd.encode()) {
                    Ok(()) => {
                        self.addresses_waiting.insert(
                            node,
                            Waiting {
                                reply,
                                deadline: Instant::now() + self.timeout,
                            },
                        );
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Event::ReadIndex { reply } => {
                let ctx = self.next_request;
                self.next_request += 1;
                match self.raw.read_index(ctx) {
                    Ok(()) => {
                        self.reads_unconfirmed.insert(
                            ctx,
                            Waiting {
                                reply,
                                deadline: Instant::now() + self.timeout,
                            },
                        );
                    }
                    Err(e) => {
                        let _ = reply.send(Err(e.into()));
                    }
                }
            }
            Event::ConfChange { change, reply } => {
                let _ = reply.send(self.raw.propose_conf_change(change).map_err(Into::into));
            }
            Event::Transfer { to, reply } => {
                let _ = reply.send(self.raw.transfer_leader(to).map_err(Into::into));
            }
            Event::Status { reply } => {
                let _ = reply.send(self.status());
            }
            Event::Shutdown => {}
        }
    }

    fn status(&self) -> Status {
        let r = self.raw.raft();
        let log = r.log();
        let m = r.membership();
        let progress = r
            .progress()
            .map(|p| {
                p.iter()
                    .filter(|(id, _)| **id != self.cfg.id)
                    .map(|(id, pr)| PeerProgress {
                        id: *id,
                        voter: m.is_voter(*id),
                        match_index: pr.match_index,
                        next_index: pr.next_index,
                        state: format!("{:?}", pr.state),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Status {
            id: self.cfg.id,
            role: r.role(),
            leader: r.leader(),
            term: r.term(),
            commit: log.commit(),
            applied: log.applied(),
            last_index: log.last_index(),
            snapshot_index: log.snapshot_index(),
            voters: m.voters.iter().copied().collect(),
            learners: m.learners.iter().copied().collect(),
            progress,
        }
    }

    fn expire(&mut self, now: Instant) {
        let (id, timeout) = (self.cfg.id, self.timeout);
        expire_map(&mut self.commits, now, |reply| {
            let _ = reply.send(Err(CommitError::Unknown {
                reason: format!(
                    "node {id}: the commit was proposed but not applied within {timeout:?} \
                     (leadership may have changed)"
                ),
            }));
        });
        expire_map(&mut self.reads_unconfirmed, now, timed_out("read index"));
        expire_map(
            &mut self.addresses_waiting,
            now,
            timed_out("address change"),
        );
        let mut i = 0;
        while i < self.reads_confirmed.len() {
            if self.reads_confirmed[i].1.deadline <= now {
                let (_, w) = self.reads_confirmed.swap_remove(i);
                let _ = w.reply.send(Err(Error::Timeout("apply to the read index")));
            } else {
                i += 1;
            }
        }
    }

    fn process_ready(&mut self) -> Result<()> {
        while self.raw.has_ready() {
            let mut ready = self.raw.ready();
            if let Some(ss) = ready.soft_state {
                let mut s = self.shared.lock();
                s.leader = ss.leader;
                s.role = Some(ss.role);
                if ss.role == Role::Leader {
                    self.announce_addresses = true;
                }
                if ss.role != Role::Leader {
                    // Pending reads will never be confirmed by this node; let them retry.
                    for (_, w) in self.reads_unconfirmed.drain() {
                        let _ = w.reply.send(Err(Error::NotLeader { leader: ss.leader }));
                    }
                    // Pending commits may or may not be committed by the next leader: say so
                    // now rather than at their deadline, so that clients move on at once.
                    for (_, w) in self.commits.drain() {
                        let _ = w.reply.send(Err(CommitError::Unknown {
                            reason: format!(
                                "node {} lost leadership while the commit was pending",
                                self.cfg.id
                            ),
                        }));
                    }
                }
            }
            // Keep the clock past every transaction in the log, so that as a new leader it
            // assigns commit timestamps above its predecessor's.
            for e in &ready.entries {
                if let EntryPayload::Normal(d) = &e.payload
                    && let Ok(Command::Txn { batch, .. }) = Command::decode(d)
                {
                    self.clock.update(batch.commit_ts);
                }
            }
            persist_ready(&mut self.storage, &ready)?;
            if let Some(hs) = ready.hard_state {
                self.shared.lock().term = hs.term;
            }
            for m in ready.messages.drain(..) {
                self.transport.send(m);
            }
            if let Some(snap) = &ready.snapshot {
                if snap.data == state_machine::OUT_OF_BAND_SNAPSHOT {
                    // Downloaded and made durable before Raft saw the snapshot (snapshot.rs).
                    let path = crate::snapshot::dump_path(&self.cfg.data_dir, snap.meta.index);
                    state_machine::restore_file(&self.store, &path, snap.meta.index)?;
                    crate::snapshot::clean(&self.cfg.data_dir, snap.meta.index)?;
                    self.snapshots
                        .installed
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(
                        "node {}: installed snapshot {}",
                        self.cfg.id,
                        snap.meta.index
                    );
                } else {
                    state_machine::restore(&self.store, &snap.data, snap.meta.index)?;
                }
                // The snapshot carries the replicated address book.
                for (node, address) in state_machine::load_addresses(self.store.engine())? {
                    self.shared.lock().addresses.insert(node, address.clone());
                    self.transport.set_address(node, address.clone());
                    self.replicated_addresses.insert(node, address);
                }
            }
            for e in &ready.committed_entries {
                self.apply(&e.payload)?;
            }
            let applied = ready
                .committed_entries
                .last()
                .map(|e| e.index)
                .or(ready.snapshot.as_ref().map(|s| s.meta.index));
            for rs in &ready.read_states {
                if let Some(w) = self.reads_unconfirmed.remove(&rs.ctx) {
                    self.reads_confirmed.push((rs.index, w));
                }
            }
            self.raw.advance();
            let applied = applied.unwrap_or(0).max(self.raw.raft().log().applied());
            self.shared.lock().applied = applied;
            let mut i = 0;
            while i < self.reads_confirmed.len() {
                if self.reads_confirmed[i].0 <= applied {
                    let (_, w) = self.reads_confirmed.swap_remove(i);
                    let _ = w.reply.send(Ok(()));
                } else {
                    i += 1;
                }
            }
            self.maybe_compact()?;
        }
        Ok(())
    }

    fn apply(&mut self, payload: &EntryPayload) -> Result<()> {
        let EntryPayload::Normal(data) = payload else {
            return Ok(());
        };
        let cmd = match Command::decode(data) {
            Ok(c) => c,
            Err(e) => {
                // Deterministic: every replica skips the same entry.
                tracing::warn!("skipping undecodable entry: {e}");
                return Ok(());
            }
        };
        match cmd {
            Command::Txn {
                origin,
                request,
                batch,
            } => {
                let applied = state_machine::apply_txn(&self.store, &batch)?;
                if origin == self.cfg.id
                    && let Some(w) = self.commits.remove(&request)
                {
                    let _ = w.reply.send(match applied {
                        Applied::Committed(ts) => Ok(ts),
                        // Rendered like the embedded engine's conflicts (kv's `commit_writes`),
                        // so a client sees the same detail either way.
                        Applied::Conflict { key } => Err(CommitError::Conflict {
                            key: String::from_utf8_lossy(&key).into_owned(),
                        }),
                        Applied::Refused { reason } => Err(CommitError::NotCommitted {
                            reason: format!("the replicated log refused it: {reason}"),
                        }),
                    });
                }
            }
            Command::SetAddress { node, address } => {
                state_machine::record_address(self.store.engine(), node, &address)?;
                self.replicated_addresses.insert(node, address.clone());
                self.shared.lock().addresses.insert(node, address.clone());
                self.transport.set_address(node, address);
                if let Some(w) = self.addresses_waiting.remove(&node) {
                    let _ = w.reply.send(Ok(()));
                }
            }
        }
        Ok(())
    }

    fn maybe_compact(&mut self) -> Result<()> {
        let log = self.raw.raft().log();
        let applied = log.applied();
        if applied < log.snapshot_index() + self.cfg.compact_every_entries {
            return Ok(());
        }
        // The store must hold everything the snapshot covers durably before the log is dropped.
        // The Raft snapshot is metadata only: followers fetch the data out of band
        // (snapshot.rs), so compaction does not dump the store.
        self.store.engine().sync_wal()?;
        state_machine::mark_loaded(self.store.engine(), applied)?;
        let snap = self
            .raw
            .compact(applied, state_machine::OUT_OF_BAND_SNAPSHOT.to_vec())?;
        self.storage.compact(&snap)?;
        self.storage.sync()?;
        tracing::info!("node {}: compacted the log to {applied}", self.cfg.id);
        Ok(())
    }
}
