//! Prepared statements: parameter type inference, the plan cache and its invalidation,
//! portals suspended and resumed, SQL PREPARE/EXECUTE/DEALLOCATE and their errors.

#![expect(clippy::unwrap_used, reason = "tests")]

use crate::engine::{Engine, Session, StatementResult, Streamed};
use crate::prepared::PortalOutcome;
use crate::value::{DataType, Value};

fn session() -> Session {
    let engine = Engine::temporary().unwrap();
    let mut s = engine.session();
    for r in s.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, f FLOAT, b BOOLEAN); \
         INSERT INTO t VALUES (1, 'one', 1.5, true), (2, 'two', 2.5, false), (3, 'three', 3.5, NULL)",
    ) {
        r.unwrap();
    }
    s
}

/// Runs portal `name` with a row limit; the rows as text and whether it suspended.
fn run(s: &mut Session, portal: &str, max_rows: u64) -> (Vec<String>, bool) {
    let mut rows = Vec::new();
    let out = s
        .execute_portal(portal, max_rows, &mut |item| {
            if let Streamed::Row(r) = item {
                rows.push(
                    r.iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                );
            }
            true
        })
        .unwrap();
    (rows, matches!(out, PortalOutcome::Suspended))
}

fn exec(s: &mut Session, sql: &str) -> Vec<String> {
    let r = s.execute(sql).pop().unwrap().unwrap();
    match r {
        StatementResult::Query { rows, .. } => rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect(),
        other => vec![format!("{other:?}")],
    }
}

fn err(s: &mut Session, sql: &str) -> String {
    let e = s.execute(sql).pop().unwrap().unwrap_err();
    format!("{} {}", e.state.code(), e.message)
}

#[test]
fn parameter_types_are_inferred_from_context() {
    let mut s = session();
    let d = s
        .prepare(
            "q",
            "SELECT v, $2 + 1 FROM t WHERE id = $1 AND f > $3 AND v LIKE $4 AND b = $5 AND $6",
            &[],
        )
        .unwrap();
    use DataType::*;
    assert_eq!(d.params, [Integer, Integer, Float, Text, Boolean, Boolean]);
    let cols = d.columns.unwrap();
    assert_eq!(cols[0].data_type, Some(Text));
    assert_eq!(cols[1].data_type, Some(Integer));
    // Unknown stays text; a declared type wins; a cast types it.
    let d = s
        .prepare("", "SELECT $1, $2, $3::float", &[None, Some(Integer)])
        .unwrap();
    assert_eq!(d.params, [Text, Integer, Float]);
    // DML: the target columns.
    let d = s
        .prepare("ins", "INSERT INTO t (v, id) VALUES ($1, $2)", &[])
        .unwrap();
    assert_eq!(d.params, [Text, Integer]);
    assert_eq!(d.columns, None);
    // Aggregates' result types (they used to be unknown, described as text).
    let d = s
        .prepare(
            "agg",
            "SELECT count(*), sum(id), avg(id), min(v), max(f), sum(v) FROM t",
            &[],
        )
        .unwrap();
    let types: Vec<_> = d.columns.unwrap().iter().map(|c| c.data_type).collect();
    assert_eq!(
        types,
        [
            Some(Integer),
            Some(Integer),
            Some(Float),
            Some(Text),
            Some(Float),
            None
        ]
    );
    let d = s
        .prepare("up", "UPDATE t SET f = $1 WHERE id = $2", &[])
        .unwrap();
    assert_eq!(d.params, [Float, Integer]);
}

#[test]
fn a_prepared_query_runs_with_new_values_and_picks_the_key_lookup() {
    let mut s = session();
    s.prepare("q", "SELECT v FROM t WHERE id = $1", &[])
        .unwrap();
    for (id, want) in [(1, "one"), (3, "three"), (9, "")] {
        s.bind("", "q", vec![Value::Integer(id)]).unwrap();
        let (rows, suspended) = run(&mut s, "", 0);
        assert!(!suspended);
        assert_eq!(rows.join(""), want);
    }
    // Text from the wire is converted to the parameter's type, or refused as PostgreSQL does.
    s.bind("", "q", vec![Value::Text("2".into())]).unwrap();
    assert_eq!(run(&mut s, "", 0).0, ["two"]);
    let e = s.bind("", "q", vec![Value::Text("x".into())]).unwrap_err();
    assert_eq!(e.state.code(), "22P02");
    let e = s.bind("", "q", vec![]).unwrap_err();
    assert_eq!(e.state.code(), "08P01");
    // The instantiated plan is a primary-key point lookup, not a full scan.
    let plan = {
        let p = s.registry().statement("q").unwrap();
        p.instantiated_explain(&[Value::Integer(2)])
    };
    assert!(
        plan.iter().any(|l| l.contains("Primary key lookup")),
        "{plan:?}"
    );
}

#[test]
fn the_plan_is_cached_and_replanned_when_the_catalog_changes() {
    let mut s = session();
    s.prepare("q", "SELECT count(*) FROM t WHERE id > $1", &[])
        .unwrap();
    assert!(s.registry().statement("q").unwrap().has_cached_plan());
    s.bind("", "q", vec![Value::Integer(1)]).unwrap();
    assert_eq!(run(&mut s, "", 0).0, ["2"]);
    // An index changes the catalog version: the next execution re-plans (and uses it).
    exec(&mut s, "CREATE INDEX tv ON t (v)");
    s.bind("", "q", vec![Value::Integer(0)]).unwrap();
    assert_eq!(run(&mut s, "", 0).0, ["3"]);
    // Dropped and recreated with other columns: the result type would change.
    exec(&mut s, "DROP TABLE t");
    s.bind("", "q", vec![Value::Integer(0)]).unwrap();
    let e = s.execute_portal("", 0, &mut |_| true).unwrap_err();
    assert_eq!(e.state.code(), "42P01", "{e}");
    exec(&mut s, "CREATE TABLE t (id TEXT PRIMARY KEY)");
    s.prepare("v", "SELECT * FROM t", &[]).unwrap();
    exec(&mut s, "DROP TABLE t");
    exec(&mut s, "CREATE TABLE t (id INTEGER PRIMARY KEY, w FLOAT)");
    s.bind("", "v", vec![]).unwrap();
    let e = s.execute_portal("", 0, &mut |_| true).unwrap_err();
    assert_eq!(e.state.code(), "0A000");
    assert_eq!(e.message, "cached plan must not change result type");
}

#[test]
fn uncommitted_ddl_is_never_cached() {
    let mut s = session();
    s.prepare("q", "SELECT id FROM t ORDER BY id", &[]).unwrap();
    exec(&mut s, "BEGIN");
    exec(&mut s, "DROP TABLE t");
    exec(&mut s, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    s.bind("", "q", vec![]).unwrap();
    assert_eq!(run(&mut s, "", 0).0, Vec::<String>::new());
    exec(&mut s, "ROLLBACK");
    s.bind("", "q", vec![]).unwrap();
    assert_eq!(run(&mut s, "", 0).0, ["1", "2", "3"]);
}

#[test]
fn a_portal_with_a_row_limit_suspends_and_continues_without_rerunning() {
    let mut s = session();
    s.prepare("q", "SELECT id FROM t WHERE id >= $1 ORDER BY id", &[])
        .unwrap();
    exec(&mut s, "BEGIN");
    s.bind("c", "q", vec![Value::Integer(1)]).unwrap();
    assert_eq!(run(&mut s, "c", 2), (vec!["1".into(), "2".into()], true));
    // Rows written after the cursor opened are not seen by it (its snapshot), and another
    // statement can run while it is suspended.
    exec(&mut s, "INSERT INTO t VALUES (4, 'four', 4.0, true)");
    assert_eq!(run(&mut s, "c", 2), (vec!["3".into()], false));
    assert_eq!(run(&mut s, "c", 2), (vec![], false));
    // Its own transaction's earlier writes are seen.
    s.bind("d", "q", vec![Value::Integer(4)]).unwrap();
    assert_eq!(run(&mut s, "d", 1), (vec!["4".into()], true));
    assert_eq!(run(&mut s, "d", 1), (vec![], false));
    exec(&mut s, "COMMIT");
    s.sync();
    assert_eq!(
        s.execute_portal("c", 0, &mut |_| true)
            .unwrap_err()
            .state
            .code(),
        "34000"
    );
}

#[test]
fn a_parse_or_bind_error_aborts_the_transaction_block() {
    let mut s = session();
    s.prepare("q", "SELECT v FROM t WHERE id = $1", &[])
        .unwrap();
    exec(&mut s, "BEGIN");
    assert!(s.bind("", "q", vec![Value::Text("x".into())]).is_err());
    assert!(s.transaction_failed());
    assert_eq!(
        s.bind("", "q", vec![Value::Integer(1)])
            .unwrap_err()
            .state
            .code(),
        "25P02"
    );
    exec(&mut s, "ROLLBACK");
    exec(&mut s, "BEGIN");
    assert!(s.prepare("", "SELEC 1", &[]).is_err());
    assert!(s.transaction_failed());
    exec(&mut s, "ROLLBACK");
}

#[test]
fn sql_prepare_execute_deallocate() {
    let mut s = session();
    assert_eq!(
        exec(
            &mut s,
            "PREPARE p (INTEGER) AS SELECT v FROM t WHERE id = $1"
        ),
        ["Command { tag: \"PREPARE\" }"]
    );
    assert_eq!(exec(&mut s, "EXECUTE p(2)"), ["two"]);
    assert_eq!(exec(&mut s, "EXECUTE p('3')"), ["three"]);
    assert_eq!(
        err(&mut s, "PREPARE p AS SELECT 1"),
        "42P05 prepared statement \"p\" already exists"
    );
    assert_eq!(
        err(&mut s, "EXECUTE p"),
        "42601 wrong number of parameters for prepared statement \"p\""
    );
    assert_eq!(
        err(&mut s, "EXECUTE p('x')"),
        "22P02 invalid input syntax for type integer: \"x\""
    );
    assert_eq!(err(&mut s, "SELECT $1"), "42P02 there is no parameter $1");
    exec(
        &mut s,
        "PREPARE ins AS INSERT INTO t (id, v) VALUES ($1, $2)",
    );
    exec(&mut s, "EXECUTE ins(7, 'seven')");
    assert_eq!(exec(&mut s, "EXECUTE p(7)"), ["seven"]);
    exec(
        &mut s,
        "PREPARE up AS UPDATE t SET v = v || $1 WHERE id = $2",
    );
    exec(&mut s, "EXECUTE up('!', 7)");
    assert_eq!(exec(&mut s, "EXECUTE p(7)"), ["seven!"]);
    exec(&mut s, "DEALLOCATE p");
    assert_eq!(
        err(&mut s, "EXECUTE p(1)"),
        "26000 prepared statement \"p\" does not exist"
    );
    assert_eq!(
        err(&mut s, "DEALLOCATE PREPARE p"),
        "26000 prepared statement \"p\" does not exist"
    );
    exec(&mut s, "DEALLOCATE ALL");
    assert_eq!(
        err(&mut s, "EXECUTE ins(8, 'x')"),
        "26000 prepared statement \"ins\" does not exist"
    );
    assert_eq!(
        s.prepare("", "SELECT 1; SELECT 2", &[])
            .unwrap_err()
            .state
            .code(),
        "42601"
    );
}

#[test]
fn a_prepared_now_is_the_time_of_each_executing_transaction() {
    let mut s = session();
    exec(&mut s, "PREPARE q AS SELECT now()");
    for _ in 0..2 {
        exec(&mut s, "BEGIN");
        let prepared = exec(&mut s, "EXECUTE q");
        let direct = exec(&mut s, "SELECT now()");
        exec(&mut s, "COMMIT");
        // A plan cached by an earlier transaction would hold that transaction's start time.
        assert_eq!(prepared, direct);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
