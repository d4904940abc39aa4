//! Writes one SSTable from entries arriving in internal-key order.

use std::path::{Path, PathBuf};

use super::block::BlockBuilder;
use super::{FOOTER_BYTES, FORMAT_VERSION, MAGIC, bloom};
use crate::coding::put_length_prefixed;
use crate::coding::put_varint;
use crate::error::{IoContext, Result};
use crate::fs::{FileSystem, WritableFile};
use crate::key;

/// Bytes buffered before a write to the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// What a finished table holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    pub size_bytes: u64,
    pub entries: u64,
    /// Smallest and largest internal keys.
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
}

/// Builds an SSTable file. Nothing is visible to readers until [`SsTableWriter::finish`]
/// returns and the caller records the table in the manifest.
#[derive(Debug)]
pub struct SsTableWriter {
    file: Box<dyn WritableFile>,
    path: PathBuf,
    pending: Vec<u8>,
    offset: u64,
    block: BlockBuilder,
    block_size_bytes: usize,
    bloom_bits_per_key: usize,
    index: Vec<(Vec<u8>, u64, u64)>,
    key_hashes: Vec<u64>,
    smallest: Option<Vec<u8>>,
    last_key: Vec<u8>,
    entries: u64,
}

impl SsTableWriter {
    pub fn create(
        fs: &dyn FileSystem,
        path: &Path,
        block_size_bytes: usize,
        restart_interval: usize,
        bloom_bits_per_key: usize,
    ) -> Result<Self> {
        let file = fs
            .create(path)
            .context(|| format!("creating SSTable {}", path.display()))?;
        Ok(SsTableWriter {
            file,
            path: path.to_path_buf(),
            pending: Vec::with_capacity(WRITE_BUFFER_BYTES),
            offset: 0,
            block: BlockBuilder::new(restart_interval),
            block_size_bytes: block_size_bytes.max(64),
            bloom_bits_per_key,
            index: Vec::new(),
            key_hashes: Vec::new(),
            smallest: None,
            last_key: Vec::new(),
            entries: 0,
        })
    }

    /// Bytes written so far, plus the block being built.
    pub fn estimated_size(&self) -> u64 {
        self.offset + self.pending.len() as u64 + self.block.estimated_size() as u64
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Adds an entry; `internal_key` must sort after every key added before.
    pub fn add(&mut self, internal_key: &[u8], value: &[u8]) -> Result<()> {
        assert!(
            self.entries == 0 || key::compare(&self.last_key, internal_key).is_lt(),
            "SSTable keys out of order in {}",
            self.path.display()
        );
        let user_key = key::user_key(internal_key);
        if self.entries == 0 || key::user_key(&self.last_key) != user_key {
            self.key_hashes.push(bloom::hash64(user_key));
        }
        if self.smallest.is_none() {
            self.smallest = Some(internal_key.to_vec());
        }
        self.block.add(internal_key, value);
        self.last_key.clear();
        self.last_key.extend_from_slice(internal_key);
        self.entries += 1;
        if self.block.estimated_size() >= self.block_size_bytes {
            self.finish_data_block()?;
        }
        Ok(())
    }

    fn finish_data_block(&mut self) -> Result<()> {
        if self.block.is_empty() {
            return Ok(());
        }
        let bytes = self.block.finish();
        let (offset, len) = self.append_block(&bytes)?;
        self.index.push((self.last_key.clone(), offset, len));
        Ok(())
    }

    /// Appends a block and its checksum; returns its offset and length (without checksum).
    fn append_block(&mut self, bytes: &[u8]) -> Result<(u64, u64)> {
        let offset = self.offset + self.pending.len() as u64;
        self.pending.extend_from_slice(bytes);
        self.pending
            .extend_from_slice(&crc32fast::hash(bytes).to_le_bytes());
        if self.pending.len() >= WRITE_BUFFER_BYTES {
            self.flush_pending()?;
        }
        Ok((offset, bytes.len() as u64))
    }

    fn flush_pending(&mut self) -> Result<()> {
        self.file
            .write_all(&self.pending)
            .context(|| format!("writing SSTable {}", self.path.display()))?;
        self.offset += self.pending.len() as u64;
        self.pending.clear();
        Ok(())
    }

    /// Writes the filter, index and footer and syncs the file. The caller must still sync the
    /// directory before the table is referenced by the manifest.
    pub fn finish(mut self) -> Result<TableSummary> {
        assert!(self.entries > 0, "empty SSTable {}", self.path.display());
        self.finish_data_block()?;
        let filter = bloom::build(&self.key_hashes, self.bloom_bits_per_key);
        let (filter_offset, filter_len) = self.append_block(&filter)?;
        let mut index = Vec::new();
        index.extend_from_slice(&(self.index.len() as u32).to_le_bytes());
        for (last_key, offset, len) in &self.index {
            put_length_prefixed(&mut index, last_key);
            put_varint(&mut index, *offset);
            put_varint(&mut index, *len);
        }
        let (index_offset, index_len) = self.append_block(&index)?;
        let mut footer = Vec::with_capacity(FOOTER_BYTES);
        for v in [filter_offset, filter_len, index_offset, index_len] {
            footer.extend_from_slice(&v.to_le_bytes());
        }
        footer.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        footer.extend_from_slice(&crc32fast::hash(&footer).to_le_bytes());
        footer.extend_from_slice(&MAGIC.to_le_bytes());
        debug_assert_eq!(footer.len(), FOOTER_BYTES);
        self.pending.extend_from_slice(&footer);
        self.flush_pending()?;
        self.file
            .sync()
            .context(|| format!("syncing SSTable {}", self.path.display()))?;
        Ok(TableSummary {
            size_bytes: self.offset,
            entries: self.entries,
            smallest: self.smallest.take().unwrap_or_default(),
            largest: std::mem::take(&mut self.last_key),
        })
    }
}
