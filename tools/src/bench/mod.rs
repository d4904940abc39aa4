//! `chronos bench kv`: the storage engine against peer engines, in the same run, on the same
//! disk, reported as medians and ratios (absolute figures drift on shared machines; ratios
//! between engines measured side by side carry over).
//!
//! # What is measured
//! 16-byte keys (hex digits), 100-byte values from a seeded xorshift generator:
//! - `fillseq`: `--keys` keys in ascending order, one buffered commit each (in the OS, not
//!   synced: survives a process crash, not a power loss).
//! - `fillrandom`: the same number of keys in scattered order, one buffered commit each; then
//!   `readrandom`: as many point reads of uniformly picked written keys (each must be found),
//!   and `scan`: one full forward scan (every key must come back). Reads run right after the
//!   fill, on whatever shape the engine is in by then.
//! - `sync xW`: W threads each commit up to `--sync-writes` synced single-key writes (stopping
//!   early after `--sync-seconds`), on a fresh store per W; W is 1, 8 and 64 by default. The
//!   rate with many writers over the rate with one shows group commit at work.
//! - `raw fsync`: append 4 KiB + `fdatasync`, `--sync-writes` times, in the same directory: the
//!   most a single writer waiting for its own sync can commit. It runs right before each
//!   engine's synced writes (same process, same disk weather); the table shows the median of
//!   all probes. `raw fsync overwrite` then rewrites the same blocks (+ `fdatasync`): the
//!   cheaper, steadier case of a log that reuses its file's blocks, for reference.
//! - Memory: peak RSS (`VmHWM`) and sampled peak anonymous RSS of each engine's process;
//!   `--memory-keys N` also loads N keys in batches and reads some back, to show that memory
//!   stays bounded (memtables + filters + indexes) as data grows.
//!
//! # How
//! The parent process runs each (engine, workload group) in a child process of this binary
//! (hidden `--workload`/`--engine`/`--child-dir` flags) so that peak RSS is per engine; each
//! child gets a fresh directory in a temporary folder under `--dir`, removed afterwards, and
//! the parent runs `sync` first so that no child pays for the previous one's writeback. Each
//! measurement is repeated `--runs` times with the engine order rotated, and the tables show
//! medians. Peers (SQLite in WAL mode, fjall) are compiled in only with the `peers` feature.
//! Nothing here asserts timings; the targets are printed as met or missed.

mod child;
mod engines;
#[cfg(feature = "peers")]
mod peers;
mod pg;
mod report;
mod sql;
mod workloads;

use std::path::PathBuf;

use anyhow::{Context, Result};
use chronos_kv::Options;

use child::Group;
use engines::EngineKind;
use report::{Results, mib, rate};

/// Arguments of `chronos bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BenchCommand {
    /// The storage engine against peer engines: fills, reads, scans, durable writes, memory.
    Kv(KvBenchArgs),
    /// The SQL engine against SQLite: bulk and autocommit inserts, point selects, an index
    /// range scan with an aggregate, a join.
    Sql(sql::SqlBenchArgs),
    /// pgbench select-only and TPC-B against Chronos (one node and a 3-node cluster) and a
    /// PostgreSQL it starts, in the same run, with ratios.
    Pg(pg::PgBenchArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct KvBenchArgs {
    /// Keys written by fillseq and fillrandom, and point reads by readrandom.
    #[arg(long, default_value_t = 1_000_000)]
    keys: u64,
    /// Repetitions of every measurement (engine order rotated); tables show medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Synced writes per writer thread in the durable workloads (and raw fsyncs).
    #[arg(long, default_value_t = 2000)]
    sync_writes: u64,
    /// Writer threads for the durable workloads.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 8, 64])]
    writers: Vec<usize>,
    /// Each durable workload stops after this many seconds (the rate counts what completed).
    #[arg(long, default_value_t = 5.0)]
    sync_seconds: f64,
    /// Also load this many keys (in batches of 1000) per engine and report peak memory; 0: off.
    #[arg(long, default_value_t = 0)]
    memory_keys: u64,
    /// Engines to run (default: all compiled in).
    #[arg(long, value_delimiter = ',')]
    engines: Vec<EngineKind>,
    /// Parent of the temporary data directory (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the value and key-pick generators.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// (internal) Run one workload group in this process: the child mode.
    #[arg(long, hide = true, value_enum)]
    workload: Option<Group>,
    /// (internal) The engine of the child mode.
    #[arg(long, hide = true, value_enum)]
    engine: Option<EngineKind>,
    /// (internal) The data directory of the child mode.
    #[arg(long, hide = true)]
    child_dir: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> Result<()> {
    match args.command {
        BenchCommand::Kv(kv) => match (kv.workload, &kv.child_dir) {
            (Some(group), Some(dir)) => {
                let engine = kv.engine.context("--workload needs --engine")?;
                child::run(&kv, engine, group, dir)
            }
            (Some(_), None) => anyhow::bail!("--workload needs --child-dir"),
            (None, _) => run_kv(&kv),
        },
        BenchCommand::Sql(args) => sql::run(&args),
        BenchCommand::Pg(args) => pg::run(&args),
    }
}

/// The engines to run: those asked for (all compiled in when none are), refusing one that is not
/// compiled in; says how to compile the peers in when they are not.
fn select_engines<E: Copy + PartialEq>(
    requested: &[E],
    compiled: Vec<E>,
    name: impl Fn(E) -> &'static str,
    peers: &str,
    command: &str,
) -> Result<Vec<E>> {
    if let Some(&e) = requested.iter().find(|e| !compiled.contains(e)) {
        anyhow::bail!(
            "{} is not compiled in: build with `--features peers`",
            name(e)
        );
    }
    if !cfg!(feature = "peers") {
        errln!(
            "note: {peers} not compiled in; to compare, run \
             `cargo run --release -p chronos-tools --features peers -- {command}`"
        );
    }
    Ok(if requested.is_empty() {
        compiled
    } else {
        requested.to_vec()
    })
}

fn run_kv(args: &KvBenchArgs) -> Result<()> {
    anyhow::ensure!(args.keys > 0, "--keys must be positive");
    anyhow::ensure!(
        args.writers.iter().all(|&w| w > 0),
        "--writers must be positive"
    );
    let engines = select_engines(
        &args.engines,
        EngineKind::compiled(),
        |e| e.name(),
        "peer engines (SQLite, fjall) are",
        "bench kv",
    )?;
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("chronos-bench-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a temporary directory in {}", base.display()))?;
    let names: Vec<&str> = engines.iter().map(|e| e.name()).collect();
    errln!(
        "chronos bench kv: {} keys, 16-byte keys, 100-byte values; engines {}; {} runs; \
         data in {}",
        args.keys,
        names.join(", "),
        args.runs,
        tmp.path().display()
    );

    let mut results = Results::default();
    let groups = [Group::Durable, Group::Fillseq, Group::Random];
    for run in 0..args.runs {
        let mut order = engines.clone();
        order.rotate_left(run % engines.len().max(1));
        for group in groups {
            for &engine in &order {
                step(args, &mut results, tmp.path(), run, engine, group);
            }
        }
    }
    if args.memory_keys > 0 {
        for &engine in &engines {
            step(
                args,
                &mut results,
                tmp.path(),
                args.runs,
                engine,
                Group::Memory,
            );
        }
    }
    let dir = tmp.path().display().to_string();
    tmp.close()
        .with_context(|| format!("removing the data directory {dir}"))?;
    print_report(args, &engines, &results);
    Ok(())
}

/// Runs one child, prints a progress line, and records what it measured (or that it failed).
fn step(
    args: &KvBenchArgs,
    results: &mut Results,
    tmp: &std::path::Path,
    run: usize,
    engine: EngineKind,
    group: Group,
) {
    let label = engine.name();
    let run_label = if group == Group::Memory {
        "memory".to_string()
    } else {
        format!("run {}/{}", run + 1, args.runs)
    };
    errln!("[{run_label}] {label}: {}", group.name());
    let dir = tmp.join(format!("r{run}-{label}-{group:?}"));
    quiesce();
    let outcome = child::spawn(args, engine, group, &dir);
    if let Err(e) = std::fs::remove_dir_all(&dir)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        errln!("warning: could not remove {}: {e}", dir.display());
    }
    match outcome {
        Ok(report) => {
            for (engine, workload, ops, secs) in &report.results {
                results.add_rate(workload, engine, *ops as f64 / secs.max(1e-9));
            }
            if let Some(kib) = report.rss_kib {
                errln!(
                    "    {label:<8} peak RSS {} (anonymous {})",
                    mib(kib.0),
                    mib(kib.1)
                );
                results.add_rss(label, group.name(), kib);
            }
            if group == Group::Memory {
                for note in report.notes {
                    results
                        .notes
                        .push(format!("{label} after the memory load: {note}"));
                }
            }
        }
        Err(e) => {
            errln!("    {label:<8} FAILED: {e:#}");
            results
                .failures
                .push(format!("[{run_label}] {label} {}: {e:#}", group.name()));
        }
    }
}

/// Writes back every dirty page system-wide (`sync(1)`), so that the next child does not pay
/// for the previous one's buffered writes. Best effort: a missing `sync` only adds noise.
fn quiesce() {
    if let Err(e) = std::process::Command::new("sync").status() {
        errln!("warning: could not run `sync` between steps: {e}");
    }
}

fn print_report(args: &KvBenchArgs, engines: &[EngineKind], results: &Results) {
    outln!();
    if args.runs > 0 {
        outln!(
            "chronos bench kv — {} keys (16 B keys, 100 B values), medians of {} runs, engine \
             order rotated; sync: up to {} writes per writer, {} s cap",
            args.keys,
            args.runs,
            args.sync_writes,
            args.sync_seconds
        );
    } else {
        outln!(
            "chronos bench kv — memory check only: {} keys (16 B keys, 100 B values)",
            args.memory_keys
        );
    }
    outln!();
    outprint!("{}", results.throughput_table());
    if !cfg!(feature = "peers") {
        outln!("(peers not compiled in: build with `--features peers` to add SQLite and fjall)");
    }

    if args.runs > 0 {
        print_durable_and_targets(args, engines, results);
    }

    outln!();
    outln!("Peak memory per child process (largest over runs):");
    outprint!("{}", results.memory_table());
    if args.memory_keys > 0 {
        let o = Options::default();
        let memtables = o.write_buffer_size_bytes * (1 + o.max_immutable_memtables);
        outln!(
            "Chronos memtable budget: {} ({} MiB memtable + {} frozen); bloom filters for {} \
             keys: {}",
            mib(memtables as u64 / 1024),
            o.write_buffer_size_bytes >> 20,
            o.max_immutable_memtables,
            args.memory_keys,
            mib(args.memory_keys * o.bloom_bits_per_key as u64 / 8 / 1024),
        );
    }
    outln!(
        "VmHWM includes mmapped SSTable pages (page cache the kernel may drop); anonymous RSS \
         is the engine's own heap, sampled every 10 ms."
    );
    for note in &results.notes {
        outln!("{note}");
    }
    if !results.failures.is_empty() {
        outln!();
        outln!("FAILURES:");
        for f in &results.failures {
            outln!("- {f}");
        }
    }
}

/// Durable-write ratios per engine, and the targets judged from the medians.
fn print_durable_and_targets(args: &KvBenchArgs, engines: &[EngineKind], results: &Results) {
    outln!();
    outln!("Durable writes:");
    let (lo, hi) = (
        args.writers.iter().copied().min().unwrap_or(1),
        args.writers.iter().copied().max().unwrap_or(1),
    );
    let fsync = results.median("raw fsync", "disk");
    let overwrite = results.median("raw fsync overwrite", "disk");
    let mut rows = Vec::new();
    for e in engines {
        let one = results.median(&format!("sync x{lo}"), e.name());
        let many = results.median(&format!("sync x{hi}"), e.name());
        rows.push(vec![
            e.name().to_string(),
            ratio(one, fsync),
            ratio(one, overwrite),
            ratio(many, one),
        ]);
    }
    outprint!(
        "{}",
        report::render(
            &[
                "engine",
                &format!("sync x{lo} / raw fsync"),
                &format!("sync x{lo} / raw overwrite"),
                &format!("sync x{hi} / sync x{lo}")
            ],
            &rows
        )
    );
    if let (Some(f), Some(o)) = (fsync, overwrite) {
        outln!(
            "raw fsync on this disk (medians of every probe): 4 KiB append + fdatasync {}/s; \
             4 KiB overwrite + fdatasync {}/s",
            rate(f),
            rate(o)
        );
    }

    outln!();
    outln!("Targets (Chronos):");
    for line in targets(results, lo, hi) {
        outln!("- {line}");
    }
}

fn ratio(num: Option<f64>, den: Option<f64>) -> String {
    match (num, den) {
        (Some(n), Some(d)) if d > 0.0 => format!("{:.2}x", n / d),
        _ => "n/a".into(),
    }
}

/// The targets, each judged met or missed from the medians.
fn targets(results: &Results, lo: usize, hi: usize) -> Vec<String> {
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let mut out = Vec::new();
    for w in ["fillrandom", "readrandom"] {
        let c = results.median(w, "chronos");
        for (peer, strict) in [("fjall", false), ("sqlite", true)] {
            let p = results.median(w, peer);
            let line = match (c, p) {
                (Some(c), Some(p)) => {
                    let ok = if strict { c > p } else { c >= p };
                    let op = if strict { ">" } else { ">=" };
                    format!("{w}: chronos {op} {peer}: {:.2}x — {}", c / p, verdict(ok))
                }
                _ => format!("{w}: chronos vs {peer}: not measured"),
            };
            out.push(line);
        }
    }
    let one = results.median(&format!("sync x{lo}"), "chronos");
    let many = results.median(&format!("sync x{hi}"), "chronos");
    let fsync = results.median("raw fsync", "disk");
    out.push(match (one, many) {
        (Some(o), Some(m)) => format!(
            "sync x{hi} >= 20x sync x{lo}: {}/s vs {}/s = {:.1}x — {}",
            rate(m),
            rate(o),
            m / o,
            verdict(m >= 20.0 * o)
        ),
        _ => "group commit: not measured".into(),
    });
    out.push(match (one, fsync) {
        (Some(o), Some(f)) => format!(
            "sync x{lo} within 1.5x of raw fsync: {}/s vs raw {}/s = {:.2}x (target >= 0.67x) — {}",
            rate(o),
            rate(f),
            o / f,
            verdict(o * 1.5 >= f)
        ),
        _ => "single-writer durable rate: not measured".into(),
    });
    out
}
