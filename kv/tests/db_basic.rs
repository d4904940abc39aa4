//! Behaviour of the public API on both filesystems and both background modes.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use chronos_kv::fs::{FileSystem, MemFs};
use chronos_kv::{BackgroundMode, Db, Direction, Error, Options, WriteBatch, WriteOptions};

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn scan_all(db: &Db, direction: Direction) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.scan(Bound::Unbounded, Bound::Unbounded, direction)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn open_mem(fs: &MemFs, opts: Options) -> Db {
    Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), opts).unwrap()
}

#[test]
fn put_get_delete_and_scans_across_flushes_and_compactions() {
    for background in [BackgroundMode::Inline, BackgroundMode::Thread] {
        let fs = MemFs::new();
        let db = open_mem(
            &fs,
            Options {
                background,
                ..Options::tiny()
            },
        );
        for i in 0..500 {
            db.put(&key(i), format!("v{i}").as_bytes(), WriteOptions::BUFFERED)
                .unwrap();
        }
        for i in (0..500).step_by(3) {
            db.delete(&key(i), WriteOptions::BUFFERED).unwrap();
        }
        db.flush().unwrap();
        db.compact().unwrap();
        assert!(
            db.stats().levels[1..].iter().any(|l| l.files > 0),
            "{}",
            db.stats()
        );
        assert_eq!(db.get(&key(1)).unwrap(), Some(b"v1".to_vec()));
        assert_eq!(db.get(&key(3)).unwrap(), None);
        assert_eq!(db.get(b"absent").unwrap(), None);
        let fwd = scan_all(&db, Direction::Forward);
        assert_eq!(fwd.len(), 500 - 167);
        let mut rev = scan_all(&db, Direction::Reverse);
        rev.reverse();
        assert_eq!(fwd, rev);
        let range: Vec<_> = db
            .scan(
                Bound::Excluded(&key(10)[..]),
                Bound::Included(&key(20)[..]),
                Direction::Reverse,
            )
            .unwrap()
            .map(|e| e.unwrap().0)
            .collect();
        assert_eq!(range, [20, 19, 17, 16, 14, 13, 11].map(key));
        let prefixed: Vec<_> = db
            .scan_prefix(b"key00004", Direction::Forward)
            .unwrap()
            .collect();
        assert_eq!(prefixed.len(), 7); // key000040..=key000049 less 42, 45, 48
    }
}

#[test]
fn a_snapshot_and_a_running_scan_see_one_state_while_writes_flushes_and_compactions_run() {
    let fs = MemFs::new();
    let db = open_mem(&fs, Options::tiny());
    for i in 0..200 {
        db.put(&key(i), b"old", WriteOptions::BUFFERED).unwrap();
    }
    let snap = db.snapshot();
    let mut scan = db
        .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)
        .unwrap();
    let first = scan.next().unwrap().unwrap();
    for i in 0..200 {
        db.put(&key(i), b"new", WriteOptions::BUFFERED).unwrap();
        db.delete(&key(i + 1000), WriteOptions::BUFFERED).unwrap();
    }
    db.flush().unwrap();
    db.compact().unwrap();
    let rest: Vec<_> = scan.map(|e| e.unwrap()).collect();
    assert_eq!(first.1, b"old");
    assert_eq!(rest.len(), 199);
    assert!(rest.iter().all(|(_, v)| v == b"old"));
    assert_eq!(snap.get(&key(7)).unwrap(), Some(b"old".to_vec()));
    assert_eq!(db.get(&key(7)).unwrap(), Some(b"new".to_vec()));
}

#[test]
fn data_survives_reopen_with_and_without_flush() {
    let fs = MemFs::new();
    {
        let db = open_mem(&fs, Options::tiny());
        for i in 0..300 {
            db.put(&key(i), &i.to_le_bytes(), WriteOptions::SYNC)
                .unwrap();
        }
    }
    let db = open_mem(&fs, Options::tiny());
    assert_eq!(scan_all(&db, Direction::Forward).len(), 300);
    drop(db);
    let db = open_mem(
        &fs,
        Options {
            background: BackgroundMode::Inline,
            ..Options::default()
        },
    );
    assert_eq!(
        db.get(&key(299)).unwrap(),
        Some(299u32.to_le_bytes().to_vec())
    );
}

#[test]
fn batches_are_atomic_for_readers() {
    let fs = MemFs::new();
    let db = Arc::new(open_mem(
        &fs,
        Options {
            background: BackgroundMode::Thread,
            ..Options::tiny()
        },
    ));
    let writer = {
        let db = db.clone();
        std::thread::spawn(move || {
            for round in 0..200u32 {
                let mut b = WriteBatch::new();
                for i in 0..10 {
                    b.put(&key(i), &round.to_le_bytes()).unwrap();
                }
                db.write(b, WriteOptions::BUFFERED).unwrap();
            }
        })
    };
    for _ in 0..200 {
        let values: Vec<_> = scan_all(&db, Direction::Forward)
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        assert!(
            values.windows(2).all(|w| w[0] == w[1]),
            "a batch was seen half-applied"
        );
    }
    writer.join().unwrap();
}

#[test]
fn concurrent_synced_writers_share_fsyncs() {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let threads: Vec<_> = (0..16)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    db.put(&key(t * 1000 + i), b"v", WriteOptions::SYNC)
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = db.stats();
    assert_eq!(stats.batches_written, 800);
    assert!(
        stats.wal_syncs < 800,
        "no group commit: {} syncs for 800 writes",
        stats.wal_syncs
    );
    assert_eq!(scan_all(&db, Direction::Forward).len(), 800);
}

#[test]
fn refuses_foreign_locked_and_newer_directories() {
    let fs = MemFs::new();
    fs.create_dir_all(Path::new("/other")).unwrap();
    fs.create(Path::new("/other/notes.txt")).unwrap();
    let err =
        Db::open_with_fs(Arc::new(fs.clone()), Path::new("/other"), Options::tiny()).unwrap_err();
    assert!(matches!(err, Error::NotADataDirectory { .. }), "{err}");

    let db = open_mem(&fs, Options::tiny());
    let err =
        Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), Options::tiny()).unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    drop(db);

    let missing = Options {
        create_if_missing: false,
        ..Options::tiny()
    };
    let err = Db::open_with_fs(Arc::new(fs.clone()), Path::new("/nowhere"), missing).unwrap_err();
    assert!(matches!(err, Error::NotADataDirectory { .. }), "{err}");
}

#[test]
fn oversized_keys_are_rejected_and_nothing_is_written() {
    let fs = MemFs::new();
    let db = open_mem(&fs, Options::tiny());
    let err = db
        .put(
            &vec![1; chronos_kv::MAX_KEY_BYTES + 1],
            b"v",
            WriteOptions::SYNC,
        )
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArgument(_)));
    assert!(scan_all(&db, Direction::Forward).is_empty());
}

#[test]
fn real_filesystem_round_trip_and_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(
            dir.path(),
            Options {
                background: BackgroundMode::Inline,
                ..Options::tiny()
            },
        )
        .unwrap();
        for i in 0..400 {
            db.put(&key(i), &[7; 50], WriteOptions::BUFFERED).unwrap();
        }
        db.compact().unwrap();
    }
    let db = Db::open(
        dir.path(),
        Options {
            background: BackgroundMode::Inline,
            ..Options::tiny()
        },
    )
    .unwrap();
    assert_eq!(scan_all(&db, Direction::Forward).len(), 400);
    assert!(db.verify().unwrap() >= 400);
    let live: std::collections::HashSet<String> = db
        .version()
        .all_files()
        .map(|(_, f)| format!("{:06}.sst", f.number))
        .collect();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".sst") {
            assert!(
                live.contains(&name),
                "unreferenced table {name} left behind"
            );
        }
    }
}

#[test]
fn read_only_open_sees_everything_and_changes_nothing() {
    let fs = MemFs::new();
    {
        let db = open_mem(&fs, Options::tiny());
        for i in 0..300 {
            db.put(&key(i), b"v", WriteOptions::SYNC).unwrap();
        }
        // Drop without flushing the last memtable: part of the data is only in the WAL.
    }
    let snapshot = |fs: &MemFs| {
        let mut files: Vec<(String, usize)> = fs
            .list_dir(Path::new("/db"))
            .unwrap()
            .into_iter()
            .map(|n| {
                let len = fs.file_len(&Path::new("/db").join(&n)).unwrap_or(0);
                (n, len)
            })
            .collect();
        files.sort();
        files
    };
    let before = snapshot(&fs);
    let ro = Options {
        read_only: true,
        ..Options::tiny()
    };
    let db = Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), ro.clone()).unwrap();
    assert_eq!(scan_all(&db, Direction::Forward).len(), 300);
    assert!(db.put(b"x", b"y", WriteOptions::SYNC).is_err());
    assert!(db.flush().is_err());
    assert!(db.verify().unwrap() > 0);
    drop(db);
    assert_eq!(
        snapshot(&fs),
        before,
        "a read-only open changed the directory"
    );
    let err = Db::open_with_fs(Arc::new(fs.clone()), Path::new("/nowhere"), ro).unwrap_err();
    assert!(matches!(err, Error::NotADataDirectory { .. }), "{err}");
}

#[test]
fn writers_and_explicit_flushes_interleave_without_loss_or_deadlock() {
    let fs = MemFs::new();
    let db = Arc::new(open_mem(
        &fs,
        Options {
            background: BackgroundMode::Thread,
            ..Options::tiny()
        },
    ));
    let writers: Vec<_> = (0..8u32)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..150 {
                    let sync = if i % 3 == 0 {
                        WriteOptions::SYNC
                    } else {
                        WriteOptions::BUFFERED
                    };
                    db.put(&key(t * 1000 + i), b"v", sync).unwrap();
                }
            })
        })
        .collect();
    let flusher = {
        let db = db.clone();
        std::thread::spawn(move || {
            for _ in 0..30 {
                db.flush().unwrap();
                db.sync_wal().unwrap();
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    flusher.join().unwrap();
    assert_eq!(scan_all(&db, Direction::Forward).len(), 8 * 150);
    assert_eq!(db.stats().batches_written, 8 * 150);
}
