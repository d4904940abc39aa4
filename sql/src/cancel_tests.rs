//! Sessions whose statements are cancelled or time out, and the settings that drive that:
//! what the client sees (57014), and the transaction state afterwards (PostgreSQL's rules).
#![expect(clippy::unwrap_used, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::{Engine, Session, SqlState, StatementResult, Streamed, Ticker, Value};

/// A clock that advances one millisecond every time it is read: a deadline of N ms passes
/// after N readings, whatever the machine's speed.
#[derive(Debug, Default)]
struct SteppingTicker(AtomicU64);

impl Ticker for SteppingTicker {
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.fetch_add(1, Ordering::Relaxed))
    }
}

/// A session on a fresh database with tables `a` and `b` of `n` rows each.
fn session_with_tables(n: usize, engine: &Engine) -> Session {
    let mut s = engine.session();
    run(
        &mut s,
        "CREATE TABLE a (x INTEGER PRIMARY KEY); CREATE TABLE b (y INTEGER PRIMARY KEY)",
    );
    for t in ["a", "b"] {
        let values: Vec<String> = (0..n).map(|i| format!("({i})")).collect();
        run(
            &mut s,
            &format!("INSERT INTO {t} VALUES {}", values.join(", ")),
        );
    }
    s
}

fn run(s: &mut Session, sql: &str) -> Vec<StatementResult> {
    s.execute(sql)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{sql}: {e}")))
        .collect()
}

fn error(s: &mut Session, sql: &str) -> crate::Error {
    match s.execute(sql).pop().unwrap() {
        Err(e) => e,
        Ok(r) => panic!("{sql}: expected an error, got {r:?}"),
    }
}

fn show_timeout(s: &mut Session) -> String {
    match run(s, "SHOW statement_timeout").pop().unwrap() {
        StatementResult::Query { rows, .. } => rows[0][0].to_string(),
        other => panic!("{other:?}"),
    }
}

fn count(s: &mut Session, sql: &str) -> i64 {
    match run(s, sql).pop().unwrap() {
        StatementResult::Query { rows, .. } => match rows[0][0] {
            Value::Integer(n) => n,
            ref v => panic!("{v:?}"),
        },
        other => panic!("{other:?}"),
    }
}

const CROSS_JOIN: &str = "SELECT count(*) FROM a, b WHERE a.x + b.y < 0";

#[test]
fn a_statement_past_its_timeout_fails_with_57014_and_the_session_goes_on() {
    let mut engine = Engine::temporary().unwrap();
    engine.set_ticker(Arc::new(SteppingTicker::default()));
    let mut s = session_with_tables(300, &engine);
    // 90,000 join candidates read the clock about 350 times: far past 100 ms of this clock.
    run(&mut s, "SET statement_timeout = 100");
    let e = error(&mut s, CROSS_JOIN);
    assert_eq!(e.state, SqlState::QueryCanceled);
    assert_eq!(e.message, "canceling statement due to statement timeout");
    // Short statements still run under the same timeout.
    assert_eq!(count(&mut s, "SELECT count(*) FROM a"), 300);
    run(&mut s, "SET statement_timeout = 0");
    assert_eq!(count(&mut s, CROSS_JOIN), 0);
}

#[test]
fn a_cancelled_statement_inside_a_block_aborts_the_block() {
    let engine = Engine::temporary().unwrap();
    let mut s = session_with_tables(100, &engine);
    let handle = s.cancel_handle();
    run(&mut s, "BEGIN; INSERT INTO a VALUES (1000)");
    // Cancel as soon as the first row is out (what a shell's Ctrl-C or a vanished client does).
    let mut results = Vec::new();
    s.execute_streaming("SELECT a.x, b.y FROM a, b", &mut |item| {
        if let Streamed::Row(_) = item {
            handle.cancel();
        }
        if let Streamed::Done(r) = item {
            results.push(r);
        }
        true
    });
    let e = results.pop().unwrap().unwrap_err();
    assert_eq!(e.state, SqlState::QueryCanceled);
    assert_eq!(e.message, "canceling statement due to user request");
    assert!(s.in_transaction());
    assert_eq!(
        error(&mut s, "SELECT 1").state,
        SqlState::InFailedTransaction
    );
    run(&mut s, "ROLLBACK");
    // The cancel does not linger: the next request runs, and the insert was rolled back.
    assert_eq!(count(&mut s, "SELECT count(*) FROM a WHERE x = 1000"), 0);
}

#[test]
fn a_cancelled_autocommit_statement_leaves_nothing_behind() {
    let mut engine = Engine::temporary().unwrap();
    engine.set_ticker(Arc::new(SteppingTicker::default()));
    let mut s = session_with_tables(200, &engine);
    run(&mut s, "CREATE TABLE c (x INTEGER, y INTEGER)");
    run(&mut s, "SET statement_timeout = '50ms'");
    let e = error(&mut s, "INSERT INTO c SELECT a.x, b.y FROM a, b");
    assert_eq!(e.state, SqlState::QueryCanceled);
    assert!(!s.in_transaction());
    assert_eq!(count(&mut s, "SELECT count(*) FROM c"), 0);
}

#[test]
fn statement_timeout_is_set_shown_and_reset_as_in_postgresql() {
    let mut engine = Engine::temporary().unwrap();
    let mut s = engine.session();
    assert_eq!(show_timeout(&mut s), "0");
    for (value, shown) in [
        ("500", "500ms"),
        ("'2s'", "2s"),
        ("'1.5s'", "1500ms"),
        ("60000", "1min"),
    ] {
        run(&mut s, &format!("SET statement_timeout = {value}"));
        assert_eq!(show_timeout(&mut s), shown, "{value}");
    }
    run(
        &mut s,
        "SET statement_timeout TO '500ms'; RESET statement_timeout",
    );
    assert_eq!(show_timeout(&mut s), "0");
    run(
        &mut s,
        "SET statement_timeout = 7; SET statement_timeout = DEFAULT",
    );
    assert_eq!(show_timeout(&mut s), "0");
    run(&mut s, "SET STATEMENT_TIMEOUT = 8; RESET ALL");
    assert_eq!(show_timeout(&mut s), "0");
    let e = error(&mut s, "SET statement_timeout = -1");
    assert_eq!(e.state, SqlState::InvalidParameterValue);
    let e = error(&mut s, "SET statement_timeout = '5x'");
    assert_eq!(e.state, SqlState::InvalidParameterValue);
    let e = error(&mut s, "SET statement_timeout = 1, 2");
    assert_eq!(e.message, "SET statement_timeout takes only one argument");
    for sql in ["SET nosuch = 1", "SHOW nosuch", "RESET nosuch"] {
        let e = error(&mut s, sql);
        assert_eq!(e.state, SqlState::UndefinedObject, "{sql}");
        assert_eq!(e.message, "unrecognized configuration parameter \"nosuch\"");
    }
    // Transactional: ROLLBACK undoes a SET, COMMIT keeps it, SET LOCAL ends with the block.
    run(
        &mut s,
        "SET statement_timeout = 100; BEGIN; SET statement_timeout = 123; ROLLBACK",
    );
    assert_eq!(show_timeout(&mut s), "100ms");
    run(&mut s, "BEGIN; SET statement_timeout = 124; COMMIT");
    assert_eq!(show_timeout(&mut s), "124ms");
    run(&mut s, "BEGIN; SET LOCAL statement_timeout = 125");
    assert_eq!(show_timeout(&mut s), "125ms");
    run(&mut s, "COMMIT");
    assert_eq!(show_timeout(&mut s), "124ms");
    let e = error(&mut s, "SET LOCAL statement_timeout = 1");
    assert_eq!(e.state, SqlState::NoActiveTransaction);
    // A failed block refuses SET too, and its ROLLBACK restores the value from BEGIN.
    run(&mut s, "BEGIN; SET statement_timeout = 9");
    assert_eq!(error(&mut s, "SELECT 1/0").state, SqlState::DivisionByZero);
    assert_eq!(
        error(&mut s, "SET statement_timeout = 10").state,
        SqlState::InFailedTransaction
    );
    run(&mut s, "COMMIT");
    assert_eq!(show_timeout(&mut s), "124ms");
    // The engine's default is where new sessions start and RESET returns.
    engine.set_default_statement_timeout(Duration::from_secs(2));
    let mut s2 = engine.session();
    assert_eq!(show_timeout(&mut s2), "2s");
    run(
        &mut s2,
        "SET statement_timeout = 0; RESET statement_timeout",
    );
    assert_eq!(show_timeout(&mut s2), "2s");
}
