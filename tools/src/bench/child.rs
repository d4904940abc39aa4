//! One engine and one group of workloads per child process, so that each peak RSS (`VmHWM`,
//! which only ever grows) belongs to that engine and group alone.
//!
//! The parent runs `chronos bench kv --workload G [--engine E] --child-dir D ...`; the child
//! prints progress on stderr and tab-separated lines on stdout:
//! `result <engine> <workload> <ops> <seconds>`, `rss <VmHWM KiB> <peak RssAnon KiB>` and
//! `note <text>`. The engine of a result is `disk` for the raw fsync probe.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::KvBenchArgs;
use super::engines::EngineKind;
use super::workloads::{self, Engine, Measured};

/// A group of workloads that runs in one child process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Group {
    /// Sequential keys, one buffered commit each.
    Fillseq,
    /// fillrandom, then readrandom and a full scan of what it wrote.
    Random,
    /// The disk's raw append + fdatasync rate, then synced single-key commits from 1, 8 and
    /// 64 writers (a fresh store for each): the probe runs right before the engine, so the
    /// two see the same disk weather.
    Durable,
    /// Load `--memory-keys` keys in batches and read some back: does memory stay bounded?
    Memory,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Group::Fillseq => "fillseq",
            Group::Random => "fillrandom+readrandom+scan",
            Group::Durable => "raw fsync + durable writes",
            Group::Memory => "memory",
        }
    }
}

/// What a child reported.
#[derive(Debug, Default)]
pub struct ChildReport {
    /// (engine, workload, ops, seconds).
    pub results: Vec<(String, String, u64, f64)>,
    /// Peak RSS (`VmHWM`) and peak anonymous RSS (sampled), in KiB.
    pub rss_kib: Option<(u64, u64)>,
    pub notes: Vec<String>,
}

/// Runs one child and collects its report; its stderr (progress) goes to ours.
pub fn spawn(
    args: &KvBenchArgs,
    engine: EngineKind,
    group: Group,
    dir: &Path,
) -> Result<ChildReport> {
    let exe = std::env::current_exe().context("finding the chronos binary")?;
    let writers: Vec<String> = args.writers.iter().map(ToString::to_string).collect();
    let mut cmd = Command::new(exe);
    cmd.args(["bench", "kv", "--workload", clap_name(group)])
        .arg("--child-dir")
        .arg(dir)
        .args(["--keys", &args.keys.to_string()])
        .args(["--sync-writes", &args.sync_writes.to_string()])
        .args(["--sync-seconds", &args.sync_seconds.to_string()])
        .args(["--writers", &writers.join(",")])
        .args(["--memory-keys", &args.memory_keys.to_string()])
        .args(["--seed", &args.seed.to_string()])
        .args(["--engine", engine.name()])
        .stdin(Stdio::null())
        .stderr(Stdio::inherit());
    let out = cmd.output().context("starting a benchmark child")?;
    if !out.status.success() {
        bail!("child exited with {}", out.status);
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

fn clap_name(group: Group) -> &'static str {
    match group {
        Group::Fillseq => "fillseq",
        Group::Random => "random",
        Group::Durable => "durable",
        Group::Memory => "memory",
    }
}

fn parse(stdout: &str) -> Result<ChildReport> {
    let mut report = ChildReport::default();
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["result", engine, name, ops, secs] => report.results.push((
                engine.to_string(),
                name.to_string(),
                ops.parse()?,
                secs.parse()?,
            )),
            ["rss", hwm, anon] => report.rss_kib = Some((hwm.parse()?, anon.parse()?)),
            ["note", text] => report.notes.push(text.to_string()),
            _ => bail!("unexpected line from a benchmark child: {line:?}"),
        }
    }
    Ok(report)
}

/// The child side: runs `group` on `engine` in `dir`, printing the report on stdout.
pub fn run(args: &KvBenchArgs, engine: EngineKind, group: Group, dir: &Path) -> Result<()> {
    let stop = AtomicBool::new(false);
    let peak_anon = AtomicU64::new(0);
    std::thread::scope(|scope| -> Result<()> {
        scope.spawn(|| sample_anon_rss(&stop, &peak_anon));
        let outcome = run_group(args, engine, group, dir);
        stop.store(true, Ordering::Relaxed);
        outcome
    })?;
    let hwm = status_kib("VmHWM").unwrap_or(0);
    outln!("rss\t{hwm}\t{}", peak_anon.load(Ordering::Relaxed));
    Ok(())
}

fn run_group(args: &KvBenchArgs, engine: EngineKind, group: Group, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let label = engine.name();
    let open = |sub: &str, durable: bool| engine.open(&dir.join(sub), durable);
    let (n, seed) = (args.keys, args.seed);
    match group {
        Group::Fillseq => {
            let e = open("fillseq", false)?;
            emit(
                label,
                &workloads::fill(e.as_ref(), "fillseq", n, true, seed)?,
            );
            describe(label, e.as_ref());
        }
        Group::Random => {
            let e = open("random", false)?;
            emit(
                label,
                &workloads::fill(e.as_ref(), "fillrandom", n, false, seed)?,
            );
            describe(label, e.as_ref());
            emit(label, &workloads::read_random(e.as_ref(), n, n, seed)?);
            emit(label, &workloads::scan_all(e.as_ref(), n)?);
            describe(label, e.as_ref());
        }
        Group::Durable => {
            for m in workloads::raw_fsync(dir, args.sync_writes)? {
                emit("disk", &m);
            }
            let cap = Duration::from_secs_f64(args.sync_seconds);
            for &w in &args.writers {
                let e = open(&format!("sync-{w}"), true)?;
                emit(
                    label,
                    &workloads::durable(e.as_ref(), w, args.sync_writes, cap, seed)?,
                );
                describe(label, e.as_ref());
            }
        }
        Group::Memory => {
            let e = open("memory", false)?;
            let m = args.memory_keys;
            let mut load = workloads::load(e.as_ref(), m, seed)?;
            load.workload = format!("memory: load {m} keys");
            emit(label, &load);
            let mut read = workloads::read_random(e.as_ref(), (m / 10).min(200_000), m, seed)?;
            read.workload = format!("memory: readrandom over {m} keys");
            emit(label, &read);
            describe(label, e.as_ref());
        }
    }
    Ok(())
}

fn emit(engine: &str, m: &Measured) {
    errln!(
        "    {engine:<8} {:<32} {:>12.0} ops/s  ({} ops in {:.2} s)",
        m.workload,
        m.ops_per_sec(),
        m.ops,
        m.elapsed.as_secs_f64()
    );
    outln!(
        "result\t{engine}\t{}\t{}\t{}",
        m.workload,
        m.ops,
        m.elapsed.as_secs_f64()
    );
}

fn describe(engine: &str, e: &dyn Engine) {
    if let Some(text) = e.describe() {
        errln!("    {engine:<8} {text}");
        outln!("note\t{text}");
    }
}

/// A field of `/proc/self/status` in KiB (Linux only; `None` elsewhere).
pub fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// `VmHWM` counts file pages mapped in (SSTables are mmapped), which the kernel can drop at
/// will; the engine's own memory is the anonymous part, whose peak the kernel does not keep,
/// so sample it.
fn sample_anon_rss(stop: &AtomicBool, peak: &AtomicU64) {
    while !stop.load(Ordering::Relaxed) {
        if let Some(kib) = status_kib("RssAnon") {
            peak.fetch_max(kib, Ordering::Relaxed);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_child_reports() {
        let r = parse("result\tdisk\traw fsync\t1000\t0.5\nnote\tL0:1\nrss\t2048\t1024\n")
            .expect("well-formed report");
        let expected = ("disk".to_string(), "raw fsync".to_string(), 1000, 0.5);
        assert_eq!(r.results, vec![expected]);
        assert_eq!(r.rss_kib, Some((2048, 1024)));
        assert_eq!(r.notes, vec!["L0:1".to_string()]);
        assert!(parse("garbage").is_err());
    }
}
