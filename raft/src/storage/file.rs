//! File-backed [`LogStorage`].
//!
//! # Layout
//!
//! ```text
//! dir/
//!   snapshot                 latest snapshot: one framed record (written to snapshot.tmp,
//!                            fsynced, renamed, directory fsynced)
//!   00000000000000000001.seg log segments, replayed in sequence order
//!   00000000000000000002.seg ...
//!   LOCK                     advisory OS lock (flock) held while the storage is open; the
//!                            kernel drops it when the process dies, however it dies
//! ```
//!
//! Every record, in segments and in the snapshot file, uses the shared framing of
//! `chronos_io::record` (the same as the kv WAL and manifest):
//!
//! ```text
//! +--------------+------------+------------------+-------------------------+
//! | crc32: u32   | len: u32   | len check: u32   | payload (len bytes)     |
//! +--------------+------------+------------------+-------------------------+
//!   little-endian; crc32 (IEEE) covers len and payload; the len check covers len alone
//! ```
//!
//! ```text
//! payload = kind: u8, body
//!   kind 1 ENTRY       term u64, index u64, payload kind u8, data
//!   kind 2 HARD_STATE  term u64, vote u64 (0 = none), commit u64
//!   kind 3 RESET       index u64: discard every entry; the log continues after `index`
//!   kind 4 SNAPSHOT    index u64, term u64, voters, learners, data (snapshot file only)
//!   kind 5 SEAL        records u64: the number of records before it in this segment
//! ```
//!
//! An ENTRY at an index at or below the current last index truncates the log there first, so
//! conflicting suffixes are rewritten by simply appending. Each new segment starts with the
//! current HARD_STATE, so deleting old segments never loses it. A segment is closed by a SEAL
//! record, synced before the next segment is created: every segment but the newest must end
//! with its seal, which is what catches an older segment cut at a record boundary (its framing
//! alone looks intact, and the next segment would silently continue a stale suffix).
//!
//! # Recovery
//!
//! Segments are replayed in order through the shared reader (`chronos_io::record::read_records`).
//! Only the *last* segment may end in a torn tail, and only a provable one: a record cut short
//! at the end of the file, or a zero-filled tail — what a crash before `sync` returned leaves.
//! The file is truncated to the last intact record and synced. Anything else (a record whose
//! length or checksum check fails, damage in an earlier segment, an undecodable payload, a gap
//! in indexes, a bad snapshot file) is [`Error::Corruption`] naming the file and the offset,
//! and the files are left as found: a flipped bit never passes for a torn tail.
//!
//! Writes reach the OS on every call and are made durable by [`LogStorage::sync`] (`fsync`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chronos_io::fs::{FileLock, FileSystem, RealFs, WritableFile};
use chronos_io::record::{self, Tail};

use crate::codec::{self, Dec, Enc};
use crate::error::{Error, Result};
use crate::rawnode::InitialState;
use crate::storage::LogStorage;
use crate::types::{Entry, HardState, Index, Snapshot};

const KIND_ENTRY: u8 = 1;
const KIND_HARD_STATE: u8 = 2;
const KIND_RESET: u8 = 3;
const KIND_SEAL: u8 = 5;
const KIND_SNAPSHOT: u8 = 4;
const LOCK_FILE: &str = "LOCK";

#[derive(Debug)]
struct Segment {
    seq: u64,
    path: PathBuf,
    /// Highest entry index written to this segment (0 if none).
    max_index: Index,
}

/// Durable log storage in a directory. See the module docs for the format.
#[derive(Debug)]
pub struct FileStorage {
    fs: Arc<dyn FileSystem>,
    dir: PathBuf,
    segment_max_bytes: u64,
    hard_state: HardState,
    snapshot: Option<Snapshot>,
    /// Entries after the snapshot (or after the last RESET), contiguous.
    entries: Vec<Entry>,
    segments: Vec<Segment>,
    active: Box<dyn WritableFile>,
    active_len: u64,
    /// Records in the active segment (its seal records the count).
    active_records: u64,
    /// Held for as long as the storage is open: one process per directory.
    _lock: Box<dyn FileLock>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn frame(payload: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    record::encode(&mut out, payload).map_err(|e| Error::InvalidArgument(e.to_string()))?;
    Ok(out)
}

fn corruption(e: chronos_io::Error) -> Error {
    match e {
        chronos_io::Error::Corruption {
            file,
            offset,
            reason,
        } => Error::Corruption {
            path: file,
            offset,
            reason,
        },
        e @ chronos_io::Error::TooLarge { .. } => Error::InvalidArgument(e.to_string()),
    }
}

fn segment_name(seq: u64) -> String {
    format!("{seq:020}.seg")
}

impl FileStorage {
    /// Open (or create) the storage in `dir` on the real filesystem, recovering from a torn tail.
    pub fn open(dir: impl AsRef<Path>, segment_max_bytes: u64) -> Result<Self> {
        Self::open_with(Arc::new(RealFs), dir, segment_max_bytes)
    }
}

impl FileStorage {
    /// Open (or create) the storage in `dir` on `fs`, recovering from a torn tail. Fails with
    /// [`Error::Locked`] while another process (or handle) has the directory open.
    pub fn open_with(
        fs: Arc<dyn FileSystem>,
        dir: impl AsRef<Path>,
        segment_max_bytes: u64,
    ) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        fs.create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock_path = dir.join(LOCK_FILE);
        let lock = fs.lock(&lock_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::WouldBlock {
                Error::Locked {
                    path: dir.clone(),
                    reason: e.to_string(),
                }
            } else {
                Error::Io {
                    path: lock_path.clone(),
                    source: e,
                }
            }
        })?;
        let snapshot = Self::read_snapshot(fs.as_ref(), &dir)?;
        let mut seqs = Vec::new();
        for name in fs.list_dir(&dir).map_err(io_err(&dir))? {
            if let Some(seq) = name
                .strip_suffix(".seg")
                .and_then(|s| s.parse::<u64>().ok())
            {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        let mut hard_state = HardState::default();
        let mut entries: Vec<Entry> = Vec::new();
        let mut segments = Vec::new();
        let n = seqs.len();
        let mut last_records = 0;
        let mut last_sealed = false;
        for (i, seq) in seqs.into_iter().enumerate() {
            let path = dir.join(segment_name(seq));
            let (max_index, records, sealed) = Self::replay(
                fs.as_ref(),
                &path,
                i + 1 == n,
                &mut hard_state,
                &mut entries,
            )?;
            last_records = records;
            last_sealed = sealed;
            segments.push(Segment {
                seq,
                path,
                max_index,
            });
        }
        // Reconcile the log with the snapshot.
        if let Some(s) = &snapshot {
            let (si, st) = (s.meta.index, s.meta.term);
            let diverged = entries
                .iter()
                .find(|e| e.index == si)
                .is_some_and(|e| e.term != st);
            if diverged || entries.last().is_some_and(|e| e.index < si) {
                entries.clear();
            }
            entries.retain(|e| e.index > si);
            if let Some(first) = entries.first()
                && first.index != si + 1
            {
                let path = segments.first().map_or(dir.clone(), |s| s.path.clone());
                return Err(Error::Corruption {
                    path,
                    offset: 0,
                    reason: format!(
                        "log starts at {} but the snapshot ends at {si}",
                        first.index
                    ),
                });
            }
        }
        let seq = segments.last().map_or(1, |s| s.seq);
        let path = dir.join(segment_name(seq));
        let (active, active_len) = fs.open_append(&path).map_err(io_err(&path))?;
        if segments.is_empty() {
            segments.push(Segment {
                seq,
                path,
                max_index: 0,
            });
            fs.sync_dir(&dir).map_err(io_err(&dir))?;
        }
        let mut storage = FileStorage {
            fs,
            dir,
            segment_max_bytes,
            hard_state,
            snapshot,
            entries,
            segments,
            active,
            active_len,
            active_records: last_records,
            _lock: lock,
        };
        if last_sealed {
            // A crash after the seal, before the next segment existed: a sealed segment takes
            // no more records, so start the next one.
            storage.start_segment()?;
        }
        Ok(storage)
    }

    fn read_snapshot(fs: &dyn FileSystem, dir: &Path) -> Result<Option<Snapshot>> {
        let path = dir.join("snapshot");
        let buf = match fs.read_all(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::Io { path, source: e }),
        };
        let corrupt = |reason: String| Error::Corruption {
            path: path.clone(),
            offset: 0,
            reason,
        };
        // Written whole and synced before the rename that made it visible: never torn.
        let records = record::read_records(&buf, &path, false).map_err(corruption)?;
        let payload = match records.records.as_slice() {
            [(_, p)] => *p,
            [] => return Err(corrupt("empty snapshot file".into())),
            _ => return Err(corrupt("trailing bytes after the snapshot record".into())),
        };
        let mut d = Dec::new(payload);
        let kind = d.u8().map_err(corrupt)?;
        if kind != KIND_SNAPSHOT {
            return Err(corrupt(format!("record kind {kind} in snapshot file")));
        }
        let snap = codec::get_snapshot(&mut d).map_err(corrupt)?;
        d.finish().map_err(corrupt)?;
        Ok(Some(snap))
    }

    /// Replay one segment into `hs` and `entries`; returns its highest entry index, its
    /// number of intact records and whether it is sealed. A torn tail of the `last` segment is cut off (durably); any
    /// other damage, or an older segment without its seal, is an error.
    fn replay(
        fs: &dyn FileSystem,
        path: &Path,
        last: bool,
        hs: &mut HardState,
        entries: &mut Vec<Entry>,
    ) -> Result<(Index, u64, bool)> {
        let buf = fs.read_all(path).map_err(io_err(path))?;
        let records = record::read_records(&buf, path, last).map_err(corruption)?;
        let mut max_index = 0;
        let mut sealed = false;
        for (i, &(offset, payload)) in records.records.iter().enumerate() {
            let corrupt = |reason: String| Error::Corruption {
                path: path.to_path_buf(),
                offset,
                reason,
            };
            let mut d = Dec::new(payload);
            match d.u8().map_err(corrupt)? {
                KIND_ENTRY => {
                    let e = codec::get_entry(&mut d).map_err(corrupt)?;
                    match (
                        entries.first().map(|e| e.index),
                        entries.last().map(|e| e.index),
                    ) {
                        (Some(first), Some(last_idx))
                            if e.index >= first && e.index <= last_idx.saturating_add(1) =>
                        {
                            // Continues the log, or rewrites a suffix (truncate first).
                            entries.truncate((e.index - first) as usize);
                        }
                        (Some(first), _) if e.index < first => {
                            // Rewrites from before the oldest retained segment: the
                            // earlier entries lived in segments deleted by compaction.
                            entries.clear();
                        }
                        (None, _) => {}
                        _ => {
                            return Err(corrupt(format!(
                                "entry {} leaves a gap after the log",
                                e.index
                            )));
                        }
                    }
                    max_index = max_index.max(e.index);
                    entries.push(e);
                }
                KIND_HARD_STATE => *hs = codec::get_hard_state(&mut d).map_err(corrupt)?,
                KIND_RESET => {
                    let _index = d.u64().map_err(corrupt)?;
                    entries.clear();
                }
                KIND_SEAL => {
                    let count = d.u64().map_err(corrupt)?;
                    if count != i as u64 || i + 1 != records.records.len() {
                        return Err(corrupt(format!(
                            "seal after {count} records is record {i} of {}",
                            records.records.len()
                        )));
                    }
                    sealed = true;
                }
                k => return Err(corrupt(format!("unknown record kind {k}"))),
            }
            d.finish().map_err(corrupt)?;
        }
        if !last && !sealed {
            return Err(Error::Corruption {
                path: path.to_path_buf(),
                offset: buf.len() as u64,
                reason: "a segment that is not the newest ends without its seal: it was cut short"
                    .into(),
            });
        }
        if let Tail::Torn { offset, .. } = records.tail {
            fs.truncate(path, offset).map_err(io_err(path))?;
        }
        Ok((max_index, records.records.len() as u64, sealed))
    }

    fn write_record(&mut self, payload: &[u8]) -> Result<()> {
        let framed = frame(payload)?;
        let path = &self
            .segments
            .last()
            .expect("invariant: there is always an active segment")
            .path;
        self.active.write_all(&framed).map_err(io_err(path))?;
        self.active_len += framed.len() as u64;
        self.active_records += 1;
        Ok(())
    }

    fn hard_state_record(&self) -> Vec<u8> {
        let mut e = Enc::default();
        e.u8(KIND_HARD_STATE);
        codec::put_hard_state(&mut e, &self.hard_state);
        e.0
    }

    /// Start a new segment (after syncing the current one), beginning with the hard state.
    fn rotate(&mut self) -> Result<()> {
        let mut seal = Enc::default();
        seal.u8(KIND_SEAL);
        seal.u64(self.active_records);
        self.write_record(&seal.0)?;
        let old = self
            .segments
            .last()
            .expect("invariant: there is always an active segment");
        self.active.sync().map_err(io_err(&old.path))?;
        self.start_segment()
    }

    /// Open the segment after the last one (the last is sealed and synced) and begin it with
    /// the hard state.
    fn start_segment(&mut self) -> Result<()> {
        let seq = self
            .segments
            .last()
            .expect("invariant: there is always an active segment")
            .seq
            + 1;
        let path = self.dir.join(segment_name(seq));
        let (active, active_len) = self.fs.open_append(&path).map_err(io_err(&path))?;
        self.active = active;
        self.active_len = active_len;
        self.active_records = 0;
        self.segments.push(Segment {
            seq,
            path,
            max_index: 0,
        });
        self.fs.sync_dir(&self.dir).map_err(io_err(&self.dir))?;
        let hs = self.hard_state_record();
        self.write_record(&hs)
    }

    fn write_snapshot_file(&self, snap: &Snapshot) -> Result<()> {
        let mut e = Enc::default();
        e.u8(KIND_SNAPSHOT);
        codec::put_snapshot(&mut e, snap);
        let tmp = self.dir.join("snapshot.tmp");
        let mut f = self.fs.create(&tmp).map_err(io_err(&tmp))?;
        f.write_all(&frame(&e.0)?).map_err(io_err(&tmp))?;
        f.sync().map_err(io_err(&tmp))?;
        let dst = self.dir.join("snapshot");
        self.fs.rename(&tmp, &dst).map_err(io_err(&dst))?;
        self.fs.sync_dir(&self.dir).map_err(io_err(&self.dir))
    }

    /// Delete the oldest segments, other than the active one, as long as they hold no entry
    /// after `index`. Only a prefix goes: a later segment may rewrite entries that an earlier,
    /// kept one holds, and replay needs every write after the first kept segment. The active
    /// segment is synced first, because it may hold the only copy of the latest hard state.
    fn delete_segments_up_to(&mut self, index: Index) -> Result<()> {
        let active = self
            .segments
            .last()
            .expect("invariant: there is always an active segment");
        self.active.sync().map_err(io_err(&active.path))?;
        let active_seq = active.seq;
        let mut deleted = 0;
        for s in &self.segments {
            if s.seq == active_seq || s.max_index > index {
                break;
            }
            self.fs.remove_file(&s.path).map_err(io_err(&s.path))?;
            deleted += 1;
        }
        self.segments.drain(..deleted);
        self.fs.sync_dir(&self.dir).map_err(io_err(&self.dir))
    }

    /// Number of segment files.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }
}

impl LogStorage for FileStorage {
    fn initial_state(&self) -> Result<InitialState> {
        Ok(InitialState {
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            entries: self.entries.clone(),
        })
    }

    fn append(&mut self, entries: &[Entry]) -> Result<()> {
        for entry in entries {
            let mut e = Enc::default();
            e.u8(KIND_ENTRY);
            codec::put_entry(&mut e, entry);
            self.write_record(&e.0)?;
            let seg = self
                .segments
                .last_mut()
                .expect("invariant: there is always an active segment");
            seg.max_index = seg.max_index.max(entry.index);
            let base = self.snapshot.as_ref().map_or(0, |s| s.meta.index);
            let first = self.entries.first().map_or(base + 1, |e| e.index);
            let keep = entry.index.saturating_sub(first) as usize;
            assert!(
                keep <= self.entries.len(),
                "invariant: append at {} leaves no gap",
                entry.index
            );
            self.entries.truncate(keep);
            self.entries.push(entry.clone());
            if self.active_len >= self.segment_max_bytes {
                self.rotate()?;
            }
        }
        Ok(())
    }

    fn set_hard_state(&mut self, hs: HardState) -> Result<()> {
        self.hard_state = hs;
        let rec = self.hard_state_record();
        self.write_record(&rec)
    }

    fn install_snapshot(&mut self, snapshot: &Snapshot) -> Result<()> {
        self.write_snapshot_file(snapshot)?;
        let mut e = Enc::default();
        e.u8(KIND_RESET);
        e.u64(snapshot.meta.index);
        self.write_record(&e.0)?;
        self.entries.clear();
        self.snapshot = Some(snapshot.clone());
        // The RESET must be durable before older segments can go.
        self.rotate()?;
        self.delete_segments_up_to(Index::MAX)
    }

    fn compact(&mut self, snapshot: &Snapshot) -> Result<()> {
        if self
            .snapshot
            .as_ref()
            .is_some_and(|s| s.meta.index >= snapshot.meta.index)
        {
            return Ok(());
        }
        self.write_snapshot_file(snapshot)?;
        let drop = self
            .entries
            .iter()
            .take_while(|e| e.index <= snapshot.meta.index)
            .count();
        self.entries.drain(..drop);
        self.snapshot = Some(snapshot.clone());
        self.delete_segments_up_to(snapshot.meta.index)
    }

    fn sync(&mut self) -> Result<()> {
        let path = &self
            .segments
            .last()
            .expect("invariant: there is always an active segment")
            .path;
        self.active.sync().map_err(io_err(path))
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::types::{EntryPayload, Membership, SnapshotMeta};
    use std::fs::{self, OpenOptions};
    use std::io::Write;

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(name: &str) -> Self {
            let p =
                std::env::temp_dir().join(format!("chronos-raft-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&p);
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    use chronos_io::record::LEN_FIELD_OFFSET;

    /// Offsets of the records of an intact segment.
    fn record_offsets(buf: &[u8]) -> Vec<usize> {
        let scan = record::scan(buf);
        assert_eq!(scan.damage, None);
        scan.records.iter().map(|(at, _)| *at as usize).collect()
    }

    fn ent(index: Index, term: u64) -> Entry {
        Entry {
            index,
            term,
            payload: EntryPayload::Normal(format!("v{index}").into_bytes()),
        }
    }

    fn indexes(s: &FileStorage) -> Vec<(Index, u64)> {
        s.initial_state()
            .unwrap()
            .entries
            .iter()
            .map(|e| (e.index, e.term))
            .collect()
    }

    #[test]
    fn reopen_replays_entries_truncations_and_hard_state() {
        let d = TempDir::new("reopen");
        let mut s = FileStorage::open(&d.0, 200).unwrap();
        s.append(&(1..=6).map(|i| ent(i, 1)).collect::<Vec<_>>())
            .unwrap();
        s.append(&[ent(4, 2), ent(5, 2)]).unwrap();
        s.set_hard_state(HardState {
            term: 2,
            vote: Some(3),
            commit: 4,
        })
        .unwrap();
        s.sync().unwrap();
        assert!(s.segment_count() > 1, "small segments rotate");
        drop(s);
        let s = FileStorage::open(&d.0, 200).unwrap();
        assert_eq!(indexes(&s), vec![(1, 1), (2, 1), (3, 1), (4, 2), (5, 2)]);
        assert_eq!(
            s.initial_state().unwrap().hard_state,
            HardState {
                term: 2,
                vote: Some(3),
                commit: 4
            }
        );
    }

    #[test]
    fn torn_tail_is_truncated() {
        let d = TempDir::new("torn");
        let mut s = FileStorage::open(&d.0, 1 << 20).unwrap();
        s.append(&[ent(1, 1), ent(2, 1), ent(3, 1)]).unwrap();
        s.sync().unwrap();
        let path = s.segments[0].path.clone();
        drop(s);
        let len = fs::metadata(&path).unwrap().len();
        // Cut the last record in half.
        let f = OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len - 5).unwrap();
        drop(f);
        let mut s = FileStorage::open(&d.0, 1 << 20).unwrap();
        assert_eq!(indexes(&s), vec![(1, 1), (2, 1)]);
        // Writing after recovery continues cleanly.
        s.append(&[ent(3, 2)]).unwrap();
        s.sync().unwrap();
        drop(s);
        let s = FileStorage::open(&d.0, 1 << 20).unwrap();
        assert_eq!(indexes(&s), vec![(1, 1), (2, 1), (3, 2)]);
        // A complete but garbled final record is not what a crash leaves: corruption, and the
        // file stays as found.
        drop(s);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[4, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 7])
            .unwrap();
        drop(f);
        let before = fs::read(&path).unwrap();
        assert!(matches!(
            FileStorage::open(&d.0, 1 << 20),
            Err(Error::Corruption { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), before);
        // A zero-filled tail (the file grew, the data never reached the disk) is torn.
        let mut zeroed = before.clone();
        let garbage_at = zeroed.len() - 13;
        zeroed[garbage_at..].fill(0);
        fs::write(&path, &zeroed).unwrap();
        let s = FileStorage::open(&d.0, 1 << 20).unwrap();
        assert_eq!(indexes(&s).len(), 3);
    }

    #[test]
    fn corruption_in_the_middle_names_file_and_offset() {
        let d = TempDir::new("corrupt");
        let mut s = FileStorage::open(&d.0, 1 << 20).unwrap();
        s.append(&[ent(1, 1), ent(2, 1), ent(3, 1)]).unwrap();
        s.sync().unwrap();
        let path = s.segments[0].path.clone();
        drop(s);
        let mut buf = fs::read(&path).unwrap();
        // Flip a payload byte of the second record.
        let first_len = record_offsets(&buf)[1];
        buf[first_len + record::HEADER_BYTES + 3] ^= 0xff;
        fs::write(&path, &buf).unwrap();
        match FileStorage::open(&d.0, 1 << 20) {
            Err(Error::Corruption {
                path: p, offset, ..
            }) => {
                assert_eq!(p, path);
                assert_eq!(offset, first_len as u64);
            }
            other => panic!("expected corruption, got {other:?}"),
        }
    }

    /// Issue 10 item 3: one flipped bit in the length field of a record in the newest segment,
    /// with acknowledged (synced) records after it, must fail the open naming file and offset;
    /// it must not pass for a torn tail and silently cut the acknowledged entries.
    #[test]
    fn flipped_length_bit_in_newest_segment_is_corruption_not_a_torn_tail() {
        let d = TempDir::new("flip-len");
        let mut s = FileStorage::open(&d.0, 1 << 20).unwrap();
        s.append(&(1..=5).map(|i| ent(i, 1)).collect::<Vec<_>>())
            .unwrap();
        s.sync().unwrap();
        let path = s.segments[0].path.clone();
        drop(s);
        let clean = fs::read(&path).unwrap();
        let offsets = record_offsets(&clean);
        assert_eq!(offsets.len(), 5, "one record per entry");
        // Every length bit of every record: each flip is an error naming this file and the
        // damaged record's offset, and nothing is truncated.
        for &at in &offsets {
            for bit in 0..32 {
                let mut buf = clean.clone();
                buf[at + LEN_FIELD_OFFSET + bit / 8] ^= 1 << (bit % 8);
                fs::write(&path, &buf).unwrap();
                match FileStorage::open(&d.0, 1 << 20) {
                    Err(Error::Corruption {
                        path: p, offset, ..
                    }) => {
                        assert_eq!(p, path, "record at {at}, bit {bit}");
                        assert_eq!(offset, at as u64, "record at {at}, bit {bit}");
                    }
                    other => {
                        panic!("record at {at}, bit {bit}: expected corruption, got {other:?}")
                    }
                }
                assert_eq!(fs::read(&path).unwrap(), buf, "the file is left as found");
            }
        }
    }

    /// Two writers of one log would interleave records; the second open is refused while the
    /// first is alive, and succeeds once it is gone.
    #[test]
    fn a_second_open_of_the_same_directory_is_refused() {
        let d = TempDir::new("lock");
        let first = FileStorage::open(&d.0, 1 << 20).unwrap();
        match FileStorage::open(&d.0, 1 << 20) {
            Err(Error::Locked { path, reason }) => {
                assert_eq!(path, d.0);
                assert!(reason.contains(&std::process::id().to_string()), "{reason}");
            }
            other => panic!("expected Locked, got {other:?}"),
        }
        drop(first);
        FileStorage::open(&d.0, 1 << 20).unwrap();
    }

    /// Found by the decoder fuzzer: an older segment cut at a record boundary looks intact to
    /// the framing, and the next segment silently continued a stale suffix (entries of two
    /// terms mixed: log matching broken). Every older segment must end with its seal.
    #[test]
    fn an_older_segment_cut_at_a_record_boundary_is_corruption() {
        let d = TempDir::new("cut-older");
        let mut s = FileStorage::open(&d.0, 300).unwrap();
        s.append(&(1..=20).map(|i| ent(i, 1)).collect::<Vec<_>>())
            .unwrap();
        // A new leader's suffix rewrites 10..: the stale term-1 entries stay in older segments.
        s.append(&(10..=30).map(|i| ent(i, 2)).collect::<Vec<_>>())
            .unwrap();
        s.sync().unwrap();
        let want = indexes(&s);
        let older: Vec<PathBuf> = s.segments[..s.segments.len() - 1]
            .iter()
            .map(|seg| seg.path.clone())
            .collect();
        assert!(older.len() >= 3);
        drop(s);
        for path in &older {
            let buf = fs::read(path).unwrap();
            for &cut in &record_offsets(&buf)[1..] {
                fs::write(path, &buf[..cut]).unwrap();
                match FileStorage::open(&d.0, 300) {
                    Err(Error::Corruption { path: p, .. }) => assert_eq!(&p, path),
                    Ok(s) => panic!(
                        "{} cut at {cut} opened with {:?}",
                        path.display(),
                        indexes(&s)
                    ),
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            fs::write(path, &buf).unwrap();
        }
        assert_eq!(indexes(&FileStorage::open(&d.0, 300).unwrap()), want);
    }

    /// A crash after a segment's seal was synced but before the next segment existed: the
    /// reopened storage starts a new segment rather than writing after the seal.
    #[test]
    fn a_sealed_last_segment_is_not_appended_to() {
        let d = TempDir::new("sealed-last");
        let mut s = FileStorage::open(&d.0, 300).unwrap();
        // Append until a rotation: the newest segment then holds only the hard state.
        let mut next = 1;
        while s.segment_count() < 2 {
            s.append(&[ent(next, 1)]).unwrap();
            next += 1;
        }
        s.sync().unwrap();
        let newest = s.segments.last().unwrap().path.clone();
        drop(s);
        fs::remove_file(&newest).unwrap();
        assert_eq!(
            indexes(&FileStorage::open(&d.0, 300).unwrap()).len(),
            next as usize - 1
        );
        let mut s = FileStorage::open(&d.0, 300).unwrap();
        s.append(&(next..next + 20).map(|i| ent(i, 1)).collect::<Vec<_>>())
            .unwrap();
        s.sync().unwrap();
        drop(s);
        let n = next as usize + 19;
        assert_eq!(indexes(&FileStorage::open(&d.0, 300).unwrap()).len(), n);
    }

    #[test]
    fn compaction_and_install_survive_reopen() {
        let d = TempDir::new("snap");
        let mut s = FileStorage::open(&d.0, 150).unwrap();
        s.append(&(1..=10).map(|i| ent(i, 1)).collect::<Vec<_>>())
            .unwrap();
        s.sync().unwrap();
        let before = s.segment_count();
        let snap = |index, term| Snapshot {
            meta: SnapshotMeta {
                index,
                term,
                membership: Membership::with_voters([1, 2]),
            },
            data: vec![7; 10],
        };
        s.compact(&snap(6, 1)).unwrap();
        assert!(s.segment_count() < before, "old segments deleted");
        drop(s);
        let mut s = FileStorage::open(&d.0, 150).unwrap();
        let st = s.initial_state().unwrap();
        assert_eq!(st.snapshot.unwrap().meta.index, 6);
        assert_eq!(indexes(&s), (7..=10).map(|i| (i, 1)).collect::<Vec<_>>());
        s.install_snapshot(&snap(20, 3)).unwrap();
        s.append(&[ent(21, 3)]).unwrap();
        s.sync().unwrap();
        drop(s);
        let s = FileStorage::open(&d.0, 150).unwrap();
        assert_eq!(s.initial_state().unwrap().snapshot.unwrap().meta.index, 20);
        assert_eq!(indexes(&s), vec![(21, 3)]);
    }

    #[test]
    fn mem_storage_crash_loses_unsynced_writes() {
        let mut m = crate::storage::MemStorage::new();
        m.append(&[ent(1, 1)]).unwrap();
        m.sync().unwrap();
        m.append(&[ent(2, 1)]).unwrap();
        m.set_hard_state(HardState {
            term: 5,
            vote: None,
            commit: 0,
        })
        .unwrap();
        m.crash();
        let st = m.initial_state().unwrap();
        assert_eq!(st.entries.len(), 1);
        assert_eq!(st.hard_state.term, 0);
    }
}
