//! Introspection over the protocol: psql's `\d` family printed from our system catalogs
//! (golden files in `tests/psql/`, `*.out`; beside each, `*.pg15` is what PostgreSQL 15
//! prints for the same schema, kept to show the differences), driver queries through
//! tokio-postgres, NOTICEs and ParameterStatus. Set `REGENERATE_GOLDEN=1` to rewrite the
//! `*.out` files, then review the diff.

#![expect(
    clippy::unwrap_used,
    reason = "tests fail loudly on any unexpected error"
)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chronos_pg::{PgConfig, PgServer};
use tokio_postgres::{AsyncMessage, Client, NoTls, SimpleQueryMessage};

async fn start() -> SocketAddr {
    let engine = chronos_sql::Engine::temporary().unwrap();
    let server = PgServer::bind("127.0.0.1:0", engine, PgConfig::default())
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());
    addr
}

/// What a connection's background task saw: notices, and the last reported
/// application_name after each poll.
#[derive(Debug, Default)]
struct Seen {
    notices: Vec<String>,
    application_name: Option<String>,
}

async fn connect(addr: SocketAddr, options: &str) -> (Client, Arc<Mutex<Seen>>) {
    let conn = format!(
        "host={} port={} user=root dbname=chronos {options}",
        addr.ip(),
        addr.port()
    );
    let (client, mut connection) = tokio_postgres::connect(&conn, NoTls).await.unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let record = seen.clone();
    tokio::spawn(async move {
        loop {
            let message = std::future::poll_fn(|cx| {
                let polled = connection.poll_message(cx);
                record.lock().unwrap().application_name =
                    connection.parameter("application_name").map(str::to_owned);
                polled
            })
            .await;
            match message {
                Some(Ok(AsyncMessage::Notice(n))) => record.lock().unwrap().notices.push(format!(
                    "{} {}: {}",
                    n.severity(),
                    n.code().code(),
                    n.message()
                )),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            }
        }
    });
    (client, seen)
}

async fn rows(client: &Client, sql: &str) -> Vec<Vec<Option<String>>> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => {
                Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
            }
            _ => None,
        })
        .collect()
}

const SCHEMA: &str = "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT 'x', \
    score FLOAT, ok BOOLEAN); CREATE INDEX t_name ON t (name); \
    CREATE TABLE u (a INTEGER, b VARCHAR(10))";

fn psql() -> Option<&'static str> {
    ["/usr/lib/postgresql/15/bin/psql", "/usr/bin/psql"]
        .into_iter()
        .find(|p| Path::new(p).exists())
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/psql")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_describe_commands_print_our_catalogs() {
    let Some(psql) = psql() else {
        eprintln!("skipping: psql is not installed");
        return;
    };
    let addr = start().await;
    let (client, _) = connect(addr, "").await;
    client.simple_query(SCHEMA).await.unwrap();
    let regenerate = std::env::var_os("REGENERATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for (file, command) in [
        ("d", "\\d"),
        ("dt", "\\dt"),
        ("d_t", "\\d t"),
        ("d_u", "\\d u"),
        ("d_t_pkey", "\\d t_pkey"),
        ("di", "\\di"),
        ("l", "\\l"),
        ("du", "\\du"),
    ] {
        let port = addr.port().to_string();
        let out = tokio::task::spawn_blocking(move || {
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
                .args(["-c", command])
                .env("PGCONNECT_TIMEOUT", "10")
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "{command}: {stderr}"
        );
        let got = String::from_utf8_lossy(&out.stdout).into_owned();
        let path = golden_dir().join(format!("{file}.out"));
        if regenerate {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap();
        if got != want {
            mismatches.push(format!(
                "{command} ({}):\n{got}\nwanted:\n{want}",
                path.display()
            ));
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_introspection_queries_answer() {
    let addr = start().await;
    let (client, _) = connect(addr, "").await;
    client.simple_query(SCHEMA).await.unwrap();
    // tokio-postgres looks up a type it does not know by OID.
    assert_eq!(
        rows(
            &client,
            "SELECT t.typname, t.typtype, t.typelem, r.rngsubtype, t.typbasetype, n.nspname, t.typrelid \
             FROM pg_catalog.pg_type t \
             LEFT OUTER JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid \
             INNER JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid \
             WHERE t.oid = 20"
        )
        .await,
        [[
            Some("int8".into()),
            Some("b".into()),
            Some("0".into()),
            None,
            Some("0".into()),
            Some("pg_catalog".into()),
            Some("0".into())
        ]]
    );
    // psycopg / SQLAlchemy on connect.
    let version = rows(&client, "select pg_catalog.version()").await;
    assert!(
        version[0][0]
            .as_deref()
            .unwrap()
            .starts_with("PostgreSQL 15.0 "),
        "{version:?}"
    );
    assert_eq!(
        rows(&client, "show standard_conforming_strings").await,
        [[Some("on".into())]]
    );
    assert_eq!(
        rows(&client, "select current_schema()").await,
        [[Some("public".into())]]
    );
    assert_eq!(
        rows(&client, "show transaction isolation level").await,
        [[Some("repeatable read".into())]]
    );
    // SQLAlchemy's has_table, in the shape it sends.
    assert_eq!(
        rows(
            &client,
            "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class \
             JOIN pg_catalog.pg_namespace ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \
             WHERE pg_catalog.pg_class.relname = 'u' AND pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p', 'f', 'v', 'm']) \
             AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) \
             AND pg_catalog.pg_namespace.nspname != 'pg_catalog'"
        )
        .await
        .len(),
        1
    );
    // information_schema, as ORMs read columns.
    assert_eq!(
        rows(
            &client,
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = 'u' ORDER BY ordinal_position"
        )
        .await,
        [
            [Some("a".into()), Some("bigint".into()), Some("YES".into())],
            [
                Some("b".into()),
                Some("character varying".into()),
                Some("YES".into())
            ]
        ]
    );
}

#[tokio::test]
async fn notices_and_parameter_status_reach_the_client() {
    let addr = start().await;
    let (client, seen) = connect(addr, "application_name=first").await;
    assert_eq!(
        rows(&client, "SHOW application_name").await,
        [[Some("first".into())]]
    );
    assert_eq!(
        seen.lock().unwrap().application_name.as_deref(),
        Some("first")
    );
    client
        .simple_query("SET application_name = 'second'")
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().application_name.as_deref(),
        Some("second")
    );
    client
        .simple_query("DROP TABLE IF EXISTS missing")
        .await
        .unwrap();
    assert_eq!(
        seen.lock().unwrap().notices,
        ["NOTICE 00000: table \"missing\" does not exist, skipping"]
    );
}
