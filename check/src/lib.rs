//! History checkers for Chronos (Jepsen-style), behind `chronos check`.
//!
//! # What this crate owns
//! Reading histories (Jepsen's EDN, and the same maps as JSON lines or one JSON array), writing
//! them back ([`history::Op::to_edn_line`], [`history::Op::to_json_line`]), and judging them: the
//! transactional checker for list-append and rw-register histories (after Elle), the
//! linearizability checker for registers and per-key registers, and the bank checker. It depends
//! on no other Chronos crate; workloads and fault injection live elsewhere and only produce
//! histories.
//!
//! The API is [`check_history`]`(text, &`[`CheckOptions`]`) -> Result<`[`Report`]`>`. A [`Report`]
//! has a [`Verdict`] (valid, invalid, unknown), the anomalies found with example operations (for
//! cycles, the edges of one example cycle and why each edge exists), the anomaly types the models
//! allow, the models ruled out, statistics and notes; `Display` is for people, [`Report::to_json`]
//! for scripts. [`Error`] is only for input that cannot be checked (malformed EDN/JSON with line
//! and column, an op the workload cannot interpret, an unknown option); it never panics on input.
//!
//! # Data flow
//! text → [`edn::read_history`] or JSON → [`edn::Value`] maps → [`history::Op`]s (file order is
//! real-time order) → [`history::pair`] → [`history::Completed`] ops (invocation paired with its
//! completion by process; no completion means indeterminate) → one checker by [`Workload`]:
//! - list-append / rw-register ([`txn`]): transactions → inferred version orders → ww/wr/rw edges,
//!   plus process and real-time edges when a requested model needs them → [`graph::Graph`] →
//!   Tarjan SCCs → cycle search by class inside each component → anomalies judged against the
//!   [`Model`]s;
//! - register / kv ([`linear`]): ops split by key → Wing–Gong–Lowe search with memoised (linearized
//!   set, state) → per-key verdict;
//! - bank ([`bank`]): every read's total and balances.
//!
//! # Algorithms
//! - Version orders. List-append: the longest read of a key is its order and every read must be a
//!   prefix of it; committed appends nobody read come after it; two transactions that read the
//!   same version and both append are a lost update (and anti-depend on each other). Rw-register:
//!   `nil` precedes every write, plus optional inference from writes-follow-reads, per-process
//!   order and real-time order (`wfr_keys`, `sequential_keys`, `linearizable_keys`, as Elle's
//!   options); a cycle in a version order is `cyclic-versions`.
//! - Real-time edges are transitively reduced by a frontier sweep (an invocation links only to the
//!   operations completed since the ones it is already ordered after), so their number stays near
//!   operations × concurrency.
//! - Cycles are classified as Adya's, named as Elle's: G0, G1c, G-single-item, G-nonadjacent-item,
//!   G2-item, each with `-process` / `-realtime` variants ([`model`]). Per component and per pass
//!   (data edges, then + process, then + real time) the search runs G0, G1c, a G2 probe (one BFS,
//!   whose shortest cycle may turn out G-single or G-nonadjacent), then exact G-single and
//!   G-nonadjacent searches; one example per class per component. BFS paths are shortest. Work is
//!   charged to [`Limits`] (each search at most 1/8 of the steps); when a search is cut short the
//!   report carries `cycle-search-timeout`, which alone makes the verdict unknown.
//! - A history with no edge at all between transactions is `empty-transaction-graph` (unknown), as
//!   in Elle.
//! - Compatibility with Elle: `anomalies` in [`TxnOptions`] expands names as Elle's `:anomalies`
//!   (G1 → G1a, G1b, G1c, G0; G2 → every cycle with rw edges). We also report `garbage-read` (a
//!   read of a value nobody wrote), which Elle does not for rw-register; `garbage_reads: false`
//!   reproduces Elle's answers. The known-answer tests pass on every history in the shared data.
//!
//! # Not implemented (honest list)
//! - Predicate anomalies (G2 with predicates, G-single without `-item`), and Elle's intermediate
//!   models (read atomic, consistent view, cursor stability, update atomic, ...): only the nine
//!   [`Model`]s. [`Report::ruled_out`] is a lower bound (only the anomalies searched for).
//! - Elle's other workloads (sets, counters) and Knossos models other than registers, cas registers
//!   and string/list append.
//! - `:time` is ignored: real time is file order, as Jepsen writes histories.
//! - G-nonadjacent is not searched in a component where a G-single was found (the model is already
//!   violated); only one example cycle per class per component is reported.
//! - List-append: an element appended twice to one key is attributed to its first writer (noted).
//!   Rw-register: a value written twice to one key likewise.
//! - Linearizability: no partial-order reduction beyond memoisation; the explanation shows the
//!   longest legal prefix found and the operation that cannot follow it, not a minimal
//!   counterexample.
//! - Bank: transfers are not replayed, only reads are checked.

pub mod bank;
pub mod edn;
pub mod error;
pub mod graph;
pub mod history;
pub mod linear;
pub mod model;
pub mod report;
pub mod txn;

use std::time::Duration;

pub use bank::BankOptions;
pub use error::{Error, Result};
pub use history::Format;
pub use model::{AnomalyType, Model};
pub use report::{Anomaly, Report, Verdict, Workload};
pub use txn::TxnOptions;

/// Bounds on checking work: a search that reaches either gives an `Unknown` verdict (or, for the
/// transactional checker, a `cycle-search-timeout` next to whatever it found).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Search steps (BFS edge visits, or linearization attempts).
    pub max_steps: u64,
    /// Wall-clock time for a search, measured from the start of the check.
    pub max_duration: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 20_000_000,
            max_duration: Some(Duration::from_secs(60)),
        }
    }
}

/// Everything a check needs besides the history.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    pub format: Format,
    pub workload: Workload,
    /// Options of the transactional checker (models, anomalies, version-order inference).
    pub txn: TxnOptions,
    pub bank: BankOptions,
    pub limits: Limits,
}

impl CheckOptions {
    /// Defaults for a workload: auto-detected format, strict serializability, default limits.
    pub fn new(workload: Workload) -> Self {
        CheckOptions {
            format: Format::Auto,
            workload,
            txn: TxnOptions::default(),
            bank: BankOptions::default(),
            limits: Limits::default(),
        }
    }

    /// Judges against one model instead of the default.
    pub fn with_model(mut self, model: Model) -> Self {
        self.txn.models = vec![model];
        self
    }
}

/// Parses and checks a history.
pub fn check_history(text: &str, opts: &CheckOptions) -> Result<Report> {
    let ops = history::parse(text, opts.format)?;
    check_ops(&ops, opts)
}

/// Checks already-parsed operations.
pub fn check_ops(ops: &[history::Op], opts: &CheckOptions) -> Result<Report> {
    let done = history::pair(ops);
    match opts.workload {
        Workload::ListAppend | Workload::RwRegister => {
            txn::check(&done, opts.workload, &opts.txn, &opts.limits)
        }
        Workload::Register | Workload::Kv => linear::check(&done, opts.workload, &opts.limits),
        Workload::Bank => bank::check(&done, &opts.bank, opts.txn.max_examples),
    }
}
