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
//! - `inspect`: keys and rows rendered through the catalog (for `chronos kv`).
//!
//! Not implemented yet: window functions, CTEs, views, ALTER TABLE, ON CONFLICT, RETURNING,
//! savepoints, prepared statements (every statement is parsed and planned per execution); the
//! optimiser has no statistics (join order is greedy
//! over equi-join connectivity, and an index is chosen by how many key columns WHERE fixes).

mod catalog;
mod ddl;
mod dml;
mod encoding;
mod error;
mod exec;
mod expr;
pub mod inspect;
mod plan;
mod planner;
mod value;

pub mod engine;

pub use engine::{
    ColumnInfo, CommitError, CommitPath, Engine, LocalCommit, Session, StatementResult, StreamSink,
    Streamed,
};
pub use error::{Error, Result, SqlState};
pub use value::{DataType, Row, Value, format_float};
