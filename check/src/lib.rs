//! History checkers for Chronos (Jepsen-style), behind `chronos check`.
//!
//! # What this crate owns
//! Reading histories (Jepsen's EDN, and the same maps as JSON lines or a JSON array), and judging
//! them: the transactional checker for list-append and rw-register histories (after Elle), the
//! linearizability checker for registers and per-key registers, and the bank checker. It depends on
//! no other Chronos crate; workloads and fault injection live elsewhere and only produce histories.
//!
//! # Data flow
//! text → [`edn::read_all`] or JSON → [`edn::Value`] maps → [`history::Op`]s (file order is real-time
//! order) → [`history::pair`] → [`history::Completed`] ops (invocation paired with completion; no
//! completion means indeterminate) → one checker by [`Workload`]:
//! - list-append / rw-register ([`txn`]): transactions → inferred version orders → ww/wr/rw edges (+
//!   process and real-time edges when a model needs them) → [`graph::Graph`] → Tarjan SCCs → cycle
//!   search by class inside each component → anomalies judged against the [`Model`]s;
//! - register / kv ([`linear`]): ops split by key → Wing–Gong–Lowe search with memoised (linearized
//!   set, state) → per-key verdict;
//! - bank ([`bank`]): every read's total and balances.
//!
//! Each returns a [`Report`]: a [`Verdict`] (valid, invalid, unknown), the anomalies with example
//! operations (and, for cycles, the edges of one example cycle), statistics, and notes. `Display`
//! prints it for people, [`Report::to_json`] for scripts.
//!
//! # Algorithms
//! - Version orders. List-append: the longest read of a key is its order, every read must be a
//!   prefix of it; committed appends nobody read come after it. Rw-register: `nil` precedes every
//!   write, plus optional inference from writes-follow-reads, per-process order, and real-time
//!   order (`wfr_keys`, `sequential_keys`, `linearizable_keys`).
//! - Real-time edges are transitively reduced with a frontier sweep (each invocation links to the
//!   operations completed since the last operation it is already ordered after), so their number
//!   stays near (operations × concurrency).
//! - Cycle classes follow Adya as named by Elle: G0, G1c, G-single-item, G-nonadjacent-item,
//!   G2-item, each with `-process` / `-realtime` variants; see [`model`]. The search is charged to a
//!   step and time budget ([`Limits`]); when it is spent the report says `cycle-search-timeout`.
//!
//! # Not implemented (honest list)
//! - Predicate anomalies (G2 with predicates, G-single without `-item`), read-atomic, consistent
//!   view, cursor stability, update atomicity, and the other intermediate models of Elle's lattice;
//!   no "models ruled out" (`:not`) computation.
//! - Elle's other workloads (sets, counters, wr-register with unique-write checks beyond garbage
//!   reads) and Knossos models other than register/kv strings; no `:time`-based real time (file
//!   order is used instead).
//! - List-append: elements appended twice to one key are attributed to the first writer, with a note.
//! - Linearizability: no partial-order reduction beyond memoisation, and the explanation names the
//!   operation that could not be placed, not a minimal counterexample.
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
