//! `chronos bench sql`: the SQL engine against SQLite in the same run, on the same disk,
//! reported as medians and Chronos/SQLite ratios.
//!
//! # What is measured
//! Schema: `customers(id PK, region, name)`, `orders(id PK, customer_id, k, v, note)` with a
//! secondary index on `orders(k)`, and `events(id PK, v, note)`; values from a seeded
//! xorshift generator, identical for every engine.
//! 1. `bulk insert`: `--rows` orders in ONE transaction (the index maintained as rows go in),
//!    as multi-row INSERT statements of `--insert-batch` rows each.
//! 2. `autocommit insert`: `--autocommit` single-row INSERTs into `events`, each its own
//!    transaction. Chronos syncs every commit; SQLite runs in WAL mode with
//!    `synchronous=FULL`: both fsync once per commit.
//! 3. `pk point select`: `--point-selects` `SELECT v, note FROM orders WHERE id = ?` of
//!    uniformly picked existing ids.
//! 4. `index range + agg`: `--range-queries` `SELECT count(*), sum(v) FROM orders WHERE k
//!    BETWEEN ? AND ?` over `--range-width` consecutive k (≈ that many rows each), through
//!    the secondary index (plus a row fetch per match, `v` is not in the index).
//! 5. `join`: `--join-queries` `orders ⋈ customers` on `customer_id` for `--join-width`
//!    consecutive order ids and one region (≈ 1/10 of them match).
//!
//! The read workloads run right after the load, warm, in the same process; their answers are
//! checksummed and compared across engines (a mismatch is reported as a failure).
//!
//! # Engines
//! - `chronos`: embedded on a real directory (`Engine::open`), SQL text through a session.
//!   Chronos has no prepared statements yet: every statement is parsed and planned on each
//!   execution, and that cost is measured as is.
//! - `sqlite` (feature `peers`): cached prepared statements with bound parameters, one
//!   prepared INSERT per row for the bulk load — SQLite at its usual best. Targets are judged
//!   against this one.
//! - `sqlite-text` (feature `peers`): the very SQL text Chronos gets, prepared anew for each
//!   statement: the same parse-and-plan-per-statement handicap, for reference.
//!
//! Each engine gets a fresh directory per run; `sync(1)` runs before each engine; the engine
//! order rotates across `--runs`. The target (within 2× of SQLite, i.e. ratio ≥ 0.5) is
//! printed as met or missed; nothing asserts timings.

#[cfg(feature = "peers")]
mod sqlite;
mod workloads;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::report::{Results, rate, render};
use workloads::{Measured, Sizes, Target};

/// Arguments of `chronos bench sql`.
#[derive(Debug, Clone, clap::Args)]
pub struct SqlBenchArgs {
    /// Rows of the bulk insert (one transaction); also the size of `orders` for the reads.
    #[arg(long, default_value_t = 100_000)]
    rows: u64,
    /// Rows per multi-row INSERT statement in the bulk insert.
    #[arg(long, default_value_t = 500)]
    insert_batch: usize,
    /// Rows of `customers` (loaded before the timed workloads).
    #[arg(long, default_value_t = 1000)]
    customers: u64,
    /// Single-row autocommit (synced) inserts.
    #[arg(long, default_value_t = 10_000)]
    autocommit: u64,
    /// Primary-key point selects.
    #[arg(long, default_value_t = 100_000)]
    point_selects: u64,
    /// Secondary-index range queries with an aggregate.
    #[arg(long, default_value_t = 2000)]
    range_queries: u64,
    /// Consecutive index keys per range query (≈ rows matched).
    #[arg(long, default_value_t = 100)]
    range_width: u64,
    /// Join queries.
    #[arg(long, default_value_t = 200)]
    join_queries: u64,
    /// Consecutive order ids per join query (≈ 1/10 of them match the region filter).
    #[arg(long, default_value_t = 1000)]
    join_width: u64,
    /// Repetitions (engine order rotated); tables show medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Engines to run (default: all compiled in).
    #[arg(long, value_delimiter = ',')]
    engines: Vec<SqlEngine>,
    /// Parent of the temporary data directory (default: the system temp dir).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Seed of the data and pick generators.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SqlEngine {
    Chronos,
    Sqlite,
    SqliteText,
}

impl SqlEngine {
    fn name(self) -> &'static str {
        match self {
            SqlEngine::Chronos => "chronos",
            SqlEngine::Sqlite => "sqlite",
            SqlEngine::SqliteText => "sqlite-text",
        }
    }

    fn compiled() -> Vec<SqlEngine> {
        if cfg!(feature = "peers") {
            vec![SqlEngine::Chronos, SqlEngine::Sqlite, SqlEngine::SqliteText]
        } else {
            vec![SqlEngine::Chronos]
        }
    }

    fn open(self, dir: &Path) -> Result<Box<dyn Target>> {
        Ok(match self {
            SqlEngine::Chronos => Box::new(workloads::ChronosTarget::open(dir)?),
            #[cfg(feature = "peers")]
            SqlEngine::Sqlite => Box::new(sqlite::SqlitePrepared::open(dir)?),
            #[cfg(feature = "peers")]
            SqlEngine::SqliteText => Box::new(sqlite::SqliteText::open(dir)?),
            #[cfg(not(feature = "peers"))]
            other => anyhow::bail!("{} is not compiled in", other.name()),
        })
    }
}

const BULK: &str = "bulk insert, 1 txn (rows/s)";
const AUTOCOMMIT: &str = "autocommit insert, synced (rows/s)";
const POINT: &str = "pk point select (queries/s)";
const RANGE: &str = "index range + agg (queries/s)";
const JOIN: &str = "join (queries/s)";
const WORKLOADS: [&str; 5] = [BULK, AUTOCOMMIT, POINT, RANGE, JOIN];

pub fn run(args: &SqlBenchArgs) -> Result<()> {
    anyhow::ensure!(args.rows > 0, "--rows must be positive");
    anyhow::ensure!(args.customers > 0, "--customers must be positive");
    anyhow::ensure!(
        args.range_width > 0 && args.join_width > 0,
        "--range-width and --join-width must be positive"
    );
    let engines = super::select_engines(
        &args.engines,
        SqlEngine::compiled(),
        |e| e.name(),
        "the SQLite peer is",
        "bench sql",
    )?;
    let sizes = Sizes {
        rows: args.rows,
        insert_batch: args.insert_batch.max(1),
        customers: args.customers,
        autocommit: args.autocommit,
        point_selects: args.point_selects,
        range_queries: args.range_queries,
        range_width: args.range_width,
        join_queries: args.join_queries,
        join_width: args.join_width,
        seed: args.seed,
    };
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::Builder::new()
        .prefix("chronos-bench-sql-")
        .tempdir_in(&base)
        .with_context(|| format!("creating a temporary directory in {}", base.display()))?;
    let names: Vec<&str> = engines.iter().map(|e| e.name()).collect();
    errln!(
        "chronos bench sql: {} rows; engines {}; {} runs; data in {}",
        args.rows,
        names.join(", "),
        args.runs,
        tmp.path().display()
    );
    let data = workloads::orders(sizes.rows, sizes.customers, sizes.seed);

    let mut results = Results::default();
    let mut answers: BTreeMap<(usize, &str), (&str, u64)> = BTreeMap::new();
    let mut rows_per_query: BTreeMap<&str, f64> = BTreeMap::new();
    for run in 0..args.runs {
        let mut order = engines.clone();
        order.rotate_left(run % engines.len().max(1));
        for &engine in &order {
            let label = engine.name();
            errln!("[run {}/{}] {label}", run + 1, args.runs);
            let dir = tmp.path().join(format!("r{run}-{label}"));
            quiesce();
            let outcome = run_engine(engine, &dir, &sizes, &data, &mut |workload, m| {
                errln!(
                    "    {label:<12} {workload:<36} {:>9}/s  ({:.2} s)",
                    rate(m.ops_per_sec()),
                    m.elapsed.as_secs_f64()
                );
                results.add_rate(workload, label, m.ops_per_sec());
                if m.ops > 0 {
                    rows_per_query.insert(workload, m.rows as f64 / m.ops as f64);
                }
                if m.checksum != 0 {
                    match answers.get(&(run, workload)) {
                        Some(&(first, sum)) if sum != m.checksum => {
                            results.failures.push(format!(
                                "[run {}] {workload}: {label}'s answers differ from {first}'s",
                                run + 1
                            ));
                        }
                        Some(_) => {}
                        None => {
                            answers.insert((run, workload), (label, m.checksum));
                        }
                    }
                }
            });
            if let Err(e) = outcome {
                errln!("    {label:<12} FAILED: {e:#}");
                results
                    .failures
                    .push(format!("[run {}] {label}: {e:#}", run + 1));
            }
            if let Err(e) = std::fs::remove_dir_all(&dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                errln!("warning: could not remove {}: {e}", dir.display());
            }
        }
    }
    let dir = tmp.path().display().to_string();
    tmp.close()
        .with_context(|| format!("removing the data directory {dir}"))?;
    print_report(args, &results, &rows_per_query);
    Ok(())
}

/// Opens `engine` in `dir` and runs every workload on it, reporting each as it completes.
fn run_engine(
    engine: SqlEngine,
    dir: &Path,
    s: &Sizes,
    data: &[workloads::Order],
    report: &mut dyn FnMut(&'static str, &Measured),
) -> Result<()> {
    let mut t = engine.open(dir)?;
    let t = t.as_mut();
    workloads::setup(t, s).context("setup")?;
    let m = workloads::bulk_insert(t, data, s.insert_batch).context("bulk insert")?;
    report(BULK, &m);
    let m =
        workloads::point_selects(t, s.point_selects, s.rows, s.seed).context("point selects")?;
    report(POINT, &m);
    let m = workloads::range_scans(t, s.range_queries, s.range_width, s.rows, s.seed)
        .context("range scans")?;
    report(RANGE, &m);
    let m = workloads::joins(t, s.join_queries, s.join_width, s.rows, s.seed).context("joins")?;
    report(JOIN, &m);
    let m = workloads::autocommit_inserts(t, s.autocommit, s.seed).context("autocommit inserts")?;
    report(AUTOCOMMIT, &m);
    Ok(())
}

/// Writes back every dirty page system-wide (`sync(1)`) so that no engine pays for the
/// previous one's buffered writes. Best effort.
fn quiesce() {
    if let Err(e) = std::process::Command::new("sync").status() {
        errln!("warning: could not run `sync` between engines: {e}");
    }
}

fn print_report(args: &SqlBenchArgs, results: &Results, rows_per_query: &BTreeMap<&str, f64>) {
    outln!();
    outln!(
        "chronos bench sql — {} orders (bulk insert: {} rows per INSERT), {} autocommit \
         inserts, {} point selects, {} range queries × {} keys, {} joins × {} orders; \
         medians of {} runs, engine order rotated",
        args.rows,
        args.insert_batch,
        args.autocommit,
        args.point_selects,
        args.range_queries,
        args.range_width,
        args.join_queries,
        args.join_width,
        args.runs
    );
    outln!();
    outprint!("{}", results.throughput_table());
    let per_query: Vec<String> = [RANGE, JOIN]
        .iter()
        .filter_map(|w| {
            let name = w.split(" (").next().unwrap_or(w);
            rows_per_query
                .get(w)
                .map(|r| format!("{name}: {r:.1} rows/query"))
        })
        .collect();
    if !per_query.is_empty() {
        outln!("Rows matched: {}", per_query.join("; "));
    }
    outln!(
        "chronos: SQL text per statement, parsed and planned on every execution (no prepared \
         statements yet); commits synced. sqlite: WAL, synchronous=FULL, prepared statements \
         (bulk load: one prepared INSERT per row in one transaction). sqlite-text: the same \
         SQL text as chronos, prepared anew each time."
    );
    if !cfg!(feature = "peers") {
        outln!("(the SQLite peer is not compiled in: build with `--features peers` to compare)");
    }

    outln!();
    outln!("Targets (Chronos within 2x of SQLite, i.e. chronos/sqlite >= 0.50):");
    let rows: Vec<Vec<String>> = WORKLOADS
        .iter()
        .map(|w| {
            let c = results.median(w, "chronos");
            let p = results.median(w, "sqlite");
            let t = results.median(w, "sqlite-text");
            let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) if b > 0.0 => ratio_text(a / b),
                _ => "n/a".to_string(),
            };
            let verdict = match (c, p) {
                (Some(c), Some(p)) if c * 2.0 >= p => "met",
                (Some(_), Some(_)) => "MISSED",
                _ => "not measured",
            };
            vec![w.to_string(), ratio(c, p), ratio(c, t), verdict.to_string()]
        })
        .collect();
    outprint!(
        "{}",
        render(
            &[
                "workload",
                "chronos/sqlite",
                "chronos/sqlite-text",
                "within 2x"
            ],
            &rows
        )
    );
    if !results.failures.is_empty() {
        outln!();
        outln!("FAILURES:");
        for f in &results.failures {
            outln!("- {f}");
        }
    }
}

/// A ratio with two significant digits below 1 (so 0.0021x does not print as 0.00x).
fn ratio_text(r: f64) -> String {
    if r >= 0.1 {
        format!("{r:.2}x")
    } else if r >= 0.01 {
        format!("{r:.3}x")
    } else {
        format!("{r:.4}x")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_ratios_keep_their_digits() {
        assert_eq!(super::ratio_text(1.234), "1.23x");
        assert_eq!(super::ratio_text(0.0456), "0.046x");
        assert_eq!(super::ratio_text(0.00214), "0.0021x");
    }
}
