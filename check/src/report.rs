//! What a check produces: a verdict, the anomalies found with explanations, and some statistics.
//! `Display` renders it for people; `serde` renders it as JSON for scripts.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::model::Model;

/// The outcome of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No anomaly the model forbids.
    Valid,
    /// At least one anomaly the model forbids.
    Invalid,
    /// The checker could not decide: a search bound was hit, or the history holds too little
    /// information (e.g. no dependency between any two transactions).
    Unknown,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "INVALID",
            Verdict::Unknown => "unknown",
        })
    }
}

/// The workload a history was produced by, which decides the checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Transactions of `[:append k v]` and `[:r k list]` micro-operations (Elle).
    ListAppend,
    /// Transactions of `[:w k v]` and `[:r k v]` micro-operations (Elle).
    RwRegister,
    /// A single register: `:read`, `:write`, `:cas` (linearizability).
    Register,
    /// Per-key registers: `:get`/`:read`, `:put`/`:write`, `:append`, `:cas` (linearizability).
    Kv,
    /// Transfers between accounts and reads of all balances.
    Bank,
}

impl std::str::FromStr for Workload {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "list-append" | "append" => Ok(Workload::ListAppend),
            "rw-register" | "wr-register" => Ok(Workload::RwRegister),
            "register" => Ok(Workload::Register),
            "kv" => Ok(Workload::Kv),
            "bank" => Ok(Workload::Bank),
            _ => Err(crate::Error::BadOption(format!(
                "unknown workload {s:?} (list-append, rw-register, register, kv, bank)"
            ))),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Workload::ListAppend => "list-append",
            Workload::RwRegister => "rw-register",
            Workload::Register => "register",
            Workload::Kv => "kv",
            Workload::Bank => "bank",
        })
    }
}

/// One operation as shown in an explanation.
#[derive(Debug, Clone, Serialize)]
pub struct OpRef {
    /// The op's `:index` when it has one.
    pub index: Option<i64>,
    /// The line of the op's completion (or invocation) in the input.
    pub line: usize,
    pub process: Option<String>,
    /// The op's value, in EDN.
    pub value: String,
}

impl fmt::Display for OpRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            Some(i) => write!(f, "op {i} (line {})", self.line)?,
            None => write!(f, "op at line {}", self.line)?,
        }
        if let Some(p) = &self.process {
            write!(f, " process {p}")?;
        }
        // Long values (full list reads) are cut for people; the JSON form keeps them whole.
        const MAX_CHARS: usize = 240;
        match self.value.char_indices().nth(MAX_CHARS) {
            Some((cut, _)) => write!(f, ": {}...", &self.value[..cut]),
            None => write!(f, ": {}", self.value),
        }
    }
}

/// One edge of an example cycle: `from` must precede `to` because of `edge`.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub from: usize,
    pub to: usize,
    /// `ww`, `wr`, `rw`, `process` or `realtime`.
    pub edge: String,
    pub why: String,
}

/// One anomaly found in a history.
#[derive(Debug, Clone, Serialize)]
pub struct Anomaly {
    /// Elle's name for it: `G0`, `G1a`, `G-single-item-realtime`, `lost-update`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong, in one or two sentences.
    pub explanation: String,
    /// The operations involved; a cycle's steps refer to them by position (T0, T1, ...).
    pub ops: Vec<OpRef>,
    /// For cycles: the edges of one example cycle, in order, returning to `ops[0]`.
    pub cycle: Vec<Step>,
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "  {}: {}", self.kind, self.explanation)?;
        for (i, op) in self.ops.iter().enumerate() {
            writeln!(f, "    T{i} = {op}")?;
        }
        for s in &self.cycle {
            writeln!(f, "    T{} -{}-> T{}: {}", s.from, s.edge, s.to, s.why)?;
        }
        Ok(())
    }
}

/// Counts that help judge how much a check saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    pub ops: usize,
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
    /// Dependency-graph edges (transactional checkers).
    pub edges: usize,
    /// Steps spent searching (cycle search, or linearization attempts).
    pub search_steps: u64,
    pub elapsed_ms: u128,
}

/// The result of checking one history.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub workload: Workload,
    /// The models judged against (transactional checkers), empty when anomalies were named directly.
    pub models: Vec<Model>,
    /// Sorted, distinct names of the anomalies in `anomalies`.
    pub anomaly_types: Vec<String>,
    /// Examples of each anomaly type that the models forbid or that make the verdict unknown
    /// (at most a few per type; `anomaly_counts` has the totals).
    pub anomalies: Vec<Anomaly>,
    /// Total number of anomalies found per type (only the reported types).
    pub anomaly_counts: BTreeMap<String, usize>,
    /// Anomaly types that were found but that the chosen models allow.
    pub allowed_anomaly_types: Vec<String>,
    /// Models the anomalies found (reported or allowed) rule out. A lower bound: only anomalies the
    /// chosen models or options asked for were searched.
    pub ruled_out: Vec<Model>,
    pub stats: Stats,
    /// Remarks that are not anomalies (e.g. ambiguous writes, search bounds).
    pub notes: Vec<String>,
}

impl Report {
    /// The report as pretty-printed JSON.
    pub fn to_json(&self) -> String {
        // Serializing plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} history: {}", self.workload, self.verdict)?;
        if !self.models.is_empty() {
            let names: Vec<_> = self.models.iter().map(|m| m.to_string()).collect();
            write!(f, " (models: {})", names.join(", "))?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "{} ops: {} ok, {} failed, {} indeterminate; {} edges; {} search steps; {} ms",
            self.stats.ops,
            self.stats.ok,
            self.stats.fail,
            self.stats.info,
            self.stats.edges,
            self.stats.search_steps,
            self.stats.elapsed_ms
        )?;
        if !self.anomaly_counts.is_empty() {
            let counts: Vec<_> = self
                .anomaly_counts
                .iter()
                .map(|(t, n)| format!("{t} x{n}"))
                .collect();
            writeln!(f, "anomalies: {}", counts.join(", "))?;
        }
        for a in &self.anomalies {
            write!(f, "{a}")?;
        }
        if !self.allowed_anomaly_types.is_empty() {
            writeln!(
                f,
                "also found, allowed by the models: {}",
                self.allowed_anomaly_types.join(", ")
            )?;
        }
        if !self.ruled_out.is_empty() {
            let names: Vec<_> = self.ruled_out.iter().map(|m| m.to_string()).collect();
            writeln!(f, "ruled out: {}", names.join(", "))?;
        }
        for n in &self.notes {
            writeln!(f, "note: {n}")?;
        }
        Ok(())
    }
}
