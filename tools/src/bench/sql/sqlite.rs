//! SQLite (rusqlite, bundled) as the peer, compiled only with the `peers` feature. One
//! connection in WAL mode with `synchronous=FULL`: every commit is fsynced, as Chronos's are.
//!
//! Two ways of driving it:
//! - `sqlite`: how applications use SQLite — cached prepared statements with bound
//!   parameters; the bulk load is one prepared single-row INSERT executed per row inside one
//!   transaction. This is the peer the targets are judged against.
//! - `sqlite-text`: exactly the SQL text Chronos gets (multi-row INSERTs, literals inline),
//!   each statement parsed and planned anew (`prepare`, no statement cache) — the same
//!   handicap Chronos has without prepared statements.

use std::path::Path;

use anyhow::{Context, Result};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use super::workloads::{IntRows, Order, Target, abbreviate};

fn connect(dir: &Path) -> Result<Connection> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("bench.sqlite");
    let conn = Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "journal_mode is {mode}");
    conn.execute_batch("PRAGMA synchronous=FULL")?;
    Ok(conn)
}

fn int_rows(stmt: &mut rusqlite::Statement<'_>, params: impl rusqlite::Params) -> Result<IntRows> {
    let n = stmt.column_count();
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut cells = Vec::with_capacity(n);
        for i in 0..n {
            cells.push(match row.get_ref(i)? {
                ValueRef::Integer(x) => Some(x),
                _ => None,
            });
        }
        out.push(cells);
    }
    Ok(out)
}

/// SQLite with SQL text, parsed and planned per statement.
pub struct SqliteText {
    conn: Connection,
}

impl SqliteText {
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(SqliteText {
            conn: connect(dir)?,
        })
    }
}

impl Target for SqliteText {
    fn exec(&mut self, sql: &str) -> Result<()> {
        self.conn
            .execute_batch(sql)
            .with_context(|| format!("sqlite: {}", abbreviate(sql)))
    }

    fn query_ints(&mut self, sql: &str) -> Result<IntRows> {
        let mut stmt = self
            .conn
            .prepare(sql)
            .with_context(|| format!("sqlite: {}", abbreviate(sql)))?;
        int_rows(&mut stmt, [])
    }
}

/// SQLite with cached prepared statements and bound parameters.
pub struct SqlitePrepared {
    conn: Connection,
}

impl SqlitePrepared {
    pub fn open(dir: &Path) -> Result<Self> {
        let conn = connect(dir)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(SqlitePrepared { conn })
    }

    fn pair(&mut self, sql: &str, params: impl rusqlite::Params) -> Result<(i64, i64)> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let r = stmt.query_row(params, |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
        })?;
        Ok((r.0, r.1.unwrap_or(0)))
    }
}

impl Target for SqlitePrepared {
    fn exec(&mut self, sql: &str) -> Result<()> {
        self.conn
            .execute_batch(sql)
            .with_context(|| format!("sqlite: {}", abbreviate(sql)))
    }

    fn query_ints(&mut self, sql: &str) -> Result<IntRows> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        int_rows(&mut stmt, [])
    }

    fn bulk_insert(&mut self, rows: &[Order], _batch: usize) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO orders (id, customer_id, k, v, note) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for o in rows {
                insert.execute((o.id, o.customer_id, o.k, o.v, &o.note))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn insert_event(&mut self, id: i64, v: i64, note: &str) -> Result<()> {
        self.conn
            .prepare_cached("INSERT INTO events (id, v, note) VALUES (?1, ?2, ?3)")?
            .execute((id, v, note))?;
        Ok(())
    }

    fn point_select(&mut self, id: i64) -> Result<Option<i64>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT v, note FROM orders WHERE id = ?1")?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(row) => {
                // Fetch the text column too, as the text path does.
                let _note: &str = row.get_ref(1)?.as_str()?;
                Ok(Some(row.get(0)?))
            }
            None => Ok(None),
        }
    }

    fn range_agg(&mut self, lo: i64, hi: i64) -> Result<(i64, i64)> {
        self.pair(
            "SELECT count(*), sum(v) FROM orders WHERE k BETWEEN ?1 AND ?2",
            (lo, hi),
        )
    }

    fn join_agg(&mut self, lo: i64, hi: i64, region: i64) -> Result<(i64, i64)> {
        self.pair(
            "SELECT count(*), sum(o.v) FROM orders o JOIN customers c ON c.id = o.customer_id \
             WHERE o.id BETWEEN ?1 AND ?2 AND c.region = ?3",
            (lo, hi, region),
        )
    }
}
