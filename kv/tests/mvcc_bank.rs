//! Concurrent bank transfers: the total never changes in any snapshot, and every committed
//! transfer is reflected exactly once.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::ops::Bound;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chronos_kv::mvcc::{HybridClock, ManualClock, MvccOptions, MvccStore, Transaction};
use chronos_kv::{Db, Direction, Options};

const ACCOUNTS: u64 = 8;
const INITIAL: i64 = 1_000;

fn account(i: u64) -> Vec<u8> {
    format!("acct{i:02}").into_bytes()
}

fn balance(t: &Transaction, i: u64) -> i64 {
    String::from_utf8(t.get(&account(i)).unwrap().unwrap())
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn concurrent_transfers_preserve_the_total_in_every_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        write_buffer_size_bytes: 32 << 10,
        ..Options::default()
    };
    let db = Db::open(dir.path(), opts).unwrap();
    let store = MvccStore::open(
        db,
        HybridClock::new(Arc::new(ManualClock::new(1))),
        MvccOptions {
            sync_commits: false,
            ..MvccOptions::default()
        },
    )
    .unwrap();
    let mut t = store.begin();
    for i in 0..ACCOUNTS {
        t.put(&account(i), INITIAL.to_string().as_bytes()).unwrap();
    }
    t.commit().unwrap();

    let committed = Arc::new(AtomicU64::new(0));
    let conflicts = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..6u64)
        .map(|w| {
            let (store, committed, conflicts) =
                (store.clone(), committed.clone(), conflicts.clone());
            std::thread::spawn(move || {
                let mut rng = w * 7919 + 1;
                let mut next = move || {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    rng
                };
                let mut log = Vec::new();
                for _ in 0..300 {
                    let (from, to) = (next() % ACCOUNTS, next() % ACCOUNTS);
                    if from == to {
                        continue;
                    }
                    let amount = (next() % 50) as i64;
                    let mut t = store.begin();
                    let (a, b) = (balance(&t, from), balance(&t, to));
                    t.put(&account(from), (a - amount).to_string().as_bytes())
                        .unwrap();
                    t.put(&account(to), (b + amount).to_string().as_bytes())
                        .unwrap();
                    match t.commit() {
                        Ok(_) => {
                            committed.fetch_add(1, Ordering::Relaxed);
                            log.push((from, to, amount));
                        }
                        Err(e) if e.is_retryable() => {
                            conflicts.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("transfer failed: {e}"),
                    }
                }
                log
            })
        })
        .collect();
    let auditors: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let t = store.begin_read_only();
                    let total: i64 = t
                        .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
                        .unwrap()
                        .map(|e| {
                            String::from_utf8(e.unwrap().1)
                                .unwrap()
                                .parse::<i64>()
                                .unwrap()
                        })
                        .sum();
                    assert_eq!(
                        total,
                        INITIAL * ACCOUNTS as i64,
                        "a snapshot saw money appear or vanish"
                    );
                }
            })
        })
        .collect();
    let mut expected = vec![INITIAL; ACCOUNTS as usize];
    for w in workers {
        for (from, to, amount) in w.join().unwrap() {
            expected[from as usize] -= amount;
            expected[to as usize] += amount;
        }
    }
    for a in auditors {
        a.join().unwrap();
    }
    let t = store.begin_read_only();
    let actual: Vec<i64> = (0..ACCOUNTS).map(|i| balance(&t, i)).collect();
    assert_eq!(
        actual, expected,
        "every committed transfer applied exactly once"
    );
    assert!(committed.load(Ordering::Relaxed) > 0 && conflicts.load(Ordering::Relaxed) > 0);
}
