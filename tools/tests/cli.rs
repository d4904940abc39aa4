//! The `chronos` binary as a user runs it. (Also makes `cargo test` build the binary, which the
//! real-cluster tests of chronos-tests run.)
#![expect(clippy::unwrap_used, reason = "tests")]

use std::process::Command;

#[test]
fn check_run_refuses_real_faults_without_a_cluster_it_owns() {
    let out = Command::new(env!("CARGO_BIN_EXE_chronos"))
        .args(["check", "run", "--workload", "bank", "--nemesis", "kill"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs --cluster"), "{stderr}");
    let out = Command::new(env!("CARGO_BIN_EXE_chronos"))
        .args(["check", "run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for flag in ["--hosts", "--cluster", "--nemesis", "--request-timeout"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}
