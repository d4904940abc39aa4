//! Issue 10 item 2: opening a directory never deletes a file it cannot prove is garbage.
//!
//! - A store whose `CURRENT` is gone (an `rm`, a partial copy, a filesystem that lost one small
//!   file) is an error naming the files and the newest manifest, and nothing changes on disk;
//!   restoring `CURRENT` as the error says brings every acknowledged write back.
//! - Creation crashed at any step reopens cleanly (the `CREATING` marker, not cleanup, is what
//!   recognises a half-created directory).
//! - Files nothing proves obsolete are kept and reported.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chronos_kv::fs::{CrashMode, FaultFs, FileSystem, MemFs};
use chronos_kv::{BackgroundMode, Db, Error, Options, WriteOptions};

fn small() -> Options {
    Options {
        write_buffer_size_bytes: 4 << 10,
        target_file_size_bytes: 4 << 10,
        level_base_bytes: 16 << 10,
        background: BackgroundMode::Inline,
        ..Options::default()
    }
}

/// Every file of `dir` with its bytes.
fn image(fs: &dyn FileSystem, dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs.list_dir(dir)
        .unwrap()
        .into_iter()
        .map(|n| {
            let bytes = fs.read_all(&dir.join(&n)).unwrap();
            (n, bytes)
        })
        .collect()
}

/// Writes enough synced data to have SSTables at several levels, a WAL and a manifest.
fn fill(db: &Db, from: u32, to: u32) {
    for i in from..to {
        db.put(
            format!("key{i:05}").as_bytes(),
            &[b'v'; 100],
            WriteOptions::SYNC,
        )
        .unwrap();
    }
}

fn check(db: &Db, n: u32) {
    for i in 0..n {
        assert!(
            db.get(format!("key{i:05}").as_bytes()).unwrap().is_some(),
            "key{i:05} lost"
        );
    }
}

/// `rm CURRENT`, open, expect the error and an unchanged directory; then follow the hint.
fn lose_current_then_restore(
    fs: Arc<dyn FileSystem>,
    dir: &Path,
    open: impl Fn() -> Result<Db, Error>,
) {
    let db = open().unwrap();
    fill(&db, 0, 400);
    db.flush().unwrap();
    fill(&db, 400, 500);
    drop(db);
    let names = fs.list_dir(dir).unwrap();
    assert!(names.iter().any(|n| n.ends_with(".sst")), "{names:?}");
    let current = fs.read_all(&dir.join("CURRENT")).unwrap();
    fs.remove_file(&dir.join("CURRENT")).unwrap();
    let before = image(fs.as_ref(), dir);

    for _ in 0..2 {
        let err = open().expect_err("no CURRENT");
        let Error::MissingCurrent { files, hint, .. } = &err else {
            panic!("expected MissingCurrent, got {err}");
        };
        let manifest = String::from_utf8(current.clone()).unwrap();
        let manifest = manifest.trim();
        assert!(
            hint.contains(manifest),
            "hint names the newest manifest: {hint}"
        );
        assert!(files.iter().any(|n| n.ends_with(".sst")), "{files:?}");
        assert!(err.to_string().contains("nothing was changed"), "{err}");
        assert_eq!(
            image(fs.as_ref(), dir),
            before,
            "open changed the directory"
        );
    }

    // The way back the error describes.
    let mut f = fs.create(&dir.join("CURRENT")).unwrap();
    f.write_all(&current).unwrap();
    f.sync().unwrap();
    fs.sync_dir(dir).unwrap();
    let db = open().unwrap();
    check(&db, 500);
}

#[test]
fn lost_current_is_an_error_and_deletes_nothing_in_memory() {
    let mem = MemFs::new();
    let dir = Path::new("/db");
    let fs: Arc<dyn FileSystem> = Arc::new(mem.clone());
    lose_current_then_restore(fs.clone(), dir, || {
        Db::open_with_fs(fs.clone(), dir, small())
    });
}

#[test]
fn lost_current_is_an_error_and_deletes_nothing_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let fs: Arc<dyn FileSystem> = Arc::new(chronos_kv::fs::RealFs);
    lose_current_then_restore(fs, &dir, || Db::open(&dir, small()));
}

#[test]
fn a_marker_next_to_data_files_is_not_a_licence_to_delete() {
    let mem = MemFs::new();
    let dir = Path::new("/db");
    let db = Db::open_with_fs(Arc::new(mem.clone()), dir, small()).unwrap();
    fill(&db, 0, 300);
    drop(db);
    mem.remove_file(&dir.join("CURRENT")).unwrap();
    mem.create(&dir.join("CREATING")).unwrap();
    let before = image(&mem, dir);
    let err = Db::open_with_fs(Arc::new(mem.clone()), dir, small()).expect_err("data files");
    assert!(matches!(err, Error::MissingCurrent { .. }), "{err}");
    assert_eq!(image(&mem, dir), before);
}

#[test]
fn files_without_a_manifest_get_a_hint_without_one() {
    let mem = MemFs::new();
    let dir = Path::new("/db");
    mem.create_dir_all(dir).unwrap();
    mem.create(&dir.join("000007.sst")).unwrap();
    let err = Db::open_with_fs(Arc::new(mem.clone()), dir, small()).expect_err("no CURRENT");
    let Error::MissingCurrent { files, hint, .. } = err else {
        panic!("expected MissingCurrent");
    };
    assert_eq!(files, ["000007.sst"]);
    assert!(hint.contains("no MANIFEST"), "{hint}");
    assert!(mem.exists(&dir.join("000007.sst")));
}

/// A crash (power cut, torn or not) after each filesystem operation of creation: the reopen
/// creates the store cleanly, and it then works and keeps what it acknowledges.
#[test]
fn creation_crashed_at_every_step_reopens_cleanly() {
    let dir = Path::new("/db");
    let mut completed = false;
    for step in 0..200u64 {
        for mode in [
            CrashMode::DropUnsynced,
            CrashMode::TearUnsynced { seed: step + 1 },
        ] {
            let mem = MemFs::new();
            let faulty = FaultFs::new(Arc::new(mem.clone()));
            faulty.set_short_writes(true);
            faulty.fail_after(step);
            let first = Db::open_with_fs(Arc::new(faulty.clone()), dir, small());
            if let Ok(db) = first {
                drop(db);
                completed = true;
            }
            mem.crash(mode);
            let db = Db::open_with_fs(Arc::new(mem.clone()), dir, small())
                .unwrap_or_else(|e| panic!("step {step} {mode:?}: reopen failed: {e}"));
            assert!(
                !mem.exists(&dir.join("CREATING")),
                "step {step}: marker left behind"
            );
            fill(&db, 0, 50);
            drop(db);
            mem.crash(CrashMode::DropUnsynced);
            let db = Db::open_with_fs(Arc::new(mem.clone()), dir, small()).unwrap();
            check(&db, 50);
            assert!(db.recovery_report().kept_unreferenced.is_empty());
        }
        if completed {
            return;
        }
    }
    panic!("creation never completed within 200 operations");
}

/// A crash after each filesystem operation of reopening a store with data: nothing
/// acknowledged is lost, whatever step the crash hit (the cleanup included).
#[test]
fn reopen_crashed_at_every_step_loses_nothing() {
    let dir = Path::new("/db");
    let base = MemFs::new();
    let db = Db::open_with_fs(Arc::new(base.clone()), dir, small()).unwrap();
    fill(&db, 0, 300);
    drop(db);
    for step in 0..400u64 {
        let mem = base.deep_copy();
        let faulty = FaultFs::new(Arc::new(mem.clone()));
        faulty.fail_after(step);
        let done = Db::open_with_fs(Arc::new(faulty), dir, small()).is_ok();
        mem.crash(CrashMode::TearUnsynced { seed: step + 7 });
        let db = Db::open_with_fs(Arc::new(mem.clone()), dir, small())
            .unwrap_or_else(|e| panic!("step {step}: reopen failed: {e}"));
        check(&db, 300);
        if done {
            return;
        }
    }
    panic!("reopen never completed within 400 operations");
}

#[test]
fn unreferenced_files_nothing_proves_obsolete_are_kept_and_reported() {
    let mem = MemFs::new();
    let dir = Path::new("/db");
    let db = Db::open_with_fs(Arc::new(mem.clone()), dir, small()).unwrap();
    fill(&db, 0, 100);
    drop(db);
    // A table no manifest ever recorded (the output of a flush a crash interrupted looks the
    // same as one copied in by hand), and a manifest newer than the one CURRENT names.
    for name in ["009000.sst", "MANIFEST-009001"] {
        let mut f = mem.create(&dir.join(name)).unwrap();
        f.write_all(b"not ours to delete").unwrap();
        f.sync().unwrap();
    }
    mem.sync_dir(dir).unwrap();
    for _ in 0..2 {
        let db = Db::open_with_fs(Arc::new(mem.clone()), dir, small()).unwrap();
        let mut kept = db.recovery_report().kept_unreferenced.clone();
        kept.sort();
        assert_eq!(kept, ["009000.sst", "MANIFEST-009001"]);
        check(&db, 100);
    }
    assert!(mem.exists(&dir.join("009000.sst")));
}
