//! Fuzzing of the Raft log's decoders: segments and the snapshot file, damaged by bit flips,
//! truncation, garbage, huge lengths, and payloads re-framed with valid checksums (which reach
//! the entry decoder and the replay logic behind the checksum).
//!
//! Property: opening damaged storage is an error or returns what was written (every entry it
//! returns is the one written at that index, the snapshot is the one taken); entries may be
//! missing only when the newest segment lost a tail a crash could have cut. Never a panic.
//!
//! `CHRONOS_FUZZ_CASES=N` runs N cases per property (default 64, what CI runs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chronos_io::fs::{FileSystem, MemFs};
use chronos_io::record;
use proptest::prelude::*;

use super::{FileStorage, LogStorage};
use crate::codec::{self, Dec};
use crate::types::{Entry, EntryPayload, HardState, Index, Membership, Snapshot, SnapshotMeta};

fn config() -> ProptestConfig {
    let cases = std::env::var("CHRONOS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const DIR: &str = "/raft";
const SEGMENT_BYTES: u64 = 700;

struct Base {
    fs: MemFs,
    entries: BTreeMap<Index, Entry>,
    /// Every entry ever appended, including the ones a later term's rewrite replaced.
    written: Vec<Entry>,
    snapshot: Snapshot,
}

/// Several segments, a rewritten suffix, a compaction (snapshot file) and a hard state.
fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let fs = MemFs::new();
        let mut s = FileStorage::open_with(Arc::new(fs.clone()), DIR, SEGMENT_BYTES).expect("open");
        let ent = |index: Index, term: u64| Entry {
            index,
            term,
            payload: EntryPayload::Normal(format!("entry {index} of term {term}").into_bytes()),
        };
        let first: Vec<Entry> = (1..=40).map(|i| ent(i, 1)).collect();
        s.append(&first).expect("append");
        let rewrite: Vec<Entry> = (30..=60).map(|i| ent(i, 2)).collect();
        s.append(&rewrite).expect("append");
        s.set_hard_state(HardState {
            term: 2,
            vote: Some(1),
            commit: 50,
        })
        .expect("hs");
        let snapshot = Snapshot {
            meta: SnapshotMeta {
                index: 20,
                term: 1,
                membership: Membership::with_voters([1, 2, 3]),
            },
            data: b"state machine at 20".to_vec(),
        };
        s.compact(&snapshot).expect("compact");
        s.sync().expect("sync");
        let entries = s
            .initial_state()
            .expect("state")
            .entries
            .into_iter()
            .map(|e| (e.index, e))
            .collect();
        drop(s);
        let written = first.into_iter().chain(rewrite).collect();
        Base {
            fs,
            entries,
            written,
            snapshot,
        }
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(Vec<(prop::sample::Index, u8)>),
    Truncate(prop::sample::Index),
    HugeLength(prop::sample::Index, bool),
    Garbage(Vec<u8>),
    Append(Vec<u8>),
    /// Replace one record's payload bytes and re-frame it with a valid checksum.
    Reframe(prop::sample::Index, Vec<(prop::sample::Index, u8)>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let flips = || prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4);
    prop_oneof![
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4)
            .prop_map(|f| Mutation::Flip(f.into_iter().map(|(i, b)| (i, 1 << b)).collect())),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), any::<bool>()).prop_map(|(i, w)| Mutation::HugeLength(i, w)),
        prop::collection::vec(any::<u8>(), 0..400).prop_map(Mutation::Garbage),
        prop::collection::vec(any::<u8>(), 1..40).prop_map(Mutation::Append),
        (any::<prop::sample::Index>(), flips()).prop_map(|(r, f)| Mutation::Reframe(r, f)),
    ]
}

fn xor_at(data: &mut [u8], flips: &[(prop::sample::Index, u8)]) {
    if data.is_empty() {
        return;
    }
    for (at, x) in flips {
        let at = at.index(data.len());
        data[at] ^= x;
    }
}

fn apply(m: &Mutation, mut data: Vec<u8>) -> Vec<u8> {
    match m {
        Mutation::Flip(flips) => xor_at(&mut data, flips),
        Mutation::Truncate(at) => data.truncate(at.index(data.len() + 1)),
        Mutation::HugeLength(at, wide) => {
            let huge: &[u8] = if *wide {
                &[0xff; 8]
            } else {
                &[0xf0, 0xff, 0xff, 0xff]
            };
            if data.len() >= huge.len() {
                let at = at.index(data.len() - huge.len() + 1);
                data[at..at + huge.len()].copy_from_slice(huge);
            }
        }
        Mutation::Garbage(g) => data.clone_from(g),
        Mutation::Append(g) => data.extend_from_slice(g),
        Mutation::Reframe(pick, flips) => {
            let scan = record::scan(&data);
            if scan.records.is_empty() {
                return data;
            }
            let mut out = Vec::new();
            let victim = pick.index(scan.records.len());
            for (i, (_, payload)) in scan.records.iter().enumerate() {
                let mut p = payload.to_vec();
                if i == victim {
                    xor_at(&mut p, flips);
                }
                record::encode(&mut out, &p).expect("small");
            }
            return out;
        }
    }
    data
}

fn files(fs: &MemFs) -> Vec<PathBuf> {
    fs.list_dir(Path::new(DIR))
        .expect("list")
        .into_iter()
        .filter(|n| n.ends_with(".seg") || n == "snapshot")
        .map(|n| Path::new(DIR).join(n))
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn damaged_log_is_an_error_or_what_was_written(pick in any::<prop::sample::Index>(), m in mutation()) {
        let base = base();
        let fs = base.fs.deep_copy();
        let mut targets = files(&fs);
        targets.sort();
        let path = &targets[pick.index(targets.len())];
        let data = fs.read_all(path).expect("read");
        let damaged = apply(&m, data.clone());
        let mut f = fs.create(path).expect("create");
        f.write_all(&damaged).expect("write");
        f.sync().expect("sync");
        drop(f);
        let newest = targets.iter().filter(|p| p.extension().is_some_and(|e| e == "seg")).max();
        let cut_newest = Some(path) == newest
            && matches!(m, Mutation::Truncate(_) | Mutation::Garbage(_));
        let reframed = matches!(m, Mutation::Reframe(..));
        let Ok(s) = FileStorage::open_with(Arc::new(fs.clone()), DIR, SEGMENT_BYTES) else {
            return Ok(());
        };
        let st = s.initial_state().expect("state");
        if reframed {
            // A payload with a valid checksum is taken at its word; only "no panic" holds.
            return Ok(());
        }
        prop_assert_eq!(st.snapshot.as_ref(), Some(&base.snapshot));
        if cut_newest {
            // What a crash could leave: the log at an earlier point, so an entry may be the
            // version an older term wrote at its index (the rewrite was cut away).
            for e in &st.entries {
                prop_assert!(base.written.contains(e), "entry {} was never written", e.index);
            }
        } else {
            let got: BTreeMap<Index, &Entry> = st.entries.iter().map(|e| (e.index, e)).collect();
            let want: BTreeMap<Index, &Entry> = base.entries.iter().map(|(i, e)| (*i, e)).collect();
            prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn entry_and_snapshot_decoders_take_garbage(data in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = codec::get_entry(&mut Dec::new(&data));
        let _ = codec::get_hard_state(&mut Dec::new(&data));
        let _ = codec::get_snapshot(&mut Dec::new(&data));
    }
}
