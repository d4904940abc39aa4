//! The narrow filesystem interface [`super::FileStorage`] runs on: the real one ([`StdFs`]) and an
//! in-memory one ([`MemFs`]) that keeps each file's synced bytes apart from its unsynced tail, so
//! a test can crash it and get a torn write.
//!
//! Model of [`MemFs`]: file *contents* become durable only on `sync`; a crash keeps a random
//! prefix of each file's unsynced tail, possibly with its last byte garbled. Directory operations
//! (create, rename, remove) are durable at once (as if the directory were synced after each, which
//! `FileStorage` does anyway).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::config::Rng;

/// An open file, written append-only.
pub trait VfsFile: Debug {
    /// Append `buf`.
    fn append_all(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Make everything written so far durable.
    fn sync(&mut self) -> io::Result<()>;
}

/// Filesystem operations used by the file storage.
pub trait Vfs: Debug {
    /// Open file type.
    type File: VfsFile;
    /// Create a directory and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// File names in `dir`.
    fn list(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Whole contents of a file (`NotFound` if missing).
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Open for appending, creating it if missing. Returns the file and its current length.
    fn open_append(&self, path: &Path) -> io::Result<(Self::File, u64)>;
    /// Create or empty a file, open for writing.
    fn create(&self, path: &Path) -> io::Result<Self::File>;
    /// Cut a file to `len` bytes and make that durable.
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()>;
    /// Atomically rename, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Delete a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Make directory entries (creations, renames, removals) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The real filesystem.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFs;

impl VfsFile for std::fs::File {
    fn append_all(&mut self, buf: &[u8]) -> io::Result<()> {
        Write::write_all(self, buf)
    }
    fn sync(&mut self) -> io::Result<()> {
        self.sync_data()
    }
}

impl Vfs for StdFs {
    type File = std::fs::File;
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for ent in std::fs::read_dir(dir)? {
            out.push(ent?.file_name().to_string_lossy().into_owned());
        }
        Ok(out)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn open_append(&self, path: &Path) -> io::Result<(Self::File, u64)> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        let len = f.metadata()?.len();
        Ok((f, len))
    }
    fn create(&self, path: &Path) -> io::Result<Self::File> {
        std::fs::File::create(path)
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let f = std::fs::OpenOptions::new().write(true).open(path)?;
        f.set_len(len)?;
        f.sync_all()
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }
}

#[derive(Debug, Default)]
struct MemFile {
    /// Bytes that survive a crash.
    durable: Vec<u8>,
    /// What the process sees: `durable` plus an unsynced tail.
    live: Vec<u8>,
}

/// In-memory filesystem with crash simulation. Clones share the same files.
#[derive(Clone, Debug, Default)]
pub struct MemFs {
    files: Arc<Mutex<BTreeMap<PathBuf, MemFile>>>,
}

/// An open [`MemFs`] file.
#[derive(Debug)]
pub struct MemFsFile {
    fs: MemFs,
    path: PathBuf,
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", path.display()),
    )
}

impl MemFs {
    /// An empty filesystem.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<PathBuf, MemFile>> {
        self.files
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Crash: every file keeps its durable bytes plus a random prefix of its unsynced tail, whose
    /// last byte may be garbled (a torn write).
    pub fn crash(&self, rng: &mut Rng) {
        for f in self.lock().values_mut() {
            // Writes are append-only: the live image extends the durable one.
            let common = f.durable.len().min(f.live.len());
            let tail = f.live.len() - common;
            let keep = rng.range(0, tail as u64 + 1) as usize;
            let mut image = f.live[..common + keep].to_vec();
            if keep > 0 && rng.chance(1, 4) {
                let last = image.len() - 1;
                image[last] ^= 0x5a;
            }
            f.durable = image.clone();
            f.live = image;
        }
    }

    /// Total bytes not yet synced, over all files.
    pub fn unsynced_bytes(&self) -> usize {
        self.lock()
            .values()
            .map(|f| f.live.len().saturating_sub(f.durable.len()))
            .sum()
    }
}

impl VfsFile for MemFsFile {
    fn append_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut files = self.fs.lock();
        let f = files
            .get_mut(&self.path)
            .ok_or_else(|| not_found(&self.path))?;
        f.live.extend_from_slice(buf);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        let mut files = self.fs.lock();
        let f = files
            .get_mut(&self.path)
            .ok_or_else(|| not_found(&self.path))?;
        f.durable = f.live.clone();
        Ok(())
    }
}

impl Vfs for MemFs {
    type File = MemFsFile;
    fn create_dir_all(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        Ok(self
            .lock()
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.lock()
            .get(path)
            .map(|f| f.live.clone())
            .ok_or_else(|| not_found(path))
    }
    fn open_append(&self, path: &Path) -> io::Result<(Self::File, u64)> {
        let len = self
            .lock()
            .entry(path.to_path_buf())
            .or_default()
            .live
            .len() as u64;
        Ok((
            MemFsFile {
                fs: self.clone(),
                path: path.to_path_buf(),
            },
            len,
        ))
    }
    fn create(&self, path: &Path) -> io::Result<Self::File> {
        self.lock().insert(path.to_path_buf(), MemFile::default());
        Ok(MemFsFile {
            fs: self.clone(),
            path: path.to_path_buf(),
        })
    }
    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut files = self.lock();
        let f = files.get_mut(path).ok_or_else(|| not_found(path))?;
        f.live.truncate(len as usize);
        f.durable = f.live.clone();
        Ok(())
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut files = self.lock();
        let f = files.remove(from).ok_or_else(|| not_found(from))?;
        files.insert(to.to_path_buf(), f);
        Ok(())
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        self.lock()
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| not_found(path))
    }
    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }
}
