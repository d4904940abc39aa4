//! Fuzzing of every decoder of bytes read from disk: WAL records and write batches, SSTable
//! footers, index, filter and data blocks, manifest edits, and whole data directories.
//!
//! Property: damaged input is an error or the data that was written, never a panic, and no
//! length field makes a decoder allocate more than the input could hold. Inputs are garbage,
//! truncations, bit flips and lengths overwritten with huge values, applied to real files
//! written by the engine.
//!
//! `CHRONOS_FUZZ_CASES=N` runs N cases per property (default 64, what CI runs).

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use proptest::prelude::*;

use crate::batch::WriteBatch;
use crate::fs::{CrashMode, FileSystem, MemFs};
use crate::iter::InternalIterator;
use crate::options::{BackgroundMode, Options};
use crate::sstable::Table;
use crate::stats::Stats;
use crate::{Db, WriteOptions, key, manifest};

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

const DIR: &str = "/db";

fn opts() -> Options {
    Options {
        write_buffer_size_bytes: 2 << 10,
        target_file_size_bytes: 2 << 10,
        level_base_bytes: 8 << 10,
        block_size_bytes: 256,
        background: BackgroundMode::Inline,
        ..Options::default()
    }
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;
/// Every value each key ever had, oldest first.
type History = BTreeMap<Vec<u8>, Vec<Vec<u8>>>;

/// A store with SSTables on several levels, a manifest with edits and an unflushed WAL tail,
/// built once; each case mutates a deep copy. Returns the filesystem and what it holds.
fn base() -> &'static (MemFs, Model, History) {
    static BASE: OnceLock<(MemFs, Model, History)> = OnceLock::new();
    BASE.get_or_init(|| {
        let fs = MemFs::new();
        let db = Db::open_with_fs(Arc::new(fs.clone()), Path::new(DIR), opts()).expect("open");
        let mut model = Model::new();
        let mut history = History::new();
        for i in 0..600u32 {
            let k = format!("k{:04}", (i * 7919) % 500).into_bytes();
            let v = format!("value-{i}-")
                .repeat(1 + (i % 5) as usize)
                .into_bytes();
            db.put(&k, &v, WriteOptions::SYNC).expect("put");
            history.entry(k.clone()).or_default().push(v.clone());
            model.insert(k, v);
        }
        drop(db);
        fs.crash(CrashMode::DropUnsynced);
        (fs, model, history)
    })
}

/// A damaging edit of one file's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    /// Flip these bits (positions taken modulo the length).
    Flip(Vec<(prop::sample::Index, u8)>),
    /// Keep a prefix.
    Truncate(prop::sample::Index),
    /// Overwrite 4 or 8 bytes at a position with a huge little-endian value.
    HugeLength(prop::sample::Index, bool),
    /// Replace the file with garbage.
    Garbage(Vec<u8>),
    /// Append garbage.
    Append(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec((any::<prop::sample::Index>(), 0u8..8), 1..4)
            .prop_map(Mutation::Flip),
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), any::<bool>()).prop_map(|(i, w)| Mutation::HugeLength(i, w)),
        prop::collection::vec(any::<u8>(), 0..600).prop_map(Mutation::Garbage),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Append),
    ]
}

fn apply(m: &Mutation, mut data: Vec<u8>) -> Vec<u8> {
    match m {
        Mutation::Flip(flips) if !data.is_empty() => {
            for (at, bit) in flips {
                let at = at.index(data.len());
                data[at] ^= 1 << bit;
            }
        }
        Mutation::Flip(_) => {}
        Mutation::Truncate(at) => data.truncate(at.index(data.len() + 1)),
        Mutation::HugeLength(at, wide) => {
            let huge: &[u8] = if *wide {
                &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]
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
    }
    data
}

fn files(fs: &MemFs, suffix: &str) -> Vec<PathBuf> {
    fs.list_dir(Path::new(DIR))
        .expect("list")
        .into_iter()
        .filter(|n| n.ends_with(suffix) || (suffix == "MANIFEST" && n.starts_with(suffix)))
        .map(|n| Path::new(DIR).join(n))
        .collect()
}

fn rewrite(fs: &MemFs, path: &Path, data: &[u8]) {
    let mut f = fs.create(path).expect("create");
    f.write_all(data).expect("write");
    f.sync().expect("sync");
}

/// Every entry of a table, or the first error.
fn read_table(fs: &MemFs, path: &Path) -> crate::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let table = Arc::new(Table::open(
        Arc::new(fs.clone()),
        path.to_path_buf(),
        1,
        Arc::new(Stats::default()),
    )?);
    table.verify_all()?;
    let mut it = table.iter();
    it.seek_to_first()?;
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.value().to_vec()));
        it.next()?;
    }
    // Point reads and reverse iteration go through the index, filter and restart points.
    for (k, _) in out.iter().take(8) {
        let user = key::user_key(k);
        table.get(user, u64::MAX >> 8)?;
    }
    it.seek_to_last()?;
    while it.valid() {
        it.prev()?;
    }
    Ok(out)
}

/// Every key of a store, or the first error.
fn read_db(fs: &MemFs) -> crate::Result<Model> {
    let db = Db::open_with_fs(Arc::new(fs.clone()), Path::new(DIR), opts())?;
    let mut out = Model::new();
    for kv in db.scan(
        Bound::Unbounded,
        Bound::Unbounded,
        crate::Direction::Forward,
    )? {
        let (k, v) = kv?;
        out.insert(k, v);
    }
    Ok(out)
}

proptest! {
    #![proptest_config(config())]

    /// SSTables: footer, index, filter and data blocks are all checksummed, so a damaged
    /// table reads back as written or fails; it never panics.
    #[test]
    fn sstable_damage_is_an_error_or_the_written_data(pick in any::<prop::sample::Index>(), m in mutation()) {
        let (fs, _, _) = base();
        let fs = fs.deep_copy();
        let tables = files(&fs, ".sst");
        prop_assume!(!tables.is_empty());
        let path = &tables[pick.index(tables.len())];
        let clean = read_table(&fs, path).expect("intact table");
        let data = fs.read_all(path).expect("read");
        rewrite(&fs, path, &apply(&m, data));
        if let Ok(got) = read_table(&fs, path) {
            prop_assert_eq!(got, clean);
        }
    }

    /// Whole directories with one damaged file (WAL, manifest, SSTable or CURRENT): the open
    /// and a full scan are an error or the data that was written.
    #[test]
    fn damaged_directory_opens_to_an_error_or_the_written_data(
        pick in any::<prop::sample::Index>(),
        kind in 0usize..4,
        m in mutation(),
    ) {
        let (fs, model, history) = base();
        let fs = fs.deep_copy();
        let candidates = match kind {
            0 => files(&fs, ".log"),
            1 => files(&fs, "MANIFEST"),
            2 => files(&fs, ".sst"),
            _ => vec![Path::new(DIR).join("CURRENT")],
        };
        prop_assume!(!candidates.is_empty());
        let path = &candidates[pick.index(candidates.len())];
        let data = fs.read_all(path).expect("read");
        let damaged = apply(&m, data.clone());
        let common = damaged.iter().zip(&data).take_while(|(a, b)| a == b).count();
        // A tail shorter than a record header cannot be checked, whatever its bytes.
        let wal_cut = kind == 0
            && (damaged[common..].iter().all(|&b| b == 0)
                || matches!(m, Mutation::Truncate(_) | Mutation::Garbage(_)));
        rewrite(&fs, path, &damaged);
        // Lost writes are allowed only as a torn WAL tail (a prefix of the newest segment,
        // maybe followed by zeros: indistinguishable from a crash): then the store is at an earlier state and
        // each value is one the key once had. Otherwise it is exactly what was written.
        if let Ok(got) = read_db(&fs) {
            if wal_cut {
                for (k, v) in &got {
                    prop_assert!(history.get(k).is_some_and(|h| h.contains(v)));
                }
            } else {
                prop_assert!(&got == model, "store differs from what was written");
            }
        }
    }

    /// Write batches and manifest edits decoded from arbitrary bytes.
    #[test]
    fn batch_and_edit_decoders_take_garbage(data in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Some((batch, _seq)) = WriteBatch::decode(&data) {
            // Every op points inside the input.
            prop_assert!(batch.iter().map(|op| op.key.len() + op.value.len()).sum::<usize>() <= data.len());
        }
        let _ = manifest::decode_edit(&data);
    }
}
