//! Errors keep their meaning in cluster mode: every SQLSTATE the embedded engine raises comes
//! back identical — code, message and detail — from a real 3-node cluster, through the leader
//! and through a follower that forwards the session (issue 10, item 5). Before, the cluster
//! client flattened most codes to XX000, and a commit conflict lost its detail.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::Duration;

use chronos_server::Client;
use chronos_sql::{Engine, Error, SqlState};
use chronos_tests::processes::ProcessCluster;

const SETUP: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL, s TEXT); \
                     INSERT INTO t VALUES (1, 10, 'a'), (2, 20, 'b')";

/// (statements run one request at a time in one fresh session, separated by "; ", and the
/// SQLSTATE the last one must raise).
const CASES: &[(&str, &str)] = &[
    ("SELECT 1/0", "22012"),
    ("SELECT 9223372036854775807 + 1", "22003"),
    ("SELECT CAST('abc' AS INTEGER)", "22P02"),
    ("SELECT nosuch FROM t", "42703"),
    ("SELECT nosuchfn(1)", "42883"),
    ("SELECT (SELECT id FROM t)", "21000"),
    ("COMMIT", "25P01"),
    ("SELECT id, count(*) FROM t", "42803"),
    ("SELECT 1 LIMIT -1", "22023"),
    ("SELEC 1", "42601"),
    ("SELECT * FROM nosuch", "42P01"),
    ("INSERT INTO t VALUES (1, 1, 'dup')", "23505"),
    ("INSERT INTO t VALUES (3, NULL, 'x')", "23502"),
    ("BEGIN; SELECT 1/0; SELECT 1", "25P02"),
    ("BEGIN; BEGIN", "25001"),
    ("SAVEPOINT s", "0A000"),
    ("CREATE TABLE t (x INTEGER)", "42P07"),
    ("SELECT id FROM t a, t b", "42702"),
];

/// The last statement's error (earlier ones must succeed unless the case expects a failed
/// transaction).
fn last_error(outcomes: Vec<Result<chronos_sql::StatementResult, Error>>) -> Option<Error> {
    outcomes.into_iter().last().and_then(Result::err)
}

fn embedded() -> (Vec<Option<Error>>, Option<Error>) {
    let engine = Engine::temporary().unwrap();
    for r in engine.session().execute(SETUP) {
        r.unwrap();
    }
    let errors = CASES
        .iter()
        .map(|(sql, _)| {
            let mut s = engine.session();
            sql.split("; ")
                .map(|st| last_error(s.execute(st)))
                .last()
                .flatten()
        })
        .collect();
    (errors, conflict_embedded(&engine))
}

/// A write-write conflict: 40001 with the conflicting key in its detail.
fn conflict_embedded(engine: &Engine) -> Option<Error> {
    let mut a = engine.session();
    let mut b = engine.session();
    a.execute("BEGIN; UPDATE t SET v = v + 1 WHERE id = 2");
    for r in b.execute("UPDATE t SET v = v + 1 WHERE id = 2") {
        r.unwrap();
    }
    last_error(a.execute("COMMIT"))
}

async fn remote(addr: &str, sql: &str) -> Option<Error> {
    let mut c = Client::connect(addr).await.unwrap();
    let s = c.open_session().await.unwrap();
    let mut last = None;
    for st in sql.split("; ") {
        last = last_error(c.execute(s, st).await.unwrap());
    }
    let _ = c.close_session(s).await;
    last
}

async fn conflict_remote(addr: &str) -> Option<Error> {
    let mut a = Client::connect(addr).await.unwrap();
    let mut b = Client::connect(addr).await.unwrap();
    let sa = a.open_session().await.unwrap();
    let sb = b.open_session().await.unwrap();
    a.execute(sa, "BEGIN; UPDATE t SET v = v + 1 WHERE id = 2")
        .await
        .unwrap();
    for r in b
        .execute(sb, "UPDATE t SET v = v + 1 WHERE id = 2")
        .await
        .unwrap()
    {
        r.unwrap();
    }
    last_error(a.execute(sa, "COMMIT").await.unwrap())
}

#[test]
fn every_sqlstate_comes_back_identical_through_the_leader_and_a_follower() {
    let (expected, conflict) = embedded();
    for ((sql, code), e) in CASES.iter().zip(&expected) {
        let e = e
            .as_ref()
            .unwrap_or_else(|| panic!("embedded: {sql} did not fail"));
        assert_eq!(e.state.code(), *code, "embedded: {sql}: {e}");
    }
    let conflict = conflict.unwrap();
    assert_eq!(conflict.state, SqlState::SerializationFailure, "{conflict}");
    assert!(conflict.detail.is_some(), "{conflict}");

    let cluster = ProcessCluster::start(3);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let leader = cluster.wait_leader(Duration::from_secs(20)).await.unwrap();
        let leader_addr = cluster.addrs[(leader - 1) as usize].clone();
        let follower_addr = cluster.addrs[(leader % 3) as usize].clone();
        for r in Client::connect(&leader_addr)
            .await
            .unwrap()
            .execute(0, SETUP)
            .await
            .unwrap()
        {
            r.unwrap();
        }
        for (via, addr) in [("leader", &leader_addr), ("follower", &follower_addr)] {
            for ((sql, _), e) in CASES.iter().zip(&expected) {
                let got = remote(addr, sql).await;
                assert_eq!(got.as_ref(), e.as_ref(), "through the {via}: {sql}");
            }
            let got = conflict_remote(addr).await.unwrap();
            assert_eq!(got.state, conflict.state, "through the {via}: {got}");
            assert_eq!(got.message, conflict.message, "through the {via}");
            // The key is the same row's key, encoded the same way.
            assert_eq!(got.detail, conflict.detail, "through the {via}");
        }
    });
}
