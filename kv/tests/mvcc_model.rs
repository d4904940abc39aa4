//! MVCC visibility against a simple model: every committed state is kept by timestamp, and
//! reads at any snapshot, time-travel reads, garbage collection and reopening must agree with it.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use chronos_kv::fs::MemFs;
use chronos_kv::mvcc::{
    CommitVerdict, HybridClock, KvBatch, ManualClock, MvccOptions, MvccStore, Timestamp,
};
use chronos_kv::{Db, Direction, Error, Options, WriteOptions};
use proptest::prelude::*;

type State = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Clone)]
enum Op {
    /// Commit a transaction writing these keys (None deletes).
    Commit(Vec<(u8, Option<u8>)>),
    /// Read everything as of the state `n` commits ago.
    TimeTravel(u8),
    Advance(u16),
    Gc,
    Compact,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((0u8..12, prop::option::of(any::<u8>())), 1..5).prop_map(Op::Commit),
        3 => (0u8..10).prop_map(Op::TimeTravel),
        2 => (0u16..400).prop_map(Op::Advance),
        1 => Just(Op::Gc),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn k(i: u8) -> Vec<u8> {
    vec![b'k', i, 0, i]
}

const RETENTION_MS: u64 = 1_000;

fn open(fs: &MemFs, wall: &Arc<ManualClock>) -> Arc<MvccStore> {
    let db = Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), Options::tiny()).unwrap();
    let opts = MvccOptions {
        retention_ms: RETENTION_MS,
        ..MvccOptions::default()
    };
    MvccStore::open(db, HybridClock::new(wall.clone()), opts).unwrap()
}

fn read_all(store: &Arc<MvccStore>, ts: Timestamp, direction: Direction) -> Result<State, Error> {
    let t = store.begin_as_of(ts)?;
    let mut out = State::new();
    for e in t.scan(Bound::Unbounded, Bound::Unbounded, direction)? {
        let (key, v) = e?;
        out.insert(key, v);
    }
    Ok(out)
}

fn run(ops: &[Op]) {
    let fs = MemFs::new();
    let wall = Arc::new(ManualClock::new(10_000));
    let mut store = open(&fs, &wall);
    // (commit timestamp, wall time at commit, state after it)
    let mut history: Vec<(Timestamp, u64, State)> = vec![(Timestamp::ZERO, 0, State::new())];
    for op in ops {
        match op {
            Op::Commit(writes) => {
                let mut t = store.begin();
                let mut next = history.last().unwrap().2.clone();
                for (key, v) in writes {
                    match v {
                        Some(v) => {
                            t.put(&k(*key), &[*v]).unwrap();
                            next.insert(k(*key), vec![*v]);
                        }
                        None => {
                            t.delete(&k(*key)).unwrap();
                            next.remove(&k(*key));
                        }
                    }
                }
                let ts = t.commit().unwrap();
                assert!(
                    ts > history.last().unwrap().0,
                    "commit timestamps must grow"
                );
                history.push((ts, wall.now_millis_for_test(), next));
            }
            Op::TimeTravel(back) => {
                let i = history.len().saturating_sub(1 + *back as usize);
                let (ts, _, want) = &history[i];
                match read_all(
                    &store,
                    *ts,
                    if back % 2 == 0 {
                        Direction::Forward
                    } else {
                        Direction::Reverse
                    },
                ) {
                    Ok(got) => assert_eq!(&got, want, "as of {ts}"),
                    Err(Error::TimestampOutOfRange { .. }) => {
                        assert!(
                            *ts < store.gc_watermark(),
                            "refused a read above the watermark"
                        );
                    }
                    Err(e) => panic!("{e}"),
                }
                for (key, v) in want.iter().take(3) {
                    if *ts >= store.gc_watermark() {
                        assert_eq!(store.get_at(key, *ts).unwrap().as_ref(), Some(v));
                    }
                }
            }
            Op::Advance(ms) => wall.advance(u64::from(*ms)),
            Op::Gc => {
                let report = store.gc().unwrap();
                // Every state at or after the watermark is still readable exactly.
                for (ts, _, want) in history.iter().filter(|(ts, _, _)| *ts >= report.watermark) {
                    assert_eq!(
                        &read_all(&store, *ts, Direction::Forward).unwrap(),
                        want,
                        "after gc, as of {ts}"
                    );
                }
            }
            Op::Compact => store.engine().compact().unwrap(),
            Op::Reopen => {
                drop(store);
                store = open(&fs, &wall);
            }
        }
    }
    let (last, _, want) = history.last().unwrap();
    assert_eq!(
        &read_all(&store, store.last_commit_ts(), Direction::Forward).unwrap(),
        want
    );
    assert_eq!(store.last_commit_ts(), *last);
}

trait NowForTest {
    fn now_millis_for_test(&self) -> u64;
}

impl NowForTest for ManualClock {
    fn now_millis_for_test(&self) -> u64 {
        chronos_kv::mvcc::WallClock::now_millis(self)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    #[test]
    fn mvcc_matches_model_with_gc_and_reopen(ops in prop::collection::vec(op(), 1..120)) {
        run(&ops);
    }
}

#[test]
fn gc_returns_space_and_keeps_every_visible_version() {
    let fs = MemFs::new();
    let wall = Arc::new(ManualClock::new(10_000));
    let store = open(&fs, &wall);
    for round in 0..40u32 {
        let mut t = store.begin();
        for i in 0..50u8 {
            t.put(&k(i), &round.to_le_bytes().repeat(25)).unwrap();
        }
        t.commit().unwrap();
    }
    let keep_ts = store.last_commit_ts();
    let pinned = store.begin_read_only();
    store.engine().compact().unwrap();
    let before = store
        .engine()
        .stats()
        .levels
        .iter()
        .map(|l| l.bytes)
        .sum::<u64>();
    wall.advance(10 * RETENTION_MS);
    let report = store.gc().unwrap();
    assert_eq!(
        report.watermark, keep_ts,
        "the pinned snapshot bounds the watermark"
    );
    assert_eq!(report.versions_removed, 39 * 50);
    store.engine().compact_all().unwrap();
    let after = store
        .engine()
        .stats()
        .levels
        .iter()
        .map(|l| l.bytes)
        .sum::<u64>();
    assert!(
        after * 5 < before,
        "space did not come back: {before} -> {after} bytes"
    );
    for i in 0..50u8 {
        assert_eq!(
            pinned.get(&k(i)).unwrap(),
            Some(39u32.to_le_bytes().repeat(25))
        );
    }
    assert!(matches!(
        store.begin_as_of(Timestamp::new(10_000, 3)),
        Err(Error::TimestampOutOfRange { .. })
    ));
}

#[test]
fn write_set_limit_and_read_only_are_enforced() {
    let fs = MemFs::new();
    let db = Db::open_with_fs(Arc::new(fs), Path::new("/db"), Options::tiny()).unwrap();
    let opts = MvccOptions {
        max_write_set_bytes: 100,
        ..MvccOptions::default()
    };
    let store = MvccStore::open(db, HybridClock::new(Arc::new(ManualClock::new(1))), opts).unwrap();
    let mut t = store.begin();
    t.put(b"a", &[0; 60]).unwrap();
    t.put(b"a", &[0; 90]).unwrap(); // replacing a buffered write re-counts it
    let err = t.put(b"b", &[0; 20]).unwrap_err();
    assert!(
        matches!(err, Error::WriteSetTooLarge { limit: 100, .. }),
        "{err}"
    );
    t.commit().unwrap();
    let mut r = store.begin_read_only();
    assert!(matches!(r.put(b"x", b"y"), Err(Error::ReadOnly)));
    assert!(matches!(
        store.begin_as_of(store.last_commit_ts().next()),
        Err(Error::TimestampOutOfRange { .. })
    ));
}

#[test]
fn apply_is_deterministic_across_replicas() {
    // Two replicas apply the same batches in the same order: same verdicts, same bytes.
    let replicas: Vec<(MemFs, Arc<MvccStore>)> = (0..2)
        .map(|_| {
            let fs = MemFs::new();
            let db =
                Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), Options::tiny()).unwrap();
            (
                fs,
                MvccStore::open(
                    db,
                    HybridClock::new(Arc::new(ManualClock::new(0))),
                    MvccOptions::default(),
                )
                .unwrap(),
            )
        })
        .collect();
    let batches = [
        KvBatch {
            read_ts: Timestamp::new(0, 0),
            commit_ts: Timestamp::new(5, 0),
            writes: vec![(b"a".to_vec(), Some(b"1".to_vec()))],
        },
        KvBatch {
            read_ts: Timestamp::new(0, 0),
            commit_ts: Timestamp::new(6, 0),
            writes: vec![(b"a".to_vec(), Some(b"2".to_vec()))],
        },
        KvBatch {
            read_ts: Timestamp::new(5, 0),
            commit_ts: Timestamp::new(7, 0),
            writes: vec![(b"a".to_vec(), None), (b"b".to_vec(), Some(b"3".to_vec()))],
        },
    ];
    let mut verdicts = Vec::new();
    for (_, store) in &replicas {
        let v: Vec<CommitVerdict> = batches
            .iter()
            .map(|b| store.apply(&KvBatch::decode(&b.encode()).unwrap()).unwrap())
            .collect();
        verdicts.push(v);
    }
    assert_eq!(verdicts[0], verdicts[1]);
    assert_eq!(
        verdicts[0][1],
        CommitVerdict::Conflict { key: b"a".to_vec() }
    );
    assert!(
        replicas[0].1.apply(&batches[0]).is_err(),
        "a stale commit timestamp is refused"
    );
    let dump = |s: &Arc<MvccStore>| -> Vec<_> {
        s.engine()
            .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
            .unwrap()
            .map(|e| e.unwrap())
            .collect()
    };
    assert_eq!(dump(&replicas[0].1), dump(&replicas[1].1));
    replicas[0]
        .1
        .engine()
        .put(b"\x02unrelated", b"", WriteOptions::BUFFERED)
        .unwrap();
}
