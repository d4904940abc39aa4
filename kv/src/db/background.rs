//! Background work: flushing frozen memtables and running compactions.
//!
//! Exactly one job runs at a time (`State::bg_running`), either on the background thread or,
//! in [`BackgroundMode::Inline`](crate::options::BackgroundMode), in the calling thread. A job
//! builds its output files without the state lock, then installs the result with one manifest
//! edit under it ([`log_and_apply`]). A failed job leaves the store refusing writes
//! (`bg_error`); its half-written outputs are unreferenced and removed at the next open.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use super::{Current, Inner, State};
use crate::compaction::{self, CompactionTask};
use crate::error::{IoContext, Result};
use crate::fs::FileSystem;
use crate::iter::{InternalIterator, MergingIterator};
use crate::manifest::{ManifestState, ManifestWriter, manifest_name};
use crate::memtable::Memtable;
use crate::options::{BackgroundMode, Options};
use crate::sstable::{SsTableWriter, Table, table_path};
use crate::stats::Stats;
use crate::version::{FileMeta, VersionEdit};
use crate::wal::segment_path;

/// The background thread's loop.
pub(super) fn worker(inner: &Inner) {
    loop {
        {
            let mut st = inner.state.lock();
            while !st.closing && st.bg_error.is_none() && !has_work(&st, &inner.opts) {
                inner.work_cv.wait(&mut st);
            }
            if st.closing || st.bg_error.is_some() {
                return;
            }
        }
        if let Err(e) = run_one(inner) {
            tracing::error!(error = %e, "background job failed; the store stops accepting writes");
        }
    }
}

fn has_work(st: &State, opts: &Options) -> bool {
    !st.imm.is_empty() || compaction::pick(&st.current.version, opts).is_some()
}

/// Runs jobs in the calling thread until there is nothing to do.
pub(super) fn run_inline(inner: &Inner) -> Result<()> {
    while run_one(inner)? {}
    Ok(())
}

/// Waits until `done(state)` holds, running jobs inline or letting the worker run them.
pub(super) fn wait_until(inner: &Inner, done: impl Fn(&State) -> bool) -> Result<()> {
    loop {
        let mut st = inner.state.lock();
        st.check_error()?;
        if done(&st) && !st.bg_running {
            return Ok(());
        }
        match inner.opts.background {
            BackgroundMode::Inline => {
                drop(st);
                run_one(inner)?;
            }
            BackgroundMode::Thread => {
                inner.work_cv.notify_all();
                inner.room_cv.wait(&mut st);
            }
        }
    }
}

enum Job {
    Flush(Arc<Memtable>),
    Compact(CompactionTask, Arc<Current>),
}

/// Runs one job if there is one; returns whether it did. Failures poison the store.
fn run_one(inner: &Inner) -> Result<bool> {
    let job = {
        let mut st = inner.state.lock();
        st.check_error()?;
        if st.bg_running {
            // Another thread runs a job; wait for it rather than spinning.
            inner.room_cv.wait(&mut st);
            return Ok(true);
        }
        let job = if let Some(mem) = st.imm.first() {
            Job::Flush(mem.clone())
        } else if let Some(task) = compaction::pick(&st.current.version, &inner.opts) {
            Job::Compact(task, st.current.clone())
        } else {
            return Ok(false);
        };
        st.bg_running = true;
        job
    };
    let result = match job {
        Job::Flush(mem) => flush(inner, &mem),
        Job::Compact(task, current) => compact(inner, &task, &current),
    };
    finish_job(inner, &result);
    result.map(|()| true)
}

/// Compacts every level down into the deepest non-empty one (a manual, full compaction):
/// shadowed versions and tombstones are dropped everywhere, which returns the space of deleted
/// data that the size-triggered picker would leave alone while levels are within target.
pub(super) fn compact_all(inner: &Inner) -> Result<()> {
    wait_until(inner, |st| st.imm.is_empty())?;
    let last_level = inner.opts.num_levels - 1;
    for level in 0..last_level {
        let task = {
            let mut st = inner.state.lock();
            loop {
                st.check_error()?;
                if !st.bg_running {
                    break;
                }
                inner.room_cv.wait(&mut st);
            }
            let v = &st.current.version;
            let deepest = (1..=last_level)
                .rev()
                .find(|&l| !v.levels[l].is_empty())
                .unwrap_or(1);
            if level >= deepest || v.levels[level].is_empty() {
                continue;
            }
            let inputs = v.levels[level].clone();
            let lo = inputs.iter().map(FileMeta::smallest_user_key).min();
            let hi = inputs.iter().map(FileMeta::largest_user_key).max();
            let next_inputs = v
                .overlapping(level + 1, lo, hi)
                .into_iter()
                .cloned()
                .collect();
            st.bg_running = true;
            (
                CompactionTask {
                    level,
                    output_level: level + 1,
                    inputs,
                    next_inputs,
                },
                st.current.clone(),
            )
        };
        let result = compact(inner, &task.0, &task.1);
        finish_job(inner, &result);
        result?;
    }
    Ok(())
}

fn finish_job(inner: &Inner, result: &Result<()>) {
    let mut st = inner.state.lock();
    st.bg_running = false;
    if let Err(e) = result
        && st.bg_error.is_none()
    {
        st.bg_error = Some(e.to_string());
    }
    drop(st);
    inner.room_cv.notify_all();
    inner.work_cv.notify_all();
}

/// Writes the entries of `input` (positioned at its start) into SSTables of at most
/// `max_file_bytes`, returning the finished files. Shared by flush, compaction and recovery.
#[expect(
    clippy::too_many_arguments,
    reason = "shared by flush, compaction and recovery, each passing its own policy"
)]
pub(super) fn build_tables(
    fs: &Arc<dyn FileSystem>,
    dir: &Path,
    opts: &Options,
    input: &mut dyn InternalIterator,
    max_file_bytes: u64,
    mut allocate: impl FnMut() -> u64,
    drop_tombstone: impl FnMut(&[u8]) -> bool,
    stats: &Arc<Stats>,
) -> Result<Vec<(FileMeta, Arc<Table>)>> {
    let mut done: Vec<FileMeta> = Vec::new();
    let mut current: Option<(u64, SsTableWriter)> = None;
    let finish = |number: u64, w: SsTableWriter, done: &mut Vec<FileMeta>| -> Result<()> {
        let summary = w.finish()?;
        done.push(FileMeta {
            number,
            size_bytes: summary.size_bytes,
            entries: summary.entries,
            smallest: summary.smallest,
            largest: summary.largest,
        });
        Ok(())
    };
    compaction::merge_newest(input, drop_tombstone, |k, v| {
        if current.is_none() {
            let number = allocate();
            let w = SsTableWriter::create(
                fs.as_ref(),
                &table_path(dir, number),
                opts.block_size_bytes,
                opts.block_restart_interval,
                opts.bloom_bits_per_key,
            )?;
            current = Some((number, w));
        }
        let (_, w) = current
            .as_mut()
            .expect("invariant: a writer was just created");
        w.add(k, v)?;
        if w.estimated_size() >= max_file_bytes {
            let (number, w) = current.take().expect("invariant: checked above");
            finish(number, w, &mut done)?;
        }
        Ok(())
    })?;
    if let Some((number, w)) = current.take() {
        finish(number, w, &mut done)?;
    }
    if !done.is_empty() {
        fs.sync_dir(dir)
            .context(|| format!("syncing directory {}", dir.display()))?;
    }
    let mut out = Vec::with_capacity(done.len());
    for meta in done {
        let table = Table::open(
            fs.clone(),
            table_path(dir, meta.number),
            meta.number,
            stats.clone(),
        )?;
        out.push((meta, Arc::new(table)));
    }
    Ok(out)
}

fn flush(inner: &Inner, mem: &Arc<Memtable>) -> Result<()> {
    let mut it = mem.iter();
    it.seek_to_first()?;
    let files = build_tables_for(inner, &mut it, u64::MAX, |_| false)?;
    let bytes: u64 = files.iter().map(|(m, _)| m.size_bytes).sum();
    let mut st = inner.state.lock();
    // Segments before the next memtable's hold only flushed data once this edit is durable.
    let next_wal = st.imm.get(1).unwrap_or(&st.mem).wal_number();
    let edit = VersionEdit {
        log_number: Some(next_wal),
        last_sequence: Some(st.last_sequence),
        added: files.iter().map(|(m, _)| (0, m.clone())).collect(),
        ..Default::default()
    };
    log_and_apply(
        inner,
        &mut st,
        edit,
        files.into_iter().map(|(m, t)| (m.number, t)),
    )?;
    let flushed = st.imm.remove(0);
    debug_assert!(
        Arc::ptr_eq(&flushed, mem),
        "flushed a memtable that was not the oldest"
    );
    st.log_number = next_wal;
    drop(st);
    Stats::add(&inner.stats.flushes, 1);
    Stats::add(&inner.stats.flush_bytes_written, bytes);
    remove_wal_segments_before(inner, next_wal);
    Ok(())
}

fn build_tables_for(
    inner: &Inner,
    input: &mut dyn InternalIterator,
    max_file_bytes: u64,
    drop_tombstone: impl FnMut(&[u8]) -> bool,
) -> Result<Vec<(FileMeta, Arc<Table>)>> {
    build_tables(
        &inner.fs,
        &inner.dir,
        &inner.opts,
        input,
        max_file_bytes,
        || inner.state.lock().allocate_file_number(),
        drop_tombstone,
        &inner.stats,
    )
}

fn compact(inner: &Inner, task: &CompactionTask, current: &Arc<Current>) -> Result<()> {
    let mut edit = VersionEdit::default();
    for f in &task.inputs {
        edit.deleted.push((task.level, f.number));
    }
    for f in &task.next_inputs {
        edit.deleted.push((task.output_level, f.number));
    }
    if task.is_trivial_move() {
        edit.added.push((task.output_level, task.inputs[0].clone()));
        let mut st = inner.state.lock();
        log_and_apply(inner, &mut st, edit, std::iter::empty())?;
        Stats::add(&inner.stats.trivial_moves, 1);
        return Ok(());
    }
    let mut children: Vec<Box<dyn InternalIterator>> = Vec::new();
    for f in task.inputs.iter().chain(&task.next_inputs) {
        children.push(Box::new(current.table(f.number)?.iter()));
    }
    let mut merged = MergingIterator::new(children);
    merged.seek_to_first()?;
    let version = &current.version;
    let files = build_tables_for(
        inner,
        &mut merged,
        inner.opts.target_file_size_bytes,
        |user_key| !compaction::deeper_levels_may_hold(version, task.output_level, user_key),
    )?;
    let written: u64 = files.iter().map(|(m, _)| m.size_bytes).sum();
    edit.added = files
        .iter()
        .map(|(m, _)| (task.output_level, m.clone()))
        .collect();
    let mut st = inner.state.lock();
    log_and_apply(
        inner,
        &mut st,
        edit,
        files.into_iter().map(|(m, t)| (m.number, t)),
    )?;
    drop(st);
    Stats::add(&inner.stats.compactions, 1);
    Stats::add(&inner.stats.compaction_bytes_read, task.input_bytes());
    Stats::add(&inner.stats.compaction_bytes_written, written);
    Ok(())
}

/// Records `edit` in the manifest and installs the new version with `new_tables` opened.
/// Tables that leave the version are marked obsolete (removed when their last reader drops).
pub(super) fn log_and_apply(
    inner: &Inner,
    st: &mut State,
    mut edit: VersionEdit,
    new_tables: impl IntoIterator<Item = (u64, Arc<Table>)>,
) -> Result<()> {
    let manifest_number = st.manifest.as_ref().map_or(0, ManifestWriter::number);
    let manifest_path = inner.dir.join(manifest_name(manifest_number));
    let version = st.current.version.apply(&edit, &manifest_path)?;
    edit.next_file_number = Some(st.next_file_number);
    let Some(manifest) = st.manifest.as_mut() else {
        return Err(crate::error::Error::InvalidArgument(
            "the store is open read-only".into(),
        ));
    };
    if let Err(e) = manifest.append(&edit) {
        st.bg_error = Some(format!("manifest write failed: {e}"));
        return Err(e);
    }
    let mut tables: HashMap<u64, Arc<Table>> = st.current.tables.clone();
    tables.extend(new_tables);
    for (_, number) in &edit.deleted {
        if !version.all_files().any(|(_, f)| f.number == *number)
            && let Some(t) = tables.remove(number)
        {
            t.mark_obsolete();
        }
    }
    st.current = Arc::new(Current { version, tables });
    if let Some(log_number) = edit.log_number {
        st.log_number = log_number;
    }
    if st
        .manifest
        .as_ref()
        .is_some_and(|m| m.size_bytes() > inner.opts.manifest_rollover_bytes)
    {
        roll_manifest(inner, st)?;
    }
    Ok(())
}

/// Starts a new manifest holding the whole current state, and removes the old one.
fn roll_manifest(inner: &Inner, st: &mut State) -> Result<()> {
    let old = manifest_number_of(st);
    let number = st.allocate_file_number();
    let state = ManifestState {
        manifest_number: number,
        version: st.current.version.clone(),
        log_number: st.log_number,
        next_file_number: st.next_file_number,
        last_sequence: st.last_sequence,
        superseded_tables: Default::default(),
    };
    match ManifestWriter::create(inner.fs.as_ref(), &inner.dir, &state) {
        Ok(w) => st.manifest = Some(w),
        Err(e) => {
            st.bg_error = Some(format!("manifest rollover failed: {e}"));
            return Err(e);
        }
    }
    let old_path = inner.dir.join(manifest_name(old));
    if let Err(e) = inner.fs.remove_file(&old_path) {
        tracing::warn!(file = %old_path.display(), error = %e, "could not remove the old manifest");
    }
    Ok(())
}

fn manifest_number_of(st: &State) -> u64 {
    st.manifest.as_ref().map_or(0, ManifestWriter::number)
}

fn remove_wal_segments_before(inner: &Inner, log_number: u64) {
    let Ok(names) = inner.fs.list_dir(&inner.dir) else {
        return;
    };
    for name in names {
        if let Some(n) = name
            .strip_suffix(".log")
            .and_then(|n| n.parse::<u64>().ok())
            && n < log_number
            && let Err(e) = inner.fs.remove_file(&segment_path(&inner.dir, n))
        {
            tracing::warn!(segment = n, error = %e, "could not remove a flushed WAL segment");
        }
    }
}
