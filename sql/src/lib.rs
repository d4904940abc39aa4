//! The Chronos SQL engine.
//!
//! This crate will own the path from SQL text to rows: parsing (with `sqlparser`), binding, planning,
//! optimising and pull-based execution, with table rows and secondary indexes stored as ordered keys
//! in the `kv` crate's MVCC layer.
//!
//! Nothing is implemented here yet: see the SQL engine issue.
