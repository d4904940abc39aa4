//! The engines under test: Chronos here, the peers in `peers.rs` (behind the `peers` feature).

use std::ops::Bound;
use std::path::Path;

use anyhow::Result;
use chronos_kv::{Db, Direction, Options, WriteBatch, WriteOptions};

use super::workloads::{Engine, Key, Session, Value};

/// An engine the benchmark can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineKind {
    Chronos,
    Sqlite,
    Fjall,
}

impl EngineKind {
    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Chronos => "chronos",
            EngineKind::Sqlite => "sqlite",
            EngineKind::Fjall => "fjall",
        }
    }

    /// The engines compiled into this binary, Chronos first.
    pub fn compiled() -> Vec<EngineKind> {
        if cfg!(feature = "peers") {
            vec![EngineKind::Chronos, EngineKind::Sqlite, EngineKind::Fjall]
        } else {
            vec![EngineKind::Chronos]
        }
    }

    /// Opens the engine in `dir` (created fresh); `durable` makes every commit sync.
    pub fn open(self, dir: &Path, durable: bool) -> Result<Box<dyn Engine>> {
        match self {
            EngineKind::Chronos => Ok(Box::new(ChronosEngine::open(dir, durable)?)),
            #[cfg(feature = "peers")]
            EngineKind::Sqlite => Ok(Box::new(super::peers::SqliteEngine::open(dir, durable)?)),
            #[cfg(feature = "peers")]
            EngineKind::Fjall => Ok(Box::new(super::peers::FjallEngine::open(dir, durable)?)),
            #[cfg(not(feature = "peers"))]
            EngineKind::Sqlite | EngineKind::Fjall => anyhow::bail!(
                "{} is a peer engine; rebuild with `--features peers` to run it",
                self.name()
            ),
        }
    }
}

/// Chronos with its default options: the configuration a server would run.
#[derive(Debug)]
pub struct ChronosEngine {
    db: Db,
    write: WriteOptions,
}

impl ChronosEngine {
    pub fn open(dir: &Path, durable: bool) -> Result<Self> {
        Ok(ChronosEngine {
            db: Db::open(dir, Options::default())?,
            write: if durable {
                WriteOptions::SYNC
            } else {
                WriteOptions::BUFFERED
            },
        })
    }
}

impl Engine for ChronosEngine {
    fn session(&self) -> Result<Box<dyn Session + Send + '_>> {
        Ok(Box::new(ChronosSession {
            db: &self.db,
            write: self.write,
        }))
    }

    fn describe(&self) -> Option<String> {
        let s = self.db.stats();
        let levels: Vec<String> = s
            .levels
            .iter()
            .enumerate()
            .filter(|(_, l)| l.files > 0)
            .map(|(i, l)| format!("L{i}:{}", l.files))
            .collect();
        Some(format!(
            "files [{}], {} imm; {} flushes, {} compactions (+{} moves), write amp {:.2}; \
             WAL {} syncs / {} groups / {} batches; stalls {} slowdowns + {} stops = {} ms; \
             bloom avoided {:.0}%",
            levels.join(" "),
            s.immutable_memtables,
            s.flushes,
            s.compactions,
            s.trivial_moves,
            s.write_amplification(),
            s.wal_syncs,
            s.write_groups,
            s.batches_written,
            s.slowdown_stalls,
            s.stop_stalls,
            s.stall_micros / 1000,
            100.0 * s.bloom_useful_ratio(),
        ))
    }
}

struct ChronosSession<'a> {
    db: &'a Db,
    write: WriteOptions,
}

impl Session for ChronosSession<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.db.put(key, value, self.write)?;
        Ok(())
    }

    fn put_batch(&mut self, entries: &[(Key, Value)]) -> Result<()> {
        let mut batch = WriteBatch::new();
        for (k, v) in entries {
            batch.put(k, v)?;
        }
        self.db.write(batch, self.write)?;
        Ok(())
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<usize>> {
        Ok(self.db.get(key)?.map(|v| v.len()))
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let (mut entries, mut bytes) = (0, 0);
        for item in self
            .db
            .scan(Bound::Unbounded, Bound::Unbounded, Direction::Forward)?
        {
            let (k, v) = item?;
            entries += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        Ok((entries, bytes))
    }
}
