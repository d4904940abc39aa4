//! Snapshot isolation seen through SQL sessions: one test per anomaly it forbids, and write
//! skew, which it allows.
#![expect(clippy::unwrap_used, reason = "tests")]

use chronos_sql::{Engine, Error, Session, StatementResult, Value};

fn setup() -> (Engine, Session, Session) {
    let engine = Engine::temporary().unwrap();
    let mut s = engine.session();
    ok(
        &mut s,
        "CREATE TABLE kv (k INTEGER PRIMARY KEY, v INTEGER); INSERT INTO kv VALUES (1, 10), (2, 20)",
    );
    let (a, b) = (engine.session(), engine.session());
    (engine, a, b)
}

fn ok(s: &mut Session, sql: &str) -> Vec<StatementResult> {
    s.execute(sql)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{sql}: {e}")))
        .collect()
}

fn err(s: &mut Session, sql: &str) -> Error {
    s.execute(sql).pop().unwrap().unwrap_err()
}

fn value(s: &mut Session, k: i64) -> Option<i64> {
    match ok(s, &format!("SELECT v FROM kv WHERE k = {k}"))
        .pop()
        .unwrap()
    {
        StatementResult::Query { rows, .. } => rows.first().map(|r| match r[0] {
            Value::Integer(i) => i,
            _ => panic!("not an integer"),
        }),
        _ => panic!("not a query"),
    }
}

#[test]
fn anomaly_g0_dirty_write_through_sql() {
    let (_e, mut a, mut b) = setup();
    ok(&mut a, "BEGIN; UPDATE kv SET v = 11 WHERE k = 1");
    ok(
        &mut b,
        "BEGIN; UPDATE kv SET v = 12 WHERE k = 1; UPDATE kv SET v = 22 WHERE k = 2",
    );
    ok(&mut a, "UPDATE kv SET v = 21 WHERE k = 2; COMMIT");
    let e = err(&mut b, "COMMIT");
    assert_eq!(e.state.code(), "40001", "{e}");
    assert!(e.message.contains("retry"));
    assert_eq!((value(&mut a, 1), value(&mut a, 2)), (Some(11), Some(21)));
}

#[test]
fn anomaly_g1a_aborted_read_through_sql() {
    let (_e, mut a, mut b) = setup();
    ok(&mut a, "BEGIN; UPDATE kv SET v = 99 WHERE k = 1");
    assert_eq!(value(&mut b, 1), Some(10));
    ok(&mut a, "ROLLBACK");
    assert_eq!(value(&mut b, 1), Some(10));
}

#[test]
fn anomaly_g1b_intermediate_read_through_sql() {
    let (_e, mut a, mut b) = setup();
    ok(&mut b, "BEGIN");
    ok(&mut a, "BEGIN; UPDATE kv SET v = 50 WHERE k = 1");
    assert_eq!(value(&mut b, 1), Some(10));
    ok(&mut a, "UPDATE kv SET v = 51 WHERE k = 1; COMMIT");
    assert_eq!(
        value(&mut b, 1),
        Some(10),
        "b's snapshot predates a's commit"
    );
    ok(&mut b, "COMMIT");
    assert_eq!(value(&mut b, 1), Some(51));
}

#[test]
fn anomaly_g1c_circular_information_flow_through_sql() {
    let (_e, mut a, mut b) = setup();
    ok(&mut a, "BEGIN; UPDATE kv SET v = 100 WHERE k = 1");
    ok(&mut b, "BEGIN; UPDATE kv SET v = 200 WHERE k = 2");
    assert_eq!(value(&mut a, 2), Some(20));
    assert_eq!(value(&mut b, 1), Some(10));
    ok(&mut a, "COMMIT");
    ok(&mut b, "COMMIT");
}

#[test]
fn anomaly_g_single_read_skew_through_sql() {
    let (_e, mut a, mut b) = setup();
    ok(&mut a, "BEGIN");
    assert_eq!(value(&mut a, 1), Some(10));
    ok(
        &mut b,
        "BEGIN; UPDATE kv SET v = 5 WHERE k = 1; UPDATE kv SET v = 25 WHERE k = 2; COMMIT",
    );
    assert_eq!(value(&mut a, 2), Some(20));
    match ok(&mut a, "SELECT sum(v) FROM kv").pop().unwrap() {
        StatementResult::Query { rows, .. } => assert_eq!(rows[0][0], Value::Integer(30)),
        _ => panic!(),
    }
    ok(&mut a, "COMMIT");
}

#[test]
fn anomaly_lost_update_through_sql() {
    let (_e, mut a, mut b) = setup();
    ok(&mut a, "BEGIN");
    ok(&mut b, "BEGIN");
    ok(&mut a, "UPDATE kv SET v = v + 1 WHERE k = 1");
    ok(&mut b, "UPDATE kv SET v = v + 1 WHERE k = 1");
    ok(&mut a, "COMMIT");
    assert_eq!(err(&mut b, "COMMIT").state.code(), "40001");
    assert_eq!(value(&mut a, 1), Some(11));
}

#[test]
fn anomaly_g2_item_write_skew_is_allowed_through_sql() {
    let (_e, mut a, mut b) = setup();
    ok(&mut a, "BEGIN");
    ok(&mut b, "BEGIN");
    ok(&mut a, "SELECT sum(v) FROM kv");
    ok(&mut b, "SELECT sum(v) FROM kv");
    ok(&mut a, "UPDATE kv SET v = v - 30 WHERE k = 1");
    ok(&mut b, "UPDATE kv SET v = v - 30 WHERE k = 2");
    ok(&mut a, "COMMIT");
    ok(&mut b, "COMMIT");
    assert_eq!((value(&mut a, 1), value(&mut a, 2)), (Some(-20), Some(-10)));
}

#[test]
fn errors_inside_a_block_abort_it_until_rollback() {
    let (_e, mut a, _) = setup();
    ok(&mut a, "BEGIN; INSERT INTO kv VALUES (3, 30)");
    assert_eq!(
        err(&mut a, "INSERT INTO kv VALUES (1, 0)").state.code(),
        "23505"
    );
    assert_eq!(err(&mut a, "SELECT 1").state.code(), "25P02");
    match ok(&mut a, "COMMIT").pop().unwrap() {
        StatementResult::Command { tag } => assert_eq!(tag, "ROLLBACK"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        value(&mut a, 3),
        None,
        "the failed block's insert was rolled back"
    );
}

#[test]
fn data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session();
        ok(
            &mut s,
            "CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX tb ON t (b); INSERT INTO t VALUES (1, 'x'), (2, 'y')",
        );
    }
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session();
    match ok(&mut s, "SELECT a FROM t WHERE b = 'y'").pop().unwrap() {
        StatementResult::Query { rows, .. } => assert_eq!(rows, vec![vec![Value::Integer(2)]]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn catalog_changes_are_transactional_and_never_served_stale() {
    let (_e, mut a, mut b) = setup();
    ok(
        &mut a,
        "BEGIN; CREATE TABLE ghost (x INTEGER); INSERT INTO ghost VALUES (1)",
    );
    assert_eq!(
        err(&mut b, "SELECT * FROM ghost").state.code(),
        "42P01",
        "uncommitted DDL is invisible"
    );
    ok(&mut a, "SELECT * FROM ghost");
    ok(&mut a, "ROLLBACK");
    ok(&mut b, "CREATE TABLE real_one (y TEXT)");
    assert_eq!(
        err(&mut a, "SELECT * FROM ghost").state.code(),
        "42P01",
        "rolled-back DDL is gone"
    );
    ok(&mut a, "INSERT INTO real_one VALUES ('ok')");
    ok(&mut b, "DROP TABLE real_one");
    assert_eq!(err(&mut a, "SELECT * FROM real_one").state.code(), "42P01");
}
