//! An in-memory filesystem that remembers what a crash would keep.
//!
//! Files are inodes with a *live* image (everything written) and a *durable* image (what the
//! last `sync` covered). Names live in two tables too: the live namespace, and the durable one
//! that `sync_dir` copies from it. [`MemFs::crash`] throws the live state away and restarts from
//! the durable one, as a power cut would.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use super::{FileBytes, FileLock, FileSystem, WritableFile};

/// What a crash keeps of data that was written but not synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashMode {
    /// Nothing unsynced survives.
    DropUnsynced,
    /// Each file keeps a pseudo-random prefix (chosen from `seed`) of its unsynced bytes, as a
    /// disk that wrote part of the page cache before power was lost: torn tails.
    TearUnsynced { seed: u64 },
}

#[derive(Debug, Default, Clone)]
struct Inode {
    live: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Debug, Default, Clone)]
struct State {
    inodes: HashMap<u64, Inode>,
    live_names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
    dirs: HashSet<PathBuf>,
    locks: HashSet<PathBuf>,
    next_inode: u64,
}

/// An in-memory [`FileSystem`] with crash simulation. Clones share the same files.
#[derive(Debug, Clone, Default)]
pub struct MemFs {
    state: Arc<Mutex<State>>,
}

impl MemFs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Simulates a power cut: unsynced data and unsynced directory changes are lost (or torn,
    /// per `mode`); locks are released as the crashed process is gone.
    pub fn crash(&self, mode: CrashMode) {
        let mut state = self.state.lock();
        let state = &mut *state;
        state.live_names = state.durable_names.clone();
        let referenced: HashSet<u64> = state.live_names.values().copied().collect();
        state.inodes.retain(|ino, _| referenced.contains(ino));
        let mut rng = match mode {
            CrashMode::DropUnsynced => None,
            CrashMode::TearUnsynced { seed } => Some(seed | 1),
        };
        // Visit inodes in a fixed order so a seed always tears the same way.
        let mut inos: Vec<u64> = state.inodes.keys().copied().collect();
        inos.sort_unstable();
        for ino in inos {
            let inode = state
                .inodes
                .get_mut(&ino)
                .expect("invariant: ino came from the map");
            let mut kept = inode.durable.clone();
            if let Some(x) = rng.as_mut() {
                // Bytes past the durable image that were written but not synced.
                let durable_len = inode.durable.len().min(inode.live.len());
                let unsynced = &inode.live[durable_len..];
                if !unsynced.is_empty() && inode.live.starts_with(&inode.durable) {
                    *x ^= *x << 13;
                    *x ^= *x >> 7;
                    *x ^= *x << 17;
                    let keep = (*x % (unsynced.len() as u64 + 1)) as usize;
                    kept.extend_from_slice(&unsynced[..keep]);
                }
            }
            inode.live = kept.clone();
            inode.durable = kept;
        }
        state.locks.clear();
    }

    /// An independent copy of this filesystem (files, names, durable images; no locks), so a
    /// test can try many crashes from one starting state.
    pub fn deep_copy(&self) -> MemFs {
        let mut state = self.state.lock().clone();
        state.locks.clear();
        MemFs {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// Overwrites one byte of a file in both images (bit rot on disk), for corruption tests.
    pub fn corrupt_byte(&self, path: &Path, offset: usize, xor: u8) -> io::Result<()> {
        let mut state = self.state.lock();
        let ino = *state.live_names.get(path).ok_or_else(|| not_found(path))?;
        let inode = state.inodes.get_mut(&ino).ok_or_else(|| not_found(path))?;
        for image in [&mut inode.live, &mut inode.durable] {
            if let Some(b) = image.get_mut(offset) {
                *b ^= xor;
            }
        }
        Ok(())
    }

    /// The live size of a file.
    pub fn file_len(&self, path: &Path) -> io::Result<usize> {
        let state = self.state.lock();
        let ino = state.live_names.get(path).ok_or_else(|| not_found(path))?;
        Ok(state.inodes.get(ino).map_or(0, |i| i.live.len()))
    }

    /// Total live bytes of all files.
    pub fn total_bytes(&self) -> usize {
        let state = self.state.lock();
        state.inodes.values().map(|i| i.live.len()).sum()
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file", path.display()),
    )
}

#[derive(Debug)]
struct MemFile {
    fs: MemFs,
    ino: u64,
}

impl WritableFile for MemFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut state = self.fs.state.lock();
        // A file removed (or crashed away) while open keeps its inode only while named; writes
        // to a vanished inode go nowhere, as writes to an unlinked file would.
        if let Some(inode) = state.inodes.get_mut(&self.ino) {
            inode.live.extend_from_slice(buf);
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        let mut state = self.fs.state.lock();
        if let Some(inode) = state.inodes.get_mut(&self.ino) {
            inode.durable = inode.live.clone();
        }
        Ok(())
    }
}

#[derive(Debug)]
struct MemLock {
    fs: MemFs,
    path: PathBuf,
}

impl FileLock for MemLock {}

impl Drop for MemLock {
    fn drop(&mut self) {
        self.fs.state.lock().locks.remove(&self.path);
    }
}

impl FileSystem for MemFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        for ancestor in dir.ancestors() {
            state.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        let state = self.state.lock();
        if !state.dirs.contains(dir) {
            return Err(not_found(dir));
        }
        Ok(state
            .live_names
            .keys()
            .filter(|p| p.parent() == Some(dir))
            .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect())
    }

    fn exists(&self, path: &Path) -> bool {
        let state = self.state.lock();
        state.live_names.contains_key(path) || state.dirs.contains(path)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        let mut state = self.state.lock();
        if let Some(parent) = path.parent()
            && !state.dirs.contains(parent)
        {
            return Err(not_found(parent));
        }
        let ino = state.next_inode;
        state.next_inode += 1;
        state.inodes.insert(ino, Inode::default());
        state.live_names.insert(path.to_path_buf(), ino);
        Ok(Box::new(MemFile {
            fs: self.clone(),
            ino,
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn WritableFile>, u64)> {
        let existing = {
            let state = self.state.lock();
            state
                .live_names
                .get(path)
                .map(|ino| (*ino, state.inodes.get(ino).map_or(0, |i| i.live.len())))
        };
        let Some((ino, len)) = existing else {
            return Ok((self.create(path)?, 0));
        };
        let file = MemFile {
            fs: self.clone(),
            ino,
        };
        Ok((Box::new(file), len as u64))
    }

    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        let state = self.state.lock();
        let ino = state.live_names.get(path).ok_or_else(|| not_found(path))?;
        Ok(state
            .inodes
            .get(ino)
            .map(|i| i.live.clone())
            .unwrap_or_default())
    }

    fn map(&self, path: &Path) -> io::Result<FileBytes> {
        Ok(Arc::new(self.read_all(path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let ino = state
            .live_names
            .remove(from)
            .ok_or_else(|| not_found(from))?;
        state.live_names.insert(to.to_path_buf(), ino);
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        state
            .live_names
            .remove(path)
            .ok_or_else(|| not_found(path))?;
        Ok(())
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        let mut state = self.state.lock();
        let ino = *state.live_names.get(path).ok_or_else(|| not_found(path))?;
        let inode = state.inodes.get_mut(&ino).ok_or_else(|| not_found(path))?;
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        inode.live.truncate(len);
        inode.durable.clone_from(&inode.live);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        let state = &mut *state;
        state.durable_names.retain(|p, _| p.parent() != Some(dir));
        for (path, ino) in &state.live_names {
            if path.parent() == Some(dir) {
                state.durable_names.insert(path.clone(), *ino);
            }
        }
        Ok(())
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        let mut state = self.state.lock();
        if !state.locks.insert(path.to_path_buf()) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "lock held by another handle",
            ));
        }
        Ok(Box::new(MemLock {
            fs: self.clone(),
            path: path.to_path_buf(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(fs: &MemFs, path: &str, data: &[u8], sync: bool) -> Box<dyn WritableFile> {
        let mut f = fs.create(Path::new(path)).expect("create");
        f.write_all(data).expect("write");
        if sync {
            f.sync().expect("sync");
        }
        f
    }

    #[test]
    fn crash_drops_unsynced_data_and_names() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        let mut a = write(&fs, "/d/a", b"durable", true);
        fs.sync_dir(Path::new("/d")).expect("sync dir");
        a.write_all(b"+lost").expect("write");
        write(&fs, "/d/b", b"synced but not named", true);
        fs.crash(CrashMode::DropUnsynced);
        assert_eq!(fs.read_all(Path::new("/d/a")).expect("read"), b"durable");
        assert!(!fs.exists(Path::new("/d/b")));
    }

    #[test]
    fn torn_crash_keeps_a_prefix_of_unsynced_bytes() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        let mut a = write(&fs, "/d/a", b"base", true);
        fs.sync_dir(Path::new("/d")).expect("sync dir");
        a.write_all(b"0123456789").expect("write");
        fs.crash(CrashMode::TearUnsynced { seed: 7 });
        let got = fs.read_all(Path::new("/d/a")).expect("read");
        assert!(got.starts_with(b"base"));
        assert!(b"base0123456789".starts_with(&got));
    }

    #[test]
    fn rename_is_durable_only_after_dir_sync() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        write(&fs, "/d/tmp", b"new", true);
        fs.sync_dir(Path::new("/d")).expect("sync dir");
        fs.rename(Path::new("/d/tmp"), Path::new("/d/final"))
            .expect("rename");
        fs.crash(CrashMode::DropUnsynced);
        assert!(fs.exists(Path::new("/d/tmp")));
        assert!(!fs.exists(Path::new("/d/final")));
    }

    #[test]
    fn append_continues_a_file_and_truncate_is_durable() {
        let fs = MemFs::new();
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        drop(write(&fs, "/d/log", b"abc", true));
        fs.sync_dir(Path::new("/d")).expect("sync dir");
        let (mut f, len) = fs.open_append(Path::new("/d/log")).expect("append");
        assert_eq!(len, 3);
        f.write_all(b"def").expect("write");
        f.sync().expect("sync");
        fs.truncate(Path::new("/d/log"), 4).expect("truncate");
        fs.crash(CrashMode::DropUnsynced);
        assert_eq!(fs.read_all(Path::new("/d/log")).expect("read"), b"abcd");
        let (_, len) = fs.open_append(Path::new("/d/new")).expect("create");
        assert_eq!(len, 0);
        fs.crash(CrashMode::DropUnsynced);
        assert!(!fs.exists(Path::new("/d/new")), "a new name needs sync_dir");
    }

    #[test]
    fn lock_is_exclusive_until_dropped() {
        let fs = MemFs::new();
        let held = fs.lock(Path::new("/LOCK")).expect("first lock");
        assert!(fs.lock(Path::new("/LOCK")).is_err());
        drop(held);
        assert!(fs.lock(Path::new("/LOCK")).is_ok());
    }
}
