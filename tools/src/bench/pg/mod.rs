//! `chronos bench pg`: pgbench against Chronos (one node, and a 3-node cluster) and against
//! a PostgreSQL 15 started from the machine's binaries, in the same run, reported as medians
//! and ratios (Chronos / PostgreSQL). Absolute figures drift on a shared machine; ratios of
//! servers measured side by side carry over.
//!
//! # What is measured
//! For each server: `pgbench -i -s SCALE` (or, where that fails — Chronos before COPY,
//! TIMESTAMP and `ALTER TABLE … ADD PRIMARY KEY` — the same tables made with plain SQL, said
//! so in the output), then `--runs` rounds of: select-only (`-S`) and the default TPC-B-like
//! script, each `--seconds` long with `--clients` connections, the simple query protocol, and
//! serialization failures retried (`--max-tries 100`; failed transactions are reported). The
//! server order rotates each round. PostgreSQL runs with its defaults (fsync and
//! synchronous_commit on); Chronos single node syncs each commit, the cluster commits
//! through Raft (a majority's fsync). Cluster clients connect to the leader's port (looked up
//! once the cluster has elected one; a follower would add a forwarding hop per statement).
//!
//! Nothing here asserts timings; the targets (select-only and TPC-B ≥ 0.5× PostgreSQL
//! on one node) are printed as met or missed.

mod pgbench;
mod servers;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use pgbench::{Measured, Script};
use servers::Server;

/// Arguments of `chronos bench pg`.
#[derive(Debug, Clone, clap::Args)]
pub struct PgBenchArgs {
    /// Which servers to measure (comma-separated): chronos, cluster, postgres.
    #[arg(long, value_delimiter = ',', default_values_t = ["chronos".to_owned(), "cluster".to_owned(), "postgres".to_owned()])]
    servers: Vec<String>,
    /// pgbench's scale factor (100,000 accounts per unit).
    #[arg(long, default_value_t = 1)]
    scale: u32,
    /// Client connections of each run.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Length of each run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Rounds of runs; tables show medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Directory of PostgreSQL's binaries (pgbench, psql, initdb, pg_ctl).
    #[arg(long, default_value = "/usr/lib/postgresql/15/bin")]
    pg_bin: PathBuf,
    /// Where the servers' data goes (a temporary folder inside, removed afterwards).
    #[arg(long)]
    dir: Option<PathBuf>,
}

const SCRIPTS: [Script; 2] = [Script::SelectOnly, Script::TpcB];

/// One server under test and how its tables were made.
struct Target {
    server: Server,
    /// "pgbench -i", or why plain SQL was used instead.
    init: String,
    /// Per script: every run's figures, or the error of a run that failed.
    results: Vec<Vec<Result<Measured, String>>>,
}

pub fn run(args: &PgBenchArgs) -> Result<()> {
    if args.runs == 0 || args.clients == 0 || args.seconds == 0 || args.scale == 0 {
        bail!("--runs, --clients, --seconds and --scale must be at least 1");
    }
    let pgbench = args.pg_bin.join("pgbench");
    if !pgbench.exists() {
        bail!(
            "{} not found: install PostgreSQL's client tools or give --pg-bin",
            pgbench.display()
        );
    }
    let exe = std::env::current_exe().context("locating the chronos binary")?;
    let parent = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent)?;
    let mut targets = Vec::new();
    for name in &args.servers {
        let server = match name.as_str() {
            "chronos" => Server::chronos_single(&exe, &parent),
            "cluster" => Server::chronos_cluster(&exe, &parent),
            "postgres" if !args.pg_bin.join("initdb").exists() => {
                outln!("postgres: no initdb in {}, skipped", args.pg_bin.display());
                continue;
            }
            "postgres" => Server::postgres(&args.pg_bin, &parent),
            other => bail!("unknown server {other:?} (chronos, cluster, postgres)"),
        }
        .with_context(|| format!("starting {name}"))?;
        outln!("{}: listening on 127.0.0.1:{}", server.name, server.port);
        let init = initialise(&args.pg_bin, &server, args.scale)?;
        outln!("{}: tables made by {init}", server.name);
        targets.push(Target {
            server,
            init,
            results: vec![Vec::new(); SCRIPTS.len()],
        });
    }
    for round in 0..args.runs {
        let n = targets.len();
        for k in 0..n {
            let t = &mut targets[(k + round) % n];
            for (s, script) in SCRIPTS.iter().enumerate() {
                let r = pgbench::run_once(
                    &args.pg_bin,
                    t.server.port,
                    *script,
                    args.clients,
                    args.seconds,
                )
                .map_err(|e| format!("{e:#}"));
                match &r {
                    Ok(m) => outln!(
                        "round {}: {} {}: {:.0} tps, {} failed, {} retried",
                        round + 1,
                        t.server.name,
                        script.name(),
                        m.tps,
                        m.failed,
                        m.retried
                    ),
                    Err(e) => outln!(
                        "round {}: {} {}: failed: {e}",
                        round + 1,
                        t.server.name,
                        script.name()
                    ),
                }
                t.results[s].push(r);
            }
        }
    }
    report(args, &targets);
    Ok(())
}

/// Makes pgbench's tables: `pgbench -i` if the server takes it, else plain SQL.
fn initialise(bin: &Path, server: &Server, scale: u32) -> Result<String> {
    match pgbench::initialise(bin, server.port, scale) {
        Ok(()) => Ok("pgbench -i".to_owned()),
        Err(e) => {
            let why = format!("{e:#}");
            let first = why
                .lines()
                .rev()
                .find(|l| l.contains("error") || l.contains("ERROR"))
                .unwrap_or("pgbench -i failed")
                .trim()
                .to_owned();
            pgbench::initialise_by_sql(bin, server.port, scale)
                .with_context(|| format!("{}: making the tables with SQL", server.name))?;
            Ok(format!("plain SQL (pgbench -i failed: {first})"))
        }
    }
}

fn median(mut xs: Vec<f64>) -> Option<f64> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    Some(xs[xs.len() / 2])
}

fn report(args: &PgBenchArgs, targets: &[Target]) {
    outln!(
        "\npgbench, scale {}, {} clients, {} s per run, median of {} run(s), simple protocol",
        args.scale,
        args.clients,
        args.seconds,
        args.runs
    );
    for (s, script) in SCRIPTS.iter().enumerate() {
        let medians: Vec<Option<f64>> = targets
            .iter()
            .map(|t| median(t.results[s].iter().flatten().map(|m| m.tps).collect()))
            .collect();
        let postgres = targets
            .iter()
            .position(|t| t.server.name == "postgresql")
            .and_then(|i| medians[i]);
        outln!("\n{}", script.name());
        outln!(
            "{:<18} {:>10} {:>8} {:>8} {:>12}  tables",
            "server",
            "tps",
            "failed",
            "errors",
            "vs postgres"
        );
        for (t, m) in targets.iter().zip(&medians) {
            let failed: u64 = t.results[s].iter().flatten().map(|m| m.failed).sum();
            let errors = t.results[s].iter().filter(|r| r.is_err()).count();
            let ratio = match (m, postgres) {
                (Some(m), Some(p)) if p > 0.0 => format!("{:.2}x", m / p),
                _ => "-".to_owned(),
            };
            let tps = m.map_or_else(|| "-".to_owned(), |m| format!("{m:.0}"));
            outln!(
                "{:<18} {:>10} {:>8} {:>8} {:>12}  {}",
                t.server.name,
                tps,
                failed,
                errors,
                ratio,
                t.init
            );
        }
        if let (Some(i), Some(p)) = (
            targets
                .iter()
                .position(|t| t.server.name == "chronos 1 node"),
            postgres,
        ) && let Some(m) = medians[i]
        {
            let met = if m >= 0.5 * p { "met" } else { "missed" };
            outln!("target: one node >= 0.5x PostgreSQL: {met} ({:.2}x)", m / p);
        }
    }
}
