//! Jepsen-style workloads: concurrent clients run operations against a database, every
//! invocation and completion is recorded into a history, and `chronos-check` judges it.
//!
//! ```text
//! chronos check run ─► cli: engine (temporary or --data-dir) ─► EmbeddedConnector
//!   ─► runner: setup, N worker threads (+ nemesis thread, + progress on stderr)
//!        worker: Workload::next_op ─► Recorder::invoke ─► Workload::execute(Client) ─► Recorder::complete
//!   ─► final reads ─► history.edn ─► chronos_check::check_history ─► lost-write check
//!   ─► summary on stdout, report.txt, latency.svg (svg)
//! ```
//!
//! - [`client`]: the [`Client`] and [`Connector`] traits (one SQL session; definite failure
//!   versus indeterminate outcome) and the embedded implementation. A cluster client (sessions
//!   over the gRPC client API) implements the same two traits.
//! - [`recorder`]: the history as it happens (`:time` in ns since the start, file order = real
//!   time).
//! - [`bank`], [`list_append`], [`registers`]: the workloads (generator, SQL, final reads, and the
//!   lost-acknowledged-write check for each).
//! - [`nemesis`]: the fault-injection hook; faults are recorded as `:nemesis` `:info` ops.
//! - [`runner`]: threads, bounds (`--ops` total, `--duration`), reconnection, progress.
//! - [`svg`]: latency and throughput over time, nemesis intervals shaded.
//! - [`cluster`]: the cluster connector (sessions over the gRPC client API, round-robin over
//!   the nodes, per-request deadline); [`nemesis_cluster`]: a local cluster of `chronos start`
//!   processes owned by the run, fault-injecting proxies on its peer links, and the nemesis that
//!   kills, pauses or isolates its leader.
//!
//! Processes follow Jepsen: worker `i` starts as process `i`; after an indeterminate outcome
//! its process is abandoned (its op may still be in flight) and it continues as a fresh process
//! number with a new client.
//!
//! Not yet: a key-value (`kv`) workload; Elle's other generators' knobs (key
//! distributions other than uniform over the active keys).

pub mod bank;
pub mod cli;
pub mod client;
pub mod cluster;
pub mod list_append;
pub mod nemesis;
pub mod nemesis_cluster;
pub mod recorder;
pub mod registers;
pub mod runner;
pub mod svg;
#[cfg(test)]
mod tests;

use chronos_check::CheckOptions;
use chronos_check::edn::Value;
use chronos_check::history::Op;

pub use client::{Client, ClientError, Connector, EmbeddedConnector, Reply};
pub use recorder::{Completion, Invocation};

/// The workloads `chronos check run` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkloadKind {
    Bank,
    ListAppend,
    RwRegister,
    Register,
}

impl std::str::FromStr for WorkloadKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        Ok(match s {
            "bank" => WorkloadKind::Bank,
            "list-append" | "append" => WorkloadKind::ListAppend,
            "rw-register" => WorkloadKind::RwRegister,
            "register" => WorkloadKind::Register,
            _ => anyhow::bail!("unknown workload {s:?} (bank, list-append, rw-register, register)"),
        })
    }
}

impl std::fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WorkloadKind::Bank => "bank",
            WorkloadKind::ListAppend => "list-append",
            WorkloadKind::RwRegister => "rw-register",
            WorkloadKind::Register => "register",
        })
    }
}

/// Why an operation did not succeed, and what that means for the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// A short label: a SQLSTATE, `indeterminate`, or the workload's reason (`cas-mismatch`).
    pub reason: String,
    pub message: String,
    /// The op may have taken effect (an indeterminate COMMIT or autocommit write): `:info`.
    /// Otherwise it certainly did not: `:fail`.
    pub maybe_applied: bool,
    /// The session cannot be trusted any more; the worker opens a new client.
    pub reconnect: bool,
}

impl OpError {
    /// The workload itself decided not to go on (no funds, cas precondition false).
    pub fn refused(reason: &str) -> Self {
        OpError {
            reason: reason.to_string(),
            message: reason.to_string(),
            maybe_applied: false,
            reconnect: false,
        }
    }

    /// An error of a statement that commits (COMMIT, or an autocommit write): indeterminate
    /// errors leave the outcome unknown.
    pub fn committing(e: ClientError) -> Self {
        let indeterminate = e.is_indeterminate();
        OpError {
            maybe_applied: indeterminate,
            ..OpError::from(e)
        }
    }
}

/// An error of a statement that cannot commit anything by itself (BEGIN, a statement inside a
/// transaction block, a read): the op certainly had no effect.
impl From<ClientError> for OpError {
    fn from(e: ClientError) -> Self {
        OpError {
            reason: e.label(),
            message: e.to_string(),
            maybe_applied: false,
            reconnect: e.is_indeterminate(),
        }
    }
}

/// Whether the acknowledged writes survived, judged from the final reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Durability {
    /// Checked: what is missing (empty when nothing is).
    Checked { lost: Vec<String> },
    /// Could not be checked, and why.
    NotChecked(String),
}

/// One workload: schema, operation generator, how each op runs as SQL, and how to judge it.
///
/// The generator state is shared by all workers (behind a lock inside the implementation), so
/// that, as in Elle, concurrent transactions contend on the same keys.
pub trait Workload: Send + Sync {
    fn kind(&self) -> WorkloadKind;

    /// Creates the workload's tables (dropping old ones) and initial rows, before the run.
    fn setup(&self, client: &mut dyn Client) -> Result<(), ClientError>;

    /// The next operation to invoke.
    fn next_op(&self, rng: &mut Rng) -> Invocation;

    /// Runs an operation; the value on success is the completion's `:value`.
    fn execute(&self, client: &mut dyn Client, inv: &Invocation) -> Result<Value, OpError>;

    /// Operations that read everything, run after the workers stop (and recorded).
    fn final_reads(&self) -> Vec<Invocation>;

    /// Checker options for this workload's histories (the model is set by the caller).
    fn check_options(&self) -> CheckOptions;

    /// Whether every acknowledged write is visible in the final reads of `history`.
    fn durability(&self, history: &[Op]) -> Durability;
}

/// A completion from an op's result.
pub fn completion(inv: &Invocation, result: Result<Value, OpError>) -> Completion {
    use chronos_check::history::OpType;
    match result {
        Ok(value) => Completion {
            op_type: OpType::Ok,
            value,
            error: None,
        },
        Err(e) => Completion {
            op_type: if e.maybe_applied && !inv.read_only {
                OpType::Info
            } else {
                OpType::Fail
            },
            value: inv.value.clone(),
            error: Some(e.reason),
        },
    }
}

/// Runs `body` between BEGIN and COMMIT; on a definite error, rolls back.
pub fn in_txn<T>(
    client: &mut dyn Client,
    body: impl FnOnce(&mut dyn Client) -> Result<T, OpError>,
) -> Result<T, OpError> {
    client.execute("BEGIN")?;
    match body(client) {
        Ok(v) => {
            client.execute("COMMIT").map_err(OpError::committing)?;
            Ok(v)
        }
        Err(mut e) => {
            if !e.reconnect && client.execute("ROLLBACK").is_err() {
                // The session is in an unknown state; the op itself still had no effect.
                e.reconnect = true;
            }
            Err(e)
        }
    }
}

/// An integer column of a reply's first row (`None` when there is no row or it is NULL).
pub fn first_int(reply: &Reply) -> Result<Option<i64>, OpError> {
    match reply.rows.first().and_then(|r| r.first()) {
        None | Some(chronos_sql::Value::Null) => Ok(None),
        Some(chronos_sql::Value::Integer(i)) => Ok(Some(*i)),
        Some(other) => Err(OpError::refused(&format!(
            "unexpected-value {other:?} where an integer was expected"
        ))),
    }
}

/// `[:f k v]`, a micro-operation of a transaction.
pub fn mop(f: &str, k: i64, v: Value) -> Value {
    Value::Vector(vec![Value::Keyword(f.to_string()), Value::Int(k), v])
}

/// A small deterministic generator (SplitMix64): a seed reproduces a run's choices (though not
/// its interleaving).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "Rng::below needs a positive bound");
        self.next_u64() % n
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
