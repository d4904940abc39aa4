//! Issue 10 item 1, "query of death": long flat chains are evaluated, unbounded nesting is a
//! clean 54001, and nothing overflows the stack of a default-sized (2 MiB) thread.
#![expect(clippy::unwrap_used, reason = "tests")]

use chronos_sql::{Engine, Result, Session, SqlState, StatementResult, Value};

/// Runs `f` on a thread with Rust's default 2 MiB stack: what a tokio worker or a blocking-pool
/// thread of a cluster node gets.
fn on_default_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

fn session_with_table(rows: i64) -> Session {
    let engine = Engine::temporary().unwrap();
    let mut s = engine.session();
    let values: Vec<String> = (0..rows).map(|i| format!("({i}, {})", i % 7)).collect();
    for r in s.execute(&format!(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES {}",
        values.join(", ")
    )) {
        r.unwrap();
    }
    s
}

fn last(s: &mut Session, sql: &str) -> Result<StatementResult> {
    s.execute(sql).pop().unwrap()
}

fn rows(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    match last(s, sql) {
        Ok(StatementResult::Query { rows, .. }) => rows,
        other => panic!("{}: {other:?}", &sql[..sql.len().min(200)]),
    }
}

fn chain(n: usize, term: impl Fn(usize) -> String, sep: &str) -> String {
    (0..n).map(term).collect::<Vec<_>>().join(sep)
}

#[test]
fn a_thousand_term_or_filter_is_answered() {
    on_default_stack(|| {
        let mut s = session_with_table(1200);
        let filter = chain(1000, |i| format!("id = {i}"), " OR ");
        let got = rows(&mut s, &format!("SELECT count(*) FROM t WHERE {filter}"));
        assert_eq!(got, vec![vec![Value::Integer(1000)]]);
    });
}

#[test]
fn ten_thousand_term_and_and_or_chains_are_answered() {
    on_default_stack(|| {
        let mut s = session_with_table(50);
        let ors = chain(10_000, |i| format!("id = {i}"), " OR ");
        let got = rows(&mut s, &format!("SELECT count(*) FROM t WHERE {ors}"));
        assert_eq!(got, vec![vec![Value::Integer(50)]]);
        let ands = chain(10_000, |i| format!("id <> {}", i + 10), " AND ");
        let got = rows(&mut s, &format!("SELECT count(*) FROM t WHERE {ands}"));
        assert_eq!(got, vec![vec![Value::Integer(10)]]);
        // The same chains as select-list expressions, grouped, in HAVING, and through EXPLAIN.
        let v_ors = chain(10_000, |i| format!("v = {i}"), " OR ");
        let v_ands = chain(10_000, |i| format!("v <> {}", i + 10), " AND ");
        let got = rows(
            &mut s,
            &format!("SELECT v, {v_ors} FROM t GROUP BY v HAVING {v_ands} ORDER BY v LIMIT 1"),
        );
        assert_eq!(got, vec![vec![Value::Integer(0), Value::Boolean(true)]]);
        assert!(last(&mut s, &format!("EXPLAIN SELECT id FROM t WHERE {ands}")).is_ok());
        // Constant chains are folded.
        let got = rows(
            &mut s,
            &format!("SELECT {}", chain(10_000, |_| "true".into(), " AND ")),
        );
        assert_eq!(got, vec![vec![Value::Boolean(true)]]);
    });
}

#[test]
fn long_arithmetic_chains_are_answered_left_to_right() {
    on_default_stack(|| {
        let mut s = session_with_table(3);
        let sum = chain(5_000, |i| (i % 10).to_string(), " + ");
        let got = rows(&mut s, &format!("SELECT {sum}"));
        assert_eq!(got, vec![vec![Value::Integer(22_500)]]);
        let got = rows(
            &mut s,
            &format!("SELECT id FROM t WHERE id + {sum} = 22502"),
        );
        assert_eq!(got, vec![vec![Value::Integer(2)]]);
        let mixed = chain(
            5_000,
            |i| format!("{} {}", if i % 2 == 0 { "+" } else { "-" }, i),
            " ",
        );
        let got = rows(&mut s, &format!("SELECT 0 {mixed}"));
        assert_eq!(got, vec![vec![Value::Integer(-2_500)]]);
        let concat = chain(5_000, |_| "'x'".into(), " || ");
        let got = rows(&mut s, &format!("SELECT length({concat})"));
        assert_eq!(got, vec![vec![Value::Integer(5_000)]]);
        // Left to right, as PostgreSQL evaluates it: the overflow happens before the -1.
        let err = last(&mut s, "SELECT 9223372036854775807 + 1 + -1").unwrap_err();
        assert_eq!(err.state, SqlState::NumericValueOutOfRange);
    });
}

#[test]
fn unbounded_nesting_is_statement_too_complex() {
    on_default_stack(|| {
        let mut s = session_with_table(1);
        for sql in [
            format!("SELECT {}1{}", "(".repeat(100_000), ")".repeat(100_000)),
            format!("SELECT {}1", "- ".repeat(100_000)),
            format!("SELECT {}true", "NOT ".repeat(1_500)),
            format!("SELECT {}1{}", "abs(".repeat(20_000), ")".repeat(20_000)),
            // Found by the SQL fuzzer (sqlparser backtracked for a minute on these).
            format!(
                "SELECT {}1{}",
                "CASE WHEN TRUE THEN ".repeat(3_000),
                " END".repeat(3_000)
            ),
            format!("SELECT {}1{}", "(SELECT ".repeat(5_000), ")".repeat(5_000)),
        ] {
            let err = last(&mut s, &sql).unwrap_err();
            assert_eq!(
                err.state,
                SqlState::StatementTooComplex,
                "{}: {err}",
                &sql[..40]
            );
            assert!(err.message.contains("stack depth limit exceeded"), "{err}");
        }
        // sqlparser reports a NOT chain beyond its own recursion limit as a syntax error
        // rather than as the recursion error; still a clean error.
        let sql = format!("SELECT {}true", "NOT ".repeat(100_000));
        assert!(last(&mut s, &sql).is_err());
        // A 100,000-term chain is long, not deep: answered.
        let sql = format!("SELECT {}", chain(100_000, |i| format!("{i} = 7"), " OR "));
        assert_eq!(rows(&mut s, &sql), vec![vec![Value::Boolean(true)]]);
        // The session still answers.
        assert_eq!(rows(&mut s, "SELECT 1"), vec![vec![Value::Integer(1)]]);
    });
}

#[test]
fn nesting_within_the_limit_is_answered() {
    on_default_stack(|| {
        let mut s = session_with_table(1);
        let depth = chronos_sql::MAX_EXPRESSION_DEPTH - 10;
        for sql in [
            format!("SELECT {}1{}", "(".repeat(depth), ")".repeat(depth)),
            format!("SELECT {}1{}", "abs(".repeat(depth), ")".repeat(depth)),
            format!("SELECT {}1", "- ".repeat(depth)),
        ] {
            let got = rows(&mut s, &sql);
            assert_eq!(got.len(), 1, "{}", &sql[..40]);
        }
        // A subquery level costs two (the query and the expression holding it).
        let depth = chronos_sql::MAX_EXPRESSION_DEPTH / 2 - 10;
        let got = rows(
            &mut s,
            &format!(
                "SELECT {}id{}",
                "(SELECT ".repeat(depth),
                " FROM t)".repeat(depth)
            ),
        );
        assert_eq!(got, vec![vec![Value::Integer(0)]]);
        // Set operations nest to the left.
        let depth = chronos_sql::MAX_EXPRESSION_DEPTH - 10;
        let unions = vec!["SELECT id FROM t"; depth].join(" UNION ALL ");
        assert_eq!(rows(&mut s, &unions).len(), depth);
        let unions = vec!["SELECT id FROM t"; 5_000].join(" UNION ALL ");
        let err = last(&mut s, &unions).unwrap_err();
        assert_eq!(err.state, SqlState::StatementTooComplex);
    });
}

/// From the SQLite sqllogictest corpus (test/index/delete/1/slt_good_0.test): 24 levels of
/// parentheses, which sqlparser's default recursion limit of 50 refused.
#[test]
fn a_deep_sqlite_corpus_query_is_answered() {
    on_default_stack(|| {
        let engine = Engine::temporary().unwrap();
        let mut s = engine.session();
        for r in s.execute(
            "CREATE TABLE tab4(pk INTEGER PRIMARY KEY, col0 INTEGER, col1 FLOAT, col2 TEXT, col3 INTEGER, col4 FLOAT, col5 TEXT);
             INSERT INTO tab4 VALUES (0, 2, 5.69, 'a', 1, 2.55, 'b'), (1, 7, 7.61, 'a', 7, 6.52, 'b'), (2, 3, 0.94, 'a', 0, 8.93, 'b'), (3, 6, 4.33, 'a', 0, 6.96, 'b'), (4, 4, 7.22, 'a', 3, 5.91, 'b'), (5, 1, 9.01, 'a', 0, 0.22, 'b'), (6, 8, 0.09, 'a', 6, 6.86, 'b'), (7, 6, 7.26, 'a', 8, 2.22, 'b'), (8, 7, 9.39, 'a', 8, 2.33, 'b'), (9, 3, 6.77, 'a', 7, 9.52, 'b'), (10, 0, 4.16, 'a', 8, 9.22, 'b'), (11, 1, 1.86, 'a', 4, 1.21, 'b'), (12, 5, 8.96, 'a', 8, 9.36, 'b'), (13, 6, 5.08, 'a', 3, 3.03, 'b'), (14, 9, 9.73, 'a', 7, 8.46, 'b'), (15, 8, 3.93, 'a', 0, 4.8, 'b'), (16, 6, 4.14, 'a', 2, 3.67, 'b'), (17, 5, 0.86, 'a', 8, 1.08, 'b'), (18, 2, 5.21, 'a', 6, 3.71, 'b'), (19, 0, 4.69, 'a', 4, 7.03, 'b')",
        ) {
            r.unwrap();
        }
        let got = rows(&mut s, SQLITE_DEEP);
        // The answer SQLite gives over the same rows.
        assert_eq!(got, vec![vec![Value::Integer(5)]]);
        // The corpus's random/expr style (unary signs and parentheses around every term), 40
        // levels deep: about 80 levels of parser recursion.
        let deep = format!("SELECT ALL {} 7 {}", "- ( + ".repeat(40), ")".repeat(40));
        assert_eq!(rows(&mut s, &deep), vec![vec![Value::Integer(7)]]);
    });
}

const SQLITE_DEEP: &str = "SELECT pk FROM tab4 WHERE NOT (col3 > 1 AND (col3 >= 6 OR col3 > 5 OR (((col3 IS NULL) OR col0 = 4 AND col3 < 2 OR (((col1 IS NULL) OR col0 = 7 OR (col0 > 5) AND col3 > 0)) AND (((col1 = 4.20 AND (col3 IN (0,6,2,9,6,4)) OR col4 < 5.84))) AND ((col3 >= 7)) AND ((col1 IS NULL)) OR col0 < 9 OR col4 IS NULL AND (col0 > 9 AND (col4 <= 7.79) AND (col3 < 0) AND (((col0 > 6 OR (col3 = 2 OR ((col0 >= 8))) AND (col1 > 9.32) AND (col0 = 6 AND col0 IS NULL AND col0 > 6 AND col0 > 9 AND col3 IN (1,8,5,4,1,2) OR col0 >= 7 AND col1 < 9.65 AND col3 < 6 AND col3 <= 2 AND col4 = 4.96 OR (((((col0 < 1 AND col0 > 2 OR col0 <= 5) AND col0 <= 1 AND ((((((col0 <= 9) AND ((col0 > 5)) AND col4 <= 8.98) OR col3 = 0 OR (((((((col3 >= 0))))) AND (col1 = 5.67)))) OR col0 > 5)))) AND col3 > 3 AND col1 >= 7.36 OR col4 <= 7.94 AND (col4 > 2.38) OR col4 IS NULL AND col0 < 7)) OR col1 = 8.99)))))) OR ((col0 < 7)) AND ((col0 IS NULL OR col0 >= 7 AND col4 > 0.48 OR (col1 BETWEEN 2.12 AND 9.41) OR col4 <= 8.79 OR col4 > 6.60 AND (((col0 > 5) OR col3 < 6 AND col3 IS NULL AND col1 < 2.58)) AND (col0 <= 7) AND (col1 > 5.14)) OR (col1 > 8.99) AND col3 <= 6 AND (col3 IS NULL)) OR col4 >= 1.77 AND ((col3 < 1 OR col0 < 0 AND col0 < 1)) AND ((col3 IS NULL)) AND (col0 >= 0) AND (((col0 > 4)) OR (col4 = 3.30 AND col4 < 9.80)) AND (col4 < 1.87) OR col3 = 4 AND col3 <= 6 OR col0 >= 1 OR (col0 < 4 AND (((col0 >= 0))))))) OR col3 >= 4 AND col3 IS NULL OR (col4 IN (8.46,1.53,7.31)) OR col1 < 7.12)";
