//! `chronos check run`: run a workload against an embedded database (default), a running
//! cluster (`--hosts A,B,C`, no faults) or a local cluster this command starts and injects
//! faults into (`--cluster N --nemesis kill|pause|partition|all`), write the history, check it,
//! print a summary and draw the picture.
//!
//! Output directory (`--out`, default `chronos-check-runs/<workload>-<unix seconds>`):
//! `history.edn` (or `history.jsonl`), `report.txt` (the summary and the checker's report),
//! `report.json` (the checker's report), `latency.svg`; with `--cluster`, the nodes' logs in
//! `nodes/`.
//!
//! Exit status as `chronos check history`: 0 valid, 1 invalid (an anomaly, or an acknowledged
//! write missing from the final reads), 2 unknown or the run could not be made.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chronos_check::history::OpType;
use chronos_check::{Model, Report, Verdict};
use chronos_sql::Engine;

use super::bank::Bank;
use super::cluster::ClusterConnector;
use super::list_append::ListAppend;
use super::nemesis::{Nemesis, Noop, Schedule};
use super::nemesis_cluster::{ClusterNemesis, LocalCluster, parse_faults};
use super::recorder::{to_edn, to_json_lines};
use super::registers::{Register, RwRegister};
use super::runner::{Progress, RunConfig, RunResult, run};
use super::svg;
use super::{Connector, Durability, EmbeddedConnector, Workload, WorkloadKind};

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// bank, list-append, rw-register or register.
    #[arg(long)]
    pub workload: String,
    /// Concurrent clients (threads, one session each).
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Operations over all clients (final reads come on top).
    #[arg(long, default_value_t = 1000)]
    pub ops: u64,
    /// Stop after this many seconds even if fewer ops ran.
    #[arg(long = "duration", default_value_t = 60.0)]
    pub duration_secs: f64,
    /// Run against the database in DIR (the workload's tables are dropped and recreated);
    /// without it, a temporary in-memory database.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Where to write the history, the report and the picture.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Consistency model(s) for list-append and rw-register (repeatable; default
    /// snapshot-isolation, what the embedded engine promises).
    #[arg(long = "model")]
    pub models: Vec<String>,
    /// Seed of the operation generators (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// History format: edn or json (JSON lines).
    #[arg(long, default_value = "edn")]
    pub format: String,
    /// Run against a running cluster: its nodes' client addresses (comma-separated); clients
    /// are spread over them round-robin. No faults are injected.
    #[arg(long, value_name = "HOST:PORT", value_delimiter = ',', conflicts_with_all = ["data_dir", "cluster"])]
    pub hosts: Vec<String>,
    /// Start a local cluster of N `chronos start` processes (under a temporary folder, peer
    /// links through fault-injecting proxies) and run against it; --nemesis then injects
    /// faults into it.
    #[arg(long, value_name = "N", conflicts_with = "data_dir")]
    pub cluster: Option<u64>,
    /// Per-request deadline in seconds for cluster clients (a miss is indeterminate).
    #[arg(long = "request-timeout", default_value_t = 5.0)]
    pub request_timeout_secs: f64,
    /// Fault injection: none; noop (records a fault schedule, injects nothing); with
    /// --cluster: kill (SIGKILL the leader, restart it), pause (SIGSTOP/SIGCONT the leader),
    /// partition (isolate the leader), all (those in turn).
    #[arg(long, default_value = "none")]
    pub nemesis: String,
    /// Seconds of quiet, then of fault, in the nemesis schedule.
    #[arg(long = "nemesis-interval", default_value_t = 5.0)]
    pub nemesis_interval_secs: f64,
    /// Bound on checking time in seconds before answering unknown.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
    /// Progress on stderr: auto (a bar on a terminal, else a line per second), bar, lines or
    /// none.
    #[arg(long, default_value = "auto")]
    pub progress: String,
}

/// Bounds that keep a mistyped flag from exhausting memory: the history (two entries per op,
/// a few hundred bytes each) is kept in memory until it is written and checked.
const MAX_OPS: u64 = 1_000_000;
const MAX_CLIENTS: usize = 1024;

/// The workload with this run's defaults (sized to the number of clients, as Elle does).
pub fn workload(kind: WorkloadKind, clients: usize) -> Box<dyn Workload> {
    let active_keys = clients.clamp(2, 16);
    match kind {
        WorkloadKind::Bank => Box::new(Bank::default()),
        WorkloadKind::ListAppend => Box::new(ListAppend::new(active_keys, 32, 4)),
        WorkloadKind::RwRegister => Box::new(RwRegister::new(active_keys, 32, 4)),
        WorkloadKind::Register => Box::new(Register::default()),
    }
}

/// Everything a finished run knows.
#[derive(Debug)]
pub struct Outcome {
    pub run: RunResult,
    pub report: Report,
    pub durability: Durability,
    pub verdict: Verdict,
    /// The summary printed for people.
    pub summary: String,
}

/// Sets up, runs and checks a workload; writes nothing.
pub fn run_and_check(
    workload: &dyn Workload,
    connector: &dyn Connector,
    cfg: &RunConfig,
    models: &[Model],
    limits: chronos_check::Limits,
    nemesis: Option<&mut dyn Nemesis>,
) -> anyhow::Result<Outcome> {
    let mut setup = connector
        .connect(u64::MAX)
        .map_err(|e| anyhow::anyhow!("connecting for setup: {e}"))?;
    workload
        .setup(setup.as_mut())
        .map_err(|e| anyhow::anyhow!("setting up the {} workload: {e}", workload.kind()))?;
    drop(setup);
    let nemesis_name = nemesis.as_ref().map(|n| n.name());
    let run = run(workload, connector, cfg, nemesis);
    let mut opts = workload.check_options();
    if !models.is_empty() {
        opts.txn.models = models.to_vec();
    }
    opts.limits = limits;
    // Check the history as written, so the check sees exactly what the file holds.
    let report = chronos_check::check_history(&to_edn(&run.history), &opts)
        .context("checking the recorded history")?;
    let durability = workload.durability(&run.history);
    let lost = matches!(&durability, Durability::Checked { lost } if !lost.is_empty());
    let verdict = if lost {
        Verdict::Invalid
    } else {
        report.verdict
    };
    let mut outcome = Outcome {
        run,
        report,
        durability,
        verdict,
        summary: String::new(),
    };
    outcome.summary = summarize(&outcome, workload, connector, cfg, nemesis_name.as_deref());
    Ok(outcome)
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1e6
}

fn summarize(
    outcome: &Outcome,
    workload: &dyn Workload,
    connector: &dyn Connector,
    cfg: &RunConfig,
    nemesis: Option<&str>,
) -> String {
    let Outcome {
        run,
        report,
        durability,
        verdict,
        ..
    } = outcome;
    let mut s = String::new();
    let count = |t: OpType| {
        run.history
            .iter()
            .filter(|o| o.op_type == t && o.process.as_ref().and_then(|p| p.as_int()).is_some())
            .count()
    };
    let (ok, fail, info) = (count(OpType::Ok), count(OpType::Fail), count(OpType::Info));
    let (samples, intervals) = svg::samples(&run.history);
    let mut lat: Vec<u64> = samples
        .iter()
        .map(|x| (x.end_ns - x.start_ns).max(0) as u64)
        .collect();
    lat.sort_unstable();
    let secs = run.elapsed.as_secs_f64();
    let _ = writeln!(
        s,
        "{} workload: {} clients on {}, seed {}",
        workload.kind(),
        cfg.clients,
        connector.describe(),
        cfg.seed
    );
    let _ = writeln!(
        s,
        "ran {secs:.2} s: {} ops: {ok} ok, {fail} failed, {info} indeterminate; {:.0} ops/s",
        ok + fail + info,
        (ok + fail + info) as f64 / secs.max(1e-9)
    );
    let _ = writeln!(
        s,
        "latency ms: p50 {:.2}, p95 {:.2}, p99 {:.2}, max {:.2}",
        percentile(&lat, 0.5),
        percentile(&lat, 0.95),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    let errors = run.recorder.errors();
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|(e, n)| format!("{e} x{n}")).collect();
        let _ = writeln!(s, "failure reasons: {}", list.join(", "));
    }
    if let Some(name) = nemesis {
        let _ = writeln!(s, "nemesis: {name}: {} fault intervals", intervals.len());
    }
    for w in &run.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    let _ = write!(s, "checker: {report}");
    match durability {
        Durability::Checked { lost } if lost.is_empty() => {
            let _ = writeln!(
                s,
                "lost acknowledged writes: 0 (checked against the final reads)"
            );
        }
        Durability::Checked { lost } => {
            let _ = writeln!(s, "lost acknowledged writes: {}", lost.len());
            for l in lost.iter().take(10) {
                let _ = writeln!(s, "  {l}");
            }
        }
        Durability::NotChecked(why) => {
            let _ = writeln!(s, "lost acknowledged writes: not checked ({why})");
        }
    }
    let anomalies: usize = report.anomaly_counts.values().sum();
    let _ = writeln!(s, "anomalies found: {anomalies}; verdict: {verdict}");
    s
}

fn exit_code(v: Verdict) -> ExitCode {
    ExitCode::from(match v {
        Verdict::Valid => 0,
        Verdict::Invalid => 1,
        Verdict::Unknown => 2,
    })
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// `chronos check run`.
pub fn run_command(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let kind: WorkloadKind = args.workload.parse()?;
    anyhow::ensure!(
        (1..=MAX_CLIENTS).contains(&args.clients),
        "--clients must be 1..={MAX_CLIENTS}"
    );
    anyhow::ensure!(
        (1..=MAX_OPS).contains(&args.ops),
        "--ops must be 1..={MAX_OPS}"
    );
    anyhow::ensure!(
        args.duration_secs.is_finite() && args.duration_secs > 0.0,
        "--duration must be a positive number of seconds"
    );
    anyhow::ensure!(
        args.nemesis_interval_secs.is_finite() && args.nemesis_interval_secs > 0.0,
        "--nemesis-interval must be a positive number of seconds"
    );
    let json = match args.format.as_str() {
        "edn" => false,
        "json" | "jsonl" => true,
        other => anyhow::bail!("unknown history format {other:?} (edn, json)"),
    };
    let models = args
        .models
        .iter()
        .map(|m| m.parse::<Model>())
        .collect::<Result<Vec<_>, _>>()?;
    let models = if models.is_empty() {
        vec![Model::SnapshotIsolation]
    } else {
        models
    };
    let faults = match args.nemesis.as_str() {
        "none" | "noop" => Vec::new(),
        other => {
            anyhow::ensure!(
                args.cluster.is_some(),
                "--nemesis {other} needs --cluster N (a cluster this command starts and owns)"
            );
            parse_faults(other)?
        }
    };
    anyhow::ensure!(
        args.request_timeout_secs.is_finite() && args.request_timeout_secs > 0.0,
        "--request-timeout must be a positive number of seconds"
    );
    let request_timeout = Duration::from_secs_f64(args.request_timeout_secs);
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let out = args.out.clone().unwrap_or_else(|| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        PathBuf::from("chronos-check-runs").join(format!("{kind}-{secs}"))
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let mut cluster = match args.cluster {
        Some(n) => {
            let logs = out.join("nodes");
            std::fs::create_dir_all(&logs)
                .with_context(|| format!("creating {}", logs.display()))?;
            let c = LocalCluster::start(n, &logs)?;
            errln!(
                "started a local cluster of {n} nodes at {} (data in {}, logs in {})",
                c.hosts().join(","),
                c.dir().display(),
                logs.display()
            );
            Some(c)
        }
        None => None,
    };
    let connector: Box<dyn Connector> = if let Some(c) = &cluster {
        Box::new(ClusterConnector::new(c.hosts(), request_timeout)?)
    } else if !args.hosts.is_empty() {
        Box::new(ClusterConnector::new(args.hosts.clone(), request_timeout)?)
    } else {
        let (engine, description) = match &args.data_dir {
            Some(dir) => (
                Engine::open(dir).with_context(|| format!("opening {}", dir.display()))?,
                format!("embedded database in {}", dir.display()),
            ),
            None => (
                Engine::temporary().context("creating a temporary database")?,
                "embedded temporary database".to_string(),
            ),
        };
        Box::new(EmbeddedConnector::new(engine, description))
    };
    let connector = connector.as_ref();
    let mut noop = Noop::default();
    let mut cluster_nemesis = match (&mut cluster, faults.is_empty()) {
        (Some(c), false) => Some(ClusterNemesis::new(c, faults)),
        _ => None,
    };
    let nemesis: Option<&mut dyn Nemesis> = match (&mut cluster_nemesis, args.nemesis.as_str()) {
        (Some(n), _) => Some(n),
        (None, "noop") => Some(&mut noop),
        _ => None,
    };
    let interval = Duration::from_secs_f64(args.nemesis_interval_secs);
    let progress = match args.progress.as_str() {
        "auto" => Progress::Auto,
        "bar" => Progress::Bar,
        "lines" => Progress::Lines,
        "none" | "quiet" => Progress::Quiet,
        other => anyhow::bail!("unknown progress style {other:?} (auto, bar, lines, none)"),
    };
    let cfg = RunConfig {
        clients: args.clients,
        ops: args.ops,
        duration: Duration::from_secs_f64(args.duration_secs),
        seed,
        progress,
        schedule: Schedule {
            quiet: interval,
            fault: interval,
        },
    };
    let limits = chronos_check::Limits {
        max_duration: Some(Duration::from_secs(args.timeout_secs)),
        ..chronos_check::Limits::default()
    };
    let workload = workload(kind, args.clients);
    let outcome = run_and_check(workload.as_ref(), connector, &cfg, &models, limits, nemesis)?;
    let history = if json {
        write(&out, "history.jsonl", &to_json_lines(&outcome.run.history))?
    } else {
        write(&out, "history.edn", &to_edn(&outcome.run.history))?
    };
    let title = format!(
        "chronos check run: {kind}, {} clients, {}: {}",
        args.clients,
        connector.describe(),
        outcome.verdict
    );
    let picture = write(
        &out,
        "latency.svg",
        &svg::render(&outcome.run.history, &title),
    )?;
    let report = write(&out, "report.txt", &outcome.summary)?;
    write(&out, "report.json", &outcome.report.to_json())?;
    outprint!("{}", outcome.summary);
    outln!(
        "wrote {}, {}, {}",
        history.display(),
        report.display(),
        picture.display()
    );
    Ok(exit_code(outcome.verdict))
}
