//! Deterministic simulation of a Raft cluster under faults (test-only).
//!
//! N nodes (plus spare nodes with empty storage the operator may add), each on the in-memory storage or on the file storage over a crash-simulating
//! in-memory filesystem (chosen per node and seed), a network that drops, delays, duplicates, reorders and
//! partitions messages, crashes that lose unsynced writes (a crash may strike between writing a
//! `Ready` and syncing it), restarts from storage, log compaction and snapshot transfer. One
//! seed drives every random choice, so a seed replays a run exactly.
//!
//! The [`checker::Checker`] asserts safety after every step; a client workload on a replicated
//! register checks acknowledged writes are never lost and reads are linearizable; after the
//! faults heal, a leader must emerge and a proposal must commit within a bounded number of ticks.
//!
//! `CHRONOS_SIM_SEEDS=N` sets the number of seeds (default [`DEFAULT_SEEDS`]);
//! `CHRONOS_SIM_SEED=S` replays seed `S` only. A failure names its seed.

mod checker;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{Config, Rng};
use crate::storage::{FileStorage, LogStorage, MemStorage, persist_ready};
use crate::types::{ConfChange, Entry, EntryPayload, Index, NodeId, Role};
use crate::{Message, RawNode, Ready};
use checker::{Check, Checker};
use chronos_io::fs::{CrashMode, MemFs};

/// Seeds run by default: enough to cover many fault schedules while keeping the debug-build
/// test run short.
pub(crate) const DEFAULT_SEEDS: u64 = 300;

pub(crate) fn encode_value(v: u64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

pub(crate) fn decode_value(d: &[u8]) -> Option<u64> {
    let a: [u8; 8] = d.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(a))
}

/// Knobs of one simulated run.
#[derive(Clone, Debug)]
pub(crate) struct SimOptions {
    /// Initial voters.
    pub nodes: u64,
    /// Extra nodes started with empty storage and no membership: the operator may add them
    /// (as learners, then voters), so joining from scratch is exercised.
    pub spare_nodes: u64,
    /// Ticks with faults, followed by the healed phase.
    pub fault_ticks: u64,
    /// Ticks allowed after healing for a fresh proposal to commit.
    pub liveness_ticks: u64,
    /// Further ticks allowed for every member to apply it.
    pub convergence_ticks: u64,
    /// Inject the Figure 8 bug into every node.
    pub bug_commit_earlier_terms: bool,
    /// Upper bound (exclusive) of the random per-node batch size.
    pub max_batch_entries: u64,
    /// Fault rates multiplier in percent (100 = default): more crashes, partitions and drops.
    pub fault_intensity_pct: u64,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            nodes: 5,
            spare_nodes: 1,
            fault_ticks: 1000,
            liveness_ticks: 400,
            convergence_ticks: 2000,
            bug_commit_earlier_terms: false,
            max_batch_entries: 4,
            fault_intensity_pct: 100,
        }
    }
}

/// A node's durable storage: the in-memory one, or the file format on a crash-simulating
/// in-memory filesystem (torn tails included).
enum Disk {
    Mem(MemStorage),
    File(MemFs, Option<FileStorage>),
}

/// Entries kept in the log behind the compaction point.
const TRAILING_ENTRIES: Index = 10;

/// Small segments so rotation and deletion happen often.
const SIM_SEGMENT_BYTES: u64 = 600;

impl Disk {
    fn storage(&mut self) -> &mut dyn LogStorage {
        match self {
            Disk::Mem(m) => m,
            Disk::File(_, Some(f)) => f,
            Disk::File(_, None) => panic!("invariant: storage of a crashed node is not used"),
        }
    }

    fn open(&mut self) -> crate::Result<crate::InitialState> {
        match self {
            Disk::Mem(m) => m.initial_state(),
            Disk::File(fs, slot) => {
                let f = FileStorage::open_with(Arc::new(fs.clone()), "/raft", SIM_SEGMENT_BYTES)?;
                let state = f.initial_state()?;
                *slot = Some(f);
                Ok(state)
            }
        }
    }

    fn crash(&mut self, rng: &mut Rng) {
        match self {
            Disk::Mem(m) => m.crash(),
            Disk::File(fs, slot) => {
                *slot = None;
                fs.crash(CrashMode::TearUnsynced {
                    seed: rng.next_u64(),
                });
            }
        }
    }
}

struct Node {
    id: NodeId,
    /// Percentage of ticks this node's clock misses (drift), fixed per seed.
    slow_clock_pct: u64,
    disk: Disk,
    raw: Option<RawNode>,
    /// Register value and the log index of the write that set it (volatile: rebuilt on restart).
    value: u64,
    value_index: Index,
    applied: Index,
    /// (index, value, value_index) after each recent apply, newest last, at most
    /// `2 * TRAILING_ENTRIES` long: the state at an earlier index, for compaction.
    recent_states: std::collections::VecDeque<(Index, u64, Index)>,
    checked_commit: Index,
    /// Writes submitted here and not yet acknowledged: value -> invoke time.
    pending_writes: BTreeMap<u64, u64>,
    /// Reads submitted here: ctx -> (invoke time, read index once known).
    pending_reads: BTreeMap<u64, (u64, Option<Index>)>,
}

struct InFlight {
    at_tick: u64,
    order: u64,
    msg: Message,
}

/// A completed client operation.
#[derive(Clone, Debug)]
struct Op {
    invoke: u64,
    complete: u64,
    /// Write: the value written. Read: the value observed.
    value: u64,
    /// Log index of that write (duplicated proposals may write a value twice).
    index: Index,
    is_read: bool,
}

pub(crate) struct Sim {
    seed: u64,
    opts: SimOptions,
    rng: Rng,
    nodes: Vec<Node>,
    net: Vec<InFlight>,
    /// Partition side of each node (same side = connected).
    side: Vec<u8>,
    drop_pct: u64,
    dup_pct: u64,
    /// Cluster-wide protocol options drawn per seed.
    pre_vote: bool,
    check_quorum: bool,
    lease_reads: bool,
    max_delay_ticks: u64,
    tick: u64,
    /// Logical time of client events (strictly increasing).
    now: u64,
    next_value: u64,
    next_ctx: u64,
    checker: Checker,
    history: Vec<Op>,
    /// Every accepted write: value -> invoke time.
    write_invoked: BTreeMap<u64, u64>,
    pub(crate) stats: Stats,
    /// Print every delivered message (`CHRONOS_SIM_TRACE=1`), for replaying a failing seed.
    trace: bool,
}

/// Counters reported by the runner.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats {
    pub messages: u64,
    pub acked_writes: u64,
    pub reads: u64,
    pub crashes: u64,
    pub snapshots_installed: u64,
    pub max_term: u64,
    pub transfers: u64,
    pub conf_changes: u64,
    /// Longest time from healing until every member applied the fresh write.
    pub liveness_commit_ticks: u64,
}

impl Sim {
    pub(crate) fn new(seed: u64, opts: SimOptions) -> Self {
        let mut rng = Rng::new(seed);
        let n = opts.nodes + opts.spare_nodes;
        let nodes = (1..=n)
            .map(|id| Node {
                id,
                slow_clock_pct: rng.range(0, 11),
                disk: if rng.chance(1, 2) {
                    Disk::File(MemFs::new(), None)
                } else {
                    Disk::Mem(MemStorage::new())
                },
                raw: None,
                value: 0,
                value_index: 0,
                applied: 0,
                recent_states: Default::default(),
                checked_commit: 0,
                pending_writes: BTreeMap::new(),
                pending_reads: BTreeMap::new(),
            })
            .collect();
        let drop_pct = rng.range(0, 15 * opts.fault_intensity_pct / 100 + 1);
        let dup_pct = rng.range(0, 10);
        let max_delay_ticks = rng.range(0, 4);
        let pre_vote = rng.chance(3, 4);
        let check_quorum = rng.chance(3, 4);
        let lease_reads = check_quorum && rng.chance(1, 2);
        let mut sim = Sim {
            seed,
            opts,
            rng,
            nodes,
            net: Vec::new(),
            side: vec![0; n as usize],
            drop_pct,
            dup_pct,
            pre_vote,
            check_quorum,
            lease_reads,
            max_delay_ticks,
            tick: 0,
            now: 0,
            next_value: 1,
            next_ctx: 1,
            checker: Checker::default(),
            history: Vec::new(),
            write_invoked: BTreeMap::new(),
            stats: Stats::default(),
            trace: env_u64("CHRONOS_SIM_TRACE") == Some(1),
        };
        for i in 0..n as usize {
            sim.start(i).expect("invariant: a fresh node starts");
        }
        sim
    }

    fn total_nodes(&self) -> u64 {
        self.opts.nodes + self.opts.spare_nodes
    }

    fn config(&mut self, id: NodeId) -> Config {
        let mut c = Config::new(id);
        if id <= self.opts.nodes {
            c.bootstrap_voters = (1..=self.opts.nodes).collect();
        }
        c.seed = self
            .seed
            .wrapping_mul(31)
            .wrapping_add(id)
            .wrapping_add(self.rng.next_u64());
        c.election_timeout_ticks = 10;
        c.heartbeat_interval_ticks = 2;
        // Small batches and windows make partial replication (and Figure 8 shapes) common.
        c.max_msg_entries = self.rng.range(1, self.opts.max_batch_entries.max(2)) as usize;
        c.max_inflight_msgs = self.rng.range(1, 5) as usize;
        c.snapshot_chunk_bytes = 7;
        c.forward_proposals = self.rng.chance(1, 2);
        c.pre_vote = self.pre_vote;
        c.check_quorum = self.check_quorum;
        c.lease_reads = self.lease_reads;
        c.max_clock_drift_pct = 10;
        c
    }

    fn start(&mut self, i: usize) -> Check {
        let id = self.nodes[i].id;
        let cfg = self.config(id);
        let state = self.nodes[i]
            .disk
            .open()
            .map_err(|e| format!("node {id}: restart from storage failed: {e}"))?;
        let (value, value_index, applied) = match &state.snapshot {
            Some(s) => (
                decode_value(&s.data).unwrap_or(0),
                decode_value(&s.data[8..]).unwrap_or(0),
                s.meta.index,
            ),
            None => (0, 0, 0),
        };
        let mut raw = RawNode::new(cfg, state).map_err(|e| e.to_string())?;
        raw.inject_bug_commit_earlier_terms(self.opts.bug_commit_earlier_terms);
        let n = &mut self.nodes[i];
        n.value = value;
        n.value_index = value_index;
        n.applied = applied;
        n.recent_states.clear();
        n.checked_commit = raw.raft().log().snapshot_index();
        n.raw = Some(raw);
        Ok(())
    }

    fn crash(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        if n.raw.take().is_some() {
            n.disk.crash(&mut self.rng);
            n.pending_writes.clear();
            n.pending_reads.clear();
            self.stats.crashes += 1;
        }
    }

    fn connected(&self, a: NodeId, b: NodeId) -> bool {
        self.side[(a - 1) as usize] == self.side[(b - 1) as usize]
    }

    fn send(&mut self, msg: Message) {
        self.stats.messages += 1;
        if !self.connected(msg.from, msg.to) || self.rng.chance(self.drop_pct, 100) {
            return;
        }
        let copies = if self.rng.chance(self.dup_pct, 100) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let at_tick = self.tick + self.rng.range(0, self.max_delay_ticks + 1);
            let order = self.rng.next_u64();
            self.net.push(InFlight {
                at_tick,
                order,
                msg: msg.clone(),
            });
        }
    }

    /// Drain a node's Ready: persist (or crash before syncing), send, apply, check.
    fn process(&mut self, i: usize) -> Check {
        loop {
            let Some(raw) = self.nodes[i].raw.as_mut() else {
                return Ok(());
            };
            if !raw.has_ready() {
                return Ok(());
            }
            let ready = raw.ready();
            self.checker
                .observe_written(self.nodes[i].raw.as_ref().expect("live"), &ready.entries)?;
            // A crash between writing and syncing loses the whole Ready (nothing was sent).
            let crash_before_sync = self.tick < self.opts.fault_ticks && self.rng.chance(1, 400);
            if crash_before_sync {
                let n = &mut self.nodes[i];
                let storage = n.disk.storage();
                if let Some(s) = &ready.snapshot {
                    storage.install_snapshot(s).map_err(|e| e.to_string())?;
                }
                storage.append(&ready.entries).map_err(|e| e.to_string())?;
                if let Some(hs) = ready.hard_state {
                    storage.set_hard_state(hs).map_err(|e| e.to_string())?;
                }
                self.crash(i);
                return Ok(());
            }
            persist_ready(self.nodes[i].disk.storage(), &ready).map_err(|e| e.to_string())?;
            self.after_persist(i, ready)?;
        }
    }

    fn after_persist(&mut self, i: usize, ready: Ready) -> Check {
        let id = self.nodes[i].id;
        if let Some(hs) = ready.hard_state {
            self.checker.observe_hard_state(id, hs)?;
        }
        for m in ready.messages {
            self.send(m);
        }
        if let Some(s) = &ready.snapshot {
            let n = &mut self.nodes[i];
            if s.meta.index <= n.applied {
                return Err(format!(
                    "node {id}: snapshot {} installed at or below applied {}",
                    s.meta.index, n.applied
                ));
            }
            n.value = decode_value(&s.data).unwrap_or(0);
            n.value_index = decode_value(&s.data[8..]).unwrap_or(0);
            n.applied = s.meta.index;
            n.recent_states.clear();
            self.stats.snapshots_installed += 1;
        }
        for e in &ready.committed_entries {
            self.apply(i, e)?;
        }
        for rs in &ready.read_states {
            if let Some(r) = self.nodes[i].pending_reads.get_mut(&rs.ctx) {
                r.1 = Some(rs.index);
            }
        }
        let raw = self.nodes[i]
            .raw
            .as_mut()
            .expect("invariant: processing a live node");
        raw.advance();
        let became_leader = ready.soft_state.is_some_and(|s| s.role == Role::Leader);
        let raw = self.nodes[i]
            .raw
            .as_ref()
            .expect("invariant: processing a live node");
        self.checker.observe_role(raw)?;
        if became_leader {
            self.checker.observe_new_leader(raw)?;
        }
        let from = self.nodes[i].checked_commit + 1;
        self.checker.observe_commit(raw, from)?;
        let (commit, term) = (raw.raft().log().commit(), raw.raft().term());
        self.nodes[i].checked_commit = commit;
        self.stats.max_term = self.stats.max_term.max(term);
        self.complete_reads(i);
        self.maybe_compact(i)
    }

    fn apply(&mut self, i: usize, e: &Entry) -> Check {
        let id = self.nodes[i].id;
        self.checker.observe_applied(id, e)?;
        let n = &mut self.nodes[i];
        if e.index != n.applied + 1 {
            return Err(format!(
                "node {id}: applied index jumped {} -> {}",
                n.applied, e.index
            ));
        }
        n.applied = e.index;
        if let EntryPayload::Normal(d) = &e.payload {
            let v = decode_value(d).ok_or("undecodable value")?;
            n.value = v;
            n.value_index = e.index;
            if let Some(invoke) = n.pending_writes.remove(&v) {
                self.now += 1;
                self.history.push(Op {
                    invoke,
                    complete: self.now,
                    value: v,
                    index: e.index,
                    is_read: false,
                });
                self.stats.acked_writes += 1;
            }
        }
        let n = &mut self.nodes[i];
        n.recent_states
            .push_back((n.applied, n.value, n.value_index));
        if n.recent_states.len() > 2 * TRAILING_ENTRIES as usize {
            n.recent_states.pop_front();
        }
        Ok(())
    }

    fn complete_reads(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        let done: Vec<u64> = n
            .pending_reads
            .iter()
            .filter(|(_, (_, idx))| idx.is_some_and(|x| x <= n.applied))
            .map(|(&c, _)| c)
            .collect();
        for ctx in done {
            let (invoke, _) = n
                .pending_reads
                .remove(&ctx)
                .expect("invariant: listed above");
            self.now += 1;
            self.history.push(Op {
                invoke,
                complete: self.now,
                value: n.value,
                index: n.value_index,
                is_read: true,
            });
            self.stats.reads += 1;
        }
    }

    fn maybe_compact(&mut self, i: usize) -> Check {
        let n = &mut self.nodes[i];
        let Some(raw) = n.raw.as_mut() else {
            return Ok(());
        };
        let snap_index = raw.raft().log().snapshot_index();
        // Keep a trailing window of log so slightly lagging followers need no snapshot.
        let target = n.applied.saturating_sub(TRAILING_ENTRIES);
        if target >= snap_index + 25 && self.rng.chance(1, 3) {
            let Some(&(_, value, value_index)) =
                n.recent_states.iter().find(|(i, _, _)| *i == target)
            else {
                return Ok(());
            };
            let mut data = encode_value(value);
            data.extend_from_slice(&encode_value(value_index));
            data.extend_from_slice(&[0xab; 13]); // make the snapshot span several chunks
            let snap = raw.compact(target, data).map_err(|e| e.to_string())?;
            let storage = n.disk.storage();
            storage.compact(&snap).map_err(|e| e.to_string())?;
            storage.sync().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn client_step(&mut self) -> Check {
        let i = self.rng.range(0, self.total_nodes()) as usize;
        let Some(raw) = self.nodes[i].raw.as_mut() else {
            return Ok(());
        };
        self.now += 1;
        if self.rng.chance(2, 3) {
            let v = self.next_value;
            self.next_value += 1;
            if raw.propose(encode_value(v)).is_ok() {
                self.nodes[i].pending_writes.insert(v, self.now);
                self.write_invoked.insert(v, self.now);
            }
        } else {
            let ctx = self.next_ctx;
            self.next_ctx += 1;
            if raw.read_index(ctx).is_ok() {
                self.nodes[i].pending_reads.insert(ctx, (self.now, None));
            }
        }
        self.process(i)
    }

    /// The live leader with the highest term (a removed node may still believe it leads an older
    /// term: without check-quorum nothing tells it otherwise).
    fn leader_index(&self) -> Option<usize> {
        (0..self.nodes.len())
            .filter(|&i| {
                self.nodes[i]
                    .raw
                    .as_ref()
                    .is_some_and(|r| r.raft().role() == Role::Leader)
            })
            .max_by_key(|&i| self.nodes[i].raw.as_ref().map_or(0, |r| r.raft().term()))
    }

    /// Operator actions at the leader: leadership transfers and single-server membership changes
    /// (remove a voter while more than three remain, re-add removed nodes as learners, promote
    /// learners). Refusals are fine: they are part of the protocol.
    fn admin(&mut self) -> Check {
        let Some(li) = self.leader_index() else {
            return Ok(());
        };
        let n = self.total_nodes();
        let raw = self.nodes[li]
            .raw
            .as_mut()
            .expect("invariant: leader is live");
        let m = raw.raft().membership().clone();
        if self.rng.chance(1, 2) {
            let to = self.rng.range(1, n + 1);
            if raw.transfer_leader(to).is_ok() {
                self.stats.transfers += 1;
            }
        } else {
            let outsider = (1..=n).find(|id| !m.contains(*id));
            let learner = m.learners.iter().next().copied();
            let cc = if let Some(id) = outsider {
                ConfChange::AddLearner(id)
            } else if let Some(id) = learner {
                ConfChange::AddVoter(id)
            } else if m.voters.len() > 3 {
                let voters: Vec<NodeId> = m.voters.iter().copied().collect();
                ConfChange::RemoveNode(voters[self.rng.range(0, voters.len() as u64) as usize])
            } else {
                return Ok(());
            };
            if raw.propose_conf_change(cc).is_ok() {
                self.stats.conf_changes += 1;
            }
        }
        self.process(li)
    }

    fn faults(&mut self) -> Check {
        let n = self.total_nodes() as usize;
        let k = self.opts.fault_intensity_pct.max(1);
        if self.rng.chance(1, 40) {
            self.admin()?;
        }
        if self.rng.chance(k, 6000) {
            let i = self.rng.range(0, n as u64) as usize;
            self.crash(i);
        }
        if self.rng.chance(k, 2500) {
            let i = self.rng.range(0, n as u64) as usize;
            if self.nodes[i].raw.is_none() {
                self.start(i)?;
            }
        }
        if self.rng.chance(k, 8000) {
            // New partition: a random subset on side 1.
            for s in self.side.iter_mut() {
                *s = 0;
            }
            let k = self.rng.range(1, n as u64) as usize;
            for _ in 0..k {
                let j = self.rng.range(0, n as u64) as usize;
                self.side[j] = 1;
            }
        }
        if self.rng.chance(k, 4000) {
            for s in self.side.iter_mut() {
                *s = 0;
            }
        }
        Ok(())
    }

    fn heal(&mut self) -> Check {
        for s in self.side.iter_mut() {
            *s = 0;
        }
        self.drop_pct = 0;
        self.dup_pct = 0;
        for i in 0..self.nodes.len() {
            if self.nodes[i].raw.is_none() {
                self.start(i)?;
            }
        }
        Ok(())
    }

    fn deliver_due(&mut self) -> Check {
        let tick = self.tick;
        let mut due: Vec<InFlight> = Vec::new();
        let mut rest = Vec::new();
        for m in self.net.drain(..) {
            if m.at_tick <= tick {
                due.push(m)
            } else {
                rest.push(m)
            }
        }
        self.net = rest;
        due.sort_by_key(|m| m.order);
        for m in due {
            let to = (m.msg.to - 1) as usize;
            if !self.connected(m.msg.from, m.msg.to) {
                continue;
            }
            let Some(raw) = self.nodes[to].raw.as_mut() else {
                continue;
            };
            if self.trace {
                eprintln!("t={} {}", self.tick, m.msg);
            }
            raw.step(m.msg).map_err(|e| e.to_string())?;
            self.process(to)?;
        }
        Ok(())
    }

    fn tick_all(&mut self) -> Check {
        for i in 0..self.nodes.len() {
            // Clock drift: a slow node misses `slow_clock_pct` percent of ticks, evenly spread
            // (so drift stays within the bound over any election timeout).
            let pct = self.nodes[i].slow_clock_pct;
            if self.tick * pct / 100 != (self.tick + 1) * pct / 100 {
                continue;
            }
            if let Some(raw) = self.nodes[i].raw.as_mut() {
                raw.tick();
                self.process(i)?;
            }
        }
        Ok(())
    }

    /// Run the whole schedule: faults, heal, liveness, final checks.
    pub(crate) fn run(&mut self) -> Check {
        let fault_ticks = self.opts.fault_ticks;
        while self.tick < fault_ticks {
            self.faults()?;
            self.deliver_due()?;
            self.tick_all()?;
            for _ in 0..self.rng.range(0, 3) {
                self.client_step()?;
            }
            self.tick += 1;
        }
        self.heal()?;
        self.liveness()?;
        self.check_history()
    }

    /// After healing: a leader emerges and a fresh write commits within `liveness_ticks`; then
    /// every member applies it within `convergence_ticks` more (a follower far behind, with a
    /// one-entry batch and a one-message window, can need a few hundred ticks to catch up).
    fn liveness(&mut self) -> Check {
        let start = self.tick;
        let commit_deadline = start + self.opts.liveness_ticks;
        let converge_deadline = commit_deadline + self.opts.convergence_ticks;
        let marker = u64::MAX / 2 + self.seed;
        let mut last_proposal: Option<u64> = None;
        loop {
            let committed_at = self.checker.write_index(marker);
            let deadline = if committed_at.is_some() {
                converge_deadline
            } else {
                commit_deadline
            };
            if self.tick >= deadline {
                let nodes: Vec<_> = self
                    .nodes
                    .iter()
                    .filter_map(|n| n.raw.as_ref().map(|r| (n, r)))
                    .map(|(n, r)| {
                        (
                            r.raft().id(),
                            r.raft().role(),
                            r.raft().term(),
                            r.raft().log().commit(),
                            n.applied,
                            r.raft().log().last_index(),
                            r.raft().membership().to_string(),
                        )
                    })
                    .collect();
                let what = if committed_at.is_some() {
                    format!(
                        "the fresh write committed but not every member applied it within {} more ticks",
                        self.opts.convergence_ticks
                    )
                } else {
                    format!(
                        "no fresh write committed within {} ticks after healing",
                        self.opts.liveness_ticks
                    )
                };
                return Err(format!(
                    "liveness: {what} (proposed at {last_proposal:?}; nodes (id, role, term, commit, applied, last, membership): {nodes:?})"
                ));
            }
            self.deliver_due()?;
            self.tick_all()?;
            self.tick += 1;
            if let Some(mi) = committed_at
                && self.members_applied(mi)
            {
                self.stats.liveness_commit_ticks =
                    self.stats.liveness_commit_ticks.max(self.tick - start);
                return Ok(());
            }
            // (Re)propose at the leader until the marker commits.
            let retry = last_proposal.is_none_or(|t| self.tick >= t + 50);
            if committed_at.is_none()
                && retry
                && let Some(i) = self.leader_index()
            {
                let raw = self.nodes[i]
                    .raw
                    .as_mut()
                    .expect("invariant: found live above");
                if raw.propose(encode_value(marker)).is_ok() {
                    self.now += 1;
                    self.write_invoked.entry(marker).or_insert(self.now);
                    last_proposal = Some(self.tick);
                    self.process(i)?;
                }
            }
        }
    }

    /// A digest of the client history, to compare two runs.
    pub(crate) fn history_fingerprint(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for op in &self.history {
            for x in [
                op.invoke,
                op.complete,
                op.value,
                op.index,
                op.is_read as u64,
            ] {
                h = (h ^ x).wrapping_mul(0x0100_0000_01b3);
            }
        }
        format!("{} ops, {h:016x}", self.history.len())
    }

    /// Whether every member (per the leader) has applied `index`.
    fn members_applied(&self, index: Index) -> bool {
        let Some(li) = self.leader_index() else {
            return false;
        };
        let m = self.nodes[li]
            .raw
            .as_ref()
            .expect("invariant: leader is live")
            .raft()
            .membership()
            .clone();
        self.nodes
            .iter()
            .filter(|n| m.contains(n.id))
            .all(|n| n.applied >= index)
    }

    /// Acknowledged writes are committed; reads are linearizable.
    fn check_history(&self) -> Check {
        let mut ops = Vec::new();
        for op in &self.history {
            if !self.checker.is_committed_write(op.index, op.value) {
                let what = if op.is_read {
                    "read observed"
                } else {
                    "acknowledged write"
                };
                return Err(format!(
                    "{what} value {} at index {} is not in the committed log",
                    op.value, op.index
                ));
            }
            ops.push((op, op.index));
        }
        // For each read: the write it observed was invoked before the read completed; every
        // write acknowledged before it started, and every read completed before it started, is
        // at or before the write it observed.
        for (r, r_idx) in ops.iter().filter(|(o, _)| o.is_read) {
            if r.value != 0
                && self
                    .write_invoked
                    .get(&r.value)
                    .is_none_or(|&t| t >= r.complete)
            {
                return Err(format!(
                    "linearizability: read completed at {} observed value {} written later",
                    r.complete, r.value
                ));
            }
            for (o, o_idx) in &ops {
                if o.complete < r.invoke && o_idx > r_idx {
                    return Err(format!(
                        "linearizability: read invoked at {} observed write at index {r_idx} (value {}), but {} completed at {} saw index {o_idx}",
                        r.invoke,
                        r.value,
                        if o.is_read { "a read" } else { "a write" },
                        o.complete
                    ));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn max_committed(&self) -> Index {
        self.checker.max_committed()
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// Run one seed, converting panics inside the core into a failure that names the seed.
pub(crate) fn run_seed(seed: u64, opts: SimOptions) -> Result<Stats, String> {
    let result = std::panic::catch_unwind(|| {
        let mut sim = Sim::new(seed, opts);
        sim.run().map(|()| {
            let mut s = sim.stats.clone();
            s.max_term = s.max_term.max(sim.max_committed());
            s
        })
    });
    match result {
        Ok(r) => r,
        Err(p) => {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("panic: {msg}"))
        }
    }
}

/// The seeds to run: `CHRONOS_SIM_SEED` alone, or `CHRONOS_SIM_SEEDS` (default `default`) seeds
/// from 1.
pub(crate) fn seeds(default: u64) -> Vec<u64> {
    if let Some(s) = env_u64("CHRONOS_SIM_SEED") {
        return vec![s];
    }
    (1..=env_u64("CHRONOS_SIM_SEEDS").unwrap_or(default)).collect()
}

#[cfg(test)]
mod tests;
