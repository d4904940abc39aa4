//! Issue 10 item 8 (the lock part): the data directory locks of the kv store and of the Raft
//! log are OS advisory locks (flock) that die with their process. While a child process holds
//! them, opening fails with a clear "in use" error naming its pid; the moment it is SIGKILLed
//! and reaped, the parent opens both at once, with no retry loop and no stale-lock window.
//!
//! The child is this same test binary, re-run with an environment variable naming the data
//! directory.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use chronos_kv::{Db, Options};
use chronos_raft::storage::FileStorage;

const CHILD_ENV: &str = "CHRONOS_LOCK_TEST_CHILD_DIR";
const TEST_NAME: &str = "a_sigkilled_holder_never_leaves_a_stale_lock";

fn open_both(
    dir: &Path,
) -> (
    Result<Db, chronos_kv::Error>,
    chronos_raft::Result<FileStorage>,
) {
    (
        Db::open(dir.join("kv"), Options::default()),
        FileStorage::open(dir.join("raft"), 1 << 20),
    )
}

/// The child: take both locks, say so, and wait to be killed.
fn child(dir: &Path) {
    let (db, raft) = open_both(dir);
    let (_db, _raft) = (db.unwrap(), raft.unwrap());
    println!("locked");
    loop {
        std::thread::park();
    }
}

#[test]
fn a_sigkilled_holder_never_leaves_a_stale_lock() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(Path::new(&dir));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..5 {
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(proc.stdout.take().unwrap());
        let mut line = String::new();
        while !line.contains("locked") {
            line.clear();
            assert!(
                stdout.read_line(&mut line).unwrap() > 0,
                "child exited early"
            );
        }

        // Held by a live process: both refuse, naming the holder.
        let (db, raft) = open_both(tmp.path());
        let pid = proc.id().to_string();
        match db {
            Err(e @ chronos_kv::Error::Locked { .. }) => {
                assert!(e.to_string().contains(&pid), "round {round}: {e}")
            }
            other => panic!("round {round}: kv open while held: {:?}", other.err()),
        }
        match raft {
            Err(e @ chronos_raft::Error::Locked { .. }) => {
                assert!(e.to_string().contains(&pid), "round {round}: {e}")
            }
            other => panic!("round {round}: raft open while held: {:?}", other.err()),
        }

        proc.kill().unwrap(); // SIGKILL
        proc.wait().unwrap();
        // Immediately: no retry, no sleep.
        let (db, raft) = open_both(tmp.path());
        db.unwrap_or_else(|e| panic!("round {round}: kv reopen after SIGKILL: {e}"));
        raft.unwrap_or_else(|e| panic!("round {round}: raft reopen after SIGKILL: {e}"));
    }
}
