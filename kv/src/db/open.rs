//! Opening a data directory: creation, manifest recovery, WAL replay and cleanup.

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

/// What opening the store found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Whether the directory was initialised by this open.
    pub created: bool,
    pub wal_segments_replayed: u64,
    pub wal_batches_replayed: u64,
    /// `(segment number, offset, reason)` of a torn WAL tail that was dropped.
    pub torn_wal_tail: Option<(u64, u64, String)>,
    /// Files no version referenced (leftovers of an interrupted job), removed.
    pub removed_files: Vec<String>,
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
        _ => None,
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
        if let Some(foreign) = names.iter().find(|n| classify(n).is_none()) {
            return Err(Error::NotADataDirectory {
                path: dir.to_path_buf(),
                reason: format!("it holds {foreign:?} and no CURRENT file"),
            });
        }
        if !opts.create_if_missing || opts.read_only {
            return Err(Error::NotADataDirectory {
                path: dir.to_path_buf(),
                reason: "it has no CURRENT file".into(),
            });
        }
        // Leftovers of a creation that crashed before CURRENT existed: nothing in them was
        // ever acknowledged (writes start only after CURRENT is durable).
        for name in names.iter().filter(|n| n.as_str() != LOCK) {
            fs.remove_file(&dir.join(name))
                .context(|| format!("removing leftover {name}"))?;
        }
        report.created = true;
        ManifestState {
            manifest_number: 1,
            version: Version::new(opts.num_levels),
            log_number: 0,
            next_file_number: 2,
            last_sequence: 0,
        }
    };
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
    let recovered = Arc::new(Memtable::new(0));
    let mut last_sequence = state.last_sequence;
    for (i, &number) in segments.iter().enumerate() {
        let is_last = i + 1 == segments.len();
        let path = wal::segment_path(dir, number);
        let replay = wal::replay_segment(fs.as_ref(), &path, is_last, |batch, seq| {
            last_sequence = last_sequence.max(seq + batch.len() as u64 - 1);
            recovered.apply([(&batch, seq)]);
        })?;
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

    // Now that the new manifest is durable, anything it does not reference can go.
    let live: std::collections::HashSet<u64> =
        state.version.all_files().map(|(_, f)| f.number).collect();
    for name in fs
        .list_dir(dir)
        .context(|| format!("listing {}", dir.display()))?
    {
        let obsolete = match classify(&name) {
            Some(FileKind::Wal(n)) => n < state.log_number,
            Some(FileKind::Table(n)) => !live.contains(&n),
            Some(FileKind::Manifest(n)) => n != state.manifest_number,
            Some(FileKind::CurrentTmp) => true,
            _ => false,
        };
        if obsolete {
            fs.remove_file(&dir.join(&name))
                .context(|| format!("removing obsolete {name}"))?;
            report.removed_files.push(name);
        }
    }
    fs.sync_dir(dir)
        .context(|| format!("syncing {}", dir.display()))?;
    // Leftover tables are reported (they are normal after a crash mid-job); segments and old
    // manifests are routine and not.
    report
        .removed_files
        .retain(|n| matches!(classify(n), Some(FileKind::Table(_))));

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
