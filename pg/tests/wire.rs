//! The PostgreSQL protocol against real clients: tokio-postgres, psql (skipped where absent)
//! and a raw socket for what drivers hide (type OIDs, ReadyForQuery states, malformed input).
//! Each test starts its own server on 127.0.0.1 port 0 over an in-memory engine.

#![expect(
    clippy::unwrap_used,
    reason = "tests fail loudly on any unexpected error"
)]

use std::net::SocketAddr;
use std::time::Duration;

use chronos_pg::{PgConfig, PgServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

async fn start(config: PgConfig) -> SocketAddr {
    let engine = chronos_sql::Engine::temporary().unwrap();
    let server = PgServer::bind("127.0.0.1:0", engine, config).await.unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    addr
}

async fn connect_as(
    addr: SocketAddr,
    user: &str,
    db: &str,
) -> Result<Client, tokio_postgres::Error> {
    let conn = format!(
        "host={} port={} user={user} dbname={db}",
        addr.ip(),
        addr.port()
    );
    let (client, connection) = tokio_postgres::connect(&conn, NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn connect(addr: SocketAddr) -> Client {
    connect_as(addr, "root", "chronos").await.unwrap()
}

/// The rows of a simple query, as text (None for NULL).
async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_queries_return_postgresql_text_and_tags() {
    let addr = start(PgConfig::default()).await;
    let client = connect(addr).await;
    let msgs = client
        .simple_query(
            "CREATE TABLE t (id INT PRIMARY KEY, name TEXT, ok BOOLEAN, f FLOAT);
             INSERT INTO t VALUES (1, 'a', true, 1.5), (2, NULL, false, 1e20);
             UPDATE t SET name = 'b' WHERE id = 2;
             DELETE FROM t WHERE id = 3",
        )
        .await
        .unwrap();
    let counts: Vec<u64> = msgs
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(counts, [0, 2, 1, 0]);
    let got = rows(&client, "SELECT id, name, ok, f FROM t ORDER BY id").await;
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        [
            [s("1"), s("a"), s("t"), s("1.5")],
            [s("2"), s("b"), s("f"), s("1e+20")]
        ]
    );
    assert_eq!(rows(&client, "SELECT NULL").await, [[None]]);
    // More rows than the session thread's event queue holds, so the stream must flow.
    let values: Vec<String> = (10..1010)
        .map(|i| format!("({i}, 'x', true, 0.5)"))
        .collect();
    client
        .batch_execute(&format!("INSERT INTO t VALUES {}", values.join(",")))
        .await
        .unwrap();
    assert_eq!(rows(&client, "SELECT * FROM t").await.len(), 1002);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_carry_sqlstate_message_and_detail() {
    let addr = start(PgConfig::default()).await;
    let client = connect(addr).await;
    let e = client.batch_execute("SELECT 1/0").await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::DIVISION_BY_ZERO));
    let e = client
        .batch_execute("SELECT * FROM missing")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNDEFINED_TABLE));
    let e = client.batch_execute("SELEC 1").await.unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::SYNTAX_ERROR));
    client
        .batch_execute("CREATE TABLE u (k INT PRIMARY KEY); INSERT INTO u VALUES (1)")
        .await
        .unwrap();
    let e = client
        .batch_execute("INSERT INTO u VALUES (1)")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::UNIQUE_VIOLATION), "{e:?}");
    let db = e.as_db_error().unwrap();
    assert!(!db.message().is_empty());
    // Session parameters: the value we implement is accepted, another refused (22023).
    client
        .batch_execute("SET extra_float_digits = 3; SET client_encoding = 'UTF8'")
        .await
        .unwrap();
    assert_eq!(
        rows(&client, "SHOW DateStyle").await,
        [[Some("ISO, MDY".to_owned())]]
    );
    let e = client
        .batch_execute("SET client_encoding = 'LATIN1'")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(&SqlState::INVALID_PARAMETER_VALUE));
    assert!(e.as_db_error().unwrap().detail().is_some(), "{e:?}");
    // The connection is still usable after errors.
    assert_eq!(rows(&client, "SELECT 7").await, [[Some("7".to_owned())]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_refuses_unknown_database_and_user() {
    let addr = start(PgConfig::default()).await;
    let e = connect_as(addr, "root", "postgres").await.err().unwrap();
    assert_eq!(code(&e), "3D000");
    let e = connect_as(addr, "bob", "chronos").await.err().unwrap();
    assert_eq!(code(&e), "28000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_get_53300_and_slots_come_back() {
    let addr = start(PgConfig { max_connections: 2 }).await;
    let a = connect(addr).await;
    let b = connect(addr).await;
    let e = connect_as(addr, "root", "chronos").await.err().unwrap();
    assert_eq!(code(&e), "53300");
    drop(a);
    // The slot is released when the server notices the closed socket; poll (bounded).
    let mut c = None;
    for _ in 0..100 {
        match connect_as(addr, "root", "chronos").await {
            Ok(client) => {
                c = Some(client);
                break;
            }
            Err(e) => {
                assert_eq!(code(&e), "53300");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    let c = c.expect("a slot is free again after a client left");
    assert_eq!(rows(&c, "SELECT 1").await.len(), 1);
    assert_eq!(rows(&b, "SELECT 1").await.len(), 1);
}

/// A table whose four-way self-join runs for minutes: 200⁴ = 1.6 billion rows to count.
async fn slow_setup(client: &Client) -> &'static str {
    let values: Vec<String> = (0..200).map(|i| format!("({i})")).collect();
    client
        .batch_execute(&format!(
            "CREATE TABLE big (k INT PRIMARY KEY); INSERT INTO big VALUES {}",
            values.join(",")
        ))
        .await
        .unwrap();
    "SELECT count(*) FROM big a, big b, big c, big d"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_stops_the_running_statement() {
    let addr = start(PgConfig::default()).await;
    let client = connect(addr).await;
    let slow = slow_setup(&client).await;
    let token = client.cancel_token();
    let query = tokio::spawn(async move {
        let r = client.simple_query(slow).await;
        (client, r)
    });
    // A cancel that arrives before the statement starts is lost (as in PostgreSQL), so
    // repeat it until the statement has ended.
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
    let Err(e) = r else {
        panic!("the statement finished instead of being cancelled")
    };
    assert_eq!(e.code(), Some(&SqlState::QUERY_CANCELED), "{e:?}");
    assert_eq!(rows(&client, "SELECT 1").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_works_over_the_protocol() {
    let addr = start(PgConfig::default()).await;
    let client = connect(addr).await;
    let slow = slow_setup(&client).await;
    client
        .batch_execute("SET statement_timeout = 50")
        .await
        .unwrap();
    assert_eq!(
        rows(&client, "SHOW statement_timeout").await,
        [[Some("50ms".to_owned())]]
    );
    let e = client.simple_query(slow).await.err().unwrap();
    assert_eq!(e.code(), Some(&SqlState::QUERY_CANCELED), "{e:?}");
}

/// A bare protocol client: what drivers do not show (type OIDs, ReadyForQuery's state).
struct Raw {
    s: TcpStream,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let params = b"user\0root\0database\0chronos\0\0";
        let mut msg = Vec::new();
        msg.extend_from_slice(&(8 + params.len() as i32).to_be_bytes());
        msg.extend_from_slice(&196608i32.to_be_bytes());
        msg.extend_from_slice(params);
        s.write_all(&msg).await.unwrap();
        let mut raw = Raw { s };
        raw.until_ready().await;
        raw
    }

    /// The next message, or None at end of stream.
    async fn next(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut head = [0u8; 5];
        self.s.read_exact(&mut head).await.ok()?;
        let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut body = vec![0; len - 4];
        self.s.read_exact(&mut body).await.ok()?;
        Some((head[0], body))
    }

    /// Messages up to and including ReadyForQuery.
    async fn until_ready(&mut self) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        loop {
            let m = self
                .next()
                .await
                .expect("connection open until ReadyForQuery");
            let done = m.0 == b'Z';
            out.push(m);
            if done {
                return out;
            }
        }
    }

    async fn send(&mut self, kind: u8, body: &[u8]) {
        let mut msg = vec![kind];
        msg.extend_from_slice(&(4 + body.len() as i32).to_be_bytes());
        msg.extend_from_slice(body);
        self.s.write_all(&msg).await.unwrap();
    }

    async fn query(&mut self, sql: &str) -> Vec<(u8, Vec<u8>)> {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        self.send(b'Q', &body).await;
        self.until_ready().await
    }

    /// The transaction state ReadyForQuery reports after `sql`.
    async fn state_after(&mut self, sql: &str) -> char {
        let msgs = self.query(sql).await;
        msgs.last().unwrap().1[0] as char
    }
}

/// The type OIDs of a RowDescription body.
fn type_oids(body: &[u8]) -> Vec<u32> {
    let n = i16::from_be_bytes([body[0], body[1]]) as usize;
    let mut at = 2;
    let mut oids = Vec::new();
    for _ in 0..n {
        at += body[at..].iter().position(|&b| b == 0).unwrap() + 1;
        at += 4 + 2;
        oids.push(u32::from_be_bytes(body[at..at + 4].try_into().unwrap()));
        at += 4 + 2 + 4 + 2;
    }
    oids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn row_description_has_real_type_oids() {
    let addr = start(PgConfig::default()).await;
    let mut raw = Raw::connect(addr).await;
    let msgs = raw.query("SELECT true, 1, 1.5, 'x', NULL").await;
    let desc = msgs.iter().find(|m| m.0 == b'T').unwrap();
    assert_eq!(type_oids(&desc.1), [16, 20, 701, 25, 25]);
    let tags: Vec<&[u8]> = msgs
        .iter()
        .filter(|m| m.0 == b'C')
        .map(|m| &m.1[..])
        .collect();
    assert_eq!(tags, [b"SELECT 1\0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn char_and_datetime_columns_have_their_oids_and_postgresql_text() {
    let addr = start(PgConfig::default()).await;
    let mut raw = Raw::connect(addr).await;
    let msgs = raw
        .query(
            "SELECT 'ab'::char(4), TIMESTAMP '2020-01-02 03:04:05.5', \
             '2020-01-02 03:04:05+02'::timestamptz, DATE '0044-03-15 BC'",
        )
        .await;
    let desc = msgs.iter().find(|m| m.0 == b'T').unwrap();
    assert_eq!(type_oids(&desc.1), [1042, 1114, 1184, 1082]);
    let client = connect(addr).await;
    // What psql shows for the same query against PostgreSQL 15 with TimeZone UTC.
    let got = rows(
        &client,
        "SELECT 'ab'::char(4), TIMESTAMP '2020-01-02 03:04:05.5', \
         '2020-01-02 03:04:05+02'::timestamptz, DATE '0044-03-15 BC'",
    )
    .await;
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        [[
            s("ab  "),
            s("2020-01-02 03:04:05.5"),
            s("2020-01-02 01:04:05+00"),
            s("0044-03-15 BC")
        ]]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_for_query_reports_the_transaction_state() {
    let addr = start(PgConfig::default()).await;
    let mut raw = Raw::connect(addr).await;
    assert_eq!(raw.state_after("SELECT 1").await, 'I');
    assert_eq!(raw.state_after("BEGIN").await, 'T');
    assert_eq!(raw.state_after("SELECT 1").await, 'T');
    assert_eq!(raw.state_after("SELECT nope").await, 'E');
    assert_eq!(raw.state_after("SELECT 1").await, 'E');
    assert_eq!(raw.state_after("ROLLBACK").await, 'I');
    assert_eq!(raw.state_after("BEGIN; SELECT 1/0").await, 'E');
    assert_eq!(raw.state_after("COMMIT").await, 'I');
    // An empty query answers EmptyQueryResponse.
    let msgs = raw.query(" ; ").await;
    assert_eq!(msgs[0].0, b'I');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_closes_only_its_connection() {
    let addr = start(PgConfig::default()).await;
    let client = connect(addr).await;
    let mut bad = Raw::connect(addr).await;
    // An unknown message type, then a length field that claims 2 GiB.
    bad.send(b'!', b"garbage").await;
    bad.s
        .write_all(&[b'Q', 0x7f, 0xff, 0xff, 0xff])
        .await
        .unwrap();
    let mut closed = false;
    for _ in 0..10 {
        if bad.next().await.is_none() {
            closed = true;
            break;
        }
    }
    assert!(closed, "the server closed the connection that sent garbage");
    assert_eq!(rows(&client, "SELECT 1").await.len(), 1);
    let mut good = Raw::connect(addr).await;
    assert_eq!(good.state_after("SELECT 1").await, 'I');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_prints_a_small_table() {
    let psql = ["/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(psql) = psql else {
        eprintln!("skipping: psql is not installed");
        return;
    };
    let addr = start(PgConfig::default()).await;
    let port = addr.port().to_string();
    let run = |sql: &'static str| {
        let port = port.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(psql)
                .args([
                    "-X",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "root",
                    "-d",
                    "chronos",
                ])
                .args(["-c", sql])
                .env("PGCONNECT_TIMEOUT", "10")
                .output()
                .unwrap()
        })
    };
    let out = run("CREATE TABLE pets (id INT PRIMARY KEY, name TEXT, good BOOLEAN)")
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run("INSERT INTO pets VALUES (1, 'Rex', true), (2, 'Tom', false)")
        .await
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "INSERT 0 2\n");
    let out = run("SELECT * FROM pets ORDER BY id").await.unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        " id | name | good \n----+------+------\n  1 | Rex  | t\n  2 | Tom  | f\n(2 rows)\n\n"
    );
    let out = run("SELECT 1/0").await.unwrap();
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR:  division by zero\n"
    );
}
