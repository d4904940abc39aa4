//! CREATE/DROP TABLE and INDEX, and DESCRIBE.

use chronos_kv::Direction;
use chronos_kv::mvcc::Transaction;
use sqlparser::ast::{self, ColumnOption, ObjectType, TableConstraint};

use crate::catalog::{self, ColumnDef, IndexDef, TableDef};
use crate::declared::{self, NameUse};
use crate::encoding;
use crate::engine::{ColumnInfo, StatementResult, parse_expr};
use crate::error::{Error, Result, SqlState};
use crate::expr::NoSubqueries;
use crate::planner::{Planner, Scope, data_type, ident, object_name};
use crate::sql_error;
use crate::value::{DataType, Value};

fn index_columns(table: &TableDef, cols: &[ast::IndexColumn]) -> Result<Vec<usize>> {
    cols.iter()
        .map(|c| match &c.column.expr {
            ast::Expr::Identifier(id) => {
                let name = ident(id);
                table
                    .column_index(&name)
                    .ok_or_else(|| sql_error!(UndefinedColumn, "column \"{name}\" does not exist"))
            }
            other => Err(Error::unsupported(format!("index on expression {other}"))),
        })
        .collect()
}

pub fn create_table(txn: &mut Transaction, ct: &ast::CreateTable) -> Result<StatementResult> {
    declared::create_table(ct)?;
    let name = declared::table_name(&ct.name, NameUse::Create)?;
    if catalog::find_table(txn, &name)?.is_some() {
        if ct.if_not_exists {
            return Ok(StatementResult::Command {
                tag: "CREATE TABLE".into(),
            });
        }
        return Err(sql_error!(
            DuplicateTable,
            "relation \"{name}\" already exists"
        ));
    }
    let mut table = TableDef {
        id: 0,
        name: name.clone(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        indexes: Vec::new(),
        next_index_id: 1,
    };
    let mut unique_sets: Vec<Vec<usize>> = Vec::new();
    for col in &ct.columns {
        let cname = ident(&col.name);
        if table.column_index(&cname).is_some() {
            return Err(sql_error!(
                DuplicateColumn,
                "column \"{cname}\" specified more than once"
            ));
        }
        let mut def = ColumnDef {
            name: cname.clone(),
            data_type: data_type(&col.data_type)?,
            nullable: true,
            default: None,
            max_chars: declared::max_chars(&col.data_type)?,
        };
        let position = table.columns.len();
        for opt in &col.options {
            match &opt.option {
                ColumnOption::Null => {}
                ColumnOption::NotNull => def.nullable = false,
                ColumnOption::Default(e) => {
                    // Check it binds and evaluates now, so bad defaults fail at CREATE time.
                    let txn_ro: &Transaction = txn;
                    let bound = Planner::new(txn_ro).bind_expr(e, &Scope::default())?;
                    let v = bound.eval(&Vec::new(), &NoSubqueries)?;
                    crate::expr::cast(v, def.data_type)?;
                    def.default = Some(e.to_string());
                }
                ColumnOption::PrimaryKey(_) => {
                    if !table.primary_key.is_empty() {
                        return Err(sql_error!(
                            InvalidParameterValue,
                            "multiple primary keys for table \"{name}\" are not allowed"
                        ));
                    }
                    table.primary_key = vec![position];
                }
                ColumnOption::Unique(_) => unique_sets.push(vec![position]),
                other => return Err(Error::unsupported(format!("column option {other}"))),
            }
        }
        table.columns.push(def);
    }
    for c in &ct.constraints {
        match c {
            TableConstraint::PrimaryKey(pk) => {
                if !table.primary_key.is_empty() {
                    return Err(sql_error!(
                        InvalidParameterValue,
                        "multiple primary keys for table \"{name}\" are not allowed"
                    ));
                }
                table.primary_key = index_columns(&table, &pk.columns)?;
            }
            TableConstraint::Unique(u) => unique_sets.push(index_columns(&table, &u.columns)?),
            other => return Err(Error::unsupported(format!("table constraint {other}"))),
        }
    }
    for &c in &table.primary_key {
        table.columns[c].nullable = false;
    }
    for cols in unique_sets {
        let names: Vec<&str> = cols
            .iter()
            .map(|&c| table.columns[c].name.as_str())
            .collect();
        let id = table.next_index_id;
        table.next_index_id += 1;
        table.indexes.push(IndexDef {
            id,
            name: format!("{name}_{}_key", names.join("_")),
            columns: cols,
            unique: true,
        });
    }
    table.id = catalog::next_id(txn)?;
    catalog::save_table(txn, &table)?;
    Ok(StatementResult::Command {
        tag: "CREATE TABLE".into(),
    })
}

fn find_index(txn: &Transaction, name: &str) -> Result<Option<(TableDef, IndexDef)>> {
    for t in catalog::list_tables(txn)? {
        if let Some(i) = t.index(name) {
            let i = i.clone();
            return Ok(Some((t, i)));
        }
    }
    Ok(None)
}

pub fn create_index(txn: &mut Transaction, ci: &ast::CreateIndex) -> Result<StatementResult> {
    declared::create_index(ci)?;
    let mut table =
        catalog::get_table(txn, &declared::table_name(&ci.table_name, NameUse::Create)?)?;
    let columns = index_columns(&table, &ci.columns)?;
    let name = match &ci.name {
        Some(n) => object_name(n)?,
        None => {
            let cols: Vec<&str> = columns
                .iter()
                .map(|&c| table.columns[c].name.as_str())
                .collect();
            format!("{}_{}_idx", table.name, cols.join("_"))
        }
    };
    if find_index(txn, &name)?.is_some() || catalog::find_table(txn, &name)?.is_some() {
        if ci.if_not_exists {
            return Ok(StatementResult::Command {
                tag: "CREATE INDEX".into(),
            });
        }
        return Err(sql_error!(
            DuplicateTable,
            "relation \"{name}\" already exists"
        ));
    }
    let index = IndexDef {
        id: table.next_index_id,
        name,
        columns,
        unique: ci.unique,
    };
    table.next_index_id += 1;
    // Backfill from the rows visible to this transaction.
    let prefix = encoding::index_prefix(table.id, catalog::PRIMARY_INDEX_ID);
    let mut entries = Vec::new();
    for e in txn.scan_prefix(&prefix, Direction::Forward)? {
        let (k, v) = e?;
        let (row, pk) = encoding::decode_row(&table, &k, &v)?;
        entries.push(encoding::index_entry(&table, &index, &row, &pk));
    }
    for (k, v) in entries {
        if index.unique && !v.is_empty() && txn.get(&k)?.is_some() {
            return Err(sql_error!(
                UniqueViolation,
                "could not create unique index \"{}\": duplicate key",
                index.name
            ));
        }
        txn.put(&k, &v)?;
    }
    table.indexes.push(index);
    catalog::save_table(txn, &table)?;
    Ok(StatementResult::Command {
        tag: "CREATE INDEX".into(),
    })
}

fn delete_prefix(txn: &mut Transaction, prefix: &[u8]) -> Result<()> {
    let keys: Vec<Vec<u8>> = txn
        .scan_prefix(prefix, Direction::Forward)?
        .map(|e| e.map(|(k, _)| k))
        .collect::<std::result::Result<_, _>>()?;
    for k in keys {
        txn.delete(&k)?;
    }
    Ok(())
}

pub fn drop(
    txn: &mut Transaction,
    kind: &ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
    notices: &mut Vec<String>,
) -> Result<StatementResult> {
    match kind {
        ObjectType::Table => {
            for n in names {
                let name = match declared::table_name(n, NameUse::Create) {
                    // PostgreSQL: a missing schema with IF EXISTS is skipped, as a missing table.
                    Err(e) if if_exists && e.state == SqlState::InvalidSchemaName => {
                        notices.push(format!("{}, skipping", e.message));
                        continue;
                    }
                    r => r?,
                };
                match catalog::find_table(txn, &name)? {
                    Some(t) => {
                        delete_prefix(txn, &encoding::table_prefix(t.id))?;
                        catalog::delete_table(txn, &t)?;
                    }
                    None if if_exists => {
                        notices.push(format!("table \"{name}\" does not exist, skipping"));
                    }
                    None => {
                        return Err(sql_error!(
                            UndefinedTable,
                            "table \"{name}\" does not exist"
                        ));
                    }
                }
            }
            Ok(StatementResult::Command {
                tag: "DROP TABLE".into(),
            })
        }
        ObjectType::Index => {
            for n in names {
                let name = object_name(n)?;
                match find_index(txn, &name)? {
                    Some((mut t, index)) => {
                        delete_prefix(txn, &encoding::index_prefix(t.id, index.id))?;
                        t.indexes.retain(|i| i.id != index.id);
                        catalog::save_table(txn, &t)?;
                    }
                    None if if_exists => {
                        notices.push(format!("index \"{name}\" does not exist, skipping"));
                    }
                    None => {
                        return Err(sql_error!(
                            UndefinedObject,
                            "index \"{name}\" does not exist"
                        ));
                    }
                }
            }
            Ok(StatementResult::Command {
                tag: "DROP INDEX".into(),
            })
        }
        other => Err(Error::unsupported(format!("DROP {other}"))),
    }
}

pub fn describe(txn: &Transaction, name: &str) -> Result<StatementResult> {
    let t = catalog::get_table(txn, name)?;
    let text = |s: &str| Value::Text(s.to_string());
    let mut rows = Vec::new();
    for (i, c) in t.columns.iter().enumerate() {
        let mut keys = Vec::new();
        if t.primary_key.contains(&i) {
            keys.push("PRIMARY KEY".to_string());
        }
        for idx in t.indexes.iter().filter(|x| x.columns.contains(&i)) {
            keys.push(format!(
                "{}{}",
                if idx.unique { "UNIQUE " } else { "" },
                idx.name
            ));
        }
        rows.push(vec![
            text(&c.name),
            match (c.data_type, c.max_chars) {
                (DataType::Char, Some(n)) => Value::Text(format!("CHAR({n})")),
                (ty, _) => text(ty.name()),
            },
            Value::Boolean(c.nullable),
            c.default.as_deref().map_or(Value::Null, text),
            if keys.is_empty() {
                Value::Null
            } else {
                Value::Text(keys.join(", "))
            },
        ]);
    }
    let col = |n: &str, ty| ColumnInfo {
        name: n.into(),
        data_type: Some(ty),
    };
    Ok(StatementResult::Query {
        columns: vec![
            col("column", DataType::Text),
            col("type", DataType::Text),
            col("nullable", DataType::Boolean),
            col("default", DataType::Text),
            col("keys", DataType::Text),
        ],
        rows,
    })
}

/// Evaluates a column's DEFAULT (NULL when it has none).
pub fn default_value(txn: &Transaction, c: &ColumnDef) -> Result<Value> {
    match &c.default {
        None => Ok(Value::Null),
        Some(sql) => {
            let e = parse_expr(sql)?;
            let v = Planner::new(txn)
                .bind_expr(&e, &Scope::default())?
                .eval(&Vec::new(), &NoSubqueries)?;
            crate::expr::cast(v, c.data_type)
        }
    }
}
