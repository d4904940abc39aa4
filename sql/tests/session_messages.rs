//! What a session tells its client besides results: NOTICEs and reported parameters
//! (application_name), in order, before the statement's end; and the session parameters
//! drivers set or ask for.
#![expect(clippy::unwrap_used, reason = "tests")]

use chronos_sql::{Engine, Session, SessionMessage, StatementResult, Streamed, Value};

fn streamed(s: &mut Session, sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    s.execute_streaming(sql, &mut |item| {
        out.push(match item {
            Streamed::Message(SessionMessage::Notice { code, message }) => {
                format!("notice {code} {message}")
            }
            Streamed::Message(SessionMessage::ParameterStatus { name, value }) => {
                format!("parameter {name}={value}")
            }
            Streamed::Columns(_) => "columns".into(),
            Streamed::Row(r) => format!("row {r:?}"),
            Streamed::Done(Ok(_)) => "done".into(),
            Streamed::Done(Err(e)) => format!("error {}", e.state.code()),
        });
        true
    });
    out
}

fn show(s: &mut Session, name: &str) -> String {
    match s.execute(&format!("SHOW {name}")).pop().unwrap().unwrap() {
        StatementResult::Query { rows, .. } => match &rows[0][0] {
            Value::Text(t) => t.clone(),
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
}

fn code(s: &mut Session, sql: &str) -> String {
    match s.execute(sql).pop().unwrap() {
        Ok(r) => panic!("{sql} succeeded: {r:?}"),
        Err(e) => e.state.code().to_string(),
    }
}

#[test]
fn drop_if_exists_of_something_missing_sends_a_notice_before_its_end() {
    let mut s = Engine::temporary().unwrap().session();
    assert_eq!(
        streamed(
            &mut s,
            "CREATE TABLE a (k INTEGER PRIMARY KEY); DROP TABLE IF EXISTS a, b; DROP INDEX IF EXISTS i"
        ),
        [
            "done",
            "notice 00000 table \"b\" does not exist, skipping",
            "done",
            "notice 00000 index \"i\" does not exist, skipping",
            "done",
        ]
    );
    assert_eq!(
        streamed(&mut s, "DROP TABLE IF EXISTS nosuch.t"),
        [
            "notice 00000 schema \"nosuch\" does not exist, skipping",
            "done"
        ]
    );
    // Without IF EXISTS it is an error, and no notice.
    assert_eq!(streamed(&mut s, "DROP TABLE b"), ["error 42P01"]);
}

#[test]
fn notices_of_a_plain_execute_are_taken_once_and_do_not_pile_up() {
    let mut s = Engine::temporary().unwrap().session();
    s.execute("DROP TABLE IF EXISTS x");
    s.execute("DROP TABLE IF EXISTS y");
    assert_eq!(
        s.take_messages(),
        [SessionMessage::Notice {
            code: "00000",
            message: "table \"y\" does not exist, skipping".into()
        }]
    );
    assert!(s.take_messages().is_empty());
}

#[test]
fn application_name_is_reported_when_it_changes_and_is_transactional() {
    let mut s = Engine::temporary().unwrap().session();
    assert_eq!(show(&mut s, "application_name"), "");
    assert_eq!(
        streamed(&mut s, "SET application_name = 'app'"),
        ["parameter application_name=app", "done"]
    );
    // The same value again is no change.
    assert_eq!(streamed(&mut s, "SET application_name TO 'app'"), ["done"]);
    assert_eq!(
        streamed(&mut s, "BEGIN; SET application_name = 'inner'; ROLLBACK"),
        [
            "done",
            "parameter application_name=inner",
            "done",
            "parameter application_name=app",
            "done"
        ]
    );
    assert_eq!(show(&mut s, "application_name"), "app");
    // PostgreSQL keeps 63 bytes of printable ASCII.
    let long = "é".repeat(70);
    s.execute(&format!("SET application_name = '{long}'"));
    assert_eq!(show(&mut s, "application_name"), "?".repeat(63));
    assert_eq!(
        streamed(&mut s, "RESET application_name"),
        ["parameter application_name=", "done"]
    );
    s.set_startup_parameter("application_name", "psql").unwrap();
    assert_eq!(show(&mut s, "application_name"), "psql");
}

#[test]
fn driver_parameters_show_the_one_value_and_refuse_others() {
    let mut s = Engine::temporary().unwrap().session();
    for (name, value) in [
        ("standard_conforming_strings", "on"),
        ("transaction_isolation", "repeatable read"),
        ("TRANSACTION ISOLATION LEVEL", "repeatable read"),
        ("default_transaction_isolation", "repeatable read"),
        ("default_transaction_read_only", "off"),
    ] {
        assert_eq!(show(&mut s, name), value, "{name}");
    }
    for ok in [
        "SET standard_conforming_strings = on",
        "SET default_transaction_isolation = 'repeatable read'",
        "SET default_transaction_read_only = false",
        "RESET transaction_isolation",
    ] {
        s.execute(ok).pop().unwrap().unwrap();
    }
    for refused in [
        "SET standard_conforming_strings = off",
        "SET transaction_isolation = 'read committed'",
        "SET default_transaction_isolation = 'serializable'",
        "SET default_transaction_read_only = on",
    ] {
        assert_eq!(code(&mut s, refused), "22023", "{refused}");
    }
}
