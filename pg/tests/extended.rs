//! The extended query protocol against real clients: tokio-postgres prepared statements
//! (binary parameters and results; pgbench sends text-format ones), portals fetched in chunks,
//! SQLSTATEs of errors in an extended batch, and pgbench -M extended / -M prepared (skipped
//! where pgbench is absent). Each test starts its own server over an in-memory engine.

#![expect(
    clippy::unwrap_used,
    reason = "tests fail loudly on any unexpected error"
)]

use std::net::SocketAddr;

use chronos_pg::{PgConfig, PgServer};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};

async fn start() -> SocketAddr {
    let engine = chronos_sql::Engine::temporary().unwrap();
    let server = PgServer::bind("127.0.0.1:0", engine, PgConfig::default())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    addr
}

async fn connect(addr: SocketAddr) -> Client {
    let conn = format!(
        "host={} port={} user=root dbname=chronos",
        addr.ip(),
        addr.port()
    );
    let (client, connection) = tokio_postgres::connect(&conn, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

fn code(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no SQLSTATE: {e}"))
}

async fn setup(client: &Client) {
    client
        .batch_execute(
            "CREATE TABLE t (id INT PRIMARY KEY, v TEXT, f FLOAT, b BOOLEAN);
             INSERT INTO t VALUES (1, 'one', 1.5, true), (2, 'two', 2.5, false), (3, NULL, NULL, NULL)",
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statements_describe_real_types_and_run_in_binary() {
    let addr = start().await;
    let client = connect(addr).await;
    setup(&client).await;
    let st = client
        .prepare("SELECT id, v, f, b FROM t WHERE id = $1 AND v <> $2 AND f < $3 AND b = $4")
        .await
        .unwrap();
    assert_eq!(
        st.params(),
        [Type::INT8, Type::TEXT, Type::FLOAT8, Type::BOOL]
    );
    let types: Vec<Type> = st.columns().iter().map(|c| c.type_().clone()).collect();
    assert_eq!(types, [Type::INT8, Type::TEXT, Type::FLOAT8, Type::BOOL]);
    // tokio-postgres sends these parameters and reads these results in binary.
    let row = client
        .query_one(&st, &[&1i64, &"x", &2.0f64, &true])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
    assert_eq!(row.get::<_, String>(1), "one");
    assert_eq!(row.get::<_, f64>(2), 1.5);
    assert!(row.get::<_, bool>(3));
    // The same statement with other values: the cached plan runs again.
    let rows = client
        .query(&st, &[&2i64, &"x", &9.0f64, &false])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, &str>(1), "two");
    // NULL parameters and results.
    let row = client
        .query_one("SELECT v, f, b FROM t WHERE id = $1", &[&3i64])
        .await
        .unwrap();
    assert_eq!(row.get::<_, Option<String>>(0), None);
    assert_eq!(row.get::<_, Option<f64>>(1), None);
    assert_eq!(row.get::<_, Option<bool>>(2), None);
    let n = client
        .execute(
            "INSERT INTO t VALUES ($1, $2, $3, $4)",
            &[&4i64, &None::<String>, &Some(-0.25f64), &None::<bool>],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = client
        .execute("UPDATE t SET v = $1 WHERE id >= $2", &[&"many", &3i64])
        .await
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_parameter_types_are_honoured_in_both_formats() {
    let addr = start().await;
    let client = connect(addr).await;
    setup(&client).await;
    // Declared int4/float4/varchar: described back as declared, read at their width.
    let st = client
        .prepare_typed(
            "SELECT id FROM t WHERE id = $1 AND f < $2 AND v = $3",
            &[Type::INT4, Type::FLOAT4, Type::VARCHAR],
        )
        .await
        .unwrap();
    assert_eq!(st.params(), [Type::INT4, Type::FLOAT4, Type::VARCHAR]);
    let row = client
        .query_one(&st, &[&2i32, &3.0f32, &"two"])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 2);
    // A type we do not support is refused at Parse, not read as something else.
    let e = client
        .prepare_typed("SELECT $1", &[Type::BYTEA])
        .await
        .unwrap_err();
    assert_eq!(code(&e), "0A000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portals_are_fetched_in_chunks_without_rerunning() {
    let addr = start().await;
    let mut client = connect(addr).await;
    client
        .batch_execute("CREATE TABLE n (i INT PRIMARY KEY)")
        .await
        .unwrap();
    let insert = client.prepare("INSERT INTO n VALUES ($1)").await.unwrap();
    for i in 0..25i64 {
        client.execute(&insert, &[&i]).await.unwrap();
    }
    let tx = client.transaction().await.unwrap();
    let st = tx
        .prepare("SELECT i FROM n WHERE i >= $1 ORDER BY i")
        .await
        .unwrap();
    let portal = tx.bind(&st, &[&3i64]).await.unwrap();
    let mut seen = Vec::new();
    let mut chunks = 0;
    loop {
        let rows = tx.query_portal(&portal, 5).await.unwrap();
        if rows.is_empty() {
            break;
        }
        chunks += 1;
        // A write between chunks: the cursor keeps its snapshot, and the session is free.
        tx.execute(&insert, &[&(100 + i64::from(chunks))])
            .await
            .unwrap();
        seen.extend(rows.iter().map(|r| r.get::<_, i64>(0)));
    }
    assert_eq!(seen, (3..25).collect::<Vec<i64>>());
    assert_eq!(chunks, 5);
    tx.commit().await.unwrap();
    let n: i64 = client
        .query_one("SELECT count(*) FROM n", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_in_the_extended_protocol_carry_their_sqlstate() {
    let addr = start().await;
    let client = connect(addr).await;
    setup(&client).await;
    let cases: [(&str, &[&(dyn ToSql + Sync)], &str); 4] = [
        ("SELECT * FROM missing WHERE id = $1", &[&1i64], "42P01"),
        ("SELECT 1/$1", &[&0i64], "22012"),
        ("INSERT INTO t (id) VALUES ($1)", &[&1i64], "23505"),
        ("SELEC 1", &[], "42601"),
    ];
    for (sql, params, want) in cases {
        let e = client.query(sql, params).await.unwrap_err();
        assert_eq!(code(&e), want, "{sql}");
    }
    // The connection is still usable, and a transaction survives Syncs until an error
    // aborts it (25P02) and ROLLBACK ends it.
    client.batch_execute("BEGIN").await.unwrap();
    client
        .execute("INSERT INTO t (id) VALUES ($1)", &[&10i64])
        .await
        .unwrap();
    let e = client.query("SELECT 1/$1", &[&0i64]).await.unwrap_err();
    assert_eq!(code(&e), "22012");
    let e = client.query("SELECT $1::int", &[&1i64]).await.unwrap_err();
    assert_eq!(code(&e), "25P02");
    client.batch_execute("ROLLBACK").await.unwrap();
    let row = client
        .query_one("SELECT count(*) FROM t WHERE id = $1", &[&10i64])
        .await
        .unwrap();
    // Aggregates are typed: count(*) is a bigint (it was described as text).
    assert_eq!(row.get::<_, i64>(0), 0);
    // SQL PREPARE'd statements share the namespace; EXECUTE works through the protocol.
    client
        .batch_execute("PREPARE byid (INT) AS SELECT v FROM t WHERE id = $1")
        .await
        .unwrap();
    let e = client
        .batch_execute("PREPARE byid AS SELECT 1")
        .await
        .unwrap_err();
    assert_eq!(code(&e), "42P05");
    let rows = client.simple_query("EXECUTE byid(1)").await.unwrap();
    let got: Vec<String> = rows
        .iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
            tokio_postgres::SimpleQueryMessage::CommandComplete(n) => Some(format!("tag {n}")),
            _ => None,
        })
        .collect();
    assert_eq!(got, ["one", "tag 1"]);
    let e = client.batch_execute("EXECUTE nope(1)").await.unwrap_err();
    assert_eq!(code(&e), "26000");
}

/// pgbench with a custom script in each of its protocol modes, for a few seconds each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_extended_and_prepared_modes_run_without_failures() {
    let pgbench = ["/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let Some(pgbench) = pgbench else {
        eprintln!("skipping: pgbench is not installed");
        return;
    };
    let addr = start().await;
    let client = connect(addr).await;
    client
        .batch_execute("CREATE TABLE kv (id INT PRIMARY KEY, v INT)")
        .await
        .unwrap();
    let insert = client
        .prepare("INSERT INTO kv VALUES ($1, $2)")
        .await
        .unwrap();
    for i in 1..=100i64 {
        client.execute(&insert, &[&i, &(i * 10)]).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sql");
    std::fs::write(
        &script,
        "\\set id random(1, 100)\nSELECT v FROM kv WHERE id = :id;\nUPDATE kv SET v = v + 1 WHERE id = :id;\n",
    )
    .unwrap();
    for mode in ["extended", "prepared", "simple"] {
        let port = addr.port().to_string();
        let script = script.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new(pgbench)
                .args(["-n", "-h", "127.0.0.1", "-p", &port, "-U", "root"])
                .args(["-M", mode, "-c", "2", "-T", "3", "--max-tries", "20", "-f"])
                .arg(&script)
                .arg("chronos")
                .env("PGCONNECT_TIMEOUT", "10")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{mode}: {stdout}\n{stderr}");
        assert!(
            stdout.contains("number of failed transactions: 0"),
            "{mode}: {stdout}\n{stderr}"
        );
        let processed = stdout
            .lines()
            .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
            .and_then(|n| n.split('/').next()?.trim().parse::<u64>().ok())
            .unwrap_or(0);
        assert!(processed > 0, "{mode}: {stdout}");
        eprintln!("pgbench -M {mode}: {processed} transactions in 3 s");
    }
}

/// A bare protocol connection, for the message sequences drivers hide.
struct Raw(tokio::net::TcpStream);

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        use tokio::io::AsyncWriteExt;
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let params = b"user\0root\0database\0chronos\0\0";
        let mut msg = (8 + params.len() as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&196608i32.to_be_bytes());
        msg.extend_from_slice(params);
        s.write_all(&msg).await.unwrap();
        let mut raw = Raw(s);
        raw.until_ready().await;
        raw
    }

    async fn send(&mut self, kind: u8, body: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let mut msg = vec![kind];
        msg.extend_from_slice(&(4 + body.len() as i32).to_be_bytes());
        msg.extend_from_slice(body);
        self.0.write_all(&msg).await.unwrap();
    }

    /// Messages up to and including ReadyForQuery.
    async fn until_ready(&mut self) -> Vec<(u8, Vec<u8>)> {
        use tokio::io::AsyncReadExt;
        let mut out = Vec::new();
        loop {
            let mut head = [0u8; 5];
            self.0.read_exact(&mut head).await.unwrap();
            let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
            let mut body = vec![0; len - 4];
            self.0.read_exact(&mut body).await.unwrap();
            let done = head[0] == b'Z';
            out.push((head[0], body));
            if done {
                return out;
            }
        }
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn parse(name: &str, sql: &str) -> Vec<u8> {
    [cstr(name), cstr(sql), 0i16.to_be_bytes().to_vec()].concat()
}

/// Bind with no parameters and every result column in `result_format`.
fn bind(portal: &str, statement: &str, result_format: i16) -> Vec<u8> {
    [
        cstr(portal),
        cstr(statement),
        0i16.to_be_bytes().to_vec(),
        0i16.to_be_bytes().to_vec(),
        1i16.to_be_bytes().to_vec(),
        result_format.to_be_bytes().to_vec(),
    ]
    .concat()
}

fn execute(portal: &str, max_rows: i32) -> Vec<u8> {
    [cstr(portal), max_rows.to_be_bytes().to_vec()].concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_extended_batches_suspend_portals_and_skip_to_sync_after_an_error() {
    let addr = start().await;
    let client = connect(addr).await;
    client
        .batch_execute("CREATE TABLE n (i INT PRIMARY KEY); INSERT INTO n VALUES (1), (2), (3)")
        .await
        .unwrap();
    let mut raw = Raw::connect(addr).await;
    // An error at Parse: Bind and Execute are skipped, Sync answers ReadyForQuery.
    raw.send(b'P', &parse("", "SELEC 1")).await;
    raw.send(b'B', &bind("", "", 0)).await;
    raw.send(b'E', &execute("", 0)).await;
    raw.send(b'S', &[]).await;
    let msgs = raw.until_ready().await;
    let kinds: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(kinds, b"EZ");
    assert_eq!(msgs[1].1, b"I");
    // A portal executed two rows at a time, results in binary.
    raw.send(b'P', &parse("s", "SELECT i FROM n ORDER BY i"))
        .await;
    raw.send(b'B', &bind("p", "s", 1)).await;
    raw.send(b'D', &[b"P".to_vec(), cstr("p")].concat()).await;
    for _ in 0..3 {
        raw.send(b'E', &execute("p", 2)).await;
    }
    raw.send(b'S', &[]).await;
    let msgs = raw.until_ready().await;
    let kinds: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(String::from_utf8_lossy(&kinds), "12TDDsDCCZ");
    // The RowDescription says binary (the last two bytes of the field), the rows are int8s.
    let desc = &msgs[2].1;
    assert_eq!(desc[desc.len() - 2..], [0, 1]);
    let values: Vec<i64> = msgs
        .iter()
        .filter(|m| m.0 == b'D')
        .map(|m| i64::from_be_bytes(m.1[6..14].try_into().unwrap()))
        .collect();
    assert_eq!(values, [1, 2, 3]);
    let tags: Vec<&[u8]> = msgs
        .iter()
        .filter(|m| m.0 == b'C')
        .map(|m| &m.1[..])
        .collect();
    assert_eq!(tags, [&b"SELECT 1\0"[..], b"SELECT 0\0"]);
    // Outside a transaction block Sync closed the portal; the statement remains.
    raw.send(b'E', &execute("p", 0)).await;
    raw.send(b'S', &[]).await;
    let msgs = raw.until_ready().await;
    assert_eq!(msgs[0].0, b'E');
    assert!(String::from_utf8_lossy(&msgs[0].1).contains("34000"));
    raw.send(b'B', &bind("", "s", 0)).await;
    raw.send(b'E', &execute("", 0)).await;
    raw.send(b'S', &[]).await;
    let kinds: Vec<u8> = raw.until_ready().await.iter().map(|m| m.0).collect();
    assert_eq!(kinds, b"2DDDCZ");
}
