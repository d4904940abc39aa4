//! The system catalogs: `pg_catalog` and `information_schema` as read-only virtual tables,
//! computed from our catalog ([`crate::catalog`]) each time a statement plans a read of one,
//! so they show exactly what that statement's snapshot sees and are never stored.
//!
//! - `oids`: the stable object identifiers of our tables, indexes, constraints and defaults,
//!   derived from table and index ids, and the fixed ones of schemas, types and the role.
//! - `pg_catalog`: the `pg_*` relations (rows, column lists).
//! - `info_schema`: the `information_schema` views.
//! - `functions`: the catalog functions psql and drivers call (`pg_get_indexdef`, `::regclass`
//!   …), bound at plan time against the same snapshot.
//!
//! Name resolution follows PostgreSQL's search path `pg_catalog, public`: an unqualified name
//! that is a `pg_catalog` relation is that relation (even if `public` has a table of the same
//! name, as in PostgreSQL); `information_schema` must be named. Any write to a system relation
//! is refused with 42501, like PostgreSQL's for an ordinary role.
//!
//! Not modelled: arrays (array-valued columns such as `relacl` or `conkey` are text in
//! PostgreSQL's array output format or NULL), the `oid`/`name`/`"char"` types (columns are
//! integer and text), NOT NULL as CHECK constraints in `information_schema`, UNIQUE
//! constraints apart from unique indexes (every unique index is a UNIQUE constraint here).

mod functions;
mod info_schema;
pub(crate) mod oids;
mod pg_catalog;

use std::sync::Arc;

use chronos_kv::mvcc::Transaction;

pub(crate) use functions::{RegType, bind_catalog_function, bind_reg_cast, format_type};

use crate::catalog::{self, TableDef};
use crate::error::{Error, Result};
use crate::sql_error;
use crate::value::{DataType, Row};

/// The database every session is connected to, and the one role (until users exist).
pub const DATABASE: &str = "chronos";
pub const USER: &str = "root";

/// What `version()` answers: the PostgreSQL version whose behaviour we follow, then ours.
pub const VERSION: &str = concat!(
    "PostgreSQL 15.0 (Chronos ",
    env!("CARGO_PKG_VERSION"),
    "), a distributed SQL database"
);

/// The schemas that exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    PgCatalog,
    Public,
    InformationSchema,
}

impl Schema {
    pub const ALL: [Schema; 3] = [Schema::PgCatalog, Schema::Public, Schema::InformationSchema];

    pub fn name(self) -> &'static str {
        match self {
            Schema::PgCatalog => "pg_catalog",
            Schema::Public => crate::declared::SCHEMA,
            Schema::InformationSchema => "information_schema",
        }
    }

    pub fn from_name(name: &str) -> Option<Schema> {
        Schema::ALL.into_iter().find(|s| s.name() == name)
    }

    pub fn oid(self) -> i64 {
        match self {
            Schema::PgCatalog => oids::PG_CATALOG_NAMESPACE,
            Schema::Public => oids::PUBLIC_NAMESPACE,
            Schema::InformationSchema => oids::INFORMATION_SCHEMA_NAMESPACE,
        }
    }
}

/// What a system relation's rows are computed from: the catalog at the statement's snapshot.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub tables: Arc<Vec<TableDef>>,
}

/// Computes a system relation's rows.
pub(crate) type RowsFn = fn(&Snapshot) -> Result<Vec<Row>>;

/// One virtual relation.
#[derive(Debug)]
pub struct SystemTable {
    pub schema: Schema,
    pub name: &'static str,
    /// Whether PostgreSQL defines it as a view (relkind `v`) rather than a table.
    pub view: bool,
    pub columns: &'static [(&'static str, DataType)],
    /// Its rows; `None` for a relation that is always empty here (policies, publications,
    /// inheritance …: features Chronos does not have).
    pub(crate) rows: Option<RowsFn>,
}

impl SystemTable {
    pub fn oid(&self) -> i64 {
        let position = all()
            .iter()
            .position(|t| std::ptr::eq(t, self))
            .unwrap_or(0);
        oids::FIRST_SYSTEM_RELATION + position as i64
    }

    pub(crate) fn is_always_empty(&self) -> bool {
        self.rows.is_none()
    }

    /// Its rows as `txn` sees the catalog; every row has one value per column.
    pub(crate) fn rows(&self, txn: &Transaction) -> Result<Vec<Row>> {
        let Some(rows) = self.rows else {
            return Ok(Vec::new());
        };
        let snapshot = Snapshot {
            tables: catalog::tables(txn)?,
        };
        let rows = rows(&snapshot)?;
        if let Some(bad) = rows.iter().find(|r| r.len() != self.columns.len()) {
            return Err(Error::internal(format!(
                "{}.{} built a row of {} values for {} columns",
                self.schema.name(),
                self.name,
                bad.len(),
                self.columns.len()
            )));
        }
        Ok(rows)
    }
}

/// Every system relation, `pg_catalog` first.
pub fn all() -> &'static [SystemTable] {
    static ALL: std::sync::OnceLock<Vec<SystemTable>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = pg_catalog::tables();
        v.extend(info_schema::tables());
        v
    })
}

fn find(schema: Schema, name: &str) -> Option<&'static SystemTable> {
    all().iter().find(|t| t.schema == schema && t.name == name)
}

/// What a (possibly qualified) relation name refers to when read.
#[derive(Debug)]
pub enum Resolved {
    System(&'static SystemTable),
    /// A table of ours (in `public`), by name.
    User(String),
}

/// Resolves `parts` (`[t]`, `[schema, t]`) as PostgreSQL's search path `pg_catalog, public`
/// would; `None` for names this module does not decide (other schemas, three parts), which
/// [`crate::declared::table_name`] reports.
pub fn resolve(parts: &[String]) -> Result<Option<Resolved>> {
    match parts {
        [t] => Ok(Some(match find(Schema::PgCatalog, t) {
            Some(s) => Resolved::System(s),
            None => Resolved::User(t.clone()),
        })),
        [schema, t] => match Schema::from_name(schema) {
            Some(Schema::Public) => Ok(Some(Resolved::User(t.clone()))),
            Some(s) => find(s, t)
                .map(|s| Some(Resolved::System(s)))
                .ok_or_else(|| {
                    sql_error!(UndefinedTable, "relation \"{schema}.{t}\" does not exist")
                }),
            None => Ok(None),
        },
        _ => Ok(None),
    }
}

/// The parts of an object name, folded as PostgreSQL folds identifiers.
pub fn name_parts(name: &sqlparser::ast::ObjectName) -> Result<Vec<String>> {
    name.0
        .iter()
        .map(|p| match p {
            sqlparser::ast::ObjectNamePart::Identifier(id) => Ok(crate::planner::ident(id)),
            _ => Err(Error::unsupported(format!("name {name}"))),
        })
        .collect()
}

/// Refuses a write (INSERT, UPDATE, DELETE, DDL) naming a system relation, or creating
/// anything in a system schema, as PostgreSQL refuses an ordinary role (42501).
pub fn refuse_write(name: &sqlparser::ast::ObjectName) -> Result<()> {
    let parts = name_parts(name)?;
    let denied = |what: String| {
        sql_error!(InsufficientPrivilege, "permission denied for {what}").with_detail(
            "The system catalogs are computed from Chronos's own catalog and read-only.",
        )
    };
    match parts.as_slice() {
        [schema, t] => match Schema::from_name(schema) {
            Some(s @ (Schema::PgCatalog | Schema::InformationSchema)) => Err(match find(s, t) {
                Some(_) => denied(format!("table {t}")),
                None => denied(format!("schema {schema}")),
            }),
            _ => Ok(()),
        },
        [t] if find(Schema::PgCatalog, t).is_some() => Err(denied(format!("table {t}"))),
        _ => Ok(()),
    }
}

/// `pg_catalog` type of one of our column types, with its `atttypmod`.
pub(crate) fn column_type(c: &catalog::ColumnDef) -> (i64, i64) {
    match (c.data_type, c.max_chars) {
        (DataType::Text, Some(n)) => (oids::VARCHAR, i64::try_from(n).unwrap_or(i64::MAX - 4) + 4),
        (DataType::Char, Some(n)) => (oids::BPCHAR, i64::try_from(n).unwrap_or(i64::MAX - 4) + 4),
        (t, _) => (type_oid(t), -1),
    }
}

/// The PostgreSQL type our values of `t` are described as (as on the wire).
pub(crate) fn type_oid(t: DataType) -> i64 {
    match t {
        DataType::Boolean => oids::BOOL,
        DataType::Integer => oids::INT8,
        DataType::Float => oids::FLOAT8,
        DataType::Text => oids::TEXT,
        DataType::Char => oids::BPCHAR,
        DataType::Date => oids::DATE,
        DataType::Timestamp => oids::TIMESTAMP,
        DataType::TimestampTz => oids::TIMESTAMPTZ,
    }
}
