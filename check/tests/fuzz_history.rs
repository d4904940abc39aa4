//! Fuzzing the history readers and the checkers behind them: structured histories (operation
//! maps of every workload's shape, with absurd numbers, missing or mistyped fields and nested
//! values), written as EDN lines, one EDN vector, JSON lines or one JSON array, then optionally
//! truncated or spliced with garbage. The property: `check_history` answers (a report or an
//! error) for every workload and format, never panicking, overflowing the stack or allocating
//! without bound.
//!
//! CI runs a bounded number of cases; `CHRONOS_FUZZ_CASES=1000000` runs millions by hand.

use chronos_check::edn::Value;
use chronos_check::{CheckOptions, Format, Workload, check_history};
use proptest::prelude::*;

const WORKLOADS: [Workload; 5] = [
    Workload::ListAppend,
    Workload::RwRegister,
    Workload::Register,
    Workload::Kv,
    Workload::Bank,
];

fn cases() -> u32 {
    std::env::var("CHRONOS_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(128)
}

/// Checks `text` as every workload in every format, with small search bounds so that a case
/// takes milliseconds.
fn check_everywhere(text: &str) {
    for format in [Format::Edn, Format::Json, Format::Auto] {
        for workload in WORKLOADS {
            let mut opts = CheckOptions::new(workload);
            opts.format = format;
            opts.limits.max_steps = 5_000;
            opts.limits.max_duration = Some(std::time::Duration::from_secs(2));
            let _ = check_history(text, &opts);
        }
    }
}

fn kw(s: &str) -> Value {
    Value::Keyword(s.to_string())
}

/// Integers that break arithmetic: extremes, neighbours of them, and small ones that collide.
fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -3i64..10,
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
        1 => Just(i64::MAX - 1),
        1 => Just(i64::MIN + 1),
        1 => any::<i64>(),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        int().prop_map(Value::Int),
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(1e308),
            Just(-0.0),
            any::<f64>()
        ]
        .prop_map(|f| Value::Float(f.to_bits())),
        "[a-z]{0,3}".prop_map(Value::Str),
        prop::sample::select(vec!["r", "w", "append", "x", "y", "read", "cas"]).prop_map(kw),
        Just(Value::Symbol("sym".into())),
        any::<char>().prop_map(Value::Char),
    ]
}

/// Any value, nested a few levels.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Vector),
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Set),
            prop::collection::vec((inner.clone(), inner), 0..3).prop_map(Value::Map),
        ]
    })
}

/// A micro-operation as the transactional workloads write them, sometimes malformed.
fn micro_op() -> impl Strategy<Value = Value> {
    let key = prop_oneof![int().prop_map(Value::Int), Just(kw("x")), Just(Value::Nil)];
    let read_result = prop_oneof![
        Just(Value::Nil),
        int().prop_map(Value::Int),
        prop::collection::vec(int().prop_map(Value::Int), 0..5).prop_map(Value::Vector),
        value(),
    ];
    prop_oneof![
        6 => (prop::sample::select(vec!["r", "w", "append"]), key, read_result)
            .prop_map(|(f, k, v)| Value::Vector(vec![kw(f), k, v])),
        1 => prop::collection::vec(leaf(), 0..5).prop_map(Value::Vector),
        1 => value(),
    ]
}

/// The `:value` of an operation: transactions, register values, cas pairs, bank maps, garbage.
fn op_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => prop::collection::vec(micro_op(), 0..4).prop_map(Value::Vector),
        2 => int().prop_map(Value::Int),
        1 => (int(), int()).prop_map(|(a, b)| Value::Vector(vec![Value::Int(a), Value::Int(b)])),
        // Bank: a read of all balances, or a transfer.
        2 => prop::collection::vec((int(), int()), 0..4).prop_map(|kv| {
            Value::Map(kv.into_iter().map(|(k, v)| (Value::Int(k), Value::Int(v))).collect())
        }),
        1 => (int(), int(), int()).prop_map(|(f, t, a)| {
            Value::Map(vec![
                (kw("from"), Value::Int(f)),
                (kw("to"), Value::Int(t)),
                (kw("amount"), Value::Int(a)),
            ])
        }),
        1 => value(),
    ]
}

/// One operation map; every field may be missing or of the wrong type.
fn op() -> impl Strategy<Value = Value> {
    let ty = prop_oneof![
        8 => prop::sample::select(vec!["invoke", "ok", "fail", "info"]).prop_map(kw),
        1 => leaf(),
    ];
    let process = prop_oneof![
        6 => (0i64..4).prop_map(Value::Int),
        1 => Just(kw("nemesis")),
        1 => leaf(),
    ];
    let f = prop_oneof![
        6 => prop::sample::select(vec![
            "txn", "read", "write", "cas", "get", "put", "append", "transfer"
        ])
        .prop_map(kw),
        1 => leaf(),
    ];
    let key = prop_oneof![(0i64..3).prop_map(Value::Int), leaf()];
    (
        prop::option::weighted(0.95, ty),
        prop::option::weighted(0.9, process),
        prop::option::weighted(0.9, f),
        prop::option::weighted(0.9, op_value()),
        prop::option::weighted(0.3, int().prop_map(Value::Int)),
        prop::option::weighted(0.3, int().prop_map(Value::Int)),
        prop::option::weighted(0.2, key),
    )
        .prop_map(|(ty, process, f, value, index, time, key)| {
            let fields = [
                ("type", ty),
                ("process", process),
                ("f", f),
                ("value", value),
                ("index", index),
                ("time", time),
                ("key", key),
            ];
            Value::Map(
                fields
                    .into_iter()
                    .filter_map(|(name, v)| v.map(|v| (kw(name), v)))
                    .collect(),
            )
        })
}

/// A history of plausible shape: invocations mostly followed by completions of the same process.
fn history() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(op(), 0..24)
}

/// How the history is written out.
#[derive(Debug, Clone, Copy)]
enum Layout {
    EdnLines,
    EdnVector,
    JsonLines,
    JsonArray,
}

fn render(ops: &[Value], layout: Layout) -> String {
    let json = |v: &Value| chronos_check::history::to_json(v).to_string();
    match layout {
        Layout::EdnLines => ops.iter().map(|v| format!("{v}\n")).collect(),
        Layout::EdnVector => {
            let items: Vec<String> = ops.iter().map(Value::to_string).collect();
            format!("[{}]\n", items.join("\n "))
        }
        Layout::JsonLines => ops.iter().map(|v| format!("{}\n", json(v))).collect(),
        Layout::JsonArray => {
            let items: Vec<String> = ops.iter().map(json).collect();
            format!("[{}]\n", items.join(",\n"))
        }
    }
}

/// Damage done to the text after rendering.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Cut at this fraction of the length (a torn file).
    Truncate(f64),
    /// Insert bytes at this fraction of the length.
    Splice(f64, String),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        3 => Just(Damage::None),
        2 => (0.0f64..1.0).prop_map(Damage::Truncate),
        2 => (0.0f64..1.0, "[\\[\\]{}()#:;\"\\\\ ,a-z0-9\\-.\n]{1,8}|\\PC{1,4}")
            .prop_map(|(at, s)| Damage::Splice(at, s)),
    ]
}

fn apply(text: &str, damage: &Damage) -> String {
    let at = |frac: f64| {
        let mut i = (text.len() as f64 * frac) as usize;
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    match damage {
        Damage::None => text.to_string(),
        Damage::Truncate(frac) => text[..at(*frac)].to_string(),
        Damage::Splice(frac, s) => {
            let i = at(*frac);
            format!("{}{s}{}", &text[..i], &text[i..])
        }
    }
}

fn layout() -> impl Strategy<Value = Layout> {
    prop::sample::select(vec![
        Layout::EdnLines,
        Layout::EdnVector,
        Layout::JsonLines,
        Layout::JsonArray,
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn structured_histories_never_panic(
        ops in history(),
        layout in layout(),
        damage in damage(),
    ) {
        check_everywhere(&apply(&render(&ops, layout), &damage));
    }

    /// Nesting far past the reader's bound, in every bracket, with or without closers, inside
    /// an operation or at the top: an error, not a stack overflow.
    #[test]
    fn deep_nesting_is_an_error(
        depth in 100usize..20_000,
        open in prop::sample::select(vec!["[", "(", "{", "#{", "{:value ", "[{:type :ok :value ", "#_", "#tag "]),
        closed in any::<bool>(),
    ) {
        let close = match open {
            "[" | "[{:type :ok :value " => "]",
            "(" => ")",
            _ => "}",
        };
        let mut text = open.repeat(depth);
        if closed {
            text.push_str(&close.repeat(depth));
        }
        check_everywhere(&text);
        let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        check_everywhere(&json);
    }
}

/// Numbers beyond every integer type, and lengths that would be absurd to allocate for, are
/// read as errors or ordinary values.
#[test]
fn absurd_numbers_are_errors_or_values() {
    for n in [
        "99999999999999999999999999999",
        "-99999999999999999999999999999N",
        "1e999999",
        "1e-999999",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551616",
    ] {
        for template in [
            "{:type :ok :process 0 :f :read :value N}",
            "{:type :ok :process N :f :txn :value [[:append N N] [:r N [N]]]}",
            "{:type :ok :process 0 :f :read :value {N N}}",
            "{\"type\":\"ok\",\"process\":N,\"value\":[[\"r\",N,[N]]]}",
        ] {
            check_everywhere(&template.replace('N', n));
        }
    }
}
