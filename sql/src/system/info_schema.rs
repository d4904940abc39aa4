//! The `information_schema` views of the SQL standard, as PostgreSQL fills them, for our
//! tables and the system relations.

use super::pg_catalog::{NULL, i, indexes_of, t};
use super::{Schema, Snapshot, SystemTable};
use crate::catalog::ColumnDef;
use crate::error::Result;
use crate::value::DataType::{self, Integer as I, Text as T};
use crate::value::Row;

fn view(
    name: &'static str,
    columns: &'static [(&'static str, DataType)],
    rows: super::RowsFn,
) -> SystemTable {
    SystemTable {
        schema: Schema::InformationSchema,
        name,
        view: true,
        columns,
        rows: Some(rows),
    }
}

pub(super) fn tables() -> Vec<SystemTable> {
    vec![
        view("schemata", SCHEMATA, schemata),
        view("tables", TABLES, table_rows),
        view("columns", COLUMNS, columns),
        view("table_constraints", TABLE_CONSTRAINTS, table_constraints),
        view("key_column_usage", KEY_COLUMN_USAGE, key_column_usage),
    ]
}

const SCHEMATA: &[(&str, DataType)] = &[
    ("catalog_name", T),
    ("schema_name", T),
    ("schema_owner", T),
    ("default_character_set_catalog", T),
    ("default_character_set_schema", T),
    ("default_character_set_name", T),
    ("sql_path", T),
];

fn schemata(_: &Snapshot) -> Result<Vec<Row>> {
    Ok(Schema::ALL
        .into_iter()
        .map(|s| {
            vec![
                t(super::DATABASE),
                t(s.name()),
                t(super::USER),
                NULL,
                NULL,
                NULL,
                NULL,
            ]
        })
        .collect())
}

const TABLES: &[(&str, DataType)] = &[
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("table_type", T),
    ("self_referencing_column_name", T),
    ("reference_generation", T),
    ("user_defined_type_catalog", T),
    ("user_defined_type_schema", T),
    ("user_defined_type_name", T),
    ("is_insertable_into", T),
    ("is_typed", T),
    ("commit_action", T),
];

fn table_row(schema: &str, name: &str, kind: &str, insertable: bool) -> Row {
    vec![
        t(super::DATABASE),
        t(schema),
        t(name),
        t(kind),
        NULL,
        NULL,
        NULL,
        NULL,
        NULL,
        t(yes_no(insertable)),
        t("NO"),
        NULL,
    ]
}

fn yes_no(v: bool) -> &'static str {
    if v { "YES" } else { "NO" }
}

fn table_rows(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = s
        .tables
        .iter()
        .map(|tb| table_row(Schema::Public.name(), &tb.name, "BASE TABLE", true))
        .collect();
    rows.extend(super::all().iter().map(|st| {
        let kind = if st.view { "VIEW" } else { "BASE TABLE" };
        table_row(st.schema.name(), st.name, kind, false)
    }));
    Ok(rows)
}

const COLUMNS: &[(&str, DataType)] = &[
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("column_name", T),
    ("ordinal_position", I),
    ("column_default", T),
    ("is_nullable", T),
    ("data_type", T),
    ("character_maximum_length", I),
    ("character_octet_length", I),
    ("numeric_precision", I),
    ("numeric_precision_radix", I),
    ("numeric_scale", I),
    ("udt_catalog", T),
    ("udt_schema", T),
    ("udt_name", T),
    ("is_identity", T),
    ("is_generated", T),
    ("is_updatable", T),
];

/// `data_type`, `character_maximum_length`, numeric precision and radix, `udt_name`.
fn column_facts(
    ty: DataType,
    max_chars: Option<u64>,
) -> (&'static str, Option<i64>, Option<i64>, &'static str) {
    match ty {
        DataType::Boolean => ("boolean", None, None, "bool"),
        DataType::Integer => ("bigint", None, Some(64), "int8"),
        DataType::Float => ("double precision", None, Some(53), "float8"),
        DataType::Text => match max_chars {
            Some(n) => (
                "character varying",
                Some(i64::try_from(n).unwrap_or(i64::MAX)),
                None,
                "varchar",
            ),
            None => ("text", None, None, "text"),
        },
        DataType::Char => (
            "character",
            Some(i64::try_from(max_chars.unwrap_or(1)).unwrap_or(i64::MAX)),
            None,
            "bpchar",
        ),
        DataType::Date => ("date", None, None, "date"),
        DataType::Timestamp => ("timestamp without time zone", None, None, "timestamp"),
        DataType::TimestampTz => ("timestamp with time zone", None, None, "timestamptz"),
    }
}

fn column_row(
    schema: &str,
    table: &str,
    n: usize,
    name: &str,
    c: Option<&ColumnDef>,
    ty: DataType,
) -> Row {
    let max_chars = c.and_then(|c| c.max_chars);
    let (data_type, max_len, precision, udt) = column_facts(ty, max_chars);
    let opt = |v: Option<i64>| v.map_or(NULL, i);
    let octets = match (ty, max_len) {
        // UTF-8: at most four bytes a character; unbounded text: PostgreSQL's 1 GB.
        (DataType::Text, Some(n)) => Some(n.saturating_mul(4)),
        (DataType::Text, None) => Some(1_073_741_824),
        _ => None,
    };
    vec![
        t(super::DATABASE),
        t(schema),
        t(table),
        t(name),
        i(n as i64),
        c.and_then(|c| c.default.as_deref()).map_or(NULL, t),
        t(yes_no(c.is_none_or(|c| c.nullable))),
        t(data_type),
        opt(max_len),
        opt(octets),
        opt(precision),
        opt(precision.map(|_| 2)),
        opt(precision.filter(|_| ty == DataType::Integer).map(|_| 0)),
        t(super::DATABASE),
        t("pg_catalog"),
        t(udt),
        t("NO"),
        t("NEVER"),
        t(yes_no(c.is_some())),
    ]
}

fn columns(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for tb in s.tables.iter() {
        for (n, c) in tb.columns.iter().enumerate() {
            rows.push(column_row(
                Schema::Public.name(),
                &tb.name,
                n + 1,
                &c.name,
                Some(c),
                c.data_type,
            ));
        }
    }
    for st in super::all() {
        for (n, (name, ty)) in st.columns.iter().enumerate() {
            rows.push(column_row(
                st.schema.name(),
                st.name,
                n + 1,
                name,
                None,
                *ty,
            ));
        }
    }
    Ok(rows)
}

const TABLE_CONSTRAINTS: &[(&str, DataType)] = &[
    ("constraint_catalog", T),
    ("constraint_schema", T),
    ("constraint_name", T),
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("constraint_type", T),
    ("is_deferrable", T),
    ("initially_deferred", T),
    ("enforced", T),
    ("nulls_distinct", T),
];

fn table_constraints(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for tb in s.tables.iter() {
        for x in indexes_of(tb).into_iter().filter(|x| x.unique) {
            rows.push(vec![
                t(super::DATABASE),
                t(Schema::Public.name()),
                t(&x.name),
                t(super::DATABASE),
                t(Schema::Public.name()),
                t(&tb.name),
                t(if x.primary { "PRIMARY KEY" } else { "UNIQUE" }),
                t("NO"),
                t("NO"),
                t("YES"),
                if x.primary { NULL } else { t("YES") },
            ]);
        }
    }
    Ok(rows)
}

const KEY_COLUMN_USAGE: &[(&str, DataType)] = &[
    ("constraint_catalog", T),
    ("constraint_schema", T),
    ("constraint_name", T),
    ("table_catalog", T),
    ("table_schema", T),
    ("table_name", T),
    ("column_name", T),
    ("ordinal_position", I),
    ("position_in_unique_constraint", I),
];

fn key_column_usage(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for tb in s.tables.iter() {
        for x in indexes_of(tb).into_iter().filter(|x| x.unique) {
            for (n, &col) in x.columns.iter().enumerate() {
                let Some(c) = tb.columns.get(col) else {
                    continue;
                };
                rows.push(vec![
                    t(super::DATABASE),
                    t(Schema::Public.name()),
                    t(&x.name),
                    t(super::DATABASE),
                    t(Schema::Public.name()),
                    t(&tb.name),
                    t(&c.name),
                    i(n as i64 + 1),
                    NULL,
                ]);
            }
        }
    }
    Ok(rows)
}
