//! Flipped bits on disk are reported as corruption (with file and offset), never served as data.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chronos_kv::fs::{FaultFs, FileSystem, MemFs, ReadCorruption};
use chronos_kv::{BackgroundMode, Db, Direction, Error, Options, WriteOptions};

fn opts() -> Options {
    // One table with many blocks, no compaction churn.
    Options {
        background: BackgroundMode::Inline,
        block_size_bytes: 256,
        ..Options::default()
    }
}

fn build(fs: &MemFs) -> PathBuf {
    let db = Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), opts()).unwrap();
    for i in 0..500u32 {
        db.put(
            format!("key{i:05}").as_bytes(),
            &[b'v'; 40],
            WriteOptions::BUFFERED,
        )
        .unwrap();
    }
    db.flush().unwrap();
    let number = db.version().levels[0][0].number;
    Path::new("/db").join(format!("{number:06}.sst"))
}

fn read_everything(db: &Db) -> Result<usize, Error> {
    let mut n = 0;
    for i in 0..500u32 {
        if db
            .get(format!("key{i:05}").as_bytes())?
            .is_some_and(|v| v == [b'v'; 40])
        {
            n += 1;
        }
    }
    for entry in db.scan(Bound::Unbounded, Bound::Unbounded, Direction::Reverse)? {
        let (_, v) = entry?;
        assert_eq!(v, [b'v'; 40], "a scan served a damaged value");
    }
    Ok(n)
}

#[test]
fn every_flipped_byte_of_an_sstable_is_an_error_or_harmless() {
    let fs = MemFs::new();
    let table = build(&fs);
    let len = fs.file_len(&table).unwrap();
    let mut detected = 0;
    // Every 7th byte: data blocks, filter, index and footer all get hit.
    for offset in (0..len).step_by(7) {
        fs.corrupt_byte(&table, offset, 0x20).unwrap();
        match Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), opts()) {
            Err(e) => {
                assert!(e.is_corruption(), "offset {offset}: {e}");
                detected += 1;
            }
            Ok(db) => match read_everything(&db) {
                Err(e) => {
                    assert!(e.is_corruption(), "offset {offset}: {e}");
                    if let Error::Corruption { file, .. } = &e {
                        assert_eq!(file, &table);
                    }
                    assert!(db.verify().unwrap_err().is_corruption());
                    detected += 1;
                }
                // Only a flip inside the bloom filter can go unnoticed, and it must not change
                // any answer: a lost bit can only make the filter say "maybe".
                Ok(n) => assert_eq!(n, 500, "offset {offset}: wrong data served"),
            },
        }
        fs.corrupt_byte(&table, offset, 0x20).unwrap();
    }
    assert!(
        detected > (len / 7) * 8 / 10,
        "only {detected} of {} flips detected",
        len / 7
    );
}

#[test]
fn a_flipped_bit_read_through_the_fault_injector_is_corruption() {
    let mem = MemFs::new();
    build(&mem);
    let faulty = FaultFs::new(Arc::new(mem));
    faulty.set_read_corruption(Some(ReadCorruption {
        file_name_contains: ".sst".into(),
        offset: 100,
        bit: 3,
    }));
    let db = Db::open_with_fs(Arc::new(faulty), Path::new("/db"), opts()).unwrap();
    let err = read_everything(&db).unwrap_err();
    match err {
        Error::Corruption { offset, .. } => assert_eq!(offset, 0, "the first block starts at 0"),
        other => panic!("expected corruption, got {other}"),
    }
}

#[test]
fn a_flipped_bit_in_the_manifest_fails_the_open() {
    let fs = MemFs::new();
    build(&fs);
    let manifest = fs
        .list_dir(Path::new("/db"))
        .unwrap()
        .into_iter()
        .find(|n| n.starts_with("MANIFEST-"))
        .unwrap();
    let path = Path::new("/db").join(&manifest);
    let len = fs.file_len(&path).unwrap();
    for offset in 0..len {
        fs.corrupt_byte(&path, offset, 0x01).unwrap();
        let err = Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), opts())
            .expect_err("a damaged manifest must not open");
        assert!(err.is_corruption(), "offset {offset}: {err}");
        fs.corrupt_byte(&path, offset, 0x01).unwrap();
    }
}

#[test]
fn a_flipped_bit_in_an_older_wal_segment_fails_the_open() {
    let fs = MemFs::new();
    let dir = Path::new("/db");
    {
        let tiny = Options {
            max_immutable_memtables: 8,
            l0_compaction_trigger: 8,
            l0_slowdown_trigger: 8,
            l0_stop_trigger: 8,
            background: BackgroundMode::Thread,
            write_buffer_size_bytes: 1 << 20,
            ..Options::tiny()
        };
        let db = Db::open_with_fs(Arc::new(fs.clone()), dir, tiny).unwrap();
        for i in 0..50u32 {
            db.put(&i.to_be_bytes(), &[1; 100], WriteOptions::SYNC)
                .unwrap();
        }
    }
    let wal = fs
        .list_dir(dir)
        .unwrap()
        .into_iter()
        .find(|n| n.ends_with(".log"))
        .unwrap();
    fs.corrupt_byte(&dir.join(&wal), 20, 0x01).unwrap();
    let err = Db::open_with_fs(Arc::new(fs), dir, opts()).unwrap_err();
    match err {
        Error::Corruption { file, offset, .. } => {
            assert_eq!(file, dir.join(&wal));
            assert_eq!(offset, 0);
        }
        other => panic!("expected corruption, got {other}"),
    }
}
