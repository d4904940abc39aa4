//! Jepsen-style workloads with leader kills against a real 3-node cluster, through the
//! `chronos` binary: `chronos check run --cluster 3 --nemesis kill` starts three `chronos start`
//! processes (peer links through its proxies), runs the workload with the leader SIGKILLed and
//! restarted on a schedule, and judges the history. Required: valid under snapshot isolation
//! (zero anomalies) and no acknowledged write missing from the final reads.
//!
//! The binary is found next to this test's directory (`target/<profile>/chronos`, built by
//! `cargo test` when chronos-tools is among the tested packages, as in `cargo test --workspace`)
//! or at `$CHRONOS_BIN`.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chronos_tests::processes::chronos_bin;

/// Runs `chronos check run` with leader kills; returns (exit code, report.txt, history.edn).
fn run_with_kills(workload: &str, seed: u64) -> (i32, String, String) {
    run_check(workload, "kill", 14, seed)
}

/// Runs `chronos check run --cluster 3` with `nemesis` every 3 s for `duration_secs`; returns
/// (exit code, report.txt, history.edn).
fn run_check(
    workload: &str,
    nemesis: &str,
    duration_secs: u64,
    seed: u64,
) -> (i32, String, String) {
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(chronos_bin())
        .args([
            "check",
            "run",
            "--workload",
            workload,
            "--cluster",
            "3",
            "--nemesis",
            nemesis,
            "--nemesis-interval",
            "3",
            "--request-timeout",
            "2",
            "--duration",
            &duration_secs.to_string(),
            "--ops",
            "1000000",
            "--clients",
            "4",
            "--model",
            "snapshot-isolation",
            "--progress",
            "none",
            "--seed",
        ])
        .arg(seed.to_string())
        .arg("--out")
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(duration_secs + 120) {
            let _ = child.kill();
            panic!("chronos check run did not finish within {duration_secs} + 120 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = std::fs::read_to_string(out.path().join("report.txt")).unwrap_or_default();
    let history = std::fs::read_to_string(out.path().join("history.edn")).unwrap_or_default();
    eprintln!("{workload} with nemesis {nemesis}:\n{report}");
    (status.code().unwrap_or(-1), report, history)
}

/// The leader was killed (and restarted) at least twice, and transactions were acknowledged
/// while a killed node was down: the cluster failed over.
fn assert_failover(history: &str) {
    let lines: Vec<&str> = history.lines().collect();
    let kills: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains(":killed"))
        .collect();
    let restarts = lines.iter().filter(|l| l.contains("restarted n")).count();
    assert!(kills.len() >= 2, "expected >= 2 leader kills:\n{history}");
    assert!(restarts >= 1, "no node restarted");
    let first_kill = kills[0];
    let healed = (first_kill..lines.len())
        .find(|&i| lines[i].contains(":f :stop") && lines[i].contains("restarted"))
        .unwrap_or(lines.len());
    let ok_while_down = lines[first_kill..healed]
        .iter()
        .filter(|l| l.contains(":type :ok") && !l.contains(":nemesis"))
        .count();
    assert!(
        ok_while_down >= 5,
        "only {ok_while_down} ops acknowledged while the killed leader was down"
    );
}

#[test]
fn list_append_with_leader_kills_is_snapshot_isolated_and_loses_nothing() {
    let (code, report, history) = run_with_kills("list-append", 7);
    assert!(
        report.contains("lost acknowledged writes: 0 (checked against the final reads)"),
        "{report}"
    );
    assert!(
        report.contains("anomalies found: 0; verdict: valid"),
        "{report}"
    );
    assert_eq!(code, 0, "{report}");
    assert_failover(&history);
}

#[test]
fn bank_with_leader_kills_keeps_every_balance_and_total() {
    let (code, report, history) = run_with_kills("bank", 8);
    assert!(
        report.contains("anomalies found: 0; verdict: valid"),
        "{report}"
    );
    // With an indeterminate transfer the final balances cannot be replayed exactly; the
    // checker's total-balance check still holds every read to account for every transfer.
    assert!(
        report.contains("lost acknowledged writes: 0 (checked")
            || report
                .contains("lost acknowledged writes: not checked (a transfer is indeterminate"),
        "{report}"
    );
    assert_eq!(code, 0, "{report}");
    assert_failover(&history);
}

/// The soak's length: `CHRONOS_SOAK_SECS` (600 for the 10-minute run), 24 s by default so CI
/// stays short.
fn soak_secs() -> u64 {
    std::env::var("CHRONOS_SOAK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24)
}

/// The fault windows of a history (nemesis start with a target → its stop), in nanoseconds
/// since the run started, each with its fault ("killed", "paused", "isolated").
fn fault_windows(history: &str) -> Vec<(i64, i64, String)> {
    let mut out = Vec::new();
    let mut open: Option<(i64, String)> = None;
    for line in history.lines().filter(|l| l.contains(":process :nemesis")) {
        let Some(t) = time_of(line) else { continue };
        if line.contains(":f :start") {
            if let Some(f) = ["killed", "paused", "isolated"]
                .into_iter()
                .find(|f| line.contains(&format!(":{f} ")))
            {
                open = Some((t, f.to_string()));
            }
        } else if line.contains(":f :stop")
            && !line.contains(":value nil")
            && let Some((start, f)) = open.take()
        {
            out.push((start, t, f));
        }
    }
    if let Some((start, f)) = open {
        out.push((start, i64::MAX, f));
    }
    out
}

fn time_of(line: &str) -> Option<i64> {
    let rest = line.split(":time ").nth(1)?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The longest time without an acknowledged operation on any client during the run's first
/// `run_ns` (the final reads after it are not part of the workload), ignoring gaps that overlap
/// a window of one of the `excluded` faults. Returns (gap ns, from ns).
fn longest_gap_outside(history: &str, excluded: &[&str], run_ns: i64) -> (i64, i64) {
    let kills: Vec<(i64, i64)> = fault_windows(history)
        .into_iter()
        .filter(|(_, _, f)| excluded.contains(&f.as_str()))
        .map(|(a, b, _)| (a, b))
        .collect();
    let mut oks: Vec<i64> = history
        .lines()
        .filter(|l| l.contains(":type :ok") && !l.contains(":process :nemesis"))
        .filter_map(time_of)
        .filter(|t| *t < run_ns)
        .collect();
    oks.sort_unstable();
    oks.windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| !kills.iter().any(|(ks, ke)| a < ke && b > ks))
        .map(|(a, b)| (b - a, a))
        .max()
        .unwrap_or((0, 0))
}

/// The soak (issue 10): bank and list-append against a 3-node cluster under every fault in
/// turn (kill, pause, partition of the leader, one every 3 s): zero anomalies, no lost
/// acknowledged write, and throughput through every pause window: the longest time without an
/// acknowledged operation outside kill and partition windows stays below the fault window
/// (3 s).
///
/// Partition windows are measured and printed but not asserted: with the leader isolated by the
/// run's proxies, clients that lose their session cannot open a new one until the partition
/// heals (all reconnects resume right after it), a gap of about one window. That is an open
/// finding of this soak (see the server's module docs), not a bound this test proves.
fn soak(workload: &str, seed: u64) {
    let secs = soak_secs();
    let (code, report, history) = run_check(workload, "all", secs, seed);
    assert!(
        report.contains("anomalies found: 0; verdict: valid"),
        "{report}"
    );
    assert!(
        report.contains("lost acknowledged writes: 0 (checked")
            || report
                .contains("lost acknowledged writes: not checked (a transfer is indeterminate"),
        "{report}"
    );
    assert_eq!(code, 0, "{report}");
    let windows = fault_windows(&history);
    assert!(
        windows.len() >= 3,
        "expected every fault at least once: {windows:?}"
    );
    let secs_of = |ns: i64| ns as f64 / 1e9;
    let run_ns = i64::try_from(secs).unwrap_or(i64::MAX / 1_000_000_000) * 1_000_000_000;
    let (gap, from) = longest_gap_outside(&history, &["killed", "isolated"], run_ns);
    let (gap_partition, from_partition) = longest_gap_outside(&history, &["killed"], run_ns);
    eprintln!(
        "{workload} soak {secs} s: {} fault windows; longest gap between acknowledged ops \
         outside kill and partition windows: {:.3} s at {:.3} s; including partitions: \
         {:.3} s at {:.3} s",
        windows.len(),
        secs_of(gap),
        secs_of(from),
        secs_of(gap_partition),
        secs_of(from_partition)
    );
    assert!(
        gap < 3_000_000_000,
        "no acknowledged op for {:.3} s from {:.3} s (faults: {windows:?})",
        secs_of(gap),
        secs_of(from)
    );
}

#[test]
fn soak_bank_under_every_fault() {
    soak("bank", 21);
}

#[test]
fn soak_list_append_under_every_fault() {
    soak("list-append", 22);
}
