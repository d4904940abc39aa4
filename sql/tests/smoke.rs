#![expect(clippy::unwrap_used, reason = "tests")]
use chronos_sql::{Engine, StatementResult, Value};

fn run(s: &mut chronos_sql::Session, sql: &str) -> Vec<Vec<Value>> {
    let mut last = Vec::new();
    for r in s.execute(sql) {
        if let StatementResult::Query { rows, .. } = r.unwrap_or_else(|e| panic!("{sql}: {e}")) {
            last = rows
        }
    }
    last
}

#[test]
fn smoke() {
    let engine = Engine::temporary().unwrap();
    let mut s = engine.session();
    run(
        &mut s,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score FLOAT DEFAULT 1.5)",
    );
    run(
        &mut s,
        "INSERT INTO t (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')",
    );
    let rows = run(
        &mut s,
        "SELECT id, name, score FROM t WHERE id >= 2 ORDER BY id DESC",
    );
    assert_eq!(
        rows,
        vec![
            vec![
                Value::Integer(3),
                Value::Text("c".into()),
                Value::Float(1.5)
            ],
            vec![
                Value::Integer(2),
                Value::Text("b".into()),
                Value::Float(1.5)
            ]
        ]
    );
    let rows = run(&mut s, "SELECT count(*), sum(id), avg(score) FROM t");
    assert_eq!(
        rows,
        vec![vec![
            Value::Integer(3),
            Value::Integer(6),
            Value::Float(1.5)
        ]]
    );
    run(
        &mut s,
        "CREATE TABLE u (tid INTEGER, v TEXT); INSERT INTO u VALUES (1, 'x'), (1, 'y'), (3, 'z')",
    );
    let rows = run(
        &mut s,
        "SELECT t.name, u.v FROM t JOIN u ON t.id = u.tid ORDER BY 1, 2",
    );
    assert_eq!(rows.len(), 3);
    let rows = run(
        &mut s,
        "SELECT name, (SELECT count(*) FROM u WHERE u.tid = t.id) FROM t ORDER BY name",
    );
    assert_eq!(rows[0], vec![Value::Text("a".into()), Value::Integer(2)]);
    let rows = run(
        &mut s,
        "SELECT tid, count(*) FROM u GROUP BY tid HAVING count(*) > 1",
    );
    assert_eq!(rows, vec![vec![Value::Integer(1), Value::Integer(2)]]);
    run(&mut s, "UPDATE t SET id = id + 1");
    let rows = run(&mut s, "SELECT id FROM t ORDER BY id");
    assert_eq!(
        rows,
        vec![
            vec![Value::Integer(2)],
            vec![Value::Integer(3)],
            vec![Value::Integer(4)]
        ]
    );
    run(&mut s, "DELETE FROM t WHERE id = 3");
    let rows = run(&mut s, "SELECT count(*) FROM t");
    assert_eq!(rows, vec![vec![Value::Integer(2)]]);
    let err = s
        .execute("INSERT INTO t VALUES (2, 'dup', 0)")
        .pop()
        .unwrap()
        .unwrap_err();
    assert_eq!(err.state.code(), "23505");
    run(&mut s, "CREATE INDEX t_name ON t (name)");
    let plan = s
        .execute("EXPLAIN SELECT * FROM t WHERE name = 'a'")
        .pop()
        .unwrap()
        .unwrap();
    let StatementResult::Explain { lines } = plan else {
        panic!()
    };
    assert!(
        lines.iter().any(|l| l.contains("Index t_name")),
        "{lines:?}"
    );
    let rows = run(&mut s, "SELECT id FROM t WHERE name = 'a'");
    assert_eq!(rows, vec![vec![Value::Integer(2)]]);
}
