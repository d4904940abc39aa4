//! The write path: the writer role, group commit and making room in the memtable.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Inner, background};
use crate::batch::WriteBatch;
use crate::error::{Error, Result};
use crate::memtable::Memtable;
use crate::options::BackgroundMode;
use crate::stats::Stats;
use crate::wal::WalWriter;

use super::WriteOptions;

/// Most bytes of batches one leader commits in one group (beyond its own batch).
const MAX_GROUP_BYTES: usize = 4 << 20;

/// How long a write is delayed when L0 is past the slowdown trigger.
const SLOWDOWN_DELAY: Duration = Duration::from_millis(1);

/// Where one waiting writer stands.
#[derive(Debug)]
enum Slot {
    Waiting,
    /// Handed the writer role: lead the next group.
    Lead,
    Done(Result<u64>),
}

/// One writer's mailbox: only its own condition variable is signalled, so finishing a group
/// wakes exactly its members and the next leader, not every queued writer.
#[derive(Debug)]
struct Waiter {
    slot: parking_lot::Mutex<Slot>,
    cv: parking_lot::Condvar,
}

impl Waiter {
    fn new() -> Arc<Waiter> {
        Arc::new(Waiter {
            slot: parking_lot::Mutex::new(Slot::Waiting),
            cv: parking_lot::Condvar::new(),
        })
    }

    fn set(&self, slot: Slot) {
        *self.slot.lock() = slot;
        self.cv.notify_one();
    }
}

#[derive(Debug)]
struct Pending {
    waiter: Arc<Waiter>,
    batch: WriteBatch,
    sync: bool,
}

/// Writers waiting to be committed.
///
/// Protocol: the writer role (the right to append to the WAL and rotate the memtable) is held
/// by at most one thread. A writer that finds the role free takes it and leads; otherwise it
/// waits on its own [`Waiter`]. A leader commits every queued batch as one group, hands each
/// member its result, then passes the role straight to the oldest queued writer (or frees it
/// when nobody waits, or when [`with_writer_role`] asked for it).
#[derive(Debug, Default)]
pub(super) struct WriteQueue {
    pending: std::collections::VecDeque<Pending>,
    /// Someone holds the writer role (committing a group, rotating the memtable).
    role_taken: bool,
    /// Callers of [`with_writer_role`] waiting for the role.
    role_wanted: usize,
}

/// Copies an error for each member of a failed group (io errors are not `Clone`).
fn duplicate(e: &Error) -> Error {
    match e {
        Error::Io { context, source } => Error::Io {
            context: context.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        Error::Corruption {
            file,
            offset,
            reason,
        } => Error::Corruption {
            file: file.clone(),
            offset: *offset,
            reason: reason.clone(),
        },
        Error::BackgroundFailed(s) => Error::BackgroundFailed(s.clone()),
        Error::Closed => Error::Closed,
        other => Error::BackgroundFailed(other.to_string()),
    }
}

/// Gives up the writer role: to the oldest queued writer, or to nobody.
fn release_role(inner: &Inner) {
    let mut q = inner.queue.lock();
    if q.role_wanted == 0
        && let Some(next) = q.pending.front()
    {
        // The role passes on without being freed; `next` leads everything queued.
        next.waiter.set(Slot::Lead);
        return;
    }
    q.role_taken = false;
    if q.role_wanted > 0 {
        inner.queue_cv.notify_all();
    }
}

/// Runs `f` holding the writer role (no group commit runs meanwhile).
pub(super) fn with_writer_role<R>(inner: &Inner, f: impl FnOnce(&Inner) -> R) -> R {
    let mut q = inner.queue.lock();
    q.role_wanted += 1;
    while q.role_taken {
        inner.queue_cv.wait(&mut q);
    }
    q.role_taken = true;
    q.role_wanted -= 1;
    drop(q);
    let out = f(inner);
    release_role(inner);
    out
}

pub(super) fn write(inner: &Inner, batch: WriteBatch, opts: WriteOptions) -> Result<u64> {
    if batch.is_empty() {
        let st = inner.state.lock();
        st.check_error()?;
        return Ok(st.last_sequence);
    }
    let waiter = Waiter::new();
    {
        let mut q = inner.queue.lock();
        q.pending.push_back(Pending {
            waiter: waiter.clone(),
            batch,
            sync: opts.sync,
        });
        if q.role_taken {
            drop(q);
            let mut slot = waiter.slot.lock();
            loop {
                match std::mem::replace(&mut *slot, Slot::Waiting) {
                    Slot::Done(result) => return result,
                    Slot::Lead => break,
                    Slot::Waiting => waiter.cv.wait(&mut slot),
                }
            }
        } else {
            q.role_taken = true;
        }
    }
    // Lead: commit everything queued (our batch included) as one group.
    let mut group: Vec<Pending> = {
        let mut q = inner.queue.lock();
        let mut bytes = 0;
        let mut take = 0;
        let mut mine_taken = false;
        for p in &q.pending {
            take += 1;
            bytes += p.batch.size_bytes();
            mine_taken |= Arc::ptr_eq(&p.waiter, &waiter);
            if mine_taken && bytes >= MAX_GROUP_BYTES {
                break;
            }
        }
        q.pending.drain(..take).collect()
    };
    let results = commit_group(inner, &mut group);
    let mut mine = None;
    for (p, r) in group.into_iter().zip(results) {
        if Arc::ptr_eq(&p.waiter, &waiter) {
            mine = Some(r);
        } else {
            p.waiter.set(Slot::Done(r));
        }
    }
    release_role(inner);
    mine.unwrap_or_else(|| {
        Err(Error::BackgroundFailed(
            "invariant: a leader commits its own batch".into(),
        ))
    })
}

/// Commits a group as the leader; returns each member's result.
fn commit_group(inner: &Inner, group: &mut [Pending]) -> Vec<Result<u64>> {
    let outcome = (|| -> Result<Vec<u64>> {
        let mem = make_room(inner)?;
        let first = inner.state.lock().last_sequence + 1;
        let mut seqs = Vec::with_capacity(group.len());
        let mut next = first;
        for p in group.iter() {
            seqs.push(next);
            next += p.batch.len() as u64;
        }
        let sync = group.iter().any(|p| p.sync);
        let append = {
            let mut guard = inner.wal.lock();
            let wal = guard
                .as_mut()
                .ok_or_else(|| Error::InvalidArgument("the store is open read-only".into()))?;
            let payloads: Vec<&[u8]> = group
                .iter_mut()
                .zip(&seqs)
                .map(|(p, &seq)| p.batch.encode_with_seq(seq))
                .collect();
            let wal_bytes: usize = payloads
                .iter()
                .map(|p| p.len() + crate::record::HEADER_BYTES)
                .sum();
            let r = wal.append(payloads, sync);
            Stats::add(&inner.stats.wal_bytes_written, wal_bytes as u64);
            r
        };
        if let Err(e) = append {
            // The WAL may now end in a partial record, and a failed sync leaves durability
            // unknown: accept no more writes until reopened (recovery sorts out the tail).
            inner.state.lock().bg_error = Some(format!("WAL write failed: {e}"));
            return Err(e);
        }
        mem.apply(
            group
                .iter()
                .zip(seqs.iter().copied())
                .map(|(p, s)| (&p.batch, s)),
        );
        inner.state.lock().last_sequence = next - 1;
        let stats = &inner.stats;
        Stats::add(&stats.write_groups, 1);
        Stats::add(&stats.batches_written, group.len() as u64);
        Stats::add(&stats.wal_syncs, u64::from(sync));
        let user: usize = group.iter().map(|p| p.batch.size_bytes()).sum();
        Stats::add(&stats.user_bytes_written, user as u64);
        Ok(seqs
            .iter()
            .zip(group.iter())
            .map(|(s, p)| s + p.batch.len() as u64 - 1)
            .collect())
    })();
    match outcome {
        Ok(last_seqs) => last_seqs.into_iter().map(Ok).collect(),
        Err(e) => group.iter().map(|_| Err(duplicate(&e))).collect(),
    }
}

/// Ensures the memtable has room, freezing it (and stalling) as needed; returns the memtable
/// to write into. Called only by the holder of the writer role.
fn make_room(inner: &Inner) -> Result<Arc<Memtable>> {
    let opts = &inner.opts;
    let mut slowed = false;
    loop {
        let mut st = inner.state.lock();
        st.check_error()?;
        let l0 = st.current.version.levels[0].len();
        let inline = opts.background == BackgroundMode::Inline;
        if l0 >= opts.l0_stop_trigger
            || st.imm.len() >= opts.max_immutable_memtables
                && st.mem.size_bytes() >= opts.write_buffer_size_bytes
        {
            Stats::add(&inner.stats.stop_stalls, 1);
            let start = Instant::now();
            if inline {
                drop(st);
                background::run_inline(inner)?;
            } else {
                inner.work_cv.notify_all();
                inner.room_cv.wait(&mut st);
            }
            Stats::add(
                &inner.stats.stall_micros,
                start.elapsed().as_micros() as u64,
            );
            continue;
        }
        if l0 >= opts.l0_slowdown_trigger && !slowed && !inline {
            drop(st);
            slowed = true;
            Stats::add(&inner.stats.slowdown_stalls, 1);
            std::thread::sleep(SLOWDOWN_DELAY);
            Stats::add(&inner.stats.stall_micros, SLOWDOWN_DELAY.as_micros() as u64);
            continue;
        }
        if st.mem.size_bytes() < opts.write_buffer_size_bytes {
            return Ok(st.mem.clone());
        }
        drop(st);
        rotate(inner)?;
        if inline {
            background::run_inline(inner)?;
        }
    }
}

/// Freezes the memtable and starts a new WAL segment for its successor.
fn rotate(inner: &Inner) -> Result<()> {
    let mut st = inner.state.lock();
    // Only the newest segment may end torn after a crash, so the old one must be complete on
    // disk before a newer segment exists.
    if let Some(Err(e)) = inner.wal.lock().as_mut().map(WalWriter::sync) {
        st.bg_error = Some(format!("could not sync the WAL segment being retired: {e}"));
        return Err(e);
    }
    let number = st.allocate_file_number();
    let wal = match WalWriter::create(inner.fs.as_ref(), &inner.dir, number) {
        Ok(w) => w,
        Err(e) => {
            st.bg_error = Some(format!("could not start a new WAL segment: {e}"));
            return Err(e);
        }
    };
    *inner.wal.lock() = Some(wal);
    let frozen = std::mem::replace(&mut st.mem, Arc::new(Memtable::new(number)));
    st.imm.push(frozen);
    inner.work_cv.notify_all();
    Ok(())
}

/// Freezes the memtable if it holds anything (for an explicit flush).
pub(super) fn force_rotate(inner: &Inner) -> Result<()> {
    with_writer_role(inner, |inner| {
        let st = inner.state.lock();
        st.check_error()?;
        let empty = st.mem.is_empty();
        drop(st);
        if empty { Ok(()) } else { rotate(inner) }
    })
}
