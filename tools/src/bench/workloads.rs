//! The measured loops, the keys and values they write, and the engine seam they drive.
//!
//! Everything here runs inside a child process (see `child.rs`): one engine, one group of
//! workloads, a fresh directory.

use std::path::Path;
use std::sync::Barrier;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

pub const KEY_BYTES: usize = 16;
pub const VALUE_BYTES: usize = 100;

/// A 16-byte key: the 16 lowercase hex digits of a `u64`.
pub type Key = [u8; KEY_BYTES];
pub type Value = [u8; VALUE_BYTES];

/// Keys and values per batch when loading many keys for the memory measurement.
pub const LOAD_BATCH: usize = 1000;

/// A xorshift64* generator: seeded, cheap, and good enough for benchmark values and picks.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        // `mix` is a bijection with mix(0) = 0; `| 1` keeps the state non-zero.
        Rng(mix(seed) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A uniform pick in `0..n` (Lemire's multiply-shift; the bias is negligible here).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub fn value(&mut self) -> Value {
        let mut v = [0u8; VALUE_BYTES];
        for chunk in v.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        v
    }
}

/// The splitmix64 finaliser: a bijection on `u64` that scatters consecutive inputs.
pub fn mix(mut x: u64) -> u64 {
    x ^= x >> 30;
    x = x.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn hex_key(x: u64) -> Key {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut key = [0u8; KEY_BYTES];
    for (j, b) in key.iter_mut().enumerate() {
        *b = DIGITS[((x >> (60 - 4 * j)) & 0xf) as usize];
    }
    key
}

/// The `i`th key in ascending order (fillseq).
pub fn seq_key(i: u64) -> Key {
    hex_key(i)
}

/// The `i`th key of the random key space: distinct for distinct `i`, in scattered order.
pub fn random_key(i: u64) -> Key {
    hex_key(mix(i))
}

/// One engine, opened on one directory with one durability mode.
pub trait Engine: Sync {
    /// A handle for one thread (SQLite needs one connection per thread).
    fn session(&self) -> Result<Box<dyn Session + Send + '_>>;
    /// A one-line summary of the engine's own counters, if it keeps any.
    fn describe(&self) -> Option<String> {
        None
    }
}

pub trait Session {
    /// Writes one key in its own commit (synced if the engine was opened durable).
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()>;
    /// Writes all entries in one atomic commit.
    fn put_batch(&mut self, entries: &[(Key, Value)]) -> Result<()>;
    /// The length of the value stored under `key`, if any.
    fn get(&mut self, key: &[u8]) -> Result<Option<usize>>;
    /// Reads every key and value in key order; returns (entries, key + value bytes).
    fn scan(&mut self) -> Result<(u64, u64)>;
}

/// One timed workload.
#[derive(Debug, Clone)]
pub struct Measured {
    pub workload: String,
    pub ops: u64,
    pub elapsed: Duration,
}

impl Measured {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Writes `n` keys, one commit each: in key order (`fillseq`) or scattered (`fillrandom`).
pub fn fill(
    engine: &dyn Engine,
    name: &str,
    n: u64,
    sequential: bool,
    seed: u64,
) -> Result<Measured> {
    let mut s = engine.session()?;
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    for i in 0..n {
        let key = if sequential {
            seq_key(i)
        } else {
            random_key(i)
        };
        s.put(&key, &rng.value())
            .with_context(|| format!("{name}: put #{i}"))?;
    }
    Ok(Measured {
        workload: name.into(),
        ops: n,
        elapsed: start.elapsed(),
    })
}

/// `n` point reads of keys picked uniformly from the `keys` written by `fillrandom`.
/// Every key must be found with a whole value: a miss is an engine bug, not a slow read.
pub fn read_random(engine: &dyn Engine, n: u64, keys: u64, seed: u64) -> Result<Measured> {
    let mut s = engine.session()?;
    let mut rng = Rng::new(seed ^ 0x7ead);
    let mut misses = 0u64;
    let start = Instant::now();
    for _ in 0..n {
        let key = random_key(rng.below(keys));
        match s.get(&key)? {
            Some(VALUE_BYTES) => {}
            _ => misses += 1,
        }
    }
    let elapsed = start.elapsed();
    if misses > 0 {
        bail!("readrandom: {misses} of {n} reads did not find the key written by fillrandom");
    }
    Ok(Measured {
        workload: "readrandom".into(),
        ops: n,
        elapsed,
    })
}

/// A full forward scan; every one of the `expected` keys must come back.
pub fn scan_all(engine: &dyn Engine, expected: u64) -> Result<Measured> {
    let mut s = engine.session()?;
    let start = Instant::now();
    let (entries, bytes) = s.scan()?;
    let elapsed = start.elapsed();
    if entries != expected || bytes != expected * (KEY_BYTES + VALUE_BYTES) as u64 {
        bail!("scan: {entries} entries ({bytes} bytes), expected {expected} of 116 bytes each");
    }
    Ok(Measured {
        workload: "scan".into(),
        ops: entries,
        elapsed,
    })
}

/// `writers` threads each commit up to `per_writer` single-key synced writes, all starting
/// together; everyone stops early once `cap` has passed, and the rate counts what completed.
pub fn durable(
    engine: &dyn Engine,
    writers: usize,
    per_writer: u64,
    cap: Duration,
    seed: u64,
) -> Result<Measured> {
    let done = AtomicU64::new(0);
    let barrier = Barrier::new(writers + 1);
    let elapsed = std::thread::scope(|scope| -> Result<Duration> {
        let mut handles = Vec::with_capacity(writers);
        for w in 0..writers {
            let (done, barrier) = (&done, &barrier);
            handles.push(scope.spawn(move || -> Result<()> {
                let session = engine.session();
                barrier.wait();
                let mut s = session?;
                let mut rng = Rng::new(seed ^ (w as u64 + 1));
                let start = Instant::now();
                for i in 0..per_writer {
                    let key = random_key(w as u64 * per_writer + i);
                    s.put(&key, &rng.value())?;
                    done.fetch_add(1, Ordering::Relaxed);
                    if start.elapsed() > cap {
                        break;
                    }
                }
                Ok(())
            }));
        }
        barrier.wait();
        let start = Instant::now();
        for h in handles {
            match h.join() {
                Ok(r) => r?,
                Err(_) => bail!("a writer thread panicked"),
            }
        }
        Ok(start.elapsed())
    })?;
    Ok(Measured {
        workload: format!("sync x{writers}"),
        ops: done.load(Ordering::Relaxed),
        elapsed,
    })
}

/// The disk's own limit: append 4 KiB and `fdatasync`, `n` times, to a new file in `dir`
/// (`raw fsync`, what a log that grows its file pays); then the same over the blocks just
/// written (`raw fsync overwrite`, what a log that reuses its file's blocks pays).
pub fn raw_fsync(dir: &Path, n: u64) -> Result<[Measured; 2]> {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path).with_context(|| format!("creating {path:?}"))?;
    let block = [0x5au8; 4096];
    let timed = |file: &mut std::fs::File| -> Result<Duration> {
        let start = Instant::now();
        for _ in 0..n {
            file.write_all(&block)?;
            file.sync_data()?;
        }
        Ok(start.elapsed())
    };
    let append = timed(&mut file)?;
    file.seek(SeekFrom::Start(0))?;
    let overwrite = timed(&mut file)?;
    drop(file);
    std::fs::remove_file(&path)?;
    Ok([
        Measured {
            workload: "raw fsync".into(),
            ops: n,
            elapsed: append,
        },
        Measured {
            workload: "raw fsync overwrite".into(),
            ops: n,
            elapsed: overwrite,
        },
    ])
}

/// Loads `n` scattered keys in buffered batches of [`LOAD_BATCH`] (for the memory check).
pub fn load(engine: &dyn Engine, n: u64, seed: u64) -> Result<Measured> {
    let mut s = engine.session()?;
    let mut rng = Rng::new(seed);
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    let start = Instant::now();
    let mut i = 0;
    while i < n {
        batch.clear();
        while batch.len() < LOAD_BATCH && i < n {
            batch.push((random_key(i), rng.value()));
            i += 1;
        }
        s.put_batch(&batch)?;
    }
    Ok(Measured {
        workload: "load (batches of 1000)".into(),
        ops: n,
        elapsed: start.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_16_bytes_distinct_and_ordered_as_asked() {
        assert_eq!(&seq_key(0), b"0000000000000000");
        assert_eq!(&seq_key(0xab), b"00000000000000ab");
        let seq: Vec<Key> = (0..1000).map(seq_key).collect();
        assert!(seq.windows(2).all(|w| w[0] < w[1]));
        let mut random: Vec<Key> = (0..10_000).map(random_key).collect();
        assert!(random.windows(2).any(|w| w[0] > w[1]), "scattered order");
        random.sort_unstable();
        random.dedup();
        assert_eq!(random.len(), 10_000, "distinct keys");
    }

    #[test]
    fn rng_is_deterministic_and_picks_in_range() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        assert_eq!(a.value(), b.value());
        assert_ne!(Rng::new(7).value(), Rng::new(8).value());
        let mut r = Rng::new(0);
        assert!((0..10_000).all(|_| r.below(10) < 10));
    }
}
