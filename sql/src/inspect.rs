//! Rendering SQL keys and rows readably, for the KV inspection tool and goldens.
//!
//! A user key `/table_id/index_id/values...` renders as `/accounts/primary/1` or
//! `/accounts/accounts_owner_idx/'ada'/1`; catalog keys as `/catalog/...`. Rows render as
//! tuples of their column values.

use chronos_kv::keycode::{self, Value as KeyValue};

use crate::catalog::{self, PRIMARY_INDEX_ID, SYSTEM_TABLE_ID, TableDef};
use crate::encoding;
use crate::engine::Engine;
use crate::error::Result;

/// Knows the catalog as of one moment, to name tables and indexes in keys.
#[derive(Debug, Clone)]
pub struct KeyFormatter {
    tables: Vec<TableDef>,
}

fn show(v: &KeyValue) -> String {
    match v {
        KeyValue::Null => "NULL".into(),
        KeyValue::Bool(b) => b.to_string(),
        KeyValue::Int(i) => i.to_string(),
        KeyValue::UInt(u) => u.to_string(),
        KeyValue::Float(f) => crate::value::format_float(*f),
        KeyValue::Str(s) => format!("'{}'", s.replace('\'', "''")),
        KeyValue::Bytes(b) => format!(
            "x'{}'",
            b.iter().map(|x| format!("{x:02x}")).collect::<String>()
        ),
    }
}

impl KeyFormatter {
    /// Reads the catalog at the engine's latest commit.
    pub fn new(engine: &Engine) -> Result<KeyFormatter> {
        let txn = engine.store().begin_read_only();
        Ok(KeyFormatter {
            tables: catalog::list_tables(&txn)?,
        })
    }

    fn table(&self, id: u64) -> Option<&TableDef> {
        self.tables.iter().find(|t| t.id == id)
    }

    /// The id of the table named `name`.
    pub fn table_id(&self, name: &str) -> Option<u64> {
        self.tables.iter().find(|t| t.name == name).map(|t| t.id)
    }

    /// The table a user key belongs to, if it is a row or index key of a known table.
    pub fn table_name(&self, user_key: &[u8]) -> Option<String> {
        let values = keycode::decode_tuple(user_key).ok()?;
        match values.first() {
            Some(KeyValue::UInt(id)) if *id != SYSTEM_TABLE_ID => {
                self.table(*id).map(|t| t.name.clone())
            }
            _ => None,
        }
    }

    /// A readable rendering of a user key.
    pub fn format_key(&self, user_key: &[u8]) -> String {
        let Ok(values) = keycode::decode_tuple(user_key) else {
            return format!("(undecodable key 0x{})", hex(user_key));
        };
        let mut parts: Vec<String> = Vec::new();
        let mut rest = values.iter();
        match (rest.next(), rest.next()) {
            (Some(KeyValue::UInt(SYSTEM_TABLE_ID)), second) => {
                parts.push("catalog".into());
                let kind = match second {
                    Some(KeyValue::UInt(0)) => "next_id".to_string(),
                    Some(KeyValue::UInt(1)) => "tables".to_string(),
                    Some(KeyValue::UInt(2)) => "version".to_string(),
                    Some(v) => show(v),
                    None => String::new(),
                };
                parts.push(kind);
                for v in rest {
                    match v {
                        KeyValue::UInt(id) => {
                            parts.push(self.table(*id).map_or(id.to_string(), |t| t.name.clone()))
                        }
                        v => parts.push(show(v)),
                    }
                }
            }
            (Some(KeyValue::UInt(table_id)), Some(KeyValue::UInt(index_id))) => {
                let table = self.table(*table_id);
                parts.push(table.map_or(format!("table{table_id}"), |t| t.name.clone()));
                let index = if *index_id == PRIMARY_INDEX_ID {
                    "primary".to_string()
                } else {
                    table
                        .and_then(|t| t.indexes.iter().find(|i| i.id == *index_id))
                        .map_or(format!("index{index_id}"), |i| i.name.clone())
                };
                parts.push(index);
                parts.extend(rest.map(show));
            }
            _ => parts.extend(values.iter().map(show)),
        }
        format!("/{}", parts.join("/"))
    }

    /// A readable rendering of a stored value under `user_key`: a row of a known table is its
    /// full tuple of columns; other values are shown as hex.
    pub fn format_value(&self, user_key: &[u8], value: &[u8]) -> String {
        let Ok(values) = keycode::decode_tuple(user_key) else {
            return format!("0x{}", hex(value));
        };
        if let (Some(KeyValue::UInt(tid)), Some(KeyValue::UInt(PRIMARY_INDEX_ID))) =
            (values.first(), values.get(1))
            && let Some(t) = self.table(*tid)
            && let Ok((row, _)) = encoding::decode_row(t, user_key, value)
        {
            let cols: Vec<String> = row
                .iter()
                .map(|v| match v {
                    crate::Value::Null
                    | crate::Value::Boolean(_)
                    | crate::Value::Integer(_)
                    | crate::Value::Float(_) => v.to_string(),
                    v => format!("'{}'", v.to_string().replace('\'', "''")),
                })
                .collect();
            return format!("({})", cols.join(", "));
        }
        if let Some(KeyValue::UInt(SYSTEM_TABLE_ID)) = values.first()
            && let Ok(text) = std::str::from_utf8(value)
            && text.starts_with('{')
        {
            return text.to_string();
        }
        format!("0x{}", hex(value))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn keys_and_rows_render_with_names() {
        let engine = Engine::temporary().unwrap();
        let mut s = engine.session();
        for r in s.execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, owner TEXT); CREATE INDEX acct_owner ON acct (owner); INSERT INTO acct VALUES (7, 'ada')") {
            r.unwrap();
        }
        let f = KeyFormatter::new(&engine).unwrap();
        let t = f.tables[0].clone();
        let row = vec![crate::Value::Integer(7), crate::Value::Text("ada".into())];
        let pk = encoding::pk_values(&t, &row, None);
        let key = encoding::row_key(&t, &pk);
        assert_eq!(f.format_key(&key), "/acct/primary/7");
        assert_eq!(
            f.format_value(&key, &encoding::encode_row_value(&t, &row)),
            "(7, 'ada')"
        );
        let (ik, _) = encoding::index_entry(&t, &t.indexes[0], &row, &pk);
        assert_eq!(f.format_key(&ik), "/acct/acct_owner/'ada'/7");
        assert_eq!(f.table_name(&key).as_deref(), Some("acct"));
    }
}
