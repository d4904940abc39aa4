//! The catalog: table and index definitions, stored transactionally in the KV store.
//!
//! Catalog entries live under system keys (table id 0): `/0/1/table_id` holds a table's
//! definition (JSON, so adding fields keeps old entries readable) and `/0/0` the next id to
//! hand out. Data keys carry only numeric ids, never names (see `encoding`). Because every
//! catalog read and write goes through the session's MVCC transaction, DDL is transactional
//! like everything else, and two concurrent DDL statements conflict on the id counter.

use std::sync::Arc;

use chronos_kv::keycode::{self, Value as KeyValue};
use chronos_kv::mvcc::Transaction;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result, SqlState};
use crate::value::{DataType, Value};

/// Table id 0 is the catalog itself.
pub const SYSTEM_TABLE_ID: u64 = 0;
const NEXT_ID: u64 = 0;
const TABLES: u64 = 1;
/// Bumped by every catalog change, in the same transaction, so caches can tell.
const VERSION: u64 = 2;
/// Index id 0 of every table is its primary key (the rows themselves).
pub const PRIMARY_INDEX_ID: u64 = 0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: DataType,
    pub nullable: bool,
    /// The DEFAULT expression as SQL text, re-parsed when used.
    pub default: Option<String>,
    /// `VARCHAR(n)`: the most characters a value may have (22001 beyond, as in PostgreSQL);
    /// `CHAR(n)`: the length every value is padded to (always present for CHAR columns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_chars: Option<u64>,
}

impl ColumnDef {
    /// `v` as stored in this column: a text longer than `max_chars` is an error unless only
    /// spaces are cut (PostgreSQL's rule for assignment to `varchar(n)` and `char(n)`); a
    /// CHAR value is padded to the column's length.
    pub fn fit(&self, v: Value) -> Result<Value> {
        if let (Some(n), Value::Char(s)) = (self.max_chars, &v) {
            return Ok(Value::Char(crate::bpchar::assign(s, n)?));
        }
        let (Some(max), Value::Text(s)) = (self.max_chars, &v) else {
            return Ok(v);
        };
        let Some((cut, _)) = s
            .char_indices()
            .nth(usize::try_from(max).unwrap_or(usize::MAX))
        else {
            return Ok(v);
        };
        if s[cut..].chars().all(|c| c == ' ') {
            return Ok(Value::Text(s[..cut].to_string()));
        }
        Err(crate::sql_error!(
            StringDataRightTruncation,
            "value too long for type character varying({max})"
        ))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexDef {
    pub id: u64,
    pub name: String,
    /// Positions of the indexed columns.
    pub columns: Vec<usize>,
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub id: u64,
    pub name: String,
    pub columns: Vec<ColumnDef>,
    /// Positions of the primary key columns; empty means a hidden row id is the key.
    pub primary_key: Vec<usize>,
    pub indexes: Vec<IndexDef>,
    pub next_index_id: u64,
}

impl TableDef {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    pub fn has_hidden_row_id(&self) -> bool {
        self.primary_key.is_empty()
    }

    pub fn index(&self, name: &str) -> Option<&IndexDef> {
        self.indexes.iter().find(|i| i.name == name)
    }
}

impl Serialize for DataType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for DataType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        match name.as_str() {
            "BOOLEAN" => Ok(DataType::Boolean),
            "INTEGER" => Ok(DataType::Integer),
            "FLOAT" => Ok(DataType::Float),
            "TEXT" => Ok(DataType::Text),
            "CHAR" => Ok(DataType::Char),
            "TIMESTAMP" => Ok(DataType::Timestamp),
            "TIMESTAMPTZ" => Ok(DataType::TimestampTz),
            "DATE" => Ok(DataType::Date),
            other => Err(serde::de::Error::custom(format!("unknown type {other}"))),
        }
    }
}

fn system_key(parts: &[u64]) -> Vec<u8> {
    let mut values = vec![KeyValue::UInt(SYSTEM_TABLE_ID)];
    values.extend(parts.iter().map(|p| KeyValue::UInt(*p)));
    keycode::encode_tuple(&values)
}

fn corrupt(what: impl std::fmt::Display) -> Error {
    Error::new(
        SqlState::DataCorrupted,
        format!("catalog entry is unreadable: {what}"),
    )
}

/// The decoded catalog of the last committed version seen, per store.
#[derive(Debug, Default)]
pub struct CatalogCache {
    entry: parking_lot::Mutex<Option<(u64, Arc<Vec<TableDef>>)>>,
}

fn version(txn: &Transaction) -> Result<u64> {
    match txn.get(&system_key(&[VERSION]))? {
        None => Ok(0),
        Some(v) => Ok(u64::from_be_bytes(
            v.as_slice()
                .try_into()
                .map_err(|_| corrupt("catalog version"))?,
        )),
    }
}

/// The catalog version `txn` reads, or `None` while it has uncommitted catalog changes of
/// its own (those may roll back, and their version number be reused by another change).
pub fn committed_version(txn: &Transaction) -> Result<Option<u64>> {
    if txn.has_write(&system_key(&[VERSION])) {
        return Ok(None);
    }
    version(txn).map(Some)
}

fn bump_version(txn: &mut Transaction) -> Result<()> {
    let next = version(txn)? + 1;
    txn.put(&system_key(&[VERSION]), &next.to_be_bytes())?;
    Ok(())
}

/// Every table as this transaction sees it; served from the store's cache when the
/// transaction reads a committed catalog version that was decoded before.
pub fn tables(txn: &Transaction) -> Result<Arc<Vec<TableDef>>> {
    let v = version(txn)?;
    // A transaction's own uncommitted DDL must never be cached: it may roll back.
    let committed = !txn.has_write(&system_key(&[VERSION]));
    let cache = txn.store().extension::<CatalogCache>();
    if committed
        && let Some((cv, tables)) = cache.entry.lock().as_ref()
        && *cv == v
    {
        return Ok(tables.clone());
    }
    let tables = Arc::new(list_tables(txn)?);
    if committed {
        *cache.entry.lock() = Some((v, tables.clone()));
    }
    Ok(tables)
}

/// Every table, in id order (read from the KV store, uncached).
pub fn list_tables(txn: &Transaction) -> Result<Vec<TableDef>> {
    let prefix = system_key(&[TABLES]);
    let mut out = Vec::new();
    for entry in txn.scan_prefix(&prefix, chronos_kv::Direction::Forward)? {
        let (_, v) = entry?;
        out.push(serde_json::from_slice(&v).map_err(corrupt)?);
    }
    Ok(out)
}

/// The table named `name`, if it exists.
pub fn find_table(txn: &Transaction, name: &str) -> Result<Option<TableDef>> {
    Ok(tables(txn)?.iter().find(|t| t.name == name).cloned())
}

/// The table named `name`, or an "undefined table" error.
pub fn get_table(txn: &Transaction, name: &str) -> Result<TableDef> {
    find_table(txn, name)?.ok_or_else(|| {
        Error::new(
            SqlState::UndefinedTable,
            format!("relation \"{name}\" does not exist"),
        )
    })
}

/// Hands out a new id (for tables and row ids of keyless tables).
pub fn next_id(txn: &mut Transaction) -> Result<u64> {
    let key = system_key(&[NEXT_ID]);
    let next = match txn.get(&key)? {
        Some(v) => u64::from_be_bytes(v.as_slice().try_into().map_err(|_| corrupt("id counter"))?),
        None => 1,
    };
    txn.put(&key, &(next + 1).to_be_bytes())?;
    Ok(next)
}

/// Writes (creates or replaces) a table definition.
pub fn save_table(txn: &mut Transaction, table: &TableDef) -> Result<()> {
    let bytes = serde_json::to_vec(table).map_err(Error::internal)?;
    txn.put(&system_key(&[TABLES, table.id]), &bytes)?;
    bump_version(txn)
}

/// Removes a table definition.
pub fn delete_table(txn: &mut Transaction, table: &TableDef) -> Result<()> {
    txn.delete(&system_key(&[TABLES, table.id]))?;
    bump_version(txn)
}
