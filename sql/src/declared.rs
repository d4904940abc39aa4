//! Declarations the parser accepts that Chronos does not honour, refused before anything runs.
//!
//! A clause we would silently drop changes what a statement means (a TEMP table that is
//! permanent, a SERIALIZABLE transaction that runs snapshot isolation, `nosuchschema.t`
//! reading `t`), so each one is refused with SQLSTATE 0A000 (or the error PostgreSQL gives).
//! The statement structs are destructured without `..`: a field a new sqlparser adds fails to
//! compile here until someone decides whether we honour it.
//!
//! Accepted without effect, because they cannot change a result: `ASC`/`DESC` and `NULLS
//! FIRST/LAST` on index columns (an index is scanned in either direction), `USING btree` (what
//! every index is), and `NULLS DISTINCT` (the default).

use sqlparser::ast::{
    self, CreateTableOptions, HiveDistributionStyle, IndexType, TransactionAccessMode,
    TransactionIsolationLevel, TransactionMode,
};

use crate::error::{Error, Result};
use crate::sql_error;

/// The schema every table lives in (PostgreSQL's default).
pub const SCHEMA: &str = "public";

fn refuse(present: bool, what: &str) -> Result<()> {
    if present {
        Err(Error::unsupported(what))
    } else {
        Ok(())
    }
}

/// The READ ONLY / READ WRITE a list of transaction modes asks for (None: neither). Isolation
/// levels other than REPEATABLE READ, which is the snapshot isolation Chronos runs, are refused.
pub fn read_only(modes: &[TransactionMode]) -> Result<Option<bool>> {
    let mut read_only = None;
    for m in modes {
        match m {
            TransactionMode::AccessMode(TransactionAccessMode::ReadOnly) => read_only = Some(true),
            TransactionMode::AccessMode(TransactionAccessMode::ReadWrite) => {
                read_only = Some(false)
            }
            TransactionMode::IsolationLevel(TransactionIsolationLevel::RepeatableRead) => {}
            TransactionMode::IsolationLevel(level) => {
                return Err(Error::unsupported(format!(
                    "isolation level {level} (transactions run at REPEATABLE READ, snapshot \
                     isolation)"
                )));
            }
        }
    }
    Ok(read_only)
}

/// The length a type declares: `VARCHAR(n)` is a limit and `CHAR(n)` the padded length, both
/// enforced on assignment ([`crate::catalog::ColumnDef::fit`]); `CHAR` alone is `CHAR(1)`.
pub fn max_chars(dt: &ast::DataType) -> Result<Option<u64>> {
    use ast::{CharacterLength, DataType as T};
    match dt {
        T::Varchar(len) | T::CharacterVarying(len) | T::CharVarying(len) | T::Nvarchar(len) => {
            Ok(match len {
                Some(CharacterLength::IntegerLength { length, .. }) => Some(*length),
                Some(CharacterLength::Max) | None => None,
            })
        }
        T::Char(len) | T::Character(len) => match len {
            None => Ok(Some(crate::bpchar::DEFAULT_LENGTH)),
            Some(CharacterLength::IntegerLength { length: 0, .. }) => Err(crate::sql_error!(
                InvalidParameterValue,
                "length for type char must be at least 1"
            )),
            Some(CharacterLength::IntegerLength { length, .. }) => Ok(Some(*length)),
            Some(CharacterLength::Max) => Err(Error::unsupported(format!("type {dt}"))),
        },
        _ => Ok(None),
    }
}

/// How a statement uses a table name: PostgreSQL reports a missing schema differently when
/// creating (3F000) than when looking a relation up (42P01).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameUse {
    Create,
    Lookup,
}

/// The table a possibly qualified name refers to: `t` and `public.t` are `t`; another schema
/// does not exist; a database qualifier is a cross-database reference. Reads of system
/// relations are resolved before this (see [`crate::system::resolve`]), so a system relation
/// here is a write or DDL, refused with 42501.
pub fn table_name(name: &ast::ObjectName, how: NameUse) -> Result<String> {
    crate::system::refuse_write(name)?;
    let parts: Vec<String> = name
        .0
        .iter()
        .map(|p| match p {
            ast::ObjectNamePart::Identifier(id) => Ok(crate::planner::ident(id)),
            _ => Err(Error::unsupported(format!("name {name}"))),
        })
        .collect::<Result<_>>()?;
    match parts.as_slice() {
        [t] => Ok(t.clone()),
        [schema, t] if schema == SCHEMA => Ok(t.clone()),
        [schema, t] => Err(match how {
            NameUse::Create => sql_error!(InvalidSchemaName, "schema \"{schema}\" does not exist"),
            NameUse::Lookup => {
                sql_error!(UndefinedTable, "relation \"{schema}.{t}\" does not exist")
            }
        }),
        _ => Err(Error::unsupported(format!(
            "cross-database references are not implemented: {name}"
        ))),
    }
}

/// A `CREATE TABLE` uses only what [`crate::ddl::create_table`] implements.
pub fn create_table(ct: &ast::CreateTable) -> Result<()> {
    let ast::CreateTable {
        or_replace,
        temporary,
        unlogged,
        external,
        dynamic,
        global,
        if_not_exists: _,
        transient,
        volatile,
        iceberg,
        snapshot,
        name: _,
        columns: _,
        constraints: _,
        hive_distribution,
        hive_formats,
        table_options,
        file_format,
        location,
        query,
        sqlite_table_options,
        like,
        clone,
        version,
        comment,
        on_commit,
        on_cluster,
        primary_key,
        order_by,
        partition_by,
        cluster_by,
        clustered_by,
        inherits,
        partition_of,
        for_values,
        copy_grants,
        enable_schema_evolution,
        change_tracking,
        data_retention_time_in_days,
        max_data_extension_time_in_days,
        default_ddl_collation,
        with_aggregation_policy,
        with_row_access_policy,
        with_storage_lifecycle_policy,
        with_tags,
        external_volume,
        with_connection,
        base_location,
        catalog,
        catalog_sync,
        storage_serialization_policy,
        target_lag,
        warehouse,
        refresh_mode,
        initialize,
        require_user,
        diststyle,
        distkey,
        sortkey,
        backup,
        multiset,
        fallback,
        with_data,
    } = ct;
    refuse(*temporary, "temporary tables (CREATE TEMP TABLE)")?;
    // Found by the SQL fuzzer: `CREATE TABLE t` (no column list, which PostgreSQL rejects)
    // made a table that no query could read.
    refuse(ct.columns.is_empty(), "tables without columns")?;
    refuse(*unlogged, "UNLOGGED tables")?;
    refuse(*or_replace, "CREATE OR REPLACE TABLE")?;
    refuse(partition_by.is_some(), "PARTITION BY (partitioned tables)")?;
    refuse(
        partition_of.is_some() || for_values.is_some(),
        "PARTITION OF",
    )?;
    refuse(inherits.is_some(), "INHERITS (table inheritance)")?;
    refuse(on_commit.is_some(), "ON COMMIT (temporary tables)")?;
    refuse(
        !matches!(table_options, CreateTableOptions::None),
        "table storage parameters and options (WITH (...))",
    )?;
    refuse(
        query.is_some() || like.is_some() || clone.is_some(),
        "CREATE TABLE AS / LIKE / CLONE",
    )?;
    refuse(comment.is_some(), "table comments")?;
    refuse(
        *external
            || *dynamic
            || global.is_some()
            || *transient
            || *volatile
            || *iceberg
            || *snapshot
            || !matches!(hive_distribution, HiveDistributionStyle::NONE)
            || hive_formats.is_some()
            || file_format.is_some()
            || location.is_some()
            || !sqlite_table_options.options.is_empty()
            || version.is_some()
            || on_cluster.is_some()
            || primary_key.is_some()
            || order_by.is_some()
            || cluster_by.is_some()
            || clustered_by.is_some()
            || *copy_grants
            || enable_schema_evolution.is_some()
            || change_tracking.is_some()
            || data_retention_time_in_days.is_some()
            || max_data_extension_time_in_days.is_some()
            || default_ddl_collation.is_some()
            || with_aggregation_policy.is_some()
            || with_row_access_policy.is_some()
            || with_storage_lifecycle_policy.is_some()
            || with_tags.is_some()
            || external_volume.is_some()
            || with_connection.is_some()
            || base_location.is_some()
            || catalog.is_some()
            || catalog_sync.is_some()
            || storage_serialization_policy.is_some()
            || target_lag.is_some()
            || warehouse.is_some()
            || refresh_mode.is_some()
            || initialize.is_some()
            || *require_user
            || diststyle.is_some()
            || distkey.is_some()
            || sortkey.is_some()
            || backup.is_some()
            || multiset.is_some()
            || fallback.is_some()
            || with_data.is_some(),
        &format!("this form of CREATE TABLE: {}", ct.name),
    )
}

/// A `CREATE INDEX` uses only what [`crate::ddl::create_index`] implements.
pub fn create_index(ci: &ast::CreateIndex) -> Result<()> {
    let ast::CreateIndex {
        name: _,
        table_name: _,
        using,
        columns,
        unique: _,
        concurrently,
        r#async,
        if_not_exists: _,
        include,
        nulls_distinct,
        with,
        predicate,
        index_options,
        alter_options,
    } = ci;
    match using {
        None | Some(IndexType::BTree) => {}
        Some(other) => {
            return Err(Error::unsupported(format!(
                "index method {other} (every index is an ordered B-tree-like range)"
            )));
        }
    }
    refuse(*concurrently, "CREATE INDEX CONCURRENTLY")?;
    refuse(!include.is_empty(), "INCLUDE columns")?;
    refuse(*nulls_distinct == Some(false), "NULLS NOT DISTINCT")?;
    refuse(!with.is_empty(), "index storage parameters (WITH (...))")?;
    refuse(predicate.is_some(), "partial indexes (WHERE)")?;
    refuse(
        *r#async || !index_options.is_empty() || !alter_options.is_empty(),
        "this form of CREATE INDEX",
    )?;
    for c in columns {
        refuse(c.operator_class.is_some(), "operator classes")?;
        refuse(c.column.with_fill.is_some(), "WITH FILL")?;
    }
    Ok(())
}

/// An `INSERT` uses only what [`crate::dml::insert`] implements.
pub fn insert(ins: &ast::Insert) -> Result<()> {
    let ast::Insert {
        insert_token: _,
        optimizer_hints,
        or,
        ignore,
        into: _,
        table: _,
        table_alias,
        columns: _,
        by_name,
        overwrite,
        source: _,
        assignments,
        partitioned,
        after_columns,
        overriding,
        has_table_keyword,
        on,
        returning,
        output,
        replace_into,
        priority,
        insert_alias,
        settings,
        format_clause,
        multi_table_insert_type,
        multi_table_into_clauses,
        multi_table_when_clauses,
        multi_table_else_clause,
    } = ins;
    refuse(on.is_some(), "ON CONFLICT")?;
    refuse(returning.is_some() || output.is_some(), "RETURNING")?;
    refuse(overriding.is_some(), "OVERRIDING")?;
    refuse(table_alias.is_some(), "an alias for the INSERT target")?;
    refuse(
        !optimizer_hints.is_empty()
            || or.is_some()
            || *ignore
            || *by_name
            || *overwrite
            || !assignments.is_empty()
            || partitioned.is_some()
            || !after_columns.is_empty()
            || *has_table_keyword
            || *replace_into
            || priority.is_some()
            || insert_alias.is_some()
            || settings.is_some()
            || format_clause.is_some()
            || multi_table_insert_type.is_some()
            || !multi_table_into_clauses.is_empty()
            || !multi_table_when_clauses.is_empty()
            || multi_table_else_clause.is_some(),
        "this form of INSERT",
    )
}

/// An `UPDATE` uses only what [`crate::dml::update`] implements.
pub fn update(up: &ast::Update) -> Result<()> {
    let ast::Update {
        update_token: _,
        optimizer_hints,
        table: _,
        on_cluster,
        assignments: _,
        from,
        selection: _,
        returning,
        output,
        or,
        order_by,
        limit,
        settings,
    } = up;
    refuse(returning.is_some() || output.is_some(), "RETURNING")?;
    refuse(from.is_some(), "UPDATE ... FROM")?;
    refuse(
        !optimizer_hints.is_empty()
            || on_cluster.is_some()
            || or.is_some()
            || !order_by.is_empty()
            || limit.is_some()
            || settings.is_some(),
        "this form of UPDATE",
    )
}

/// A `DELETE` uses only what [`crate::dml::delete`] implements.
pub fn delete(del: &ast::Delete) -> Result<()> {
    let ast::Delete {
        delete_token: _,
        optimizer_hints,
        tables,
        from: _,
        on_cluster,
        using,
        selection: _,
        returning,
        output,
        order_by,
        limit,
        settings,
    } = del;
    refuse(returning.is_some() || output.is_some(), "RETURNING")?;
    refuse(using.is_some(), "DELETE ... USING")?;
    refuse(
        !optimizer_hints.is_empty()
            || !tables.is_empty()
            || on_cluster.is_some()
            || !order_by.is_empty()
            || limit.is_some()
            || settings.is_some(),
        "this form of DELETE",
    )
}

/// A `SELECT` block uses only what the planner implements.
pub fn select(s: &ast::Select) -> Result<()> {
    let ast::Select {
        select_token: _,
        optimizer_hints,
        distinct: _,
        select_modifiers,
        top,
        top_before_distinct: _,
        projection: _,
        exclude,
        into,
        from: _,
        lateral_views,
        prewhere,
        selection: _,
        connect_by,
        group_by: _,
        cluster_by,
        distribute_by,
        sort_by,
        having: _,
        named_window,
        qualify,
        window_before_qualify: _,
        value_table_mode,
        flavor,
    } = s;
    refuse(into.is_some(), "SELECT INTO")?;
    refuse(!named_window.is_empty(), "WINDOW clauses")?;
    refuse(
        !optimizer_hints.is_empty()
            || select_modifiers.is_some()
            || top.is_some()
            || exclude.is_some()
            || !lateral_views.is_empty()
            || prewhere.is_some()
            || !connect_by.is_empty()
            || !cluster_by.is_empty()
            || !distribute_by.is_empty()
            || !sort_by.is_empty()
            || qualify.is_some()
            || value_table_mode.is_some()
            || !matches!(flavor, ast::SelectFlavor::Standard),
        "this form of SELECT",
    )
}

/// A query (around its body) uses only what the planner implements.
pub fn query(q: &ast::Query) -> Result<()> {
    let ast::Query {
        with,
        body: _,
        order_by: _,
        limit_clause: _,
        fetch,
        locks,
        for_clause,
        settings,
        format_clause,
        pipe_operators,
    } = q;
    refuse(with.is_some(), "WITH (common table expressions)")?;
    refuse(!locks.is_empty(), "FOR UPDATE / FOR SHARE (row locks)")?;
    refuse(fetch.is_some(), "FETCH")?;
    refuse(
        for_clause.is_some()
            || settings.is_some()
            || format_clause.is_some()
            || !pipe_operators.is_empty(),
        "this form of query",
    )
}
