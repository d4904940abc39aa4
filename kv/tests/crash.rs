//! Crash tests on the in-memory filesystem.
//!
//! A workload of numbered batches runs on a [`FaultFs`] over a [`MemFs`]; every filesystem
//! operation after a random count fails (some failing writes land half their bytes), which
//! stops the engine mid-write, mid-flush, mid-compaction or mid-manifest-update. Then the
//! machine "loses power" ([`MemFs::crash`], keeping random torn prefixes of unsynced data) and
//! the store is reopened on the healthy filesystem. Requirements:
//! - the recovered state is exactly the state after some prefix of the batches (atomic
//!   batches, nothing reordered, nothing corrupt),
//! - that prefix includes every batch acknowledged as synced.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use chronos_kv::fs::{CrashMode, FaultFs, MemFs};
use chronos_kv::{Db, Direction, Options, WriteBatch, WriteOptions};

/// Batch `i`: puts a few keys derived from `i`, deletes one written earlier, and records `i`.
fn batch(i: u64, rng: &mut u64) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    let mut ops = Vec::new();
    for j in 0..(1 + next(rng) % 4) {
        let k = format!("k{:03}", next(rng) % 200).into_bytes();
        ops.push((
            k,
            Some(
                format!("{i}.{j}")
                    .repeat(1 + (next(rng) % 6) as usize)
                    .into_bytes(),
            ),
        ));
    }
    if next(rng).is_multiple_of(3) {
        ops.push((format!("k{:03}", next(rng) % 200).into_bytes(), None));
    }
    ops.push((b"last".to_vec(), Some(i.to_le_bytes().to_vec())));
    ops
}

fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn apply(model: &mut Model, ops: &[(Vec<u8>, Option<Vec<u8>>)]) {
    for (k, v) in ops {
        match v {
            Some(v) => model.insert(k.clone(), v.clone()),
            None => model.remove(k),
        };
    }
}

fn contents(db: &Db) -> Model {
    db.scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .unwrap()
        .map(|e| e.unwrap())
        .collect()
}

/// One crash scenario; returns (batches acknowledged, batch count recovered).
fn crash_once(seed: u64, fail_after_ops: u64, opts: &Options) -> (u64, u64) {
    let mem = MemFs::new();
    let faulty = FaultFs::new(Arc::new(mem.clone()));
    faulty.set_short_writes(seed.is_multiple_of(2));
    let dir = Path::new("/db");
    let mut rng = seed | 1;
    // States after each prefix of batches: states[n] = after batches 0..n.
    let mut states = vec![Model::new()];
    let mut acknowledged = 0u64;
    let mut last_synced_ack: Option<u64> = None;
    {
        let db = Db::open_with_fs(Arc::new(faulty.clone()), dir, opts.clone()).unwrap();
        faulty.fail_after(fail_after_ops);
        for i in 0..400u64 {
            let ops = batch(i, &mut rng);
            let mut b = WriteBatch::new();
            for (k, v) in &ops {
                match v {
                    Some(v) => b.put(k, v).unwrap(),
                    None => b.delete(k).unwrap(),
                };
            }
            let mut next_state = states.last().unwrap().clone();
            apply(&mut next_state, &ops);
            states.push(next_state);
            let sync = !next(&mut rng).is_multiple_of(3);
            let opts = if sync {
                WriteOptions::SYNC
            } else {
                WriteOptions::BUFFERED
            };
            match db.write(b, opts) {
                Ok(_) => {
                    acknowledged = i + 1;
                    if sync {
                        last_synced_ack = Some(i);
                    }
                }
                Err(_) => break,
            }
        }
        // The process dies here: dropping the handle may try to sync, against a failing disk.
    }
    mem.crash(CrashMode::TearUnsynced { seed });
    faulty.heal();
    let db = Db::open_with_fs(Arc::new(mem.clone()), dir, opts.clone())
        .unwrap_or_else(|e| panic!("seed {seed}, fail after {fail_after_ops}: reopen failed: {e}"));
    let got = contents(&db);
    let recovered = got.get(&b"last"[..]).map_or(0, |v| {
        u64::from_le_bytes(v.as_slice().try_into().unwrap()) + 1
    });
    assert!(
        (recovered as usize) < states.len(),
        "seed {seed}: recovered batch {recovered} that was never written"
    );
    assert_eq!(
        got, states[recovered as usize],
        "seed {seed}, fail after {fail_after_ops}: state is not the prefix of {recovered} batches"
    );
    if let Some(synced) = last_synced_ack {
        assert!(
            recovered > synced,
            "seed {seed}, fail after {fail_after_ops}: synced batch {synced} lost (recovered {recovered})"
        );
    }
    // The recovered store is healthy: it takes writes and survives another reopen.
    db.put(b"after", b"crash", WriteOptions::SYNC).unwrap();
    drop(db);
    let db = Db::open_with_fs(Arc::new(mem), dir, opts.clone()).unwrap();
    assert_eq!(db.get(b"after").unwrap(), Some(b"crash".to_vec()));
    (acknowledged, recovered)
}

fn seeds() -> u64 {
    std::env::var("CHRONOS_CRASH_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

#[test]
fn crash_at_random_points_keeps_every_synced_batch_and_nothing_torn() {
    let opts = Options::tiny();
    let mut total_recovered = 0;
    for seed in 1..=seeds() {
        let fail_after = 20 + (seed * 7919) % 3000;
        let (_, recovered) = crash_once(seed, fail_after, &opts);
        total_recovered += recovered;
    }
    assert!(total_recovered > 0, "the workload never got going");
}

#[test]
fn crash_without_faults_loses_only_unsynced_writes() {
    // A crash with a healthy disk: only the power cut.
    for seed in 1..=20 {
        let (acknowledged, recovered) = crash_once(seed, u64::MAX / 2, &Options::tiny());
        assert_eq!(acknowledged, 400);
        assert!(recovered <= 400);
    }
}

#[test]
fn failures_during_open_are_errors_and_leave_the_store_openable() {
    let mem = MemFs::new();
    let dir = Path::new("/db");
    {
        let db = Db::open_with_fs(Arc::new(mem.clone()), dir, Options::tiny()).unwrap();
        for i in 0..300u32 {
            db.put(&i.to_be_bytes(), &[1; 30], WriteOptions::SYNC)
                .unwrap();
        }
    }
    for n in 0..60 {
        let faulty = FaultFs::new(Arc::new(mem.clone()));
        faulty.fail_after(n);
        if let Ok(db) = Db::open_with_fs(Arc::new(faulty.clone()), dir, Options::tiny()) {
            drop(db);
        }
        mem.crash(CrashMode::TearUnsynced { seed: n + 1 });
        let db = Db::open_with_fs(Arc::new(mem.clone()), dir, Options::tiny()).unwrap();
        assert_eq!(
            contents(&db).len(),
            300,
            "failing open after {n} ops lost data"
        );
    }
}
