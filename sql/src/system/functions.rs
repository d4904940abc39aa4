//! The functions and casts clients use to read the catalogs: session facts (`version()`,
//! `current_user` …), name lookups (`pg_get_userbyid`, `pg_table_is_visible`,
//! `pg_get_indexdef`, `pg_get_constraintdef`, `::regclass`, `::regtype`) and descriptions
//! (always NULL: Chronos has no COMMENT).
//!
//! A lookup reads the catalog once, when the statement is planned, at the statement's
//! snapshot, and becomes an ordinary expression: `CASE key WHEN oid₁ THEN name₁ … END`. So
//! the executor needs nothing new, and what a function answers agrees with what the
//! statement's `pg_class` shows.

use chronos_kv::mvcc::Transaction;

use super::oids;
use super::pg_catalog::{indexes_of, sql_type_name, type_names};
use super::{Resolved, Schema};
use crate::catalog::{self, TableDef};
use crate::error::Result;
use crate::expr::{Expr, Func};
use crate::sql_error;
use crate::value::Value;

/// The `reg*` types: an OID that prints as the object's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegType {
    Class,
    Type,
    Namespace,
}

impl RegType {
    /// The `reg*` type a type name (with or without `pg_catalog.`) means.
    pub fn from_name(name: &str) -> Option<RegType> {
        let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
        match name {
            "regclass" => Some(RegType::Class),
            "regtype" => Some(RegType::Type),
            "regnamespace" => Some(RegType::Namespace),
            _ => None,
        }
    }
}

fn text(s: impl Into<String>) -> Expr {
    Expr::Literal(Value::Text(s.into()))
}

fn int(i: i64) -> Expr {
    Expr::Literal(Value::Integer(i))
}

/// `CASE key WHEN k₁ THEN v₁ … ELSE otherwise END`.
fn lookup(key: Expr, pairs: Vec<(i64, Expr)>, otherwise: Option<Expr>) -> Expr {
    if pairs.is_empty() {
        // Still evaluate nothing per row: no key can match.
        return otherwise.unwrap_or(Expr::Literal(Value::Null));
    }
    Expr::Case {
        operand: Some(Box::new(key)),
        whens: pairs.into_iter().map(|(k, v)| (int(k), v)).collect(),
        otherwise: otherwise.map(Box::new),
    }
}

/// Every relation's OID, name and namespace, as `pg_class` lists them.
fn relations(tables: &[TableDef]) -> Result<Vec<(i64, String, Schema)>> {
    let mut out: Vec<(i64, String, Schema)> = super::all()
        .iter()
        .map(|st| (st.oid(), st.name.to_string(), st.schema))
        .collect();
    for tb in tables {
        out.push((oids::table(tb.id)?, tb.name.clone(), Schema::Public));
        for x in indexes_of(tb) {
            out.push((oids::index(tb.id, x.id)?, x.name.clone(), Schema::Public));
        }
    }
    Ok(out)
}

/// The name a relation prints as under the search path `pg_catalog, public`: qualified when
/// the plain name would find something else.
fn visible(name: &str, schema: Schema) -> bool {
    match schema {
        Schema::PgCatalog => true,
        Schema::Public => !super::all()
            .iter()
            .any(|st| st.schema == Schema::PgCatalog && st.name == name),
        Schema::InformationSchema => false,
    }
}

fn index_columns(tb: &TableDef, columns: &[usize]) -> Vec<String> {
    columns
        .iter()
        .map(|&c| {
            tb.columns
                .get(c)
                .map_or_else(|| format!("#{c}"), |c| c.name.clone())
        })
        .collect()
}

fn arity(name: &str, args: &[Expr], range: std::ops::RangeInclusive<usize>) -> Result<()> {
    if range.contains(&args.len()) {
        Ok(())
    } else {
        Err(sql_error!(
            UndefinedFunction,
            "function {name} with {} arguments does not exist",
            args.len()
        ))
    }
}

/// Binds a call of a catalog or session function; `None` if `name` is none of them.
pub(crate) fn bind_catalog_function(
    txn: &Transaction,
    name: &str,
    mut args: Vec<Expr>,
) -> Result<Option<Expr>> {
    let no_args = |args: &[Expr]| arity(name, args, 0..=0);
    Ok(Some(match name {
        "version" => {
            no_args(&args)?;
            text(super::VERSION)
        }
        "current_database" | "current_catalog" => {
            no_args(&args)?;
            text(super::DATABASE)
        }
        "current_user" | "session_user" | "user" | "current_role" => {
            no_args(&args)?;
            text(super::USER)
        }
        "current_schema" => {
            no_args(&args)?;
            text(Schema::Public.name())
        }
        "current_schemas" => {
            arity(name, &args, 1..=1)?;
            // An array in PostgreSQL's text output; implicit schemas only when asked for.
            let implicit = args.pop().unwrap_or(Expr::Literal(Value::Null));
            Expr::Case {
                operand: None,
                whens: vec![(implicit, text("{pg_catalog,public}"))],
                otherwise: Some(Box::new(text("{public}"))),
            }
        }
        "pg_get_userbyid" => {
            arity(name, &args, 1..=1)?;
            let key = args.remove(0);
            let unknown = Expr::Function(
                Func::Concat,
                vec![text("unknown (OID="), key.clone(), text(")")],
            );
            lookup(
                key,
                vec![(oids::ROOT_ROLE, text(super::USER))],
                Some(unknown),
            )
        }
        "pg_table_is_visible" => {
            arity(name, &args, 1..=1)?;
            let tables = catalog::tables(txn)?;
            let pairs = relations(&tables)?
                .into_iter()
                .map(|(oid, name, schema)| {
                    (oid, Expr::Literal(Value::Boolean(visible(&name, schema))))
                })
                .collect();
            lookup(args.remove(0), pairs, None)
        }
        "pg_get_indexdef" => {
            arity(name, &args, 1..=3)?;
            let column = args.get(1).cloned().unwrap_or(int(0));
            let tables = catalog::tables(txn)?;
            let mut pairs = Vec::new();
            for tb in tables.iter() {
                for x in indexes_of(tb) {
                    let cols = index_columns(tb, x.columns);
                    let def = format!(
                        "CREATE {}INDEX {} ON {}.{} USING btree ({})",
                        if x.unique { "UNIQUE " } else { "" },
                        x.name,
                        Schema::Public.name(),
                        tb.name,
                        cols.join(", ")
                    );
                    let mut per_column = vec![(0, text(def))];
                    per_column.extend(
                        cols.into_iter()
                            .enumerate()
                            .map(|(n, c)| (n as i64 + 1, text(c))),
                    );
                    pairs.push((
                        oids::index(tb.id, x.id)?,
                        lookup(column.clone(), per_column, Some(text(""))),
                    ));
                }
            }
            lookup(args.remove(0), pairs, None)
        }
        "pg_get_constraintdef" => {
            arity(name, &args, 1..=2)?;
            let tables = catalog::tables(txn)?;
            let mut pairs = Vec::new();
            for tb in tables.iter() {
                for x in indexes_of(tb).into_iter().filter(|x| x.unique) {
                    let kind = if x.primary { "PRIMARY KEY" } else { "UNIQUE" };
                    let def = format!("{kind} ({})", index_columns(tb, x.columns).join(", "));
                    pairs.push((oids::constraint(tb.id, x.id)?, text(def)));
                }
            }
            lookup(args.remove(0), pairs, None)
        }
        "obj_description" | "col_description" | "shobj_description" => {
            arity(name, &args, 1..=2)?;
            Expr::Literal(Value::Null)
        }
        "pg_get_expr" => {
            // Our "node trees" (pg_attrdef.adbin) are SQL text already.
            arity(name, &args, 2..=3)?;
            args.remove(0)
        }
        "has_table_privilege"
        | "has_schema_privilege"
        | "has_database_privilege"
        | "has_column_privilege"
        | "has_any_column_privilege" => {
            // The one role is a superuser, who holds every privilege.
            arity(name, &args, 2..=4)?;
            Expr::Literal(Value::Boolean(true))
        }
        "format_type" => {
            arity(name, &args, 2..=2)?;
            Expr::Function(Func::FormatType, args)
        }
        "pg_encoding_to_char" => {
            arity(name, &args, 1..=1)?;
            lookup(
                args.remove(0),
                vec![(super::pg_catalog::UTF8_ENCODING, text("UTF8"))],
                Some(text("")),
            )
        }
        _ => return Ok(None),
    }))
}

/// `format_type(type_oid, typmod)`: PostgreSQL's spelling of a type, `???` for an unknown OID.
pub(crate) fn format_type(type_oid: i64, typmod: Option<i64>) -> String {
    match sql_type_name(type_oid) {
        Some(name) if type_oid == oids::VARCHAR || type_oid == oids::BPCHAR => match typmod {
            Some(m) if m >= 4 => format!("{name}({})", m - 4),
            _ => name.to_string(),
        },
        Some(name) => name.to_string(),
        None => "???".to_string(),
    }
}

/// `expr::regclass` (or `regtype`, `regnamespace`): a name literal becomes its OID (an error
/// if there is no such object, as in PostgreSQL); an OID becomes its name (the number itself
/// when no object has it, as PostgreSQL prints a dangling OID).
pub(crate) fn bind_reg_cast(txn: &Transaction, kind: RegType, expr: Expr) -> Result<Expr> {
    if let Expr::Literal(Value::Text(name)) = &expr {
        return Ok(int(oid_of(txn, kind, name)?));
    }
    let pairs: Vec<(i64, Expr)> = match kind {
        RegType::Class => {
            let tables = catalog::tables(txn)?;
            relations(&tables)?
                .into_iter()
                .map(|(oid, name, schema)| {
                    let shown = if visible(&name, schema) {
                        name
                    } else {
                        format!("{}.{name}", schema.name())
                    };
                    (oid, text(shown))
                })
                .collect()
        }
        RegType::Type => type_names()
            .map(|(oid, _)| (oid, text(format_type(oid, None))))
            .collect(),
        RegType::Namespace => Schema::ALL
            .into_iter()
            .map(|s| (s.oid(), text(s.name())))
            .collect(),
    };
    let number = Expr::Cast(Box::new(expr.clone()), crate::value::DataType::Text, None);
    Ok(lookup(expr, pairs, Some(number)))
}

fn oid_of(txn: &Transaction, kind: RegType, name: &str) -> Result<i64> {
    if let Ok(oid) = name.trim().parse::<i64>() {
        return Ok(oid);
    }
    match kind {
        RegType::Class => {
            let parts: Vec<String> = name
                .split('.')
                .map(
                    |p| match p.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                        Some(quoted) => quoted.to_string(),
                        None => p.to_lowercase(),
                    },
                )
                .collect();
            let missing = || sql_error!(UndefinedTable, "relation \"{name}\" does not exist");
            let tables = catalog::tables(txn)?;
            match super::resolve(&parts)?.ok_or_else(missing)? {
                Resolved::System(st) => Ok(st.oid()),
                Resolved::User(t) => {
                    if let Some(tb) = tables.iter().find(|tb| tb.name == t) {
                        return oids::table(tb.id);
                    }
                    for tb in tables.iter() {
                        if let Some(x) = indexes_of(tb).into_iter().find(|x| x.name == t) {
                            return oids::index(tb.id, x.id);
                        }
                    }
                    Err(missing())
                }
            }
        }
        RegType::Type => {
            let n = name.trim().to_lowercase();
            let n = n.strip_prefix("pg_catalog.").unwrap_or(&n);
            type_names()
                .find(|(oid, typname)| *typname == n || format_type(*oid, None) == n)
                .map(|(oid, _)| oid)
                .or(match n {
                    "int" => Some(oids::INT4),
                    "float" => Some(oids::FLOAT8),
                    _ => None,
                })
                .ok_or_else(|| sql_error!(UndefinedObject, "type \"{name}\" does not exist"))
        }
        RegType::Namespace => Schema::from_name(name)
            .map(Schema::oid)
            .ok_or_else(|| sql_error!(UndefinedObject, "schema \"{name}\" does not exist")),
    }
}
