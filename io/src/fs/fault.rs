//! A fault-injecting wrapper around another filesystem, for tests.

use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::{FileBytes, FileLock, FileSystem, WritableFile};

/// Flip one bit of what a read returns, for files whose name contains `file_name_contains`.
#[derive(Debug, Clone)]
pub struct ReadCorruption {
    pub file_name_contains: String,
    pub offset: usize,
    pub bit: u8,
}

#[derive(Debug)]
struct Faults {
    /// Operations performed so far (every call that touches the disk counts one).
    ops: AtomicU64,
    /// Operations numbered at or above this fail.
    fail_from_op: AtomicU64,
    /// A failing write first writes half of its buffer.
    short_writes: AtomicBool,
    read_corruption: Mutex<Option<ReadCorruption>>,
}

/// Wraps a filesystem and makes it fail on demand. Clones share the same fault settings.
#[derive(Debug, Clone)]
pub struct FaultFs {
    inner: Arc<dyn FileSystem>,
    faults: Arc<Faults>,
}

impl FaultFs {
    pub fn new(inner: Arc<dyn FileSystem>) -> Self {
        FaultFs {
            inner,
            faults: Arc::new(Faults {
                ops: AtomicU64::new(0),
                fail_from_op: AtomicU64::new(u64::MAX),
                short_writes: AtomicBool::new(false),
                read_corruption: Mutex::new(None),
            }),
        }
    }

    /// Every operation after the next `n` fails, until [`FaultFs::heal`].
    pub fn fail_after(&self, n: u64) {
        let now = self.faults.ops.load(Ordering::SeqCst);
        self.faults
            .fail_from_op
            .store(now.saturating_add(n), Ordering::SeqCst);
    }

    /// Stops injecting operation failures.
    pub fn heal(&self) {
        self.faults.fail_from_op.store(u64::MAX, Ordering::SeqCst);
    }

    /// Whether failing writes should write a prefix of their data first.
    pub fn set_short_writes(&self, on: bool) {
        self.faults.short_writes.store(on, Ordering::SeqCst);
    }

    /// Corrupts reads (whole-file reads and maps) of matching files.
    pub fn set_read_corruption(&self, corruption: Option<ReadCorruption>) {
        *self.faults.read_corruption.lock() = corruption;
    }

    /// Operations performed so far.
    pub fn ops(&self) -> u64 {
        self.faults.ops.load(Ordering::SeqCst)
    }

    fn tick(&self, what: &str) -> io::Result<()> {
        tick(&self.faults, what)
    }

    fn corrupt(&self, path: &Path, mut bytes: Vec<u8>) -> Vec<u8> {
        if let Some(c) = &*self.faults.read_corruption.lock() {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            if name.is_some_and(|n| n.contains(&c.file_name_contains))
                && let Some(b) = bytes.get_mut(c.offset)
            {
                *b ^= 1 << (c.bit % 8);
            }
        }
        bytes
    }
}

fn tick(faults: &Faults, what: &str) -> io::Result<()> {
    let n = faults.ops.fetch_add(1, Ordering::SeqCst);
    if n >= faults.fail_from_op.load(Ordering::SeqCst) {
        return Err(io::Error::other(format!("injected fault: {what} (op {n})")));
    }
    Ok(())
}

#[derive(Debug)]
struct FaultFile {
    inner: Box<dyn WritableFile>,
    faults: Arc<Faults>,
}

impl WritableFile for FaultFile {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Err(e) = tick(&self.faults, "write") {
            if self.faults.short_writes.load(Ordering::SeqCst) {
                self.inner.write_all(&buf[..buf.len() / 2])?;
            }
            return Err(e);
        }
        self.inner.write_all(buf)
    }

    fn sync(&mut self) -> io::Result<()> {
        tick(&self.faults, "sync")?;
        self.inner.sync()
    }
}

impl FileSystem for FaultFs {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.tick("create_dir_all")?;
        self.inner.create_dir_all(dir)
    }

    fn list_dir(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.tick("list_dir")?;
        self.inner.list_dir(dir)
    }

    fn exists(&self, path: &Path) -> bool {
        self.inner.exists(path)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn WritableFile>> {
        self.tick("create")?;
        Ok(Box::new(FaultFile {
            inner: self.inner.create(path)?,
            faults: self.faults.clone(),
        }))
    }

    fn open_append(&self, path: &Path) -> io::Result<(Box<dyn WritableFile>, u64)> {
        self.tick("open_append")?;
        let (inner, len) = self.inner.open_append(path)?;
        let file = FaultFile {
            inner,
            faults: self.faults.clone(),
        };
        Ok((Box::new(file), len))
    }

    fn read_all(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.tick("read")?;
        Ok(self.corrupt(path, self.inner.read_all(path)?))
    }

    fn map(&self, path: &Path) -> io::Result<FileBytes> {
        self.tick("map")?;
        let mapped = self.inner.map(path)?;
        if self.faults.read_corruption.lock().is_none() {
            return Ok(mapped);
        }
        let bytes = (*mapped).as_ref().to_vec();
        Ok(Arc::new(self.corrupt(path, bytes)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.tick("rename")?;
        self.inner.rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.tick("remove")?;
        self.inner.remove_file(path)
    }

    fn truncate(&self, path: &Path, len: u64) -> io::Result<()> {
        self.tick("truncate")?;
        self.inner.truncate(path, len)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.tick("sync_dir")?;
        self.inner.sync_dir(dir)
    }

    fn lock(&self, path: &Path) -> io::Result<Box<dyn FileLock>> {
        self.tick("lock")?;
        self.inner.lock(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemFs;

    #[test]
    fn fails_after_n_operations_with_short_writes() {
        let mem = MemFs::new();
        let fs = FaultFs::new(Arc::new(mem.clone()));
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        let mut f = fs.create(Path::new("/d/f")).expect("create");
        fs.set_short_writes(true);
        fs.fail_after(1);
        f.write_all(b"ok").expect("first write passes");
        assert!(f.write_all(b"abcd").is_err());
        assert_eq!(mem.read_all(Path::new("/d/f")).expect("read"), b"okab");
        fs.heal();
        f.write_all(b"!").expect("healed");
    }

    #[test]
    fn flips_a_bit_on_read() {
        let mem = MemFs::new();
        let fs = FaultFs::new(Arc::new(mem.clone()));
        fs.create_dir_all(Path::new("/d")).expect("mkdir");
        fs.create(Path::new("/d/x.sst"))
            .expect("create")
            .write_all(&[0u8; 4])
            .expect("write");
        fs.set_read_corruption(Some(ReadCorruption {
            file_name_contains: ".sst".into(),
            offset: 2,
            bit: 0,
        }));
        assert_eq!(
            fs.read_all(Path::new("/d/x.sst")).expect("read"),
            [0, 0, 1, 0]
        );
        let mapped = fs.map(Path::new("/d/x.sst")).expect("map");
        assert_eq!((*mapped).as_ref(), &[0, 0, 1, 0]);
    }
}
