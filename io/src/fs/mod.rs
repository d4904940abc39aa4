//! The filesystem seam: every byte the storage engine and the Raft log read or write goes
//! through [`FileSystem`].
//!
//! Three implementations:
//! - [`RealFs`]: `std::fs` plus `memmap2` for immutable files.
//! - [`MemFs`]: in memory, keeping what was *synced* apart from what was only *written*, so a
//!   test can [`MemFs::crash`] (drop everything unsynced, optionally keeping a torn prefix of it)
//!   and reopen the store on what a real disk would have kept.
//! - [`FaultFs`]: wraps another filesystem and injects failures: every operation after the N-th
//!   fails, a failing write may first write a prefix (a short write), and reads of chosen files
//!   may come back with a flipped bit.
//!
//! Durability contract the callers rely on (and `MemFs` enforces): file contents are durable
//! after [`WritableFile::sync`]; a created, renamed or removed name is durable after
//! [`FileSystem::sync_dir`] on its directory; [`FileSystem::truncate`] is durable when it
//! returns.
//!
//! Locks ([`FileSystem::lock`]) are advisory OS locks on the real filesystem (`flock` through
//! std's `File::try_lock`): the kernel releases them when the holding process exits, however it
//! exits, so a SIGKILLed owner never leaves a stale lock behind.

mod fault;
mod mem;
mod real;

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::Arc;

pub use fault::{FaultFs, ReadCorruption};
pub use mem::{CrashMode, MemFs};
pub use real::RealFs;

/// An immutable file's bytes: a memory map on a real disk, a copy in memory.
pub type FileBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// A held lock on a path, released when dropped.
pub trait FileLock: Send + Sync + fmt::Debug {}

/// The file operations durable Chronos state needs. Paths are always inside a data directory.
pub trait FileSystem: Send + Sync + fmt::Debug {
    /// Creates a directory and its parents if missing.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Names (not paths) of the entries of `dir`.
    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Whether something exists at `path`.
    fn exists(&self, path: &Path) -> bool;
    /// Creates `path` (truncating it if it exists) for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>>;
    /// Opens `path` for appending, creating it if missing; returns the file and its length.
    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn WritableFile>, u64)>;
    /// Reads a whole file.
    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Maps a file that will not change again (an SSTable) for reading.
    fn map(&self, path: &Path) -> io::Result<FileBytes>;
    /// Renames `from` to `to`, replacing `to` atomically.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Cuts a file to `len` bytes and makes the new length durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Makes creations, renames and removals in `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Takes an exclusive lock on `path` (created if missing), failing at once with
    /// [`io::ErrorKind::WouldBlock`] if another process or handle holds it.
    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>>;
}

/// A file being written, append-only.
pub trait WritableFile: Send + fmt::Debug {
    /// Appends all of `buf` (to the OS, not necessarily to the disk).
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes everything written so far durable.
    fn sync(&mut self) -> io::Result<()>;
}
