//! Opening a data directory: creation, manifest recovery, WAL replay and cleanup.
//!
//! # Creation is crash-safe by a marker, not by cleanup
//! A new directory is created in this order, each step durable before the next:
//! `CREATING` (the marker) → `MANIFEST-N` → `CURRENT.tmp` → rename to `CURRENT` → WAL segment
//! → the marker removed. So a directory without `CURRENT` is either
//! - empty (or holds only `LOCK`): created from scratch;
//! - *half-created*: it holds the marker and nothing but what creation writes before `CURRENT`
//!   (`MANIFEST-*`, `CURRENT.tmp`); nothing in it was ever acknowledged, creation is redone;
//! - anything else: [`Error::MissingCurrent`], naming the files found and how to recover.
//!   Nothing is deleted: a lost `CURRENT` (a partial copy, an `rm`, a filesystem that lost one
//!   small file) must never cost the data next to it.
//!
//! # What open deletes
//! Only files the recovered manifest proves obsolete, after the new manifest is durable:
//! WAL segments below the manifest's log number (flushed), tables the manifest recorded and
//! later deleted (compacted away; the unlink was interrupted), the manifest `CURRENT` named
//! (superseded by the one open writes from its state), a half-created directory's manifests,
//! `CURRENT.tmp`, and the creation marker. Everything else that looks like ours but no version
//! references (outputs of a flush or compaction interrupted by a crash, a manifest left by an
//! interrupted switch, one newer than `CURRENT` names) is kept, logged, and listed in
//! [`RecoveryReport::kept_unreferenced`]; its file number is never reused. File numbers are
//! not proof: they are bumped past every file present, kept ones included.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex};

use super::{Current, Inner, State, background, write::WriteQueue};
use crate::error::{Error, IoContext, Result};
use crate::fs::FileSystem;
use crate::iter::InternalIterator;
use crate::manifest::{self, CURRENT, ManifestState, ManifestWriter, manifest_name};
use crate::memtable::Memtable;
use crate::options::Options;
use crate::sstable::{Table, table_path};
use crate::stats::Stats;
use crate::version::{Version, VersionEdit};
use crate::wal::{self, WalWriter};

const LOCK: &str = "LOCK";
/// Written (durably) before anything else when a directory is created, removed once `CURRENT`
/// is durable: the only evidence that files without a `CURRENT` are a creation's leftovers.
const CREATING: &str = "CREATING";

/// What opening the store found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Whether the directory was initialised by this open.
    pub created: bool,
    pub wal_segments_replayed: u64,
    pub wal_batches_replayed: u64,
    /// `(segment number, offset, reason)` of a torn WAL tail that was dropped.
    pub torn_wal_tail: Option<(u64, u64, String)>,
    /// Tables the manifest recorded as deleted whose unlink had not happened, removed now.
    pub removed_files: Vec<String>,
    /// Files that look like the store's but that nothing proves obsolete (outputs of a job a
    /// crash interrupted, or a manifest newer than the one `CURRENT` names): kept as found.
    pub kept_unreferenced: Vec<String>,
}

/// What a file name in the data directory is.
#[derive(Debug, PartialEq, Eq)]
enum FileKind {
    Wal(u64),
    Table(u64),
    Manifest(u64),
    Current,
    CurrentTmp,
    Lock,
    CreationMarker,
}

fn classify(name: &str) -> Option<FileKind> {
    let number = |s: &str| s.parse::<u64>().ok();
    if let Some(n) = name.strip_suffix(".log") {
        return number(n).map(FileKind::Wal);
    }
    if let Some(n) = name.strip_suffix(".sst") {
        return number(n).map(FileKind::Table);
    }
    if let Some(n) = name.strip_prefix("MANIFEST-") {
        return number(n).map(FileKind::Manifest);
    }
    match name {
        CURRENT => Some(FileKind::Current),
        "CURRENT.tmp" => Some(FileKind::CurrentTmp),
        LOCK => Some(FileKind::Lock),
        CREATING => Some(FileKind::CreationMarker),
        _ => None,
    }
}

/// What the cleanup at open does with one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cleanup {
    /// Provably obsolete and routine (flushed WAL, superseded manifest): removed quietly.
    Remove,
    /// Provably obsolete but a sign of an interrupted unlink: removed and reported.
    RemoveReported,
    /// Unreferenced but not provably obsolete: kept and reported.
    Keep,
}

/// Marks the directory as being created, durably, before any other file is written.
fn write_creation_marker(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    let path = dir.join(CREATING);
    let mut f = fs
        .create(&path)
        .context(|| format!("creating {}", path.display()))?;
    f.write_all(b"creation in progress; removed once CURRENT is durable\n")
        .and_then(|()| f.sync())
        .and_then(|()| fs.sync_dir(dir))
        .context(|| format!("writing {}", path.display()))
}

/// Whether `files` (everything but `LOCK`) are what an interrupted creation leaves: the marker
/// and only files creation writes before `CURRENT`.
fn is_half_created(files: &[String]) -> bool {
    files.iter().any(|n| n == CREATING)
        && files.iter().all(|n| {
            matches!(
                classify(n),
                Some(FileKind::CreationMarker | FileKind::CurrentTmp | FileKind::Manifest(_))
            )
        })
}

/// The error for files without a `CURRENT`, with the way back: the newest manifest.
fn missing_current(fs: &dyn FileSystem, dir: &Path, files: Vec<String>) -> Error {
    let newest = files
        .iter()
        .filter_map(|n| match classify(n) {
            Some(FileKind::Manifest(x)) => Some((x, n)),
            _ => None,
        })
        .max();
    let hint = match newest {
        Some((_, name)) => {
            let staged = fs
                .read_all(&dir.join("CURRENT.tmp"))
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|s| s.trim() != name.as_str());
            let mut hint = format!(
                "if this is a Chronos store whose CURRENT was lost, restore CURRENT pointing at \
                 {name}, the newest manifest: printf '{name}\\n' > {}",
                dir.join(CURRENT).display()
            );
            if let Some(staged) = staged {
                hint.push_str(&format!(
                    " (CURRENT.tmp names {}: an interrupted switch to it)",
                    staged.trim()
                ));
            }
            hint
        }
        None => "no MANIFEST file is present, so the store's file list is lost; restore the \
                 directory from a backup, or move these files away to create a new store here"
            .to_string(),
    };
    Error::MissingCurrent {
        path: dir.to_path_buf(),
        files,
        hint,
    }
}

pub(super) fn open(fs: Arc<dyn FileSystem>, dir: &Path, opts: Options) -> Result<Inner> {
    opts.validate()?;
    if !fs.exists(dir) && (!opts.create_if_missing || opts.read_only) {
        return Err(Error::NotADataDirectory {
            path: dir.to_path_buf(),
            reason: "it does not exist".into(),
        });
    }
    fs.create_dir_all(dir)
        .context(|| format!("creating {}", dir.display()))?;
    let lock = fs.lock(&dir.join(LOCK)).map_err(|e| {
        if e.kind() == std::io::ErrorKind::WouldBlock {
            Error::Locked {
                path: dir.to_path_buf(),
                holder: e.to_string(),
            }
        } else {
            Error::io(format!("locking {}", dir.display()), e)
        }
    })?;
    let names = fs
        .list_dir(dir)
        .context(|| format!("listing {}", dir.display()))?;
    let stats = Arc::new(Stats::default());
    let mut report = RecoveryReport::default();

    let mut state = if names.iter().any(|n| n == CURRENT) {
        manifest::recover(fs.as_ref(), dir, opts.num_levels)?
    } else {
        let files: Vec<String> = names.iter().filter(|n| *n != LOCK).cloned().collect();
        let creatable = !opts.read_only && opts.create_if_missing;
        let foreign = files.iter().all(|n| classify(n).is_none());
        match files.first() {
            None if creatable => write_creation_marker(fs.as_ref(), dir)?,
            None => {
                return Err(Error::NotADataDirectory {
                    path: dir.to_path_buf(),
                    reason: "it has no CURRENT file".into(),
                });
            }
            // Nothing here is ours: some other program's directory.
            Some(first) if foreign => {
                return Err(Error::NotADataDirectory {
                    path: dir.to_path_buf(),
                    reason: format!("it holds {first:?} and no CURRENT file"),
                });
            }
            Some(_) if creatable && is_half_created(&files) => tracing::warn!(
                dir = %dir.display(),
                ?files,
                "the directory's creation was interrupted before CURRENT existed; creating it again"
            ),
            Some(_) => return Err(missing_current(fs.as_ref(), dir, files)),
        }
        report.created = true;
        ManifestState {
            manifest_number: 1,
            version: Version::new(opts.num_levels),
            log_number: 0,
            next_file_number: 2,
            last_sequence: 0,
            superseded_tables: Default::default(),
        }
    };
    let recovered_manifest = state.manifest_number;
    if state.version.levels.len() != opts.num_levels {
        return Err(Error::InvalidArgument(format!(
            "the store has {} levels but the options say {}",
            state.version.levels.len(),
            opts.num_levels
        )));
    }

    // File numbers must never be reused, even those of files the manifest never recorded.
    let max_seen = names
        .iter()
        .filter_map(|n| match classify(n)? {
            FileKind::Wal(x) | FileKind::Table(x) | FileKind::Manifest(x) => Some(x),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    state.next_file_number = state.next_file_number.max(max_seen + 1);

    let mut tables = HashMap::new();
    for (_, f) in state.version.all_files() {
        let path = table_path(dir, f.number);
        if !fs.exists(&path) {
            return Err(Error::corruption(
                dir.join(manifest_name(state.manifest_number)),
                0,
                format!(
                    "the manifest references {} which is missing",
                    path.display()
                ),
            ));
        }
        let table = Table::open(fs.clone(), path, f.number, stats.clone())?;
        tables.insert(f.number, Arc::new(table));
    }

    // Replay the WAL segments the manifest still needs, oldest first.
    let mut segments: Vec<u64> = names
        .iter()
        .filter_map(|n| match classify(n)? {
            FileKind::Wal(x) if x >= state.log_number => Some(x),
            _ => None,
        })
        .collect();
    segments.sort_unstable();
    // The segment the manifest names as the oldest still needed is the one every later
    // segment continues; it is deleted only after an edit moves the log number past it. So if
    // it is gone while a later one exists, the manifest lost that edit (a manifest cut at a
    // record boundary looks intact) and the flushed data it recorded would vanish silently.
    // (It may be missing alone: open names a new segment in the manifest before creating it.)
    if let Some(&first) = segments.first()
        && first != state.log_number
    {
        return Err(Error::corruption(
            dir.join(manifest_name(state.manifest_number)),
            0,
            format!(
                "the manifest names WAL segment {} as the oldest still needed, but it is \
                 missing while segment {first} exists: the manifest has lost edits",
                state.log_number
            ),
        ));
    }
    let recovered = Arc::new(Memtable::new(0));
    let mut last_sequence = state.last_sequence;
    // Batches get consecutive sequence numbers across all the segments of one process's life
    // (a failed WAL write stops the store), so a jump means records were lost in between: an
    // older segment cut at a record boundary, which its framing cannot see.
    let mut expected_seq: Option<u64> = None;
    for (i, &number) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let path = wal::segment_path(dir, number);
        let mut gap = None;
        let replay = wal::replay_segment(fs.as_ref(), &path, is_last, |batch, seq| {
            if let Some(want) = expected_seq
                && want != seq
                && gap.is_none()
            {
                gap = Some((want, seq));
            }
            let end = seq.saturating_add(batch.len() as u64);
            expected_seq = Some(end);
            last_sequence = last_sequence.max(end.saturating_sub(1));
            recovered.apply([(&batch, seq)]);
        })?;
        if let Some((want, got)) = gap {
            return Err(Error::corruption(
                &path,
                0,
                format!(
                    "WAL batch with sequence {got} where {want} was next: the records between \
                     them are missing (an earlier segment was cut short)"
                ),
            ));
        }
        report.wal_segments_replayed += 1;
        report.wal_batches_replayed += replay.batches;
        if let Some((offset, reason)) = replay.torn_tail {
            report.torn_wal_tail = Some((number, offset, reason));
        }
    }
    state.last_sequence = last_sequence;

    if opts.read_only {
        // Nothing on disk changes: the replayed WAL stays in memory as the memtable.
        let state = State {
            mem: recovered,
            imm: Vec::new(),
            current: Arc::new(Current {
                version: state.version.clone(),
                tables,
            }),
            manifest: None,
            log_number: state.log_number,
            next_file_number: state.next_file_number,
            last_sequence: state.last_sequence,
            bg_error: None,
            bg_running: false,
            closing: false,
            read_only: true,
        };
        return Ok(Inner::new(dir, fs, opts, stats, state, None, report, lock));
    }

    // Recovered writes go to L0 now, so that the new manifest can retire the old segments.
    let mut version = state.version.clone();
    if !recovered.is_empty() {
        let mut it = recovered.iter();
        it.seek_to_first()?;
        let next = &mut state.next_file_number;
        let files = background::build_tables(
            &fs,
            dir,
            &opts,
            &mut it,
            u64::MAX,
            || {
                *next += 1;
                *next - 1
            },
            |_| false,
            &stats,
        )?;
        let edit = VersionEdit {
            added: files.iter().map(|(m, _)| (0, m.clone())).collect(),
            ..Default::default()
        };
        version = version.apply(&edit, dir)?;
        tables.extend(files.into_iter().map(|(m, t)| (m.number, t)));
    }
    state.version = version;

    // The manifest names the new WAL segment before it exists: a crash in between leaves a
    // manifest whose recovered data is all in L0 and no segment to replay, which is
    // consistent. (The other order could leave an empty newest segment behind a torn one.)
    let wal_number = state.next_file_number;
    state.log_number = wal_number;
    state.manifest_number = wal_number + 1;
    state.next_file_number = wal_number + 2;
    let manifest = ManifestWriter::create(fs.as_ref(), dir, &state)?;
    let wal = WalWriter::create(fs.as_ref(), dir, wal_number)?;

    // Now that the new manifest is durable, what the old one proves obsolete can go.
    let live: std::collections::HashSet<u64> =
        state.version.all_files().map(|(_, f)| f.number).collect();
    for name in fs
        .list_dir(dir)
        .context(|| format!("listing {}", dir.display()))?
    {
        let Some(kind) = classify(&name) else {
            continue;
        };
        let verdict = match kind {
            FileKind::Wal(n) if n < state.log_number => Cleanup::Remove,
            FileKind::Table(n) if state.superseded_tables.contains(&n) => Cleanup::RemoveReported,
            FileKind::Table(n) if !live.contains(&n) => Cleanup::Keep,
            // The manifest CURRENT named is superseded by the one just written from its state;
            // a half-created directory's manifests held nothing. Others (an interrupted
            // switch or rollover, or a newer one CURRENT does not name) are not provably dead.
            FileKind::Manifest(n) if n == state.manifest_number => continue,
            FileKind::Manifest(n) if n == recovered_manifest || report.created => Cleanup::Remove,
            FileKind::Manifest(_) => Cleanup::Keep,
            FileKind::CurrentTmp | FileKind::CreationMarker => Cleanup::Remove,
            _ => continue,
        };
        if verdict == Cleanup::Keep {
            tracing::warn!(
                file = %dir.join(&name).display(),
                "no version references this file and nothing proves it obsolete; keeping it"
            );
            report.kept_unreferenced.push(name);
            continue;
        }
        fs.remove_file(&dir.join(&name))
            .context(|| format!("removing obsolete {name}"))?;
        if verdict == Cleanup::RemoveReported {
            report.removed_files.push(name);
        }
    }
    fs.sync_dir(dir)
        .context(|| format!("syncing {}", dir.display()))?;

    let state = State {
        mem: Arc::new(Memtable::new(wal_number)),
        imm: Vec::new(),
        current: Arc::new(Current {
            version: state.version.clone(),
            tables,
        }),
        manifest: Some(manifest),
        log_number: state.log_number,
        next_file_number: state.next_file_number,
        last_sequence: state.last_sequence,
        bg_error: None,
        bg_running: false,
        closing: false,
        read_only: false,
    };
    Ok(Inner::new(
        dir,
        fs,
        opts,
        stats,
        state,
        Some(wal),
        report,
        lock,
    ))
}

impl Inner {
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts recovery assembles, each used once"
    )]
    fn new(
        dir: &Path,
        fs: Arc<dyn FileSystem>,
        opts: Options,
        stats: Arc<Stats>,
        state: State,
        wal: Option<WalWriter>,
        recovery: RecoveryReport,
        lock: Box<dyn crate::fs::FileLock>,
    ) -> Inner {
        Inner {
            dir: dir.to_path_buf(),
            fs,
            opts,
            stats,
            state: Mutex::new(state),
            work_cv: Condvar::new(),
            room_cv: Condvar::new(),
            queue: Mutex::new(WriteQueue::default()),
            queue_cv: Condvar::new(),
            wal: Mutex::new(wal),
            recovery,
            _lock: lock,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::WriteBatch;
    use crate::db::Db;
    use crate::fs::MemFs;

    /// Writes WAL segment `number` holding one single-put batch per sequence number.
    fn segment(fs: &MemFs, number: u64, seqs: &[u64]) {
        let mut w = WalWriter::create(fs, Path::new("/db"), number).expect("create");
        for &seq in seqs {
            let mut b = WriteBatch::new();
            b.put(format!("k{seq}").as_bytes(), b"v").expect("put");
            w.append([b.encode_with_seq(seq)], true).expect("append");
        }
    }

    fn open(fs: &MemFs) -> Result<Db> {
        Db::open_with_fs(Arc::new(fs.clone()), Path::new("/db"), Options::default())
    }

    /// An older WAL segment cut at a record boundary looks intact; the sequence numbers of the
    /// next segment show the loss.
    #[test]
    fn a_sequence_gap_between_wal_segments_is_corruption() {
        for (later, ok) in [(3, true), (4, false)] {
            let fs = MemFs::new();
            drop(open(&fs).expect("create"));
            // A fresh store: manifest 3 names WAL segment 2; segment 4 continues it.
            segment(&fs, 2, &[1, 2]);
            segment(&fs, 4, &[later, later + 1]);
            match open(&fs) {
                Ok(db) => {
                    assert!(ok, "a gap before {later} went unnoticed");
                    assert_eq!(db.get(b"k1").expect("get"), Some(b"v".to_vec()));
                }
                Err(e) => {
                    assert!(!ok, "{e}");
                    assert!(e.is_corruption(), "{e}");
                    assert!(e.to_string().contains("000004.log"), "{e}");
                }
            }
        }
    }
}
