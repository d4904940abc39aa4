//! The write-ahead log: every write batch is appended here before it reaches the memtable.
//!
//! The log is a sequence of segment files `NNNNNN.log`, one per memtable; each holds framed
//! records (`chronos_io::record`) whose payloads are encoded [`WriteBatch`]es:
//!
//! ```text
//! segment = record*            record = crc32 | len | batch (seq | count | ops)
//! ```
//!
//! A group of batches committed together is written with one `write` call and made durable
//! with one `sync` ([`WalWriter::append`]). Recovery ([`replay_segment`]) replays records in
//! order. A provably torn tail of the *last* segment (a record cut short at the end of the
//! file, or a zero-filled tail; see `chronos_io::record`) is from a crash before `sync`
//! returned: replay stops there and reports it (those records were never acknowledged as
//! durable). Any other damage is corruption: recovery fails naming the file and offset rather
//! than silently dropping acknowledged data.

use std::path::{Path, PathBuf};

use crate::batch::WriteBatch;
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileSystem, WritableFile};
use crate::record;

/// Appends records to one WAL segment.
#[derive(Debug)]
pub struct WalWriter {
    file: Box<dyn WritableFile>,
    path: PathBuf,
    buf: Vec<u8>,
}

impl WalWriter {
    /// Creates segment `number` in `dir` and makes its name durable.
    pub fn create(fs: &dyn FileSystem, dir: &Path, number: u64) -> Result<Self> {
        let path = segment_path(dir, number);
        let file = fs
            .create(&path)
            .context(|| format!("creating WAL segment {}", path.display()))?;
        fs.sync_dir(dir)
            .context(|| format!("syncing directory {}", dir.display()))?;
        Ok(WalWriter {
            file,
            path,
            buf: Vec::new(),
        })
    }

    /// Appends one record per payload with a single write, then syncs if `sync`.
    pub fn append<'a>(
        &mut self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
        sync: bool,
    ) -> Result<()> {
        self.buf.clear();
        for payload in payloads {
            record::encode(&mut self.buf, payload).map_err(|e| {
                Error::InvalidArgument(format!("WAL record for {}: {e}", self.path.display()))
            })?;
        }
        self.file
            .write_all(&self.buf)
            .context(|| format!("appending to {}", self.path.display()))?;
        if sync {
            self.file
                .sync()
                .context(|| format!("syncing {}", self.path.display()))?;
        }
        Ok(())
    }

    /// Makes everything appended so far durable.
    pub fn sync(&mut self) -> Result<()> {
        self.file
            .sync()
            .context(|| format!("syncing {}", self.path.display()))
    }
}

/// Path of WAL segment `number` in `dir`.
pub fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}.log"))
}

/// What replaying one segment found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SegmentReplay {
    pub batches: u64,
    pub bytes: u64,
    /// Offset and reason of a torn tail that was dropped.
    pub torn_tail: Option<(u64, String)>,
}

/// Replays segment `path`, calling `apply` with each batch and its first sequence number.
///
/// `is_last` says whether this is the newest segment, the only one that may end torn.
pub fn replay_segment(
    fs: &dyn FileSystem,
    path: &Path,
    is_last: bool,
    mut apply: impl FnMut(WriteBatch, u64),
) -> Result<SegmentReplay> {
    let data = fs
        .read_all(path)
        .context(|| format!("reading WAL segment {}", path.display()))?;
    let records = record::read_records(&data, path, is_last).map_err(Error::from)?;
    let mut report = SegmentReplay::default();
    for &(offset, payload) in &records.records {
        let (batch, seq) = WriteBatch::decode(payload).ok_or_else(|| {
            Error::corruption(path, offset, "WAL record holds a malformed write batch")
        })?;
        apply(batch, seq);
        report.batches += 1;
        report.bytes = offset + (record::HEADER_BYTES + payload.len()) as u64;
    }
    if let record::Tail::Torn { offset, damage } = records.tail {
        tracing::warn!(
            file = %path.display(),
            offset,
            dropped_bytes = data.len() as u64 - offset,
            "WAL ends with a torn record ({}); dropping the unacknowledged tail",
            damage.describe()
        );
        report.torn_tail = Some((offset, damage.describe().to_string()));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{CrashMode, FileSystem, MemFs};

    fn batch(i: u8) -> WriteBatch {
        let mut b = WriteBatch::new();
        b.put(&[i], &[i; 10]).expect("put");
        b
    }

    fn write_segment(fs: &MemFs, n: u8) -> WalWriter {
        fs.create_dir_all(Path::new("/db")).expect("mkdir");
        let mut w = WalWriter::create(fs, Path::new("/db"), 1).expect("create");
        for i in 0..n {
            let mut b = batch(i);
            w.append([b.encode_with_seq(u64::from(i) + 1)], true)
                .expect("append");
        }
        w
    }

    fn replay(fs: &MemFs, is_last: bool) -> Result<(Vec<u64>, SegmentReplay)> {
        let mut seqs = Vec::new();
        let r = replay_segment(fs, &segment_path(Path::new("/db"), 1), is_last, |_, s| {
            seqs.push(s)
        })?;
        Ok((seqs, r))
    }

    #[test]
    fn replays_synced_batches_in_order() {
        let fs = MemFs::new();
        write_segment(&fs, 3);
        fs.crash(CrashMode::DropUnsynced);
        let (seqs, r) = replay(&fs, true).expect("replay");
        assert_eq!(seqs, [1, 2, 3]);
        assert_eq!(r.torn_tail, None);
    }

    #[test]
    fn torn_tail_of_last_segment_is_dropped_and_reported() {
        let fs = MemFs::new();
        let mut w = write_segment(&fs, 2);
        let mut b = batch(9);
        w.append([b.encode_with_seq(3)], false)
            .expect("unsynced append");
        // Keep a strict prefix of the unsynced record whatever the seed picks.
        for seed in 1..20 {
            let fs2 = MemFs::new();
            let mut w2 = write_segment(&fs2, 2);
            w2.append([b.encode_with_seq(3)], false).expect("append");
            fs2.crash(CrashMode::TearUnsynced { seed });
            let (seqs, _) = replay(&fs2, true).expect("torn tail tolerated");
            assert!(seqs == [1, 2] || seqs == [1, 2, 3], "seed {seed}: {seqs:?}");
        }
    }

    #[test]
    fn a_torn_tail_in_an_older_segment_is_corruption() {
        let fs = MemFs::new();
        let mut w = write_segment(&fs, 2);
        let mut b = batch(9);
        w.append([b.encode_with_seq(3)], true).expect("append");
        let path = segment_path(Path::new("/db"), 1);
        let len = fs.file_len(&path).expect("len");
        fs.truncate(&path, len as u64 - 1).expect("cut");
        assert!(replay(&fs, true).is_ok());
        let err = replay(&fs, false).expect_err("not the last segment");
        assert!(err.is_corruption(), "{err}");
    }

    /// A flipped bit in the final record is not what a crash leaves (a crash cuts, it does not
    /// flip), so it is corruption even in the newest segment.
    #[test]
    fn a_flipped_bit_in_the_final_record_is_corruption() {
        let fs = MemFs::new();
        write_segment(&fs, 2);
        let path = segment_path(Path::new("/db"), 1);
        let len = fs.file_len(&path).expect("len");
        fs.corrupt_byte(&path, len - 1, 0x01).expect("corrupt");
        let err = replay(&fs, true).expect_err("bit rot, not a torn tail");
        assert!(err.is_corruption(), "{err}");
    }

    #[test]
    fn flipped_bit_before_intact_records_is_corruption_even_in_last_segment() {
        let fs = MemFs::new();
        write_segment(&fs, 3);
        let path = segment_path(Path::new("/db"), 1);
        fs.corrupt_byte(&path, record::HEADER_BYTES + 14, 0x01)
            .expect("corrupt");
        let err = replay(&fs, true).expect_err("mid-log damage");
        match err {
            Error::Corruption { offset, .. } => assert_eq!(offset, 0),
            other => panic!("expected corruption, got {other}"),
        }
    }
}
