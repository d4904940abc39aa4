//! Reading an SSTable: open (footer, index, filter), point lookups and iteration.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::block::BlockIter;
use super::{BLOCK_TRAILER_BYTES, FOOTER_BYTES, FORMAT_VERSION, MAGIC, bloom};
use crate::coding::Decoder;
use crate::error::{Error, IoContext, Result};
use crate::fs::{FileBytes, FileSystem};
use crate::iter::{Direction, InternalIterator};
use crate::key::{self, ValueKind};
use crate::stats::Stats;

#[derive(Debug)]
struct IndexEntry {
    last_key: Box<[u8]>,
    offset: usize,
    len: usize,
}

/// An open SSTable. Shared through `Arc`; when the table has been compacted away
/// ([`Table::mark_obsolete`]) the file is removed once the last reader drops it.
pub struct Table {
    number: u64,
    path: Arc<Path>,
    data: FileBytes,
    index: Vec<IndexEntry>,
    filter: (usize, usize),
    /// Per data block: whether its checksum has been verified since open.
    verified: Vec<AtomicBool>,
    obsolete: AtomicBool,
    fs: Arc<dyn FileSystem>,
    stats: Arc<Stats>,
}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("number", &self.number)
            .field("blocks", &self.index.len())
            .finish()
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire)
            && let Err(e) = self.fs.remove_file(&self.path)
        {
            // The file is unreferenced; the next open removes it.
            tracing::warn!(file = %self.path.display(), error = %e, "could not remove obsolete SSTable");
        }
    }
}

fn verify_block(data: &[u8], path: &Path, offset: usize, len: usize, what: &str) -> Result<()> {
    let end = offset
        .checked_add(len)
        .and_then(|e| e.checked_add(BLOCK_TRAILER_BYTES))
        .filter(|&e| e <= data.len())
        .ok_or_else(|| {
            Error::corruption(
                path,
                offset as u64,
                format!("{what} extends past the end of the file"),
            )
        })?;
    let stored = u32::from_le_bytes([data[end - 4], data[end - 3], data[end - 2], data[end - 1]]);
    if crc32fast::hash(&data[offset..offset + len]) != stored {
        return Err(Error::corruption(
            path,
            offset as u64,
            format!("{what} checksum mismatch"),
        ));
    }
    Ok(())
}

impl Table {
    /// Opens table `number` at `path`, verifying its footer, index and filter.
    pub fn open(
        fs: Arc<dyn FileSystem>,
        path: PathBuf,
        number: u64,
        stats: Arc<Stats>,
    ) -> Result<Table> {
        let data = fs
            .map(&path)
            .context(|| format!("opening SSTable {}", path.display()))?;
        let bytes = (*data).as_ref();
        let corrupt = |offset: usize, reason: &str| Error::corruption(&path, offset as u64, reason);
        if bytes.len() < FOOTER_BYTES {
            return Err(corrupt(0, "file is shorter than an SSTable footer"));
        }
        let footer_at = bytes.len() - FOOTER_BYTES;
        let mut d = Decoder::new(&bytes[footer_at..]);
        let fields: Option<[u64; 4]> = (|| Some([d.u64()?, d.u64()?, d.u64()?, d.u64()?]))();
        let (version, crc, magic) = (d.u32(), d.u32(), d.u64());
        let (Some(fields), Some(version), Some(crc), Some(magic)) = (fields, version, crc, magic)
        else {
            return Err(corrupt(footer_at, "unreadable footer"));
        };
        if magic != MAGIC {
            return Err(corrupt(
                footer_at,
                "bad magic number: not a Chronos SSTable",
            ));
        }
        if crc32fast::hash(&bytes[footer_at..footer_at + 36]) != crc {
            return Err(corrupt(footer_at, "footer checksum mismatch"));
        }
        if version > FORMAT_VERSION {
            return Err(Error::UnsupportedFormatVersion {
                path,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let to_usize = |v: u64| {
            usize::try_from(v).map_err(|_| corrupt(footer_at, "footer offset out of range"))
        };
        let filter = (to_usize(fields[0])?, to_usize(fields[1])?);
        let (index_offset, index_len) = (to_usize(fields[2])?, to_usize(fields[3])?);
        verify_block(
            &bytes[..footer_at],
            &path,
            filter.0,
            filter.1,
            "filter block",
        )?;
        verify_block(
            &bytes[..footer_at],
            &path,
            index_offset,
            index_len,
            "index block",
        )?;

        let mut d = Decoder::new(&bytes[index_offset..index_offset + index_len]);
        let bad_index = || corrupt(index_offset, "malformed index block");
        let count = d.u32().ok_or_else(bad_index)? as usize;
        let mut index = Vec::with_capacity(count.min(index_len));
        for _ in 0..count {
            let last_key = d.length_prefixed().ok_or_else(bad_index)?;
            let offset = d
                .varint()
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(bad_index)?;
            let len = d
                .varint()
                .and_then(|v| usize::try_from(v).ok())
                .ok_or_else(bad_index)?;
            if key::parse(last_key).is_none() || offset.saturating_add(len) > filter.0 {
                return Err(bad_index());
            }
            index.push(IndexEntry {
                last_key: last_key.into(),
                offset,
                len,
            });
        }
        if !d.is_empty() || index.is_empty() {
            return Err(bad_index());
        }
        let verified = index.iter().map(|_| AtomicBool::new(false)).collect();
        Ok(Table {
            number,
            path: Arc::from(path.as_path()),
            data,
            index,
            filter,
            verified,
            obsolete: AtomicBool::new(false),
            fs,
            stats,
        })
    }

    pub fn number(&self) -> u64 {
        self.number
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of data blocks.
    pub fn block_count(&self) -> usize {
        self.index.len()
    }

    /// Marks the table as no longer part of the store: its file is removed on last drop.
    pub fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    fn block(&self, i: usize) -> Result<BlockIter> {
        let e = &self.index[i];
        if !self.verified[i].load(Ordering::Relaxed) {
            verify_block(
                (*self.data).as_ref(),
                &self.path,
                e.offset,
                e.len,
                "data block",
            )?;
            self.verified[i].store(true, Ordering::Relaxed);
        }
        BlockIter::new(
            self.data.clone(),
            self.path.clone(),
            e.offset,
            e.offset + e.len,
        )
    }

    /// The index of the first block whose last key is >= `target`.
    fn block_for(&self, target: &[u8]) -> usize {
        self.index
            .partition_point(|e| key::compare(&e.last_key, target).is_lt())
    }

    /// Reads every block, checking every checksum (for `verify` tools).
    pub fn verify_all(&self) -> Result<u64> {
        let mut entries = 0;
        for i in 0..self.index.len() {
            let mut it = self.block(i)?;
            it.seek_to_first()?;
            while it.valid() {
                entries += 1;
                it.next()?;
            }
        }
        Ok(entries)
    }

    /// The newest version of `user_key` at or below `seq`, if this table has one:
    /// `Some(None)` is a tombstone.
    pub fn get(&self, user_key: &[u8], seq: u64) -> Result<Option<Option<Vec<u8>>>> {
        let filter = &(*self.data).as_ref()[self.filter.0..self.filter.0 + self.filter.1];
        if !bloom::may_contain(filter, bloom::hash64(user_key)) {
            self.stats.bloom_useful.fetch_add(1, Ordering::Relaxed);
            return Ok(None);
        }
        self.stats
            .bloom_checked_positive
            .fetch_add(1, Ordering::Relaxed);
        let target = key::seek_key(user_key, seq);
        let i = self.block_for(&target);
        if i == self.index.len() {
            return Ok(None);
        }
        let mut it = self.block(i)?;
        it.seek(&target)?;
        if !it.valid() {
            return Ok(None);
        }
        let parsed = key::parse(it.key()).ok_or_else(|| {
            Error::corruption(
                self.path.to_path_buf(),
                self.index[i].offset as u64,
                "malformed internal key",
            )
        })?;
        if parsed.user_key != user_key {
            return Ok(None);
        }
        Ok(Some(match parsed.kind {
            ValueKind::Put => Some(it.value().to_vec()),
            ValueKind::Delete => None,
        }))
    }

    /// An iterator over every entry.
    pub fn iter(self: &Arc<Self>) -> TableIterator {
        TableIterator {
            table: self.clone(),
            block_index: 0,
            block: None,
            direction: Direction::Forward,
        }
    }
}

/// Iterates a table block by block.
#[derive(Debug)]
pub struct TableIterator {
    table: Arc<Table>,
    block_index: usize,
    block: Option<BlockIter>,
    direction: Direction,
}

impl TableIterator {
    fn load(&mut self, i: usize) -> Result<()> {
        self.block_index = i;
        self.block = None;
        self.block = Some(self.table.block(i)?);
        Ok(())
    }

    /// Moves forward past exhausted blocks.
    fn skip_forward(&mut self) -> Result<()> {
        while self.block.as_ref().is_some_and(|b| !b.valid()) {
            if self.block_index + 1 >= self.table.index.len() {
                self.block = None;
                return Ok(());
            }
            self.load(self.block_index + 1)?;
            if let Some(b) = self.block.as_mut() {
                b.seek_to_first()?;
            }
        }
        Ok(())
    }

    /// Moves backward past exhausted blocks.
    fn skip_backward(&mut self) -> Result<()> {
        while self.block.as_ref().is_some_and(|b| !b.valid()) {
            if self.block_index == 0 {
                self.block = None;
                return Ok(());
            }
            self.load(self.block_index - 1)?;
            if let Some(b) = self.block.as_mut() {
                b.seek_to_last()?;
            }
        }
        Ok(())
    }

    fn current(&mut self) -> &mut BlockIter {
        self.block
            .as_mut()
            .expect("invariant: a block is loaded after load()")
    }

    fn guard(&mut self, r: Result<()>) -> Result<()> {
        if r.is_err() {
            self.block = None;
        }
        r
    }
}

impl InternalIterator for TableIterator {
    fn valid(&self) -> bool {
        self.block.as_ref().is_some_and(|b| b.valid())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.direction = Direction::Forward;
        let r = self
            .load(0)
            .and_then(|()| self.current().seek_to_first())
            .and_then(|()| self.skip_forward());
        self.guard(r)
    }

    fn seek_to_last(&mut self) -> Result<()> {
        self.direction = Direction::Reverse;
        let last = self.table.index.len() - 1;
        let r = self
            .load(last)
            .and_then(|()| self.current().seek_to_last())
            .and_then(|()| self.skip_backward());
        self.guard(r)
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.direction = Direction::Forward;
        let i = self.table.block_for(target);
        if i == self.table.index.len() {
            self.block = None;
            return Ok(());
        }
        let r = self
            .load(i)
            .and_then(|()| self.current().seek(target))
            .and_then(|()| self.skip_forward());
        self.guard(r)
    }

    fn seek_for_prev(&mut self, target: &[u8]) -> Result<()> {
        self.direction = Direction::Reverse;
        let i = self.table.block_for(target).min(self.table.index.len() - 1);
        let r = self
            .load(i)
            .and_then(|()| self.current().seek_for_prev(target))
            .and_then(|()| self.skip_backward());
        self.guard(r)
    }

    fn next(&mut self) -> Result<()> {
        debug_assert_eq!(self.direction, Direction::Forward);
        let r = match self.block.as_mut() {
            Some(b) => b.next().and_then(|()| self.skip_forward()),
            None => Ok(()),
        };
        self.guard(r)
    }

    fn prev(&mut self) -> Result<()> {
        debug_assert_eq!(self.direction, Direction::Reverse);
        let r = match self.block.as_mut() {
            Some(b) => b.prev().and_then(|()| self.skip_backward()),
            None => Ok(()),
        };
        self.guard(r)
    }

    fn key(&self) -> &[u8] {
        self.block
            .as_ref()
            .expect("invariant: key() is called only while valid")
            .key()
    }

    fn value(&self) -> &[u8] {
        self.block
            .as_ref()
            .expect("invariant: value() is called only while valid")
            .value()
    }
}
