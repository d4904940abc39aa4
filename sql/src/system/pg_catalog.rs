//! The `pg_catalog` relations: PostgreSQL's column names and meanings, the columns clients
//! read (psql's `\d` family, drivers' type and table introspection), rows computed from our
//! catalog. Relations for features Chronos lacks (policies, publications, inheritance,
//! extended statistics, role membership, comments) exist and are always empty.

use super::oids;
use super::{RowsFn, Schema, Snapshot, SystemTable, column_type, type_oid};
use crate::catalog::{PRIMARY_INDEX_ID, TableDef};
use crate::error::Result;
use crate::value::DataType::{self, Boolean as B, Float as F, Integer as I, Text as T};
use crate::value::{Row, Value};

pub(super) fn i(v: i64) -> Value {
    Value::Integer(v)
}
pub(super) fn t(v: &str) -> Value {
    Value::Text(v.to_string())
}
pub(super) fn b(v: bool) -> Value {
    Value::Boolean(v)
}
pub(super) const NULL: Value = Value::Null;

fn table(
    name: &'static str,
    columns: &'static [(&'static str, DataType)],
    rows: Option<RowsFn>,
) -> SystemTable {
    SystemTable {
        schema: Schema::PgCatalog,
        name,
        view: matches!(name, "pg_roles" | "pg_user" | "pg_settings"),
        columns,
        rows,
    }
}

pub(super) fn tables() -> Vec<SystemTable> {
    vec![
        table("pg_namespace", NAMESPACE, Some(namespaces)),
        table("pg_class", CLASS, Some(classes)),
        table("pg_attribute", ATTRIBUTE, Some(attributes)),
        table("pg_type", TYPE, Some(types)),
        table("pg_index", INDEX, Some(indexes)),
        table("pg_constraint", CONSTRAINT, Some(constraints)),
        table("pg_attrdef", ATTRDEF, Some(attrdefs)),
        table("pg_database", DATABASE, Some(databases)),
        table("pg_roles", ROLES, Some(roles)),
        table("pg_user", USER, Some(users)),
        table("pg_am", AM, Some(access_methods)),
        table("pg_collation", COLLATION, Some(collations)),
        table("pg_tablespace", TABLESPACE, Some(tablespaces)),
        table("pg_settings", SETTINGS, Some(settings)),
        table("pg_description", DESCRIPTION, None),
        table("pg_proc", PROC, None),
        table("pg_auth_members", AUTH_MEMBERS, None),
        table("pg_policy", POLICY, None),
        table("pg_statistic_ext", STATISTIC_EXT, None),
        table("pg_publication", PUBLICATION, None),
        table("pg_publication_namespace", PUBLICATION_NAMESPACE, None),
        table("pg_publication_rel", PUBLICATION_REL, None),
        table("pg_inherits", INHERITS, None),
        table("pg_range", RANGE, None),
        table("pg_trigger", TRIGGER, None),
        table("pg_rewrite", REWRITE, None),
        table("pg_enum", ENUM, None),
    ]
}

const NAMESPACE: &[(&str, DataType)] =
    &[("oid", I), ("nspname", T), ("nspowner", I), ("nspacl", T)];

fn namespaces(_: &Snapshot) -> Result<Vec<Row>> {
    Ok(Schema::ALL
        .into_iter()
        .map(|s| vec![i(s.oid()), t(s.name()), i(oids::ROOT_ROLE), NULL])
        .collect())
}

const CLASS: &[(&str, DataType)] = &[
    ("oid", I),
    ("relname", T),
    ("relnamespace", I),
    ("reltype", I),
    ("reloftype", I),
    ("relowner", I),
    ("relam", I),
    ("relfilenode", I),
    ("reltablespace", I),
    ("relpages", I),
    ("reltuples", F),
    ("relallvisible", I),
    ("reltoastrelid", I),
    ("relhasindex", B),
    ("relisshared", B),
    ("relpersistence", T),
    ("relkind", T),
    ("relnatts", I),
    ("relchecks", I),
    ("relhasrules", B),
    ("relhastriggers", B),
    ("relhassubclass", B),
    ("relrowsecurity", B),
    ("relforcerowsecurity", B),
    ("relispopulated", B),
    ("relreplident", T),
    ("relispartition", B),
    ("relrewrite", I),
    ("relacl", T),
    ("reloptions", T),
    ("relpartbound", T),
];

/// One `pg_class` row: `kind` is `r`, `i` or `v`.
fn class_row(
    oid: i64,
    name: &str,
    namespace: i64,
    kind: &str,
    natts: usize,
    has_index: bool,
) -> Row {
    let am = match kind {
        "r" => oids::HEAP_AM,
        "i" => oids::BTREE_AM,
        _ => 0,
    };
    vec![
        i(oid),
        t(name),
        i(namespace),
        i(0),
        i(0),
        i(oids::ROOT_ROLE),
        i(am),
        i(if kind == "v" { 0 } else { oid }),
        i(0),
        i(0),
        Value::Float(-1.0),
        i(0),
        i(0),
        b(has_index),
        b(false),
        t("p"),
        t(kind),
        i(natts as i64),
        i(0),
        b(false),
        b(false),
        b(false),
        b(false),
        b(false),
        b(true),
        t(if kind == "r" { "d" } else { "n" }),
        b(false),
        i(0),
        NULL,
        NULL,
        NULL,
    ]
}

/// Our indexes as PostgreSQL has them: the primary key (index id 0, named `<table>_pkey`)
/// when the table declares one, then the secondary indexes.
pub(super) struct IndexView<'a> {
    pub id: u64,
    pub name: String,
    pub columns: &'a [usize],
    pub unique: bool,
    pub primary: bool,
}

pub(super) fn indexes_of(table: &TableDef) -> Vec<IndexView<'_>> {
    let mut out = Vec::new();
    if !table.has_hidden_row_id() {
        out.push(IndexView {
            id: PRIMARY_INDEX_ID,
            name: format!("{}_pkey", table.name),
            columns: &table.primary_key,
            unique: true,
            primary: true,
        });
    }
    out.extend(table.indexes.iter().map(|x| IndexView {
        id: x.id,
        name: x.name.clone(),
        columns: &x.columns,
        unique: x.unique,
        primary: false,
    }));
    out
}

fn classes(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for st in super::all() {
        rows.push(class_row(
            st.oid(),
            st.name,
            st.schema.oid(),
            if st.view { "v" } else { "r" },
            st.columns.len(),
            false,
        ));
    }
    for tb in s.tables.iter() {
        let toid = oids::table(tb.id)?;
        let idx = indexes_of(tb);
        rows.push(class_row(
            toid,
            &tb.name,
            oids::PUBLIC_NAMESPACE,
            "r",
            tb.columns.len(),
            !idx.is_empty(),
        ));
        for x in &idx {
            rows.push(class_row(
                oids::index(tb.id, x.id)?,
                &x.name,
                oids::PUBLIC_NAMESPACE,
                "i",
                x.columns.len(),
                false,
            ));
        }
    }
    Ok(rows)
}

const ATTRIBUTE: &[(&str, DataType)] = &[
    ("attrelid", I),
    ("attname", T),
    ("atttypid", I),
    ("attstattarget", I),
    ("attlen", I),
    ("attnum", I),
    ("attndims", I),
    ("attcacheoff", I),
    ("atttypmod", I),
    ("attbyval", B),
    ("attalign", T),
    ("attstorage", T),
    ("attcompression", T),
    ("attnotnull", B),
    ("atthasdef", B),
    ("atthasmissing", B),
    ("attidentity", T),
    ("attgenerated", T),
    ("attisdropped", B),
    ("attislocal", B),
    ("attinhcount", I),
    ("attcollation", I),
    ("attacl", T),
    ("attoptions", T),
];

/// A type's storage facts: `typlen`, `typbyval`, `typalign`, `typstorage`.
fn storage(type_oid: i64) -> (i64, bool, &'static str, &'static str) {
    match type_oid {
        oids::BOOL | oids::CHAR => (1, true, "c", "p"),
        oids::INT2 => (2, true, "s", "p"),
        oids::INT4 | oids::OID | oids::FLOAT4 | oids::REGCLASS | oids::REGTYPE => {
            (4, true, "i", "p")
        }
        oids::INT8 | oids::FLOAT8 | oids::TIMESTAMP | oids::TIMESTAMPTZ => (8, true, "d", "p"),
        oids::DATE => (4, true, "i", "p"),
        oids::NAME => (64, false, "c", "p"),
        _ => (-1, false, "i", "x"),
    }
}

fn collation_of(type_oid: i64) -> i64 {
    match type_oid {
        oids::TEXT | oids::VARCHAR | oids::BPCHAR => oids::DEFAULT_COLLATION,
        oids::NAME => oids::C_COLLATION,
        _ => 0,
    }
}

fn attribute_row(
    rel: i64,
    name: &str,
    type_oid: i64,
    typmod: i64,
    num: usize,
    not_null: bool,
    has_default: bool,
) -> Row {
    let (len, byval, align, storage) = storage(type_oid);
    vec![
        i(rel),
        t(name),
        i(type_oid),
        i(-1),
        i(len),
        i(num as i64),
        i(0),
        i(-1),
        i(typmod),
        b(byval),
        t(align),
        t(storage),
        t(""),
        b(not_null),
        b(has_default),
        b(false),
        t(""),
        t(""),
        b(false),
        b(true),
        i(0),
        i(collation_of(type_oid)),
        NULL,
        NULL,
    ]
}

fn attributes(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for st in super::all() {
        for (n, (name, ty)) in st.columns.iter().enumerate() {
            rows.push(attribute_row(
                st.oid(),
                name,
                type_oid(*ty),
                -1,
                n + 1,
                false,
                false,
            ));
        }
    }
    for tb in s.tables.iter() {
        let toid = oids::table(tb.id)?;
        for (n, c) in tb.columns.iter().enumerate() {
            let (ty, typmod) = column_type(c);
            rows.push(attribute_row(
                toid,
                &c.name,
                ty,
                typmod,
                n + 1,
                !c.nullable,
                c.default.is_some(),
            ));
        }
        for x in indexes_of(tb) {
            let ioid = oids::index(tb.id, x.id)?;
            for (n, &col) in x.columns.iter().enumerate() {
                if let Some(c) = tb.columns.get(col) {
                    let (ty, typmod) = column_type(c);
                    rows.push(attribute_row(
                        ioid,
                        &c.name,
                        ty,
                        typmod,
                        n + 1,
                        false,
                        false,
                    ));
                }
            }
        }
    }
    Ok(rows)
}

const TYPE: &[(&str, DataType)] = &[
    ("oid", I),
    ("typname", T),
    ("typnamespace", I),
    ("typowner", I),
    ("typlen", I),
    ("typbyval", B),
    ("typtype", T),
    ("typcategory", T),
    ("typispreferred", B),
    ("typisdefined", B),
    ("typdelim", T),
    ("typrelid", I),
    ("typelem", I),
    ("typarray", I),
    ("typbasetype", I),
    ("typtypmod", I),
    ("typndims", I),
    ("typcollation", I),
    ("typnotnull", B),
    ("typdefault", T),
];

/// The types our columns and catalogs use: (oid, name, category, preferred, array type oid).
const TYPES: &[(i64, &str, &str, bool, i64)] = &[
    (oids::BOOL, "bool", "B", true, 1000),
    (oids::CHAR, "char", "Z", false, 1002),
    (oids::NAME, "name", "S", false, 1003),
    (oids::INT8, "int8", "N", false, 1016),
    (oids::INT2, "int2", "N", false, 1005),
    (oids::INT4, "int4", "N", false, 1007),
    (oids::TEXT, "text", "S", true, 1009),
    (oids::OID, "oid", "N", false, 1028),
    (oids::FLOAT4, "float4", "N", false, 1021),
    (oids::FLOAT8, "float8", "N", true, 1022),
    (oids::VARCHAR, "varchar", "S", false, 1015),
    (oids::BPCHAR, "bpchar", "S", false, 1014),
    (oids::DATE, "date", "D", false, 1182),
    (oids::TIMESTAMP, "timestamp", "D", false, 1115),
    (oids::TIMESTAMPTZ, "timestamptz", "D", true, 1185),
    (oids::REGCLASS, "regclass", "N", false, 2210),
    (oids::REGTYPE, "regtype", "N", false, 2211),
];

/// PostgreSQL's name of a type OID as `format_type` prints it (no typmod).
pub(crate) fn sql_type_name(type_oid: i64) -> Option<&'static str> {
    Some(match type_oid {
        oids::BOOL => "boolean",
        oids::CHAR => "\"char\"",
        oids::NAME => "name",
        oids::INT8 => "bigint",
        oids::INT2 => "smallint",
        oids::INT4 => "integer",
        oids::TEXT => "text",
        oids::OID => "oid",
        oids::FLOAT4 => "real",
        oids::FLOAT8 => "double precision",
        oids::VARCHAR => "character varying",
        oids::BPCHAR => "character",
        oids::DATE => "date",
        oids::TIMESTAMP => "timestamp without time zone",
        oids::TIMESTAMPTZ => "timestamp with time zone",
        oids::REGCLASS => "regclass",
        oids::REGTYPE => "regtype",
        _ => return None,
    })
}

pub(super) fn type_names() -> impl Iterator<Item = (i64, &'static str)> {
    TYPES.iter().map(|(oid, name, ..)| (*oid, *name))
}

fn types(_: &Snapshot) -> Result<Vec<Row>> {
    Ok(TYPES
        .iter()
        .map(|&(oid, name, category, preferred, array)| {
            let (len, byval, _, _) = storage(oid);
            vec![
                i(oid),
                t(name),
                i(oids::PG_CATALOG_NAMESPACE),
                i(oids::ROOT_ROLE),
                i(len),
                b(byval),
                t("b"),
                t(category),
                b(preferred),
                b(true),
                t(","),
                i(0),
                i(0),
                i(array),
                i(0),
                i(-1),
                i(0),
                i(collation_of(oid)),
                b(false),
                NULL,
            ]
        })
        .collect())
}

const INDEX: &[(&str, DataType)] = &[
    ("indexrelid", I),
    ("indrelid", I),
    ("indnatts", I),
    ("indnkeyatts", I),
    ("indisunique", B),
    ("indnullsnotdistinct", B),
    ("indisprimary", B),
    ("indisexclusion", B),
    ("indimmediate", B),
    ("indisclustered", B),
    ("indisvalid", B),
    ("indcheckxmin", B),
    ("indisready", B),
    ("indislive", B),
    ("indisreplident", B),
    ("indkey", T),
    ("indexprs", T),
    ("indpred", T),
];

fn indexes(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for tb in s.tables.iter() {
        let toid = oids::table(tb.id)?;
        for x in indexes_of(tb) {
            let n = x.columns.len() as i64;
            // int2vector's output: attnums separated by spaces.
            let key: Vec<String> = x.columns.iter().map(|c| (c + 1).to_string()).collect();
            rows.push(vec![
                i(oids::index(tb.id, x.id)?),
                i(toid),
                i(n),
                i(n),
                b(x.unique),
                b(false),
                b(x.primary),
                b(false),
                b(true),
                b(false),
                b(true),
                b(false),
                b(true),
                b(true),
                b(false),
                t(&key.join(" ")),
                NULL,
                NULL,
            ]);
        }
    }
    Ok(rows)
}

const CONSTRAINT: &[(&str, DataType)] = &[
    ("oid", I),
    ("conname", T),
    ("connamespace", I),
    ("contype", T),
    ("condeferrable", B),
    ("condeferred", B),
    ("convalidated", B),
    ("conrelid", I),
    ("contypid", I),
    ("conindid", I),
    ("conparentid", I),
    ("confrelid", I),
    ("confupdtype", T),
    ("confdeltype", T),
    ("confmatchtype", T),
    ("conislocal", B),
    ("coninhcount", I),
    ("connoinherit", B),
    ("conkey", T),
    ("confkey", T),
    ("conbin", T),
];

/// A primary key is a `p` constraint, a unique index a `u` one.
fn constraints(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for tb in s.tables.iter() {
        let toid = oids::table(tb.id)?;
        for x in indexes_of(tb).into_iter().filter(|x| x.unique) {
            let key: Vec<String> = x.columns.iter().map(|c| (c + 1).to_string()).collect();
            rows.push(vec![
                i(oids::constraint(tb.id, x.id)?),
                t(&x.name),
                i(oids::PUBLIC_NAMESPACE),
                t(if x.primary { "p" } else { "u" }),
                b(false),
                b(false),
                b(true),
                i(toid),
                i(0),
                i(oids::index(tb.id, x.id)?),
                i(0),
                i(0),
                t(" "),
                t(" "),
                t(" "),
                b(true),
                i(0),
                b(true),
                t(&format!("{{{}}}", key.join(","))),
                NULL,
                NULL,
            ]);
        }
    }
    Ok(rows)
}

const ATTRDEF: &[(&str, DataType)] = &[("oid", I), ("adrelid", I), ("adnum", I), ("adbin", T)];

/// `adbin` holds the default as SQL text (PostgreSQL keeps a node tree there, which
/// `pg_get_expr` prints; ours prints as written).
fn attrdefs(s: &Snapshot) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for tb in s.tables.iter() {
        let toid = oids::table(tb.id)?;
        for (n, c) in tb.columns.iter().enumerate() {
            if let Some(d) = &c.default {
                let num = n as u64 + 1;
                rows.push(vec![
                    i(oids::default(tb.id, num)?),
                    i(toid),
                    i(num as i64),
                    t(d),
                ]);
            }
        }
    }
    Ok(rows)
}

const DATABASE: &[(&str, DataType)] = &[
    ("oid", I),
    ("datname", T),
    ("datdba", I),
    ("encoding", I),
    ("datlocprovider", T),
    ("datistemplate", B),
    ("datallowconn", B),
    ("datconnlimit", I),
    ("dattablespace", I),
    ("datcollate", T),
    ("datctype", T),
    ("daticulocale", T),
    ("datcollversion", T),
    ("datacl", T),
];

/// UTF8 in `pg_encoding_to_char`.
pub(crate) const UTF8_ENCODING: i64 = 6;

fn databases(_: &Snapshot) -> Result<Vec<Row>> {
    // Text compares byte-wise: the C locale.
    Ok(vec![vec![
        i(oids::DATABASE),
        t(super::DATABASE),
        i(oids::ROOT_ROLE),
        i(UTF8_ENCODING),
        t("c"),
        b(false),
        b(true),
        i(-1),
        i(oids::DEFAULT_TABLESPACE),
        t("C"),
        t("C"),
        NULL,
        NULL,
        NULL,
    ]])
}

const ROLES: &[(&str, DataType)] = &[
    ("rolname", T),
    ("rolsuper", B),
    ("rolinherit", B),
    ("rolcreaterole", B),
    ("rolcreatedb", B),
    ("rolcanlogin", B),
    ("rolreplication", B),
    ("rolconnlimit", I),
    ("rolpassword", T),
    ("rolvaliduntil", T),
    ("rolbypassrls", B),
    ("rolconfig", T),
    ("oid", I),
];

/// The one role until users exist: the superuser `root`.
fn roles(_: &Snapshot) -> Result<Vec<Row>> {
    Ok(vec![vec![
        t(super::USER),
        b(true),
        b(true),
        b(true),
        b(true),
        b(true),
        b(true),
        i(-1),
        t("********"),
        NULL,
        b(true),
        NULL,
        i(oids::ROOT_ROLE),
    ]])
}

const USER: &[(&str, DataType)] = &[
    ("usename", T),
    ("usesysid", I),
    ("usecreatedb", B),
    ("usesuper", B),
    ("userepl", B),
    ("usebypassrls", B),
    ("passwd", T),
    ("valuntil", T),
    ("useconfig", T),
];

fn users(_: &Snapshot) -> Result<Vec<Row>> {
    Ok(vec![vec![
        t(super::USER),
        i(oids::ROOT_ROLE),
        b(true),
        b(true),
        b(true),
        b(true),
        t("********"),
        NULL,
        NULL,
    ]])
}

const AM: &[(&str, DataType)] = &[("oid", I), ("amname", T), ("amhandler", T), ("amtype", T)];

fn access_methods(_: &Snapshot) -> Result<Vec<Row>> {
    Ok(vec![
        vec![
            i(oids::HEAP_AM),
            t("heap"),
            t("heap_tableam_handler"),
            t("t"),
        ],
        vec![i(oids::BTREE_AM), t("btree"), t("bthandler"), t("i")],
    ])
}

const COLLATION: &[(&str, DataType)] = &[
    ("oid", I),
    ("collname", T),
    ("collnamespace", I),
    ("collowner", I),
    ("collprovider", T),
    ("collisdeterministic", B),
    ("collencoding", I),
    ("collcollate", T),
    ("collctype", T),
];

fn collations(_: &Snapshot) -> Result<Vec<Row>> {
    Ok([
        (oids::DEFAULT_COLLATION, "default", "d", NULL),
        (oids::C_COLLATION, "C", "c", t("C")),
        (oids::POSIX_COLLATION, "POSIX", "c", t("POSIX")),
    ]
    .into_iter()
    .map(|(oid, name, provider, locale)| {
        vec![
            i(oid),
            t(name),
            i(oids::PG_CATALOG_NAMESPACE),
            i(oids::ROOT_ROLE),
            t(provider),
            b(true),
            i(-1),
            locale.clone(),
            locale,
        ]
    })
    .collect())
}

const TABLESPACE: &[(&str, DataType)] = &[("oid", I), ("spcname", T), ("spcowner", I)];

fn tablespaces(_: &Snapshot) -> Result<Vec<Row>> {
    Ok(vec![vec![
        i(oids::DEFAULT_TABLESPACE),
        t("pg_default"),
        i(oids::ROOT_ROLE),
    ]])
}

const SETTINGS: &[(&str, DataType)] = &[
    ("name", T),
    ("setting", T),
    ("unit", T),
    ("category", T),
    ("short_desc", T),
    ("context", T),
    ("vartype", T),
    ("source", T),
    ("boot_val", T),
    ("reset_val", T),
];

/// The parameters whose value is the same for every session; session-dependent ones
/// (statement_timeout, application_name, transaction settings) are read with SHOW.
fn settings(_: &Snapshot) -> Result<Vec<Row>> {
    let mut rows: Vec<Row> = crate::settings::FIXED
        .iter()
        .map(|f| (crate::settings::display_name(f.name), f.shown))
        .chain([
            ("server_version", "15.0"),
            ("server_encoding", "UTF8"),
            ("standard_conforming_strings", "on"),
            ("integer_datetimes", "on"),
        ])
        .map(|(name, value)| {
            vec![
                t(name),
                t(value),
                NULL,
                t("Chronos"),
                t("fixed: Chronos implements this one value"),
                t("internal"),
                t("string"),
                t("default"),
                t(value),
                t(value),
            ]
        })
        .collect();
    rows.sort_by(|a, b| a[0].total_cmp(&b[0]));
    Ok(rows)
}

const DESCRIPTION: &[(&str, DataType)] = &[
    ("objoid", I),
    ("classoid", I),
    ("objsubid", I),
    ("description", T),
];
const PROC: &[(&str, DataType)] = &[
    ("oid", I),
    ("proname", T),
    ("pronamespace", I),
    ("proowner", I),
    ("prokind", T),
    ("prorettype", I),
    ("proargtypes", T),
];
const AUTH_MEMBERS: &[(&str, DataType)] = &[
    ("oid", I),
    ("roleid", I),
    ("member", I),
    ("grantor", I),
    ("admin_option", B),
];
const POLICY: &[(&str, DataType)] = &[
    ("oid", I),
    ("polname", T),
    ("polrelid", I),
    ("polcmd", T),
    ("polpermissive", B),
    ("polroles", T),
    ("polqual", T),
    ("polwithcheck", T),
];
const STATISTIC_EXT: &[(&str, DataType)] = &[
    ("oid", I),
    ("stxrelid", I),
    ("stxname", T),
    ("stxnamespace", I),
    ("stxowner", I),
    ("stxstattarget", I),
    ("stxkeys", T),
    ("stxkind", T),
];
const PUBLICATION: &[(&str, DataType)] = &[
    ("oid", I),
    ("pubname", T),
    ("pubowner", I),
    ("puballtables", B),
    ("pubinsert", B),
    ("pubupdate", B),
    ("pubdelete", B),
    ("pubtruncate", B),
    ("pubviaroot", B),
];
const PUBLICATION_NAMESPACE: &[(&str, DataType)] = &[("oid", I), ("pnpubid", I), ("pnnspid", I)];
const PUBLICATION_REL: &[(&str, DataType)] = &[
    ("oid", I),
    ("prpubid", I),
    ("prrelid", I),
    ("prqual", T),
    ("prattrs", T),
];
const INHERITS: &[(&str, DataType)] = &[
    ("inhrelid", I),
    ("inhparent", I),
    ("inhseqno", I),
    ("inhdetachpending", B),
];
const RANGE: &[(&str, DataType)] = &[
    ("rngtypid", I),
    ("rngsubtype", I),
    ("rngmultitypid", I),
    ("rngcollation", I),
];
const TRIGGER: &[(&str, DataType)] = &[
    ("oid", I),
    ("tgrelid", I),
    ("tgname", T),
    ("tgenabled", T),
    ("tgisinternal", B),
];
const REWRITE: &[(&str, DataType)] =
    &[("oid", I), ("rulename", T), ("ev_class", I), ("ev_type", T)];
const ENUM: &[(&str, DataType)] = &[
    ("oid", I),
    ("enumtypid", I),
    ("enumsortorder", F),
    ("enumlabel", T),
];
