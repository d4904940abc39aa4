//! Running pgbench against one server and reading its summary.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::servers::run;

/// The two workloads of the issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// `-S`: one primary-key SELECT per transaction.
    SelectOnly,
    /// The default TPC-B-like script: three UPDATEs, a SELECT and an INSERT per transaction.
    TpcB,
}

impl Script {
    pub fn name(self) -> &'static str {
        match self {
            Script::SelectOnly => "select-only (-S)",
            Script::TpcB => "TPC-B (default)",
        }
    }
}

/// What one pgbench run reported.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Transactions per second, without the initial connection time.
    pub tps: f64,
    /// Transactions that failed even after `--max-tries` attempts.
    pub failed: u64,
    /// Transactions retried at least once (serialization failures).
    pub retried: u64,
}

/// The connection arguments every pgbench and psql call shares.
fn connection(cmd: &mut Command, port: u16) -> &mut Command {
    cmd.args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "root"])
}

/// `pgbench -i -s scale` (no VACUUM: `-n` is not an init option, so skip its step `v`).
pub fn initialise(bin: &Path, port: u16, scale: u32) -> Result<()> {
    run(
        connection(&mut Command::new(bin.join("pgbench")), port).args([
            "-i",
            "-q",
            "-I",
            "dtgp",
            "-s",
            &scale.to_string(),
            "chronos",
        ]),
    )
}

/// The pgbench tables made with plain SQL (INTEGER and TEXT columns, multi-row INSERTs
/// through psql), for a server on which `pgbench -i` does not work: select-only needs only
/// these; TPC-B also needs the history table's timestamp.
pub fn initialise_by_sql(bin: &Path, port: u16, scale: u32) -> Result<()> {
    let mut sql = String::from(
        "DROP TABLE IF EXISTS pgbench_history; DROP TABLE IF EXISTS pgbench_tellers;\n\
         DROP TABLE IF EXISTS pgbench_accounts; DROP TABLE IF EXISTS pgbench_branches;\n\
         CREATE TABLE pgbench_branches (bid INTEGER PRIMARY KEY, bbalance INTEGER, filler TEXT);\n\
         CREATE TABLE pgbench_tellers (tid INTEGER PRIMARY KEY, bid INTEGER, tbalance INTEGER, filler TEXT);\n\
         CREATE TABLE pgbench_accounts (aid INTEGER PRIMARY KEY, bid INTEGER, abalance INTEGER, filler TEXT);\n\
         CREATE TABLE pgbench_history (tid INTEGER, bid INTEGER, aid INTEGER, delta INTEGER, mtime TEXT, filler TEXT);\n",
    );
    let scale = u64::from(scale);
    let values = |n: u64, row: &dyn Fn(u64) -> String| -> String {
        (1..=n).map(row).collect::<Vec<_>>().join(",")
    };
    sql += &format!(
        "INSERT INTO pgbench_branches VALUES {};\n",
        values(scale, &|b| format!("({b},0,'')"))
    );
    sql += &format!(
        "INSERT INTO pgbench_tellers VALUES {};\n",
        values(10 * scale, &|t| format!("({t},{},0,'')", (t - 1) / 10 + 1))
    );
    const BATCH: u64 = 1000;
    let accounts = 100_000 * scale;
    for first in (1..=accounts).step_by(BATCH as usize) {
        let rows: Vec<String> = (first..(first + BATCH).min(accounts + 1))
            .map(|a| format!("({a},{},0,'')", (a - 1) / 100_000 + 1))
            .collect();
        sql += &format!("INSERT INTO pgbench_accounts VALUES {};\n", rows.join(","));
    }
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("init.sql");
    std::fs::write(&file, sql)?;
    run(connection(&mut Command::new(bin.join("psql")), port)
        .args(["-d", "chronos", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(&file))
}

/// One bounded pgbench run: `clients` connections for `seconds`, the simple query protocol,
/// serialization failures retried (`--max-tries`).
pub fn run_once(
    bin: &Path,
    port: u16,
    script: Script,
    clients: usize,
    seconds: u64,
) -> Result<Measured> {
    let mut cmd = Command::new(bin.join("pgbench"));
    connection(&mut cmd, port).args([
        "-n",
        "-M",
        "simple",
        "-c",
        &clients.to_string(),
        "-j",
        &clients.min(4).to_string(),
        "-T",
        &seconds.to_string(),
        "--max-tries",
        "100",
    ]);
    if script == Script::SelectOnly {
        cmd.arg("-S");
    }
    cmd.arg("chronos");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting pgbench")?;
    // pgbench stops itself after -T; a server that stops answering must not hang the run.
    let deadline = Instant::now() + Duration::from_secs(seconds + 60);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("pgbench did not finish within {} s", seconds + 60);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let parsed = parse(&stdout);
    match parsed {
        Some(m) if out.status.success() || m.failed > 0 => Ok(m),
        _ => bail!(
            "pgbench failed ({}):\n{}{}",
            out.status,
            tail(&stdout),
            tail(&stderr)
        ),
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n") + "\n"
}

/// The figures of pgbench's summary.
fn parse(stdout: &str) -> Option<Measured> {
    let number_after = |prefix: &str| -> Option<f64> {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(prefix))?;
        line.trim_start()[prefix.len()..]
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    Some(Measured {
        tps: number_after("tps = ")?,
        failed: number_after("number of failed transactions:").map_or(0, |n| n as u64),
        retried: number_after("number of transactions retried:").map_or(0, |n| n as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary pgbench 15 prints.
    #[test]
    fn parses_pgbench_15_summary() {
        let out = "transaction type: <builtin: TPC-B (sort of)>\n\
                   scaling factor: 1\n\
                   number of transactions actually processed: 5321\n\
                   number of failed transactions: 3 (0.056%)\n\
                   number of transactions retried: 120 (2.254%)\n\
                   total number of retries: 140\n\
                   latency average = 30.1 ms\n\
                   initial connection time = 12.3 ms\n\
                   tps = 531.234567 (without initial connection time)\n";
        let m = parse(out).expect("parsed");
        assert!((m.tps - 531.234567).abs() < 1e-9);
        assert_eq!((m.failed, m.retried), (3, 120));
        assert!(parse("pgbench: error: connection refused\n").is_none());
    }
}
