//! A manifest cut at a record boundary looks intact to its framing. Found by the decoder fuzzer
//! (`kv/src/decode_fuzz.rs`): losing the last edits, flushes among them, silently dropped the
//! flushed data (their WAL segments were already deleted). Open must notice that the WAL
//! segment the manifest names is gone while a later one exists, and refuse.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use chronos_io::record;
use chronos_kv::fs::{CrashMode, FileSystem, MemFs};
use chronos_kv::{BackgroundMode, Db, Direction, Options, WriteOptions};

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

#[test]
fn a_manifest_cut_at_any_record_boundary_is_corruption_or_loses_nothing() {
    let fs = MemFs::new();
    let dir = Path::new("/db");
    let db = Db::open_with_fs(Arc::new(fs.clone()), dir, opts()).unwrap();
    let mut model = BTreeMap::new();
    for i in 0..600u32 {
        let k = format!("k{:04}", (i * 7919) % 500).into_bytes();
        let v = format!("value-{i}").into_bytes();
        db.put(&k, &v, WriteOptions::SYNC).unwrap();
        model.insert(k, v);
    }
    drop(db);
    fs.crash(CrashMode::DropUnsynced);

    let current = fs.read_all(&dir.join("CURRENT")).unwrap();
    let manifest = dir.join(String::from_utf8(current).unwrap().trim());
    let data = fs.read_all(&manifest).unwrap();
    let records = record::scan(&data).records;
    assert!(records.len() > 3, "flush and compaction edits");
    let mut refused = 0;
    for &(cut, _) in &records[1..] {
        let copy = fs.deep_copy();
        let mut f = copy.create(&manifest).unwrap();
        f.write_all(&data[..cut as usize]).unwrap();
        f.sync().unwrap();
        match Db::open_with_fs(Arc::new(copy), dir, opts()) {
            Err(e) => {
                assert!(e.is_corruption(), "cut at {cut}: {e}");
                refused += 1;
            }
            Ok(db) => {
                let got: BTreeMap<_, _> = db
                    .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
                    .unwrap()
                    .map(|kv| kv.unwrap())
                    .collect();
                assert!(
                    got == model,
                    "cut at {cut}: the store opened without acknowledged data"
                );
            }
        }
    }
    assert!(refused > 0);
}
