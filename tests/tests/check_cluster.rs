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

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chronos_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CHRONOS_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/check_cluster-<hash> -> target/<profile>/chronos
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join(format!("chronos{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build -p chronos-tools, or test with \
         -p chronos-tools / --workspace) or set CHRONOS_BIN",
        bin.display()
    );
    bin
}

/// Runs `chronos check run` with leader kills; returns (exit code, report.txt, history.edn).
fn run_with_kills(workload: &str, seed: u64) -> (i32, String, String) {
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
            "kill",
            "--nemesis-interval",
            "3",
            "--request-timeout",
            "2",
            "--duration",
            "14",
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
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("chronos check run did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = std::fs::read_to_string(out.path().join("report.txt")).unwrap_or_default();
    let history = std::fs::read_to_string(out.path().join("history.edn")).unwrap_or_default();
    eprintln!("{workload} with leader kills:\n{report}");
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
