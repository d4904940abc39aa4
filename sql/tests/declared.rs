//! Issue 10 item 6: declarations the parser accepts are honoured or refused, never ignored.
#![expect(clippy::unwrap_used, reason = "tests")]

use chronos_sql::{Engine, Session, SqlState, StatementResult, Value};

fn session() -> Session {
    let engine = Engine::temporary().unwrap();
    let mut s = engine.session();
    ok(&mut s, "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)");
    ok(&mut s, "INSERT INTO t VALUES (1, 10)");
    s
}

fn ok(s: &mut Session, sql: &str) -> StatementResult {
    match s.execute(sql).pop().unwrap() {
        Ok(r) => r,
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// The SQLSTATE `sql` fails with (its message must say what was refused).
fn fails(s: &mut Session, sql: &str, state: SqlState) -> String {
    match s.execute(sql).pop().unwrap() {
        Ok(r) => panic!("{sql}: accepted: {r:?}"),
        Err(e) => {
            assert_eq!(e.state, state, "{sql}: {e}");
            e.message
        }
    }
}

fn count(s: &mut Session) -> Value {
    match ok(s, "SELECT count(*) FROM t") {
        StatementResult::Query { rows, .. } => rows[0][0].clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn read_only_transactions_refuse_writes() {
    let mut s = session();
    for begin in [
        "BEGIN READ ONLY",
        "START TRANSACTION READ ONLY",
        "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        "BEGIN; SET TRANSACTION READ ONLY",
    ] {
        ok(&mut s, begin);
        ok(&mut s, "SELECT * FROM t");
        let msg = fails(
            &mut s,
            "INSERT INTO t VALUES (2, 20)",
            SqlState::ReadOnlyTransaction,
        );
        assert!(
            msg.contains("cannot execute INSERT in a read-only transaction"),
            "{msg}"
        );
        // As in PostgreSQL the transaction is then aborted.
        fails(&mut s, "SELECT 1", SqlState::InFailedTransaction);
        ok(&mut s, "ROLLBACK");
    }
    for write in [
        "UPDATE t SET v = 0",
        "DELETE FROM t",
        "CREATE TABLE u (a INTEGER)",
        "CREATE INDEX t_v ON t (v)",
        "DROP TABLE t",
    ] {
        ok(&mut s, "BEGIN READ ONLY");
        fails(&mut s, write, SqlState::ReadOnlyTransaction);
        ok(&mut s, "ROLLBACK");
    }
    // READ WRITE is what a transaction is anyway.
    ok(&mut s, "BEGIN READ WRITE");
    ok(&mut s, "INSERT INTO t VALUES (2, 20)");
    ok(&mut s, "COMMIT");
    assert_eq!(count(&mut s), Value::Integer(2));
    // Once read-only, a transaction cannot go back; outside a block SET TRANSACTION is refused.
    ok(&mut s, "BEGIN READ ONLY");
    fails(
        &mut s,
        "SET TRANSACTION READ WRITE",
        SqlState::ReadOnlyTransaction,
    );
    ok(&mut s, "ROLLBACK");
    fails(
        &mut s,
        "SET TRANSACTION READ ONLY",
        SqlState::NoActiveTransaction,
    );
    // The next transaction is read-write again.
    ok(&mut s, "BEGIN");
    ok(&mut s, "INSERT INTO t VALUES (3, 30)");
    ok(&mut s, "COMMIT");
    assert_eq!(count(&mut s), Value::Integer(3));
}

#[test]
fn only_repeatable_read_isolation_is_accepted() {
    let mut s = session();
    for level in ["SERIALIZABLE", "READ COMMITTED", "READ UNCOMMITTED"] {
        let msg = fails(
            &mut s,
            &format!("BEGIN ISOLATION LEVEL {level}"),
            SqlState::FeatureNotSupported,
        );
        assert!(msg.contains(level), "{msg}");
        assert!(!s.in_transaction());
        fails(
            &mut s,
            &format!("START TRANSACTION ISOLATION LEVEL {level}"),
            SqlState::FeatureNotSupported,
        );
        ok(&mut s, "BEGIN");
        fails(
            &mut s,
            &format!("SET TRANSACTION ISOLATION LEVEL {level}"),
            SqlState::FeatureNotSupported,
        );
        ok(&mut s, "ROLLBACK");
    }
    ok(&mut s, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    ok(&mut s, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
    ok(&mut s, "INSERT INTO t VALUES (2, 20)");
    ok(&mut s, "COMMIT");
}

#[test]
fn schema_qualifiers_resolve_public_and_refuse_the_rest() {
    let mut s = session();
    ok(&mut s, "INSERT INTO public.t VALUES (2, 20)");
    ok(&mut s, "UPDATE public.t SET v = 21 WHERE id = 2");
    match ok(&mut s, "SELECT public.t.v FROM public.t WHERE id = 2") {
        StatementResult::Query { rows, .. } => assert_eq!(rows, vec![vec![Value::Integer(21)]]),
        other => panic!("{other:?}"),
    }
    ok(&mut s, "DELETE FROM public.t WHERE id = 2");
    // As PostgreSQL: a missing schema is a missing relation when looking one up ...
    let msg = fails(
        &mut s,
        "SELECT * FROM nosuchschema.t",
        SqlState::UndefinedTable,
    );
    assert!(
        msg.contains("relation \"nosuchschema.t\" does not exist"),
        "{msg}"
    );
    fails(
        &mut s,
        "INSERT INTO nosuchschema.t VALUES (3, 30)",
        SqlState::UndefinedTable,
    );
    fails(
        &mut s,
        "UPDATE nosuchschema.t SET v = 0",
        SqlState::UndefinedTable,
    );
    fails(
        &mut s,
        "DELETE FROM nosuchschema.t",
        SqlState::UndefinedTable,
    );
    fails(
        &mut s,
        "SELECT nosuchschema.t.v FROM t",
        SqlState::UndefinedTable,
    );
    // ... and an error about the schema when creating or dropping.
    let msg = fails(
        &mut s,
        "CREATE TABLE nosuchschema.u (a INTEGER)",
        SqlState::InvalidSchemaName,
    );
    assert!(
        msg.contains("schema \"nosuchschema\" does not exist"),
        "{msg}"
    );
    fails(
        &mut s,
        "CREATE INDEX i ON nosuchschema.t (v)",
        SqlState::InvalidSchemaName,
    );
    fails(
        &mut s,
        "DROP TABLE nosuchschema.t",
        SqlState::InvalidSchemaName,
    );
    ok(&mut s, "DROP TABLE IF EXISTS nosuchschema.t");
    // A database qualifier is a cross-database reference.
    fails(
        &mut s,
        "SELECT * FROM chronos.public.t",
        SqlState::FeatureNotSupported,
    );
    ok(&mut s, "CREATE TABLE public.u (a INTEGER)");
    ok(&mut s, "DROP TABLE public.u");
    assert_eq!(count(&mut s), Value::Integer(1));
}

#[test]
fn create_table_clauses_we_do_not_honour_are_refused() {
    let mut s = session();
    for (sql, what) in [
        ("CREATE TEMP TABLE u (a INTEGER)", "temporary"),
        ("CREATE TEMPORARY TABLE u (a INTEGER)", "temporary"),
        ("CREATE UNLOGGED TABLE u (a INTEGER)", "UNLOGGED"),
        (
            "CREATE TABLE u (a INTEGER) PARTITION BY RANGE (a)",
            "PARTITION BY",
        ),
        ("CREATE TABLE u (a INTEGER) WITH (fillfactor = 70)", "WITH"),
        ("CREATE TABLE u (a INTEGER) INHERITS (t)", "INHERITS"),
        ("CREATE TABLE u (a INTEGER CHECK (a > 0))", "CHECK"),
        ("CREATE TABLE u (a INTEGER REFERENCES t (id))", "REFERENCES"),
        ("CREATE TABLE u (a TEXT COLLATE \"C\")", "COLLATE"),
        ("CREATE TABLE u (a TIMESTAMP(3))", "precision"),
        ("CREATE TABLE u (a TIMESTAMPTZ(0))", "TIMESTAMPTZ"),
        ("CREATE TABLE u (a INTEGER, CHECK (a > 0))", "CHECK"),
        ("CREATE TABLE u", "without columns"),
        ("CREATE TABLE u ()", "without columns"),
    ] {
        let msg = fails(&mut s, sql, SqlState::FeatureNotSupported);
        assert!(msg.contains(what), "{sql}: {msg}");
    }
    // Nothing was created.
    ok(&mut s, "CREATE TABLE u (a INTEGER)");
}

#[test]
fn varchar_lengths_are_enforced_on_assignment() {
    let mut s = session();
    ok(
        &mut s,
        "CREATE TABLE u (id INTEGER PRIMARY KEY, name VARCHAR(3))",
    );
    ok(
        &mut s,
        "INSERT INTO u VALUES (1, 'abc'), (2, 'ab  '), (3, 'é€x')",
    );
    let msg = fails(
        &mut s,
        "INSERT INTO u VALUES (4, 'abcd')",
        SqlState::StringDataRightTruncation,
    );
    assert!(
        msg.contains("value too long for type character varying(3)"),
        "{msg}"
    );
    fails(
        &mut s,
        "UPDATE u SET name = 'wxyz' WHERE id = 1",
        SqlState::StringDataRightTruncation,
    );
    match ok(&mut s, "SELECT name FROM u ORDER BY id") {
        StatementResult::Query { rows, .. } => assert_eq!(
            rows,
            vec![
                vec![Value::Text("abc".into())],
                vec![Value::Text("ab ".into())],
                vec![Value::Text("é€x".into())]
            ]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn create_index_clauses_we_do_not_honour_are_refused() {
    let mut s = session();
    for (sql, what) in [
        ("CREATE INDEX i ON t USING hash (v)", "HASH"),
        ("CREATE INDEX CONCURRENTLY i ON t (v)", "CONCURRENTLY"),
        ("CREATE INDEX i ON t (v) INCLUDE (id)", "INCLUDE"),
        (
            "CREATE UNIQUE INDEX i ON t (v) NULLS NOT DISTINCT",
            "NULLS NOT DISTINCT",
        ),
        ("CREATE INDEX i ON t (v) WITH (fillfactor = 70)", "WITH"),
        ("CREATE INDEX i ON t (v) WHERE v > 0", "partial"),
    ] {
        let msg = fails(&mut s, sql, SqlState::FeatureNotSupported);
        assert!(
            msg.to_uppercase().contains(&what.to_uppercase()),
            "{sql}: {msg}"
        );
    }
    // What every index is, or cannot change a result, is accepted.
    ok(&mut s, "CREATE INDEX i1 ON t USING btree (v)");
    ok(&mut s, "CREATE INDEX i2 ON t (v DESC NULLS LAST, id)");
}

#[test]
fn statement_clauses_we_do_not_honour_are_refused() {
    let mut s = session();
    for (sql, what) in [
        (
            "INSERT INTO t VALUES (1, 0) ON CONFLICT DO NOTHING",
            "ON CONFLICT",
        ),
        ("INSERT INTO t VALUES (5, 0) RETURNING id", "RETURNING"),
        ("UPDATE t SET v = 0 RETURNING id", "RETURNING"),
        ("DELETE FROM t RETURNING id", "RETURNING"),
        ("SELECT * FROM t FOR UPDATE", "FOR UPDATE"),
        ("SELECT * FROM t FOR SHARE", "FOR UPDATE / FOR SHARE"),
        ("SELECT * INTO u FROM t", "INTO"),
        ("DELETE FROM t USING t AS x WHERE x.id = t.id", "USING"),
        ("UPDATE t SET v = 0 FROM t AS x", "FROM"),
    ] {
        let msg = fails(&mut s, sql, SqlState::FeatureNotSupported);
        assert!(msg.contains(what), "{sql}: {msg}");
    }
    assert_eq!(count(&mut s), Value::Integer(1));
}
