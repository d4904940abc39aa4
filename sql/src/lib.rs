//! The Chronos SQL engine.
//!
//! ```text
//! SQL text ──sqlparser──► AST ──planner (bind, push down, pick access paths, joins)──► Plan
//!   ──executor (pull-based iterators)──► rows
//! all inside one MVCC transaction of the kv crate:
//!   table rows    /table_id/0/pk...                 (non-key columns in the value)
//!   index entries /table_id/index_id/values.../pk...
//!   catalog       /0/...                            (JSON table definitions)
//! ```
//!
//! - `catalog`: table and index definitions, stored transactionally.
//! - `encoding`: rows and index entries as order-preserving keys.
//! - `planner`: name resolution, type inference, predicate pushdown, primary-key and index
//!   access paths chosen from WHERE, hash joins for equi-joins, join order.
//! - `plan`: the plan tree and EXPLAIN.
//! - `exec`: the pull-based executor with memory accounting.
//! - `expr`: expression evaluation (three-valued logic, PostgreSQL overflow semantics).
//! - `ddl`, `dml`: schema changes and writes.
//! - `engine`: the [`Engine`] and its [`Session`]s (transaction blocks, autocommit, the
//!   `CommitPath` seam through which a cluster node replicates commits).
//! - `cancel`: stopping a running statement (a session's [`CancelHandle`], its statement
//!   timeout on the [`Ticker`] seam), checked in the executor's per-row loops.
//! - `settings`: `SET`/`SHOW`/`RESET statement_timeout`, PostgreSQL's units and rules, and the
//!   driver parameters with one value (client_encoding, DateStyle, TimeZone, search_path,
//!   extra_float_digits, standard_conforming_strings, transaction_isolation,
//!   default_transaction_*): that value accepted, any other refused (22023);
//!   `application_name`, any value, reported to the client as a [`SessionMessage`].
//! - `system`: `pg_catalog` and `information_schema` as read-only virtual relations computed
//!   from the catalog at the statement's snapshot, and the catalog functions and `reg*` casts
//!   clients use, bound at plan time.
//! - `prepared`: prepared statements and portals (the plan cache; SQL PREPARE/EXECUTE/
//!   DEALLOCATE and the wire protocol's Parse/Bind/Execute), `$n` parameters typed by
//!   `planner::params`; `cursor`: a portal suspended after a row limit keeps its executor.
//! - `bpchar`: CHAR(n) semantics (blank padding, trailing blanks insignificant, 22001).
//! - `datetime`: DATE, TIMESTAMP and TIMESTAMPTZ (PostgreSQL's microseconds since 2000-01-01,
//!   ISO input and output, ranges and errors).
//! - `inspect`: keys and rows rendered through the catalog (for `chronos kv`).
//! - `declared`: clauses the parser accepts that we do not honour (TEMP, PARTITION BY, WITH
//!   (...), USING hash, CONCURRENTLY, ON CONFLICT, RETURNING, SERIALIZABLE, other schemas,
//!   TIMESTAMP(p), ...), refused with 0A000 (or PostgreSQL's own error) instead of being dropped;
//!   `VARCHAR(n)` is enforced (22001) and READ ONLY transactions refuse writes (25006).
//! - `depth`: how long and how deep a statement may be. Flat chains (`a OR b OR …`, `x + y +
//!   …`) are unbounded in length and bound to one n-ary node; nesting is limited to
//!   [`MAX_EXPRESSION_DEPTH`] (1,000) levels, beyond which a statement fails with SQLSTATE 54001
//!   "stack depth limit exceeded"; statement text to 16 MiB. Recursive passes move to a
//!   heap-allocated stack segment when the thread's stack runs low, so any thread size works.
//!
//! Not implemented yet: window functions, CTEs, views, ALTER TABLE, ON CONFLICT, RETURNING,
//! savepoints; the
//! optimiser has no statistics (join order is greedy
//! over equi-join connectivity, and an index is chosen by how many key columns WHERE fixes).

mod bpchar;
pub mod cancel;
#[cfg(test)]
mod cancel_tests;
mod catalog;
pub mod cursor;
mod datetime;
mod ddl;
mod declared;
mod depth;
mod dml;
mod encoding;
mod error;
mod exec;
mod expr;
pub mod inspect;
mod plan;
mod planner;
pub mod prepared;
#[cfg(test)]
mod prepared_tests;
mod settings;
pub mod system;
mod value;

pub mod engine;

pub use cancel::{CancelHandle, SystemTicker, Ticker};
pub use depth::MAX_EXPRESSION_DEPTH;
pub use engine::{
    ColumnInfo, CommitError, CommitPath, Engine, LocalCommit, Session, SessionMessage,
    StatementResult, StreamSink, Streamed,
};
pub use error::{Error, Result, SqlState};
pub use prepared::{PortalOutcome, StatementDescription};
pub use settings::{format_statement_timeout, parse_statement_timeout};
pub use value::{DataType, Row, Value, format_float};
