//! SSTables: immutable sorted files of internal keys, read through a memory map.
//!
//! ```text
//! +--------------------+-------+     each block is followed by the CRC32 of its bytes;
//! | data block 0       | crc32 |     a block's checksum is verified the first time the
//! +--------------------+-------+     block is read after the table is opened
//! | ...                          |
//! +--------------------+-------+
//! | data block n-1     | crc32 |
//! +--------------------+-------+
//! | filter block       | crc32 |     bloom filter over the table's user keys (bloom.rs)
//! +--------------------+-------+
//! | index block        | crc32 |     count u32 | count × (last key: varint len + bytes |
//! +--------------------+-------+                          offset varint | len varint)
//! | footer (48 bytes)            |
//! +------------------------------+
//! footer = filter offset u64 | filter len u64 | index offset u64 | index len u64
//!        | format version u32 | crc32 of the preceding 36 bytes u32 | magic u64
//! ```
//!
//! Data block (block.rs): entries with prefix-compressed keys, a full key every
//! `restart_interval` entries (a *restart point*), then the restart offsets:
//!
//! ```text
//! entry*  = shared varint | unshared varint | value len varint | key suffix | value
//! trailer = restart offset u32 LE × n | n u32 LE
//! ```
//!
//! All integers are little-endian. The index holds, per data block, the last internal key in
//! it; the whole index is decoded into memory when the table is opened, so a point lookup is
//! one binary search, a bloom probe and one block seek.

mod block;
mod bloom;
mod table;
mod writer;

pub use table::{Table, TableIterator};
pub use writer::{SsTableWriter, TableSummary};

/// The magic number that ends every SSTable ("chrnsst1").
pub const MAGIC: u64 = u64::from_le_bytes(*b"chrnsst1");
/// The SSTable format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the footer.
pub const FOOTER_BYTES: usize = 48;
/// Size of the checksum after each block.
pub const BLOCK_TRAILER_BYTES: usize = 4;

/// Path of SSTable `number` in `dir`.
pub fn table_path(dir: &std::path::Path, number: u64) -> std::path::PathBuf {
    dir.join(format!("{number:06}.sst"))
}
