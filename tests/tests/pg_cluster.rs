//! The PostgreSQL protocol on a real 3-node cluster (issue 11): tokio-postgres against every
//! node, writes through a follower visible on all, a transaction and a conflict through
//! followers, the leader killed (a new connection to a survivor works), cancel and
//! statement_timeout through a follower, and a closed connection releasing its session on
//! the leader.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::time::{Duration, Instant};

use chronos_server::Client as GrpcClient;
use chronos_tests::processes::ProcessCluster;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// A cluster with an agreed leader: (cluster, leader id, a follower id).
async fn cluster() -> (ProcessCluster, u64, u64) {
    let c = ProcessCluster::start(3);
    let leader = c
        .wait_leader(Duration::from_secs(20))
        .await
        .expect("a leader within 20 s");
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    (c, leader, follower)
}

/// Connects to node `id`'s PostgreSQL port (retrying while the node starts listening).
async fn connect(c: &ProcessCluster, id: u64) -> Client {
    let addr = &c.pg_addrs[(id - 1) as usize];
    let url = format!("postgresql://root@{addr}/chronos");
    let start = Instant::now();
    loop {
        match tokio_postgres::connect(&url, NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                return client;
            }
            Err(_) if start.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("connecting to node {id} at {addr}: {e}"),
        }
    }
}

/// The rows of a simple query, as text.
async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

fn one(v: &str) -> Vec<Vec<Option<String>>> {
    vec![vec![Some(v.to_owned())]]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_serves_postgresql_and_follower_writes_are_visible_on_all() {
    let (c, leader, follower) = cluster().await;
    let clients = [
        connect(&c, 1).await,
        connect(&c, 2).await,
        connect(&c, 3).await,
    ];
    let via_follower = &clients[(follower - 1) as usize];
    via_follower
        .batch_execute(
            "CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT); \
             INSERT INTO kv VALUES (1, 'one'), (2, 'two')",
        )
        .await
        .unwrap();
    for (i, client) in clients.iter().enumerate() {
        assert_eq!(
            rows(client, "SELECT v FROM kv ORDER BY k").await,
            [[Some("one".to_owned())], [Some("two".to_owned())]],
            "node {}",
            i + 1
        );
    }
    // Every statement ran on the leader: the sessions live there, one per connection.
    let mut grpc = GrpcClient::connect(&c.addrs[(leader - 1) as usize])
        .await
        .unwrap();
    assert_eq!(grpc.status().await.unwrap().open_sessions, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_and_conflicts_through_followers() {
    let (c, leader, follower) = cluster().await;
    let other_follower = (1..=3).find(|id| *id != leader && *id != follower).unwrap();
    let a = connect(&c, follower).await;
    let b = connect(&c, other_follower).await;
    a.batch_execute("CREATE TABLE acct (id INTEGER PRIMARY KEY, bal INTEGER NOT NULL); INSERT INTO acct VALUES (1, 100)")
        .await
        .unwrap();

    // A transaction sees its own write; another session does not until it commits.
    a.batch_execute("BEGIN; UPDATE acct SET bal = bal - 10 WHERE id = 1")
        .await
        .unwrap();
    assert_eq!(rows(&a, "SELECT bal FROM acct").await, one("90"));
    assert_eq!(rows(&b, "SELECT bal FROM acct").await, one("100"));
    a.batch_execute("COMMIT").await.unwrap();
    assert_eq!(rows(&b, "SELECT bal FROM acct").await, one("90"));

    // An error fails the block (25P02 after it), ROLLBACK ends it; the connection goes on.
    a.batch_execute("BEGIN").await.unwrap();
    let e = a.batch_execute("SELECT * FROM nosuch").await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNDEFINED_TABLE), "{e:?}");
    let e = a.batch_execute("SELECT 1").await.unwrap_err();
    assert_eq!(
        e.code(),
        Some(&SqlState::IN_FAILED_SQL_TRANSACTION),
        "{e:?}"
    );
    a.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(rows(&a, "SELECT 1").await, one("1"));

    // Two transactions through two followers write the same row: the second to commit
    // gets 40001, as from the embedded engine.
    a.batch_execute("BEGIN; UPDATE acct SET bal = bal + 1 WHERE id = 1")
        .await
        .unwrap();
    b.batch_execute("BEGIN; UPDATE acct SET bal = bal + 2 WHERE id = 1")
        .await
        .unwrap();
    a.batch_execute("COMMIT").await.unwrap();
    let e = b.batch_execute("COMMIT").await.unwrap_err();
    assert_eq!(
        e.code(),
        Some(&SqlState::T_R_SERIALIZATION_FAILURE),
        "{e:?}"
    );
    assert_eq!(rows(&b, "SELECT bal FROM acct").await, one("91"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_killed_old_connection_fails_with_its_sqlstate_and_a_new_one_to_a_survivor_works() {
    let (c, leader, follower) = cluster().await;
    let old = connect(&c, follower).await;
    old.batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    c.signal(leader, "-KILL");

    // The old connection's session lived on the dead leader: its next statement fails with
    // "connection failure" (08006: the session is lost) or, if it was given up on while in
    // flight, "outcome unknown" (58030); then the connection is closed by the server.
    match old.simple_query("SELECT k FROM t").await {
        Ok(r) => panic!("a statement on a session of the killed leader succeeded: {r:?}"),
        Err(e) => match e.code() {
            Some(code) => assert!(
                [SqlState::CONNECTION_FAILURE, SqlState::IO_ERROR].contains(code),
                "{e:?}"
            ),
            None => assert!(old.is_closed(), "{e:?}"),
        },
    }

    // A new connection to a survivor reaches the new leader (it may take an election).
    let start = Instant::now();
    let survivor = follower;
    loop {
        let url = format!(
            "postgresql://root@{}/chronos",
            c.pg_addrs[(survivor - 1) as usize]
        );
        let attempt = async {
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
            tokio::spawn(connection);
            client.simple_query("SELECT k FROM t").await
        };
        match attempt.await {
            Ok(messages) => {
                let n = messages
                    .iter()
                    .filter(|m| matches!(m, SimpleQueryMessage::Row(_)))
                    .count();
                assert_eq!(n, 1);
                break;
            }
            // Refused while the survivors elect a leader, or still on the old one.
            Err(_) if start.elapsed() < Duration::from_secs(30) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no working connection to a survivor in 30 s: {e:?}"),
        }
    }
    let new = connect(&c, survivor).await;
    new.batch_execute("INSERT INTO t VALUES (2)").await.unwrap();
    assert_eq!(rows(&new, "SELECT count(*) FROM t").await, one("2"));
}

/// A query that runs for many seconds (200⁴ rows counted).
async fn slow_setup(client: &Client) -> &'static str {
    let values: Vec<String> = (0..200).map(|i| format!("({i})")).collect();
    client
        .batch_execute(&format!(
            "CREATE TABLE big (k INTEGER PRIMARY KEY); INSERT INTO big VALUES {}",
            values.join(",")
        ))
        .await
        .unwrap();
    "SELECT count(*) FROM big a, big b, big c, big d"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_statement_timeout_through_a_follower() {
    let (c, _leader, follower) = cluster().await;
    let client = connect(&c, follower).await;
    let slow = slow_setup(&client).await;

    let token = client.cancel_token();
    let query = tokio::spawn(async move {
        let r = client.simple_query(slow).await;
        (client, r)
    });
    // A cancel that arrives before the statement starts on the leader is lost (as in
    // PostgreSQL), so repeat it until the statement has ended.
    for _ in 0..200 {
        if query.is_finished() {
            break;
        }
        token.cancel_query(NoTls).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        query.is_finished(),
        "the statement still runs after 10 s of cancel requests"
    );
    let (client, r) = query.await.unwrap();
    let e = r.expect_err("the statement was cancelled, not finished");
    assert_eq!(e.code(), Some(&SqlState::QUERY_CANCELED), "{e:?}");
    assert_eq!(rows(&client, "SELECT 1").await, one("1"));

    // statement_timeout is the session's setting, enforced on the leader.
    client
        .batch_execute("SET statement_timeout = 100")
        .await
        .unwrap();
    let e = client.simple_query(slow).await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::QUERY_CANCELED), "{e:?}");
    assert_eq!(rows(&client, "SELECT 1").await, one("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_connection_releases_its_session_on_the_leader() {
    let (c, leader, follower) = cluster().await;
    let mut grpc = GrpcClient::connect(&c.addrs[(leader - 1) as usize])
        .await
        .unwrap();
    let client = connect(&c, follower).await;
    client.batch_execute("BEGIN; SELECT 1").await.unwrap();
    assert_eq!(grpc.status().await.unwrap().open_sessions, 1);
    drop(client);
    let start = Instant::now();
    loop {
        let open = grpc.status().await.unwrap().open_sessions;
        if open == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{open} session(s) still open on the leader 10 s after the connection closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
