//! The SQL workloads: the schema, the seeded data, the SQL text each engine runs, and the timed
//! loops. Every engine sees the same rows and the same picks (same seed), so the answers of
//! the read workloads are checksummed and compared across engines.

use std::fmt::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::bench::workloads::Rng;

/// The tables and the secondary index. Valid for both Chronos and SQLite; `INTEGER PRIMARY
/// KEY` is SQLite's rowid (its fastest layout), the primary key of the row key for Chronos.
pub const SCHEMA: &[&str] = &[
    "CREATE TABLE customers (id INTEGER PRIMARY KEY, region INTEGER NOT NULL, \
     name TEXT NOT NULL)",
    "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, \
     k INTEGER NOT NULL, v INTEGER NOT NULL, note TEXT NOT NULL)",
    "CREATE INDEX orders_k ON orders (k)",
    "CREATE TABLE events (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, note TEXT NOT NULL)",
];

/// Customers belong to one of this many regions.
pub const REGIONS: u64 = 10;

/// Length of the generated `note` / `name` strings.
const NOTE_CHARS: usize = 24;

/// One row of `orders`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    pub id: i64,
    pub customer_id: i64,
    /// Secondary-indexed, uniform in `0..rows`, so a range of width W matches ~W rows.
    pub k: i64,
    pub v: i64,
    pub note: String,
}

/// A seeded alphanumeric string.
fn note(rng: &mut Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..NOTE_CHARS)
        .map(|_| ALPHABET[rng.below(ALPHABET.len() as u64) as usize] as char)
        .collect()
}

/// `rows` orders with ids `1..=rows`, each for one of `customers` customers.
pub fn orders(rows: u64, customers: u64, seed: u64) -> Vec<Order> {
    let mut rng = Rng::new(seed ^ 0x6f72_6465_7273);
    (1..=rows)
        .map(|id| Order {
            id: id as i64,
            customer_id: rng.below(customers) as i64 + 1,
            k: rng.below(rows) as i64,
            v: rng.below(1_000_000) as i64,
            note: note(&mut rng),
        })
        .collect()
}

/// A SQL string literal.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One multi-row INSERT of `rows` into `orders`.
pub fn insert_orders_sql(rows: &[Order]) -> String {
    let mut sql = String::with_capacity(32 + rows.len() * 64);
    sql.push_str("INSERT INTO orders (id, customer_id, k, v, note) VALUES ");
    for (i, o) in rows.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(
            sql,
            "({}, {}, {}, {}, {})",
            o.id,
            o.customer_id,
            o.k,
            o.v,
            quote(&o.note)
        );
    }
    sql
}

/// The `customers` table as multi-row INSERTs of at most `batch` rows (untimed setup).
pub fn insert_customers_sql(customers: u64, batch: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed ^ 0x6375_7374);
    let rows: Vec<String> = (1..=customers)
        .map(|id| {
            let region = rng.below(REGIONS);
            format!("({id}, {region}, {})", quote(&note(&mut rng)))
        })
        .collect();
    rows.chunks(batch.max(1))
        .map(|c| {
            format!(
                "INSERT INTO customers (id, region, name) VALUES {}",
                c.join(", ")
            )
        })
        .collect()
}

pub fn insert_event_sql(id: i64, v: i64, note: &str) -> String {
    format!(
        "INSERT INTO events (id, v, note) VALUES ({id}, {v}, {})",
        quote(note)
    )
}

pub fn point_select_sql(id: i64) -> String {
    format!("SELECT v, note FROM orders WHERE id = {id}")
}

pub fn range_sql(lo: i64, hi: i64) -> String {
    format!("SELECT count(*), sum(v) FROM orders WHERE k BETWEEN {lo} AND {hi}")
}

pub fn join_sql(lo: i64, hi: i64, region: i64) -> String {
    format!(
        "SELECT count(*), sum(o.v) FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.id BETWEEN {lo} AND {hi} AND c.region = {region}"
    )
}

/// Integer cells of a result (anything else, e.g. text or NULL, is `None`).
pub type IntRows = Vec<Vec<Option<i64>>>;

/// An engine under test. The defaults send SQL text; the prepared SQLite peer overrides them.
pub trait Target {
    /// Runs statements that return nothing of interest (DDL, BEGIN, INSERT ...).
    fn exec(&mut self, sql: &str) -> Result<()>;
    /// Runs one query and returns its integer cells.
    fn query_ints(&mut self, sql: &str) -> Result<IntRows>;

    /// Inserts `rows` in one transaction, `batch` rows per INSERT statement.
    fn bulk_insert(&mut self, rows: &[Order], batch: usize) -> Result<()> {
        self.exec("BEGIN")?;
        for chunk in rows.chunks(batch.max(1)) {
            self.exec(&insert_orders_sql(chunk))?;
        }
        self.exec("COMMIT")
    }

    /// One autocommit single-row insert.
    fn insert_event(&mut self, id: i64, v: i64, note: &str) -> Result<()> {
        self.exec(&insert_event_sql(id, v, note))
    }

    /// `v` of the order `id`, if it exists.
    fn point_select(&mut self, id: i64) -> Result<Option<i64>> {
        let rows = self.query_ints(&point_select_sql(id))?;
        Ok(rows.first().and_then(|r| r.first().copied().flatten()))
    }

    /// `(count, sum(v))` of the orders with `k` in `lo..=hi`.
    fn range_agg(&mut self, lo: i64, hi: i64) -> Result<(i64, i64)> {
        pair(self.query_ints(&range_sql(lo, hi))?)
    }

    /// `(count, sum(v))` of the orders `lo..=hi` of customers in `region`.
    fn join_agg(&mut self, lo: i64, hi: i64, region: i64) -> Result<(i64, i64)> {
        pair(self.query_ints(&join_sql(lo, hi, region))?)
    }
}

/// `count(*), sum(..)` as a pair; a NULL sum (no rows) is 0.
fn pair(rows: IntRows) -> Result<(i64, i64)> {
    let row = rows.first().context("an aggregate returned no row")?;
    let count = row
        .first()
        .copied()
        .flatten()
        .context("count(*) is not an integer")?;
    let sum = row.get(1).copied().flatten().unwrap_or(0);
    Ok((count, sum))
}

/// What one timed workload did.
#[derive(Debug, Clone)]
pub struct Measured {
    /// Operations: rows inserted, or queries run.
    pub ops: u64,
    /// Rows the queries returned or aggregated (0 for inserts).
    pub rows: u64,
    pub elapsed: Duration,
    /// A digest of the answers, equal across engines when they agree.
    pub checksum: u64,
}

impl Measured {
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Folds an answer into a checksum (order-sensitive).
fn fold(sum: u64, x: i64) -> u64 {
    sum.wrapping_mul(0x100_0000_01b3).wrapping_add(x as u64)
}

/// Sizes of the workloads.
#[derive(Debug, Clone)]
pub struct Sizes {
    pub rows: u64,
    pub insert_batch: usize,
    pub customers: u64,
    pub autocommit: u64,
    pub point_selects: u64,
    pub range_queries: u64,
    pub range_width: u64,
    pub join_queries: u64,
    pub join_width: u64,
    pub seed: u64,
}

/// Creates the schema and loads `customers` (untimed).
pub fn setup(t: &mut dyn Target, s: &Sizes) -> Result<()> {
    for ddl in SCHEMA {
        t.exec(ddl).with_context(|| format!("running {ddl}"))?;
    }
    for sql in insert_customers_sql(s.customers, 1000, s.seed) {
        t.exec(&sql).context("loading customers")?;
    }
    Ok(())
}

/// (1) `rows` orders in one transaction (the index on `k` maintained as they go).
pub fn bulk_insert(t: &mut dyn Target, rows: &[Order], batch: usize) -> Result<Measured> {
    let start = Instant::now();
    t.bulk_insert(rows, batch)?;
    let elapsed = start.elapsed();
    Ok(Measured {
        ops: rows.len() as u64,
        rows: 0,
        elapsed,
        checksum: 0,
    })
}

/// (2) `n` single-row autocommit inserts, each its own durable commit.
pub fn autocommit_inserts(t: &mut dyn Target, n: u64, seed: u64) -> Result<Measured> {
    let mut rng = Rng::new(seed ^ 0x6576_656e_7473);
    let rows: Vec<(i64, String)> = (0..n)
        .map(|_| (rng.below(1_000_000) as i64, note(&mut rng)))
        .collect();
    let start = Instant::now();
    for (i, (v, note)) in rows.iter().enumerate() {
        t.insert_event(i as i64 + 1, *v, note)?;
    }
    let elapsed = start.elapsed();
    Ok(Measured {
        ops: n,
        rows: 0,
        elapsed,
        checksum: 0,
    })
}

/// (3) `n` primary-key point selects of uniformly picked existing orders.
pub fn point_selects(t: &mut dyn Target, n: u64, rows: u64, seed: u64) -> Result<Measured> {
    let mut rng = Rng::new(seed ^ 0x0070_6f69_6e74);
    let mut checksum = 0;
    let start = Instant::now();
    for _ in 0..n {
        let id = rng.below(rows) as i64 + 1;
        let v = t
            .point_select(id)?
            .with_context(|| format!("order {id} not found"))?;
        checksum = fold(checksum, v);
    }
    let elapsed = start.elapsed();
    Ok(Measured {
        ops: n,
        rows: n,
        elapsed,
        checksum,
    })
}

/// (4) `n` secondary-index range scans of `width` keys with `count(*), sum(v)`.
pub fn range_scans(
    t: &mut dyn Target,
    n: u64,
    width: u64,
    rows: u64,
    seed: u64,
) -> Result<Measured> {
    let mut rng = Rng::new(seed ^ 0x0072_616e_6765);
    let span = rows.saturating_sub(width).max(1);
    let (mut checksum, mut matched) = (0, 0);
    let start = Instant::now();
    for _ in 0..n {
        let lo = rng.below(span) as i64;
        let (count, sum) = t.range_agg(lo, lo + width as i64 - 1)?;
        matched += count as u64;
        checksum = fold(fold(checksum, count), sum);
    }
    let elapsed = start.elapsed();
    Ok(Measured {
        ops: n,
        rows: matched,
        elapsed,
        checksum,
    })
}

/// (5) `n` joins of `width` consecutive orders with their customers, filtered on a region.
pub fn joins(t: &mut dyn Target, n: u64, width: u64, rows: u64, seed: u64) -> Result<Measured> {
    let mut rng = Rng::new(seed ^ 0x6a6f_696e);
    let span = rows.saturating_sub(width).max(1);
    let (mut checksum, mut matched) = (0, 0);
    let start = Instant::now();
    for _ in 0..n {
        let lo = rng.below(span) as i64 + 1;
        let region = rng.below(REGIONS) as i64;
        let (count, sum) = t.join_agg(lo, lo + width as i64 - 1, region)?;
        matched += count as u64;
        checksum = fold(fold(checksum, count), sum);
    }
    let elapsed = start.elapsed();
    Ok(Measured {
        ops: n,
        rows: matched,
        elapsed,
        checksum,
    })
}

/// Chronos embedded: SQL text through a session (parsed and planned per statement: the SQL
/// engine has no prepared statements yet).
pub struct ChronosTarget {
    // The session holds its own handle on the engine.
    session: chronos_sql::Session,
}

impl ChronosTarget {
    pub fn open(dir: &std::path::Path) -> Result<Self> {
        let engine = chronos_sql::Engine::open(dir)
            .with_context(|| format!("opening Chronos in {}", dir.display()))?;
        Ok(ChronosTarget {
            session: engine.session(),
        })
    }

    fn run(&mut self, sql: &str) -> Result<Vec<chronos_sql::StatementResult>> {
        self.session
            .execute(sql)
            .into_iter()
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("chronos: {e} (statement: {})", abbreviate(sql)))
    }
}

impl Target for ChronosTarget {
    fn exec(&mut self, sql: &str) -> Result<()> {
        self.run(sql).map(drop)
    }

    fn query_ints(&mut self, sql: &str) -> Result<IntRows> {
        let results = self.run(sql)?;
        let Some(chronos_sql::StatementResult::Query { rows, .. }) = results.into_iter().last()
        else {
            anyhow::bail!("chronos: not a query: {}", abbreviate(sql));
        };
        Ok(rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|v| match v {
                        chronos_sql::Value::Integer(i) => Some(i),
                        _ => None,
                    })
                    .collect()
            })
            .collect())
    }
}

/// The first 120 characters of a statement, for error messages.
pub fn abbreviate(sql: &str) -> String {
    match sql.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &sql[..i]),
        None => sql.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sql_text() {
        let rows = vec![
            Order {
                id: 1,
                customer_id: 7,
                k: 3,
                v: 42,
                note: "it's".into(),
            },
            Order {
                id: 2,
                customer_id: 8,
                k: 0,
                v: 5,
                note: "x".into(),
            },
        ];
        assert_eq!(
            insert_orders_sql(&rows),
            "INSERT INTO orders (id, customer_id, k, v, note) VALUES \
             (1, 7, 3, 42, 'it''s'), (2, 8, 0, 5, 'x')"
        );
        assert_eq!(
            range_sql(10, 19),
            "SELECT count(*), sum(v) FROM orders WHERE k BETWEEN 10 AND 19"
        );
        assert_eq!(
            insert_event_sql(3, 4, "a'b"),
            "INSERT INTO events (id, v, note) VALUES (3, 4, 'a''b')"
        );
        let customers = insert_customers_sql(5, 2, 1);
        assert_eq!(customers.len(), 3);
        assert!(customers[2].starts_with("INSERT INTO customers (id, region, name) VALUES (5, "));
        assert_eq!(abbreviate(&"é".repeat(130)).chars().count(), 121);
    }

    #[test]
    fn data_is_seeded_and_in_range() {
        let a = orders(1000, 50, 7);
        assert_eq!(a, orders(1000, 50, 7));
        assert_ne!(a, orders(1000, 50, 8));
        assert!(a.iter().enumerate().all(|(i, o)| o.id == i as i64 + 1
            && (1..=50).contains(&o.customer_id)
            && (0..1000).contains(&o.k)
            && o.note.len() == NOTE_CHARS));
    }

    /// The workloads run end to end on an in-memory Chronos and find what they wrote.
    #[test]
    fn workloads_run_on_chronos() -> Result<()> {
        let engine = chronos_sql::Engine::temporary().map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut t = ChronosTarget {
            session: engine.session(),
        };
        let s = Sizes {
            rows: 300,
            insert_batch: 100,
            customers: 20,
            autocommit: 5,
            point_selects: 50,
            range_queries: 5,
            range_width: 30,
            join_queries: 5,
            join_width: 40,
            seed: 1,
        };
        setup(&mut t, &s)?;
        let data = orders(s.rows, s.customers, s.seed);
        bulk_insert(&mut t, &data, s.insert_batch)?;
        autocommit_inserts(&mut t, s.autocommit, s.seed)?;
        point_selects(&mut t, s.point_selects, s.rows, s.seed)?;
        let r = range_scans(&mut t, s.range_queries, s.range_width, s.rows, s.seed)?;
        assert!(r.rows > 0);
        let j = joins(&mut t, s.join_queries, s.join_width, s.rows, s.seed)?;
        assert!(j.rows > 0);
        assert_eq!(
            t.query_ints("SELECT count(*) FROM events")?,
            vec![vec![Some(5)]]
        );
        Ok(())
    }
}
