//! Model-based and metamorphic tests: random operation logs run against the engine and a
//! `BTreeMap` in lockstep, and the same log run under very different configurations.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use chronos_kv::fs::MemFs;
use chronos_kv::{BackgroundMode, Db, Direction, Options, Snapshot, WriteBatch, WriteOptions};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Put(u8, Vec<u8>),
    Delete(u8),
    Batch(Vec<(u8, Option<Vec<u8>>)>),
    Get(u8),
    Scan {
        lo: Option<u8>,
        hi: Option<u8>,
        reverse: bool,
    },
    Prefix(u8),
    TakeSnapshot,
    ReadSnapshot(u8),
    Flush,
    Compact,
    CompactAll,
    Reopen,
}

/// A small key space so keys are overwritten and deleted often; some keys share prefixes.
fn key(k: u8) -> Vec<u8> {
    if k.is_multiple_of(4) {
        vec![b'p', k / 16]
    } else {
        format!("k{:03}", k).into_bytes()
    }
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..40)
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u8..64;
    prop_oneof![
        10 => (k.clone(), value()).prop_map(|(k, v)| Op::Put(k, v)),
        4 => k.clone().prop_map(Op::Delete),
        3 => prop::collection::vec((k.clone(), prop::option::of(value())), 1..8).prop_map(Op::Batch),
        6 => k.clone().prop_map(Op::Get),
        3 => (prop::option::of(k.clone()), prop::option::of(k.clone()), any::<bool>())
            .prop_map(|(lo, hi, reverse)| Op::Scan { lo, hi, reverse }),
        1 => (0u8..4).prop_map(Op::Prefix),
        1 => Just(Op::TakeSnapshot),
        2 => k.prop_map(Op::ReadSnapshot),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::CompactAll),
        1 => Just(Op::Reopen),
    ]
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Runs `ops` on a fresh store with `opts`, checking every read against the model; returns the
/// outputs of every read, for comparison across configurations.
fn run(ops: &[Op], opts: &Options) -> Vec<String> {
    let fs = MemFs::new();
    let open = || Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), opts.clone()).unwrap();
    let mut db = open();
    let mut model = Model::new();
    let mut snapshot: Option<(Snapshot, Model)> = None;
    let mut outputs = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Put(k, v) => {
                db.put(&key(*k), v, WriteOptions::BUFFERED).unwrap();
                model.insert(key(*k), v.clone());
            }
            Op::Delete(k) => {
                db.delete(&key(*k), WriteOptions::BUFFERED).unwrap();
                model.remove(&key(*k));
            }
            Op::Batch(ops) => {
                let mut b = WriteBatch::new();
                for (k, v) in ops {
                    match v {
                        Some(v) => {
                            b.put(&key(*k), v).unwrap();
                            model.insert(key(*k), v.clone());
                        }
                        None => {
                            b.delete(&key(*k)).unwrap();
                            model.remove(&key(*k));
                        }
                    }
                }
                db.write(b, WriteOptions::SYNC).unwrap();
            }
            Op::Get(k) => {
                let got = db.get(&key(*k)).unwrap();
                assert_eq!(
                    got.as_ref(),
                    model.get(&key(*k)),
                    "op {i}: get {:?}",
                    key(*k)
                );
                outputs.push(format!("{got:?}"));
            }
            Op::Scan { lo, hi, reverse } => {
                let (lo, hi) = (lo.map(key), hi.map(key));
                let lower = lo.as_deref().map_or(Bound::Unbounded, Bound::Included);
                let upper = hi.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
                let direction = if *reverse {
                    Direction::Reverse
                } else {
                    Direction::Forward
                };
                let got: Vec<_> = db
                    .scan(lower, upper, direction)
                    .unwrap()
                    .map(|e| e.unwrap())
                    .collect();
                let mut want: Vec<_> = if lo.is_some() && hi.is_some() && lo > hi {
                    Vec::new()
                } else {
                    model
                        .range::<[u8], _>((lower, upper))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                if *reverse {
                    want.reverse();
                }
                assert_eq!(got, want, "op {i}: scan");
                outputs.push(format!("{got:?}"));
            }
            Op::Prefix(p) => {
                let prefix = [b'p', *p];
                let got: Vec<_> = db
                    .scan_prefix(&prefix, Direction::Forward)
                    .unwrap()
                    .map(|e| e.unwrap())
                    .collect();
                let want: Vec<_> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(got, want, "op {i}: prefix");
                outputs.push(format!("{got:?}"));
            }
            Op::TakeSnapshot => snapshot = Some((db.snapshot(), model.clone())),
            Op::ReadSnapshot(k) => {
                if let Some((snap, old)) = &snapshot {
                    let got = snap.get(&key(*k)).unwrap();
                    assert_eq!(got.as_ref(), old.get(&key(*k)), "op {i}: snapshot get");
                    let all: Vec<_> = snap
                        .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
                        .unwrap()
                        .map(|e| e.unwrap())
                        .collect();
                    assert_eq!(all.len(), old.len(), "op {i}: snapshot scan");
                    outputs.push(format!("{got:?}"));
                }
            }
            Op::Flush => db.flush().unwrap(),
            Op::Compact => db.compact().unwrap(),
            Op::CompactAll => db.compact_all().unwrap(),
            Op::Reopen => {
                // Snapshots pin the old store's files; a reopen ends them as a restart would.
                snapshot = None;
                drop(db);
                db = open();
            }
        }
    }
    let all: Vec<_> = db
        .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    let want: Vec<_> = model.into_iter().collect();
    assert_eq!(all, want, "final state");
    outputs
}

fn configs() -> Vec<(&'static str, Options)> {
    vec![
        ("tiny", Options::tiny()),
        (
            "tiny-blocks-restart-1",
            Options {
                block_size_bytes: 1,
                block_restart_interval: 1,
                bloom_bits_per_key: 1,
                ..Options::tiny()
            },
        ),
        (
            "defaults-inline",
            Options {
                background: BackgroundMode::Inline,
                ..Options::default()
            },
        ),
    ]
}

fn cases() -> u32 {
    std::env::var("CHRONOS_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_btreemap_model(ops in prop::collection::vec(op(), 1..400)) {
        run(&ops, &Options::tiny());
    }

    #[test]
    fn metamorphic_same_results_under_every_configuration(ops in prop::collection::vec(op(), 1..300)) {
        let configs = configs();
        let baseline = run(&ops, &configs[0].1);
        for (name, opts) in &configs[1..] {
            prop_assert_eq!(&run(&ops, opts), &baseline, "configuration {} diverged", name);
        }
    }
}

#[test]
fn background_thread_mode_matches_model_under_load() {
    let ops: Vec<Op> = (0..3000u32)
        .map(|i| match i % 7 {
            0 => Op::Delete((i * 31 % 64) as u8),
            1 => Op::Get((i * 17 % 64) as u8),
            2 if i % 700 == 2 => Op::Reopen,
            3 if i % 300 == 3 => Op::Scan {
                lo: None,
                hi: None,
                reverse: i % 2 == 0,
            },
            _ => Op::Put((i * 13 % 64) as u8, i.to_le_bytes().repeat(5)),
        })
        .collect();
    run(
        &ops,
        &Options {
            background: BackgroundMode::Thread,
            ..Options::tiny()
        },
    );
}

#[test]
fn tiny_configuration_reaches_deep_levels() {
    let fs = MemFs::new();
    let db = Db::open_with_fs(Arc::new(fs), Path::new("/db"), Options::tiny()).unwrap();
    for i in 0..2000u32 {
        db.put(
            &key((i % 64) as u8),
            &i.to_le_bytes().repeat(8),
            WriteOptions::BUFFERED,
        )
        .unwrap();
        db.put(&i.to_be_bytes(), b"x", WriteOptions::BUFFERED)
            .unwrap();
    }
    let stats = db.stats();
    assert!(stats.flushes > 10 && stats.compactions > 5, "{stats}");
    assert!(stats.levels[2].files > 0, "{stats}");
}
