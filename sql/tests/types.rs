//! CHAR(n) and the date/time types through the public engine: the transaction time comes from
//! the store's clock (deterministic with a manual clock), values survive a reopen with their
//! types, and data written before these types existed reads the same.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::path::Path;
use std::sync::Arc;

use chronos_kv::fs::MemFs;
use chronos_kv::mvcc::{HybridClock, ManualClock, MvccOptions, MvccStore};
use chronos_kv::{Db, Options};
use chronos_sql::{DataType, Engine, Session, StatementResult, Value};

fn ok(s: &mut Session, sql: &str) -> StatementResult {
    match s.execute(sql).pop().unwrap() {
        Ok(r) => r,
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    match ok(s, sql) {
        StatementResult::Query { rows, .. } => rows,
        other => panic!("{sql}: {other:?}"),
    }
}

fn one(s: &mut Session, sql: &str) -> String {
    rows(s, sql)[0][0].to_string()
}

/// An engine over an in-memory store whose wall clock the test sets.
fn engine_with_clock(start_ms: u64) -> (Engine, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(start_ms));
    let db = Db::open_with_fs(
        Arc::new(MemFs::new()),
        Path::new("/chronos"),
        Options::default(),
    )
    .unwrap();
    let store =
        MvccStore::open(db, HybridClock::new(clock.clone()), MvccOptions::default()).unwrap();
    (Engine::from_store(store), clock)
}

#[test]
fn now_is_the_transaction_start_on_the_store_clock() {
    // 2023-11-14 22:13:20.123 UTC.
    let (engine, clock) = engine_with_clock(1_700_000_000_123);
    let mut s = engine.session();
    assert_eq!(one(&mut s, "SELECT now()"), "2023-11-14 22:13:20.123+00");
    assert_eq!(
        one(&mut s, "SELECT CURRENT_TIMESTAMP"),
        "2023-11-14 22:13:20.123+00"
    );
    assert_eq!(
        one(&mut s, "SELECT LOCALTIMESTAMP"),
        "2023-11-14 22:13:20.123"
    );
    assert_eq!(one(&mut s, "SELECT CURRENT_DATE"), "2023-11-14");
    ok(&mut s, "BEGIN");
    let first = one(&mut s, "SELECT now()");
    clock.advance(90_000_000);
    assert_eq!(
        one(&mut s, "SELECT now()"),
        first,
        "fixed for the transaction"
    );
    ok(&mut s, "COMMIT");
    // A new transaction sees the clock move (90,000 s later: the next day).
    assert_eq!(one(&mut s, "SELECT now()"), "2023-11-15 23:13:20.123+00");
    assert_eq!(one(&mut s, "SELECT CURRENT_DATE"), "2023-11-15");
    // pgbench's history insert: a timestamp column given CURRENT_TIMESTAMP.
    ok(
        &mut s,
        "CREATE TABLE h (tid INTEGER, delta INTEGER, mtime TIMESTAMP, filler CHAR(22))",
    );
    ok(
        &mut s,
        "INSERT INTO h (tid, delta, mtime) VALUES (1, 5, CURRENT_TIMESTAMP)",
    );
    assert_eq!(
        one(&mut s, "SELECT mtime FROM h"),
        "2023-11-15 23:13:20.123"
    );
}

#[test]
fn typed_values_survive_a_reopen_and_describe_as_their_types() {
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session();
        ok(
            &mut s,
            "CREATE TABLE t (k CHAR(4) PRIMARY KEY, at TIMESTAMP, tz TIMESTAMPTZ, d DATE, c CHAR(3))",
        );
        ok(
            &mut s,
            "INSERT INTO t VALUES ('ab', '2020-01-02 03:04:05.000006', '2020-01-02 03:04:05+01', \
             '2020-01-02', 'x')",
        );
    }
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session();
    match ok(&mut s, "SELECT k, at, tz, d, c FROM t WHERE k = 'ab'") {
        StatementResult::Query { columns, rows } => {
            let types: Vec<_> = columns.iter().map(|c| c.data_type).collect();
            assert_eq!(
                types,
                [
                    Some(DataType::Char),
                    Some(DataType::Timestamp),
                    Some(DataType::TimestampTz),
                    Some(DataType::Date),
                    Some(DataType::Char),
                ]
            );
            let shown: Vec<String> = rows[0].iter().map(ToString::to_string).collect();
            assert_eq!(
                shown,
                [
                    "ab  ",
                    "2020-01-02 03:04:05.000006",
                    "2020-01-02 02:04:05+00",
                    "2020-01-02",
                    "x  "
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tables_of_the_original_four_types_read_as_before() {
    // What a database written before CHAR and the date/time types holds: the catalog JSON of
    // that version (no `max_chars`) and row bytes in the keycode forms of those four types.
    // Neither encoding changed, so the same bytes decode to the same values.
    let dir = tempfile::tempdir().unwrap();
    {
        let engine = Engine::open(dir.path()).unwrap();
        let mut s = engine.session();
        ok(
            &mut s,
            "CREATE TABLE old (id INTEGER PRIMARY KEY, name TEXT, score FLOAT, ok BOOLEAN)",
        );
        ok(
            &mut s,
            "INSERT INTO old VALUES (1, 'ada', 1.5, true), (2, NULL, -0.25, false)",
        );
        let txn = engine.store().begin_read_only();
        let entries: Vec<(Vec<u8>, Vec<u8>)> = txn
            .scan_prefix(&[], chronos_kv::Direction::Forward)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let catalog = entries
            .iter()
            .find_map(|(_, v)| {
                std::str::from_utf8(v)
                    .ok()
                    .filter(|s| s.contains("\"old\""))
            })
            .unwrap()
            .to_string();
        assert_eq!(
            catalog,
            r#"{"id":1,"name":"old","columns":[{"name":"id","data_type":"INTEGER","nullable":false,"default":null},{"name":"name","data_type":"TEXT","nullable":true,"default":null},{"name":"score","data_type":"FLOAT","nullable":true,"default":null},{"name":"ok","data_type":"BOOLEAN","nullable":true,"default":null}],"primary_key":[0],"indexes":[],"next_index_id":1}"#
        );
        // The row of id 1: its key ends in Int(1), its value is Str('ada'), Float(1.5), Bool.
        let row = entries
            .iter()
            .find(|(k, _)| k.ends_with(&[0x80, 0, 0, 0, 0, 0, 0, 1]))
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(
            row,
            [
                5, b'a', b'd', b'a', 0, 0, // tag Str, 'ada', terminator
                4, 0xbf, 0xf8, 0, 0, 0, 0, 0, 0, // tag Float, 1.5
                1, 1, // tag Bool, true
            ]
        );
    }
    let engine = Engine::open(dir.path()).unwrap();
    let mut s = engine.session();
    assert_eq!(
        rows(&mut s, "SELECT id, name, score, ok FROM old ORDER BY id"),
        vec![
            vec![
                Value::Integer(1),
                Value::Text("ada".into()),
                Value::Float(1.5),
                Value::Boolean(true)
            ],
            vec![
                Value::Integer(2),
                Value::Null,
                Value::Float(-0.25),
                Value::Boolean(false)
            ],
        ]
    );
}
