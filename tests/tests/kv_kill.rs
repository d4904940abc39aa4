//! A real process writes synced batches to a store on disk and is killed with SIGKILL; the
//! reopened store must hold every batch the child reported as synced, each one whole.
//!
//! The child is this same test binary, re-run with an environment variable naming the data
//! directory (so no extra binary needs building).
#![expect(clippy::unwrap_used, reason = "tests")]

use std::io::{BufRead, BufReader};
use std::ops::Bound;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chronos_kv::{Db, Direction, Options, WriteBatch, WriteOptions};

const CHILD_ENV: &str = "CHRONOS_KILL_TEST_CHILD_DIR";
const KEYS_PER_BATCH: u64 = 5;

/// The child: 4 threads write synced batches forever, printing each batch number once synced.
/// Small memtables make flushes and compactions happen while it is killed.
fn child(dir: &str) {
    let opts = Options {
        write_buffer_size_bytes: 64 << 10,
        level_base_bytes: 256 << 10,
        target_file_size_bytes: 64 << 10,
        ..Options::default()
    };
    let db = Arc::new(Db::open(dir, opts).unwrap());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for n in 0.. {
                    let batch_id = n * 4 + t;
                    let mut b = WriteBatch::new();
                    for k in 0..KEYS_PER_BATCH {
                        b.put(format!("b{batch_id:08}-{k}").as_bytes(), &[b'x'; 200])
                            .unwrap();
                    }
                    db.write(b, WriteOptions::SYNC).unwrap();
                    println!("synced {batch_id}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn sigkill_during_synced_writes_loses_no_acknowledged_batch() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child(&dir);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for round in 0..3 {
        let mut proc = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "sigkill_during_synced_writes_loses_no_acknowledged_batch",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(proc.stdout.take().unwrap());
        let mut synced = Vec::new();
        let start = Instant::now();
        // Kill after a number of acknowledged batches that varies per round (or a time bound).
        let target = 300 + round * 400;
        for line in stdout.lines() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("synced ") {
                synced.push(id.parse::<u64>().unwrap());
            }
            if synced.len() >= target || start.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        proc.kill().unwrap(); // SIGKILL on Unix
        proc.wait().unwrap();
        assert!(
            !synced.is_empty(),
            "round {round}: the child never acknowledged a write"
        );

        let db = Db::open(dir.path(), Options::default()).unwrap();
        let keys: std::collections::HashSet<Vec<u8>> = db
            .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .unwrap()
            .map(|e| e.unwrap().0)
            .collect();
        for id in &synced {
            for k in 0..KEYS_PER_BATCH {
                assert!(
                    keys.contains(format!("b{id:08}-{k}").as_bytes()),
                    "round {round}: synced batch {id} lost key {k}"
                );
            }
        }
        // Batches are whole: every batch present has all its keys.
        for key in &keys {
            let id = &key[..9];
            for k in 0..KEYS_PER_BATCH {
                let mut sibling = id.to_vec();
                sibling.extend_from_slice(format!("-{k}").as_bytes());
                assert!(
                    keys.contains(&sibling),
                    "round {round}: batch {} is partial",
                    String::from_utf8_lossy(id)
                );
            }
        }
        db.verify().unwrap();
    }
}
