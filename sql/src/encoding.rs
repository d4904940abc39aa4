//! How rows and index entries become ordered KV keys.
//!
//! ```text
//! row:          /table_id/0/pk values...            → non-key column values (tagged)
//! index entry:  /table_id/index_id/indexed values.../pk values...   → (empty)
//! unique index: /table_id/index_id/indexed values...                → pk values
//!               (entries whose indexed values include NULL take the non-unique form, so
//!               NULLs never collide, as in PostgreSQL)
//! ```
//!
//! Every element is keycode-encoded with its type tag (`chronos_kv::keycode::Value`), so a
//! primary-key or index range is a KV range and NULLs sort first. Tables without a primary
//! key use a hidden row id as the pk. Names never appear in keys.
//!
//! Types beyond keycode's own are stored in one of its forms and given their type back from
//! the column's declared type when read ([`typed`]), so the key order is the SQL order:
//! - CHAR(n): the string without trailing blanks (they are insignificant; re-padded on read);
//! - TIMESTAMP, TIMESTAMPTZ: `Int` of microseconds since 2000-01-01 (infinities are the
//!   extremes of i64, so they sort first and last);
//! - DATE: `Int` of days since 2000-01-01.
//!
//! No existing encoding changed when these types came, so data written before reads the same.

use chronos_kv::keycode::{self, KeyDecoder, Value as KeyValue};

use crate::catalog::{ColumnDef, IndexDef, PRIMARY_INDEX_ID, TableDef};
use crate::error::{Error, Result, SqlState};
use crate::value::{DataType, Row, Value};

pub fn to_key(v: &Value) -> KeyValue {
    match v {
        Value::Null => KeyValue::Null,
        Value::Boolean(b) => KeyValue::Bool(*b),
        Value::Integer(i) => KeyValue::Int(*i),
        Value::Float(f) => KeyValue::Float(*f),
        Value::Text(s) => KeyValue::Str(s.clone()),
        Value::Char(s) => KeyValue::Str(crate::bpchar::significant(s).to_string()),
        Value::Timestamp(t) | Value::TimestampTz(t) => KeyValue::Int(*t),
        Value::Date(d) => KeyValue::Int(i64::from(*d)),
    }
}

/// A stored value of `column` with its declared type restored (see the module doc).
fn typed(v: Value, column: &ColumnDef) -> Result<Value> {
    Ok(match (v, column.data_type) {
        (Value::Text(s), DataType::Char) => {
            Value::Char(crate::bpchar::from_key(s, column.max_chars))
        }
        (Value::Integer(t), DataType::Timestamp) => Value::Timestamp(t),
        (Value::Integer(t), DataType::TimestampTz) => Value::TimestampTz(t),
        (Value::Integer(d), DataType::Date) => Value::Date(
            i32::try_from(d).map_err(|_| corrupt("a date beyond the 32-bit day range"))?,
        ),
        (v, _) => v,
    })
}

fn from_key(v: KeyValue) -> Result<Value> {
    Ok(match v {
        KeyValue::Null => Value::Null,
        KeyValue::Bool(b) => Value::Boolean(b),
        KeyValue::Int(i) => Value::Integer(i),
        KeyValue::Float(f) => Value::Float(f),
        KeyValue::Str(s) => Value::Text(s),
        KeyValue::UInt(_) | KeyValue::Bytes(_) => {
            return Err(corrupt("unexpected value type in a row"));
        }
    })
}

fn corrupt(what: &str) -> Error {
    Error::new(
        SqlState::DataCorrupted,
        format!("row data is unreadable: {what}"),
    )
}

/// The key prefix of every entry of index `index_id` of table `table_id`.
pub fn index_prefix(table_id: u64, index_id: u64) -> Vec<u8> {
    keycode::encode_tuple(&[KeyValue::UInt(table_id), KeyValue::UInt(index_id)])
}

/// The key prefix of every row and index entry of a table.
pub fn table_prefix(table_id: u64) -> Vec<u8> {
    keycode::encode_tuple(&[KeyValue::UInt(table_id)])
}

fn append(out: &mut Vec<u8>, values: &[Value]) {
    for v in values {
        to_key(v).encode(out);
    }
}

/// The pk values of a full row (the hidden row id is the last element for keyless tables).
pub fn pk_values(table: &TableDef, row: &Row, row_id: Option<i64>) -> Vec<Value> {
    if table.has_hidden_row_id() {
        vec![Value::Integer(row_id.unwrap_or_default())]
    } else {
        table.primary_key.iter().map(|&i| row[i].clone()).collect()
    }
}

pub fn row_key(table: &TableDef, pk: &[Value]) -> Vec<u8> {
    let mut k = index_prefix(table.id, PRIMARY_INDEX_ID);
    append(&mut k, pk);
    k
}

/// Key prefix for rows whose leading pk values are `values`.
pub fn row_key_prefix(table: &TableDef, values: &[Value]) -> Vec<u8> {
    row_key(table, values)
}

/// The stored value of a row: its non-key columns.
pub fn encode_row_value(table: &TableDef, row: &Row) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, v) in row.iter().enumerate() {
        if !table.primary_key.contains(&i) {
            to_key(v).encode(&mut out);
        }
    }
    out
}

/// Rebuilds a full row from its key and value; returns the row and its pk values.
pub fn decode_row(table: &TableDef, key: &[u8], value: &[u8]) -> Result<(Row, Vec<Value>)> {
    let prefix_len = index_prefix(table.id, PRIMARY_INDEX_ID).len();
    let mut kd = KeyDecoder::new(key.get(prefix_len..).ok_or_else(|| corrupt("short key"))?);
    let pk_len = if table.has_hidden_row_id() {
        1
    } else {
        table.primary_key.len()
    };
    let mut pk = Vec::with_capacity(pk_len);
    for j in 0..pk_len {
        pk.push(pk_typed(
            table,
            j,
            from_key(kd.value().map_err(|_| corrupt("key"))?)?,
        )?);
    }
    kd.finish().map_err(|_| corrupt("key has trailing bytes"))?;
    let mut vd = KeyDecoder::new(value);
    let mut row = Vec::with_capacity(table.columns.len());
    for i in 0..table.columns.len() {
        match table.primary_key.iter().position(|&p| p == i) {
            Some(j) => row.push(pk[j].clone()),
            None => row.push(typed(
                from_key(vd.value().map_err(|_| corrupt("value"))?)?,
                &table.columns[i],
            )?),
        }
    }
    vd.finish()
        .map_err(|_| corrupt("value has trailing bytes"))?;
    Ok((row, pk))
}

/// The `j`th pk value with its column's type (the hidden row id is an integer).
fn pk_typed(table: &TableDef, j: usize, v: Value) -> Result<Value> {
    match table.primary_key.get(j).and_then(|&c| table.columns.get(c)) {
        Some(column) => typed(v, column),
        None => Ok(v),
    }
}

/// Whether this index entry uses the unique form (a unique index, and no NULL indexed value).
fn unique_form(index: &IndexDef, row: &Row) -> bool {
    index.unique && index.columns.iter().all(|&c| !row[c].is_null())
}

/// The key of `row`'s entry in `index`, and its value.
pub fn index_entry(
    table: &TableDef,
    index: &IndexDef,
    row: &Row,
    pk: &[Value],
) -> (Vec<u8>, Vec<u8>) {
    let mut k = index_prefix(table.id, index.id);
    for &c in &index.columns {
        to_key(&row[c]).encode(&mut k);
    }
    if unique_form(index, row) {
        let mut v = Vec::new();
        append(&mut v, pk);
        (k, v)
    } else {
        append(&mut k, pk);
        (k, Vec::new())
    }
}

/// Key prefix of index entries whose leading indexed values are `values`.
pub fn index_key_prefix(table: &TableDef, index: &IndexDef, values: &[Value]) -> Vec<u8> {
    let mut k = index_prefix(table.id, index.id);
    append(&mut k, values);
    k
}

/// The pk values an index entry points at.
pub fn decode_index_entry(
    table: &TableDef,
    index: &IndexDef,
    key: &[u8],
    value: &[u8],
) -> Result<Vec<Value>> {
    let prefix_len = index_prefix(table.id, index.id).len();
    let mut kd = KeyDecoder::new(
        key.get(prefix_len..)
            .ok_or_else(|| corrupt("short index key"))?,
    );
    let mut indexed_null = false;
    for _ in &index.columns {
        indexed_null |= matches!(
            kd.value().map_err(|_| corrupt("index key"))?,
            KeyValue::Null
        );
    }
    let pk_len = if table.has_hidden_row_id() {
        1
    } else {
        table.primary_key.len()
    };
    let mut pk = Vec::with_capacity(pk_len);
    let mut d = if index.unique && !indexed_null {
        KeyDecoder::new(value)
    } else {
        kd
    };
    for j in 0..pk_len {
        pk.push(pk_typed(
            table,
            j,
            from_key(d.value().map_err(|_| corrupt("index entry"))?)?,
        )?);
    }
    d.finish()
        .map_err(|_| corrupt("index entry has trailing bytes"))?;
    Ok(pk)
}
