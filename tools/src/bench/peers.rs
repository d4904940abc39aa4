//! Peer engines, compiled only with the `peers` feature (large builds, kept out of CI).
//!
//! - SQLite (rusqlite, bundled): a `WITHOUT ROWID` table in WAL mode, one connection per
//!   thread, `synchronous=FULL` for durable runs (an fsync per commit) and `NORMAL` for fills
//!   (no fsync per commit, like the other engines' buffered writes).
//! - fjall: an LSM in pure Rust, defaults; every insert reaches the OS (`PersistMode::Buffer`),
//!   durable runs add `persist(SyncData)` after each insert.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{Connection, OptionalExtension};

use super::workloads::{Engine, Key, Session, Value};

#[derive(Debug)]
pub struct SqliteEngine {
    path: PathBuf,
    durable: bool,
}

impl SqliteEngine {
    pub fn open(dir: &Path, durable: bool) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let engine = SqliteEngine {
            path: dir.join("bench.sqlite"),
            durable,
        };
        engine.connect()?.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID",
        )?;
        Ok(engine)
    }

    fn connect(&self) -> Result<Connection> {
        let conn = Connection::open(&self.path)
            .with_context(|| format!("opening {}", self.path.display()))?;
        // Many writers take turns on WAL's single write lock: wait rather than fail.
        conn.busy_timeout(Duration::from_secs(120))?;
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "journal_mode is {mode}");
        let sync = if self.durable { "FULL" } else { "NORMAL" };
        conn.execute_batch(&format!("PRAGMA synchronous={sync}"))?;
        Ok(conn)
    }
}

impl Engine for SqliteEngine {
    fn session(&self) -> Result<Box<dyn Session + Send + '_>> {
        Ok(Box::new(SqliteSession {
            conn: self.connect()?,
        }))
    }
}

struct SqliteSession {
    conn: Connection,
}

impl Session for SqliteSession {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO kv (k, v) VALUES (?1, ?2)")?
            .execute((key, value))?;
        Ok(())
    }

    fn put_batch(&mut self, entries: &[(Key, Value)]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO kv (k, v) VALUES (?1, ?2)")?;
            for (k, v) in entries {
                insert.execute((&k[..], &v[..]))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<usize>> {
        Ok(self
            .conn
            .prepare_cached("SELECT v FROM kv WHERE k = ?1")?
            .query_row([key], |r| Ok(r.get_ref(0)?.as_blob()?.len()))
            .optional()?)
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let mut stmt = self.conn.prepare("SELECT k, v FROM kv ORDER BY k")?;
        let mut rows = stmt.query([])?;
        let (mut entries, mut bytes) = (0, 0);
        while let Some(row) = rows.next()? {
            let k = row.get_ref(0)?.as_blob()?.len();
            let v = row.get_ref(1)?.as_blob()?.len();
            entries += 1;
            bytes += (k + v) as u64;
        }
        Ok((entries, bytes))
    }
}

pub struct FjallEngine {
    db: fjall::Database,
    ks: fjall::Keyspace,
    durable: bool,
}

impl std::fmt::Debug for FjallEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallEngine")
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

impl FjallEngine {
    pub fn open(dir: &Path, durable: bool) -> Result<Self> {
        let db = fjall::Database::builder(dir).open()?;
        let ks = db.keyspace("kv", fjall::KeyspaceCreateOptions::default)?;
        Ok(FjallEngine { db, ks, durable })
    }
}

impl Engine for FjallEngine {
    fn session(&self) -> Result<Box<dyn Session + Send + '_>> {
        Ok(Box::new(FjallSession { engine: self }))
    }

    fn describe(&self) -> Option<String> {
        Some(format!(
            "tables {} (L0 {}), {} compactions, {} flushes outstanding",
            self.ks.table_count(),
            self.ks.l0_table_count(),
            self.db.compactions_completed(),
            self.db.outstanding_flushes(),
        ))
    }
}

struct FjallSession<'a> {
    engine: &'a FjallEngine,
}

impl Session for FjallSession<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.engine.ks.insert(key, value)?;
        if self.engine.durable {
            self.engine.db.persist(fjall::PersistMode::SyncData)?;
        }
        Ok(())
    }

    fn put_batch(&mut self, entries: &[(Key, Value)]) -> Result<()> {
        let mut batch = self.engine.db.batch();
        for (k, v) in entries {
            batch.insert(&self.engine.ks, &k[..], &v[..]);
        }
        batch.commit()?;
        if self.engine.durable {
            self.engine.db.persist(fjall::PersistMode::SyncData)?;
        }
        Ok(())
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<usize>> {
        Ok(self.engine.ks.get(key)?.map(|v| v.len()))
    }

    fn scan(&mut self) -> Result<(u64, u64)> {
        let (mut entries, mut bytes) = (0, 0);
        for guard in self.engine.ks.iter() {
            let (k, v) = guard.into_inner()?;
            entries += 1;
            bytes += (k.len() + v.len()) as u64;
        }
        Ok((entries, bytes))
    }
}
