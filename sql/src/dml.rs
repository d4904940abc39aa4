//! INSERT, UPDATE and DELETE, keeping primary keys, unique indexes and secondary indexes
//! consistent with the rows.

use std::collections::HashSet;
use std::sync::Arc;

use chronos_kv::mvcc::{MvccStore, Transaction};
use sqlparser::ast::{self, Statement};

use crate::cancel::StatementLimits;
use crate::catalog::{self, TableDef};
use crate::ddl::default_value;
use crate::declared::{self, NameUse};
use crate::encoding;
use crate::engine::StatementResult;
use crate::error::{Error, Result};
use crate::exec::Executor;
use crate::expr::{Expr, cast};
use crate::plan::Access;
use crate::planner::{ParamTypes, Planner, Scope, ident, object_name};
use crate::sql_error;
use crate::value::{Row, Value};

fn table_name_of(t: &ast::TableWithJoins) -> Result<(String, Option<String>)> {
    if !t.joins.is_empty() {
        return Err(Error::unsupported("joins in UPDATE/DELETE"));
    }
    match &t.relation {
        ast::TableFactor::Table { name, alias, .. } => Ok((
            declared::table_name(name, NameUse::Lookup)?,
            alias.as_ref().map(|a| ident(&a.name)),
        )),
        other => Err(Error::unsupported(format!("target {other}"))),
    }
}

/// The table an UPDATE targets and the name its columns are reachable by.
pub(crate) fn target_table(
    txn: &Transaction,
    t: &ast::TableWithJoins,
) -> Result<(TableDef, String)> {
    let (name, alias) = table_name_of(t)?;
    let table = catalog::get_table(txn, &name)?;
    Ok((table, alias.unwrap_or(name)))
}

/// The table a DELETE targets and the name its columns are reachable by.
pub(crate) fn delete_target(txn: &Transaction, del: &ast::Delete) -> Result<(TableDef, String)> {
    let tables = match &del.from {
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    let [target] = tables.as_slice() else {
        return Err(Error::unsupported("DELETE from several tables"));
    };
    target_table(txn, target)
}

/// Checks constraints and writes a new row and its index entries.
fn write_row(txn: &mut Transaction, table: &TableDef, row: &Row, pk: &[Value]) -> Result<()> {
    for (c, v) in table.columns.iter().zip(row) {
        if v.is_null() && !c.nullable {
            return Err(sql_error!(
                NotNullViolation,
                "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                c.name,
                table.name
            ));
        }
    }
    let key = encoding::row_key(table, pk);
    if txn.get(&key)?.is_some() {
        return Err(sql_error!(
            UniqueViolation,
            "duplicate key value violates unique constraint \"{}_pkey\"",
            table.name
        ));
    }
    txn.put(&key, &encoding::encode_row_value(table, row))?;
    for index in &table.indexes {
        let (k, v) = encoding::index_entry(table, index, row, pk);
        if !v.is_empty() && txn.get(&k)?.is_some() {
            return Err(sql_error!(
                UniqueViolation,
                "duplicate key value violates unique constraint \"{}\"",
                index.name
            ));
        }
        txn.put(&k, &v)?;
    }
    Ok(())
}

fn remove_row(txn: &mut Transaction, table: &TableDef, row: &Row, pk: &[Value]) -> Result<()> {
    txn.delete(&encoding::row_key(table, pk))?;
    for index in &table.indexes {
        let (k, _) = encoding::index_entry(table, index, row, pk);
        txn.delete(&k)?;
    }
    Ok(())
}

fn is_default_keyword(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(id) if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default"))
}

pub fn insert(
    store: &Arc<MvccStore>,
    txn: &mut Transaction,
    ins: &ast::Insert,
    limits: &StatementLimits,
    params: &ParamTypes,
) -> Result<StatementResult> {
    declared::insert(ins)?;
    let name = match &ins.table {
        ast::TableObject::TableName(n) => declared::table_name(n, NameUse::Lookup)?,
        other => return Err(Error::unsupported(format!("INSERT INTO {other}"))),
    };
    let table = catalog::get_table(txn, &name)?;
    let targets: Vec<usize> = if ins.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        let mut seen = HashSet::new();
        ins.columns
            .iter()
            .map(|c| {
                let n = object_name(c)?;
                let i = table.column_index(&n).ok_or_else(|| {
                    sql_error!(
                        UndefinedColumn,
                        "column \"{n}\" of relation \"{name}\" does not exist"
                    )
                })?;
                if !seen.insert(i) {
                    return Err(sql_error!(
                        DuplicateColumn,
                        "column \"{n}\" specified more than once"
                    ));
                }
                Ok(i)
            })
            .collect::<Result<_>>()?
    };
    let source = ins
        .source
        .as_ref()
        .ok_or_else(|| Error::unsupported("INSERT without a source"))?;
    // Source rows: None marks DEFAULT.
    let rows: Vec<Vec<Option<Value>>> = {
        let ro: &Transaction = txn;
        match source.body.as_ref() {
            ast::SetExpr::Values(values)
                if source.order_by.is_none() && source.limit_clause.is_none() =>
            {
                let exec = Executor::new(ro, limits);
                let mut planner = Planner::with_params(ro, params.clone());
                let mut out = Vec::new();
                for r in &values.rows {
                    let mut row = Vec::new();
                    for e in &r.content {
                        if is_default_keyword(e) {
                            row.push(None);
                        } else {
                            row.push(Some(
                                planner
                                    .bind_expr(e, &Scope::default())?
                                    .eval(&Vec::new(), &exec)?,
                            ));
                        }
                    }
                    out.push(row);
                }
                out
            }
            _ => {
                let (plan, _) = Planner::with_params(ro, params.clone()).plan_query(source)?;
                let exec = Executor::new(ro, limits);
                exec.rows(&plan)?
                    .map(|r| r.map(|row| row.into_iter().map(Some).collect()))
                    .collect::<Result<_>>()?
            }
        }
    };
    let mut count = 0;
    for src in rows {
        if src.len() != targets.len() {
            return Err(sql_error!(
                SyntaxError,
                "INSERT has {} expressions but {} target columns",
                src.len(),
                targets.len()
            ));
        }
        let mut row: Row = vec![Value::Null; table.columns.len()];
        let mut given = vec![false; table.columns.len()];
        for (&i, v) in targets.iter().zip(src) {
            if let Some(v) = v {
                row[i] = cast(v, table.columns[i].data_type)
                    .and_then(|v| table.columns[i].fit(v))
                    .map_err(|e| assignment_error(e, &table, i))?;
                given[i] = true;
            }
        }
        for (i, c) in table.columns.iter().enumerate() {
            if !given[i] {
                row[i] = default_value(txn, c)?;
            }
        }
        let row_id = table.has_hidden_row_id().then(|| {
            let ts = store.now();
            ((ts.wall_ms as i64) << 20) | i64::from(ts.logical & 0xf_ffff)
        });
        let pk = encoding::pk_values(&table, &row, row_id);
        write_row(txn, &table, &row, &pk)?;
        count += 1;
    }
    Ok(StatementResult::Modified {
        tag: "INSERT",
        rows: count,
    })
}

fn assignment_error(e: Error, table: &TableDef, column: usize) -> Error {
    Error::new(
        e.state,
        format!(
            "{} (column \"{}\" of \"{}\")",
            e.message, table.columns[column].name, table.name
        ),
    )
}

/// Rows matching a WHERE on one table, with their pks.
fn matching_rows(
    txn: &Transaction,
    table: &TableDef,
    access: &Access,
    filter: Option<&Expr>,
    limits: &StatementLimits,
) -> Result<Vec<(Row, Vec<Value>)>> {
    let exec = Executor::new(txn, limits);
    let mut out = Vec::new();
    for r in exec.scan_with_keys(table, access)? {
        let (row, pk) = r?;
        if match filter {
            Some(f) => f.matches(&row, &exec)?,
            None => true,
        } {
            out.push((row, pk));
        }
    }
    Ok(out)
}

pub fn update(
    txn: &mut Transaction,
    up: &ast::Update,
    limits: &StatementLimits,
    params: &ParamTypes,
) -> Result<StatementResult> {
    declared::update(up)?;
    let (name, alias) = table_name_of(&up.table)?;
    let table = catalog::get_table(txn, &name)?;
    let ro: &Transaction = txn;
    let mut planner = Planner::with_params(ro, params.clone());
    let (access, filter, scope) = planner.plan_table_filter(
        &table,
        alias.as_deref().unwrap_or(&name),
        up.selection.as_ref(),
    )?;
    let mut sets = Vec::new();
    for a in &up.assignments {
        let col = match &a.target {
            ast::AssignmentTarget::ColumnName(n) => object_name(n)?,
            ast::AssignmentTarget::Tuple(_) => return Err(Error::unsupported("tuple assignment")),
        };
        let i = table.column_index(&col).ok_or_else(|| {
            sql_error!(
                UndefinedColumn,
                "column \"{col}\" of relation \"{name}\" does not exist"
            )
        })?;
        let e = if is_default_keyword(&a.value) {
            None
        } else {
            Some(planner.bind_expr(&a.value, &scope)?.fold())
        };
        sets.push((i, e));
    }
    let old = matching_rows(ro, &table, &access, filter.as_ref(), limits)?;
    let exec = Executor::new(ro, limits);
    let mut new_rows = Vec::with_capacity(old.len());
    for (row, pk) in &old {
        let mut next = row.clone();
        for (i, e) in &sets {
            let v = match e {
                Some(e) => e.eval(row, &exec)?,
                None => default_value(ro, &table.columns[*i])?,
            };
            next[*i] = cast(v, table.columns[*i].data_type)
                .and_then(|v| table.columns[*i].fit(v))
                .map_err(|err| assignment_error(err, &table, *i))?;
        }
        let new_pk = if table.has_hidden_row_id() {
            pk.clone()
        } else {
            encoding::pk_values(&table, &next, None)
        };
        new_rows.push((next, new_pk));
    }
    drop(exec);
    // Remove every old row first, so keys moving between rows (id = id + 1) do not collide.
    for (row, pk) in &old {
        remove_row(txn, &table, row, pk)?;
    }
    for (row, pk) in &new_rows {
        write_row(txn, &table, row, pk)?;
    }
    Ok(StatementResult::Modified {
        tag: "UPDATE",
        rows: new_rows.len() as u64,
    })
}

pub fn delete(
    txn: &mut Transaction,
    del: &ast::Delete,
    limits: &StatementLimits,
    params: &ParamTypes,
) -> Result<StatementResult> {
    declared::delete(del)?;
    let tables = match &del.from {
        ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t) => t,
    };
    let [target] = tables.as_slice() else {
        return Err(Error::unsupported("DELETE from several tables"));
    };
    let (name, alias) = table_name_of(target)?;
    let table = catalog::get_table(txn, &name)?;
    let ro: &Transaction = txn;
    let (access, filter, _) = Planner::with_params(ro, params.clone()).plan_table_filter(
        &table,
        alias.as_deref().unwrap_or(&name),
        del.selection.as_ref(),
    )?;
    let old = matching_rows(ro, &table, &access, filter.as_ref(), limits)?;
    for (row, pk) in &old {
        remove_row(txn, &table, row, pk)?;
    }
    Ok(StatementResult::Modified {
        tag: "DELETE",
        rows: old.len() as u64,
    })
}

/// EXPLAIN for statements other than queries.
pub fn explain(txn: &Transaction, st: &Statement) -> Result<Vec<String>> {
    let (verb, target, selection) = match st {
        Statement::Update(up) => ("Update", &up.table, up.selection.as_ref()),
        Statement::Delete(del) => match &del.from {
            ast::FromTable::WithFromKeyword(t) | ast::FromTable::WithoutKeyword(t)
                if t.len() == 1 =>
            {
                ("Delete", &t[0], del.selection.as_ref())
            }
            _ => return Err(Error::unsupported("EXPLAIN of this DELETE")),
        },
        other => {
            return Err(Error::unsupported(format!(
                "EXPLAIN {}",
                other.to_string().split_whitespace().next().unwrap_or("")
            )));
        }
    };
    let (name, alias) = table_name_of(target)?;
    let table = Arc::new(catalog::get_table(txn, &name)?);
    let alias = alias.unwrap_or_else(|| name.clone());
    let (access, filter, _) = Planner::new(txn).plan_table_filter(&table, &alias, selection)?;
    let scan = crate::plan::Plan::Scan {
        table: table.clone(),
        alias,
        access,
        filter,
    };
    let mut lines = vec![format!("{verb} {name}")];
    lines.extend(scan.explain().into_iter().map(|l| format!("  -> {l}")));
    Ok(lines)
}
