//! Linearizability of single registers and per-key registers (get/put/append/cas).
//!
//! The history is split by key (linearizability is compositional) and each key is searched in the
//! manner of Wing & Gong, as refined by Lowe: depth-first, linearize next any pending operation
//! invoked before the earliest return among those not yet linearized, apply it to the model, and
//! backtrack when the model rejects it. Visited (linearized set, model state) pairs are remembered,
//! so no configuration is explored twice.
//!
//! Indeterminate (`:info`) writes may be linearized at any point after their invocation or never;
//! indeterminate reads say nothing and are dropped, as are failed operations. Every model step is
//! charged to a budget; when it runs out the key's answer is unknown.

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use crate::Limits;
use crate::edn::Value;
use crate::error::{Error, Result};
use crate::history::{Completed, Status};
use crate::report::{Anomaly, OpRef, Report, Stats, Verdict, Workload};

#[derive(Debug, Clone)]
enum Call {
    Read(Value),
    Write(Value),
    Append(Value),
    Cas(Value, Value),
}

#[derive(Debug, Clone)]
struct LinOp {
    /// Index into the paired ops.
    op: usize,
    call: usize,
    /// `usize::MAX` for indeterminate operations.
    ret: usize,
    f: Call,
}

fn to_call(c: &Completed, value: &Value) -> Result<Option<Call>> {
    let f = c.f.as_deref().unwrap_or("");
    Ok(Some(match f {
        "read" | "get" | "r" => Call::Read(value.clone()),
        "write" | "put" | "w" => Call::Write(value.clone()),
        "append" => Call::Append(value.clone()),
        "cas" => match value.as_seq() {
            Some([old, new]) => Call::Cas(old.clone(), new.clone()),
            _ => {
                return Err(Error::bad_op(
                    c.line,
                    format!("cas value must be [old new], found {value}"),
                ));
            }
        },
        _ => return Ok(None),
    }))
}

/// The model: `None` is the initial state, which reads as `nil` or `""`.
fn step(state: &Option<Value>, f: &Call) -> Option<Option<Value>> {
    let reads_as = |v: &Value| match state {
        None => v.is_nil() || *v == Value::Str(String::new()),
        Some(s) => s == v,
    };
    match f {
        Call::Read(v) => reads_as(v).then(|| state.clone()),
        Call::Write(v) => Some(Some(v.clone())),
        Call::Cas(old, new) => reads_as(old).then(|| Some(new.clone())),
        Call::Append(v) => match (state, v) {
            (None, Value::Str(_)) => Some(Some(v.clone())),
            (Some(Value::Str(s)), Value::Str(x)) => Some(Some(Value::Str(format!("{s}{x}")))),
            (None, _) => Some(Some(Value::Vector(vec![v.clone()]))),
            (Some(Value::Vector(items)), _) => {
                let mut items = items.clone();
                items.push(v.clone());
                Some(Some(Value::Vector(items)))
            }
            _ => None,
        },
    }
}

enum Outcome {
    Linearizable,
    /// The longest legal prefix found (op positions), the state after it, and the op that could
    /// not follow it.
    NotLinearizable {
        prefix: Vec<usize>,
        state: Option<Value>,
        stuck: usize,
    },
    Unknown,
}

struct Frame {
    lin: Vec<u64>,
    /// How many required (not indeterminate) ops `lin` holds.
    required_done: usize,
    state: Option<Value>,
    cands: Vec<usize>,
    next: usize,
}

fn search(ops: &[LinOp], steps: &mut u64, max_steps: u64, deadline: Option<Instant>) -> Outcome {
    let n = ops.len();
    let words = n.div_ceil(64);
    let required = ops.iter().filter(|o| o.ret != usize::MAX).count();
    let is_set = |lin: &[u64], i: usize| lin[i / 64] & (1 << (i % 64)) != 0;
    // Ops are sorted by invocation, so only a window needs scanning: from the first op not yet
    // linearized up to the earliest return among those not yet linearized.
    let candidates = |lin: &[u64]| -> Vec<usize> {
        let first = lin
            .iter()
            .position(|w| *w != u64::MAX)
            .map_or(n, |w| w * 64);
        let mut min_ret = usize::MAX;
        for (j, op) in ops.iter().enumerate().skip(first) {
            if op.call > min_ret {
                break;
            }
            if !is_set(lin, j) {
                min_ret = min_ret.min(op.ret);
            }
        }
        (first..n)
            .take_while(|&j| ops[j].call < min_ret)
            .filter(|&j| !is_set(lin, j))
            .collect()
    };
    let required_of = |i: usize| usize::from(ops[i].ret != usize::MAX);
    let mut seen: HashSet<(Vec<u64>, Option<Value>)> = HashSet::new();
    let root = vec![0u64; words];
    if required == 0 {
        return Outcome::Linearizable;
    }
    let mut best = (0usize, 0usize);
    let mut best_path: Vec<usize> = Vec::new();
    let mut best_state: Option<Value> = None;
    let cands = candidates(&root);
    let mut stack = vec![Frame {
        lin: root,
        required_done: 0,
        state: None,
        cands,
        next: 0,
    }];
    while let Some(top) = stack.last_mut() {
        if top.next >= top.cands.len() {
            stack.pop();
            continue;
        }
        let i = top.cands[top.next];
        top.next += 1;
        *steps += 1;
        if *steps > max_steps
            || (steps.is_multiple_of(4096) && deadline.is_some_and(|d| Instant::now() >= d))
        {
            return Outcome::Unknown;
        }
        let Some(state) = step(&top.state, &ops[i].f) else {
            continue;
        };
        let mut lin = top.lin.clone();
        lin[i / 64] |= 1 << (i % 64);
        let required_done = top.required_done + required_of(i);
        if required_done == required {
            return Outcome::Linearizable;
        }
        if !seen.insert((lin.clone(), state.clone())) {
            continue;
        }
        let depth = stack.len();
        if depth > best.0 {
            // The required op with the earliest return is the one that could not be placed.
            let stuck = (0..n)
                .filter(|&j| !is_set(&lin, j) && ops[j].ret != usize::MAX)
                .min_by_key(|&j| ops[j].ret)
                .unwrap_or(i);
            best = (depth, stuck);
            best_path = stack.iter().map(|f| f.cands[f.next - 1]).collect();
            best_state = state.clone();
        }
        let cands = candidates(&lin);
        stack.push(Frame {
            lin,
            required_done,
            state,
            cands,
            next: 0,
        });
    }
    let stuck = if best.0 == 0 {
        (0..n)
            .filter(|&j| ops[j].ret != usize::MAX)
            .min_by_key(|&j| ops[j].ret)
            .unwrap_or(0)
    } else {
        best.1
    };
    Outcome::NotLinearizable {
        prefix: best_path,
        state: best_state,
        stuck,
    }
}

/// Checks a register (`Workload::Register`) or per-key (`Workload::Kv`) history.
pub fn check(ops: &[Completed], workload: Workload, limits: &Limits) -> Result<Report> {
    let started = Instant::now();
    let deadline = limits.max_duration.map(|d| started + d);
    let mut by_key: BTreeMap<Value, Vec<LinOp>> = BTreeMap::new();
    for (i, c) in ops.iter().enumerate() {
        if c.status == Status::Fail {
            continue;
        }
        let (key, value) = match (&c.key, workload) {
            (Some(k), _) => (k.clone(), &c.value),
            (None, Workload::Kv) => match c.value.as_seq() {
                Some([k, v]) => (k.clone(), v),
                _ => {
                    return Err(Error::bad_op(
                        c.line,
                        format!(
                            "kv op needs :key or a [key value] tuple as :value, found {}",
                            c.value
                        ),
                    ));
                }
            },
            (None, _) => (Value::Nil, &c.value),
        };
        let Some(f) = to_call(c, value)? else {
            continue;
        };
        if c.status == Status::Info && matches!(f, Call::Read(_)) {
            continue;
        }
        let call = c.invoke_pos.or(c.complete_pos).unwrap_or(0);
        let ret = if c.status == Status::Ok {
            c.complete_pos.unwrap_or(usize::MAX)
        } else {
            usize::MAX
        };
        by_key.entry(key).or_default().push(LinOp {
            op: i,
            call,
            ret,
            f,
        });
    }
    let mut steps = 0u64;
    let mut anomalies = Vec::new();
    let mut unknown_keys = Vec::new();
    let mut bad_keys = 0usize;
    for (key, mut list) in by_key {
        list.sort_by_key(|o| o.call);
        match search(&list, &mut steps, limits.max_steps, deadline) {
            Outcome::Linearizable => {}
            Outcome::Unknown => unknown_keys.push(key.to_string()),
            Outcome::NotLinearizable {
                prefix,
                state,
                stuck,
            } => {
                bad_keys += 1;
                let op_ref = |p: usize| {
                    let c = &ops[list[p].op];
                    let outcome = if c.status == Status::Info {
                        " (indeterminate)"
                    } else {
                        ""
                    };
                    OpRef {
                        index: c.index,
                        line: c.line,
                        process: c.process.as_ref().map(Value::to_string),
                        value: format!("{} {}{outcome}", c.f.as_deref().unwrap_or("?"), c.value),
                    }
                };
                let key_text = if key.is_nil() {
                    String::new()
                } else {
                    format!("key {key}: ")
                };
                // Show the stuck op and the last few ops of the longest valid prefix.
                const SHOWN: usize = 8;
                let shown = &prefix[prefix.len().saturating_sub(SHOWN)..];
                let mut refs = vec![op_ref(stuck)];
                refs.extend(shown.iter().map(|&p| op_ref(p)));
                let state_text =
                    state.map_or_else(|| "its initial value".to_string(), |v| v.to_string());
                anomalies.push(Anomaly {
                    kind: "nonlinearizable".into(),
                    explanation: format!(
                        "{key_text}none of the orders of its {} operations is legal. The longest legal prefix found has {} operations, ending with T1..T{} in that order and leaving {state_text}; T0 cannot follow it, nor can any other operation still pending",
                        list.len(),
                        prefix.len(),
                        shown.len()
                    ),
                    ops: refs,
                    cycle: Vec::new(),
                });
            }
        }
    }
    let verdict = if bad_keys > 0 {
        Verdict::Invalid
    } else if !unknown_keys.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    let mut notes = Vec::new();
    if !unknown_keys.is_empty() {
        notes.push(format!(
            "search bound ({} steps, {:?}) hit before deciding keys: {}",
            limits.max_steps,
            limits.max_duration,
            unknown_keys.join(", ")
        ));
    }
    let mut counts = std::collections::BTreeMap::new();
    if bad_keys > 0 {
        counts.insert("nonlinearizable".to_string(), bad_keys);
    }
    Ok(Report {
        verdict,
        workload,
        models: Vec::new(),
        anomaly_types: counts.keys().cloned().collect(),
        anomalies,
        anomaly_counts: counts,
        allowed_anomaly_types: Vec::new(),
        ruled_out: Vec::new(),
        stats: Stats {
            ops: ops.len(),
            ok: ops.iter().filter(|c| c.status == Status::Ok).count(),
            fail: ops.iter().filter(|c| c.status == Status::Fail).count(),
            info: ops.iter().filter(|c| c.status == Status::Info).count(),
            edges: 0,
            search_steps: steps,
            elapsed_ms: started.elapsed().as_millis(),
        },
        notes,
    })
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::history::{Format, pair, parse};

    fn verdict(text: &str, max_steps: u64) -> Verdict {
        let ops = pair(&parse(text, Format::Edn).unwrap());
        check(
            &ops,
            Workload::Register,
            &Limits {
                max_steps,
                max_duration: None,
            },
        )
        .unwrap()
        .verdict
    }

    #[test]
    fn concurrent_write_and_read() {
        let ok = "{:process 0 :type :invoke :f :write :value 1}\n{:process 1 :type :invoke :f :read :value nil}\n\
                  {:process 1 :type :ok :f :read :value 1}\n{:process 0 :type :ok :f :write :value 1}";
        assert_eq!(verdict(ok, 1000), Verdict::Valid);
        let stale = "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :ok :f :write :value 1}\n\
                     {:process 1 :type :invoke :f :read :value nil}\n{:process 1 :type :ok :f :read :value nil}";
        assert_eq!(verdict(stale, 1000), Verdict::Invalid);
    }

    #[test]
    fn indeterminate_write_may_or_may_not_happen() {
        let happened = "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :info :f :write :value 1}\n\
                        {:process 1 :type :invoke :f :read :value nil}\n{:process 1 :type :ok :f :read :value 1}";
        assert_eq!(verdict(happened, 1000), Verdict::Valid);
        let not_yet = "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :info :f :write :value 1}\n\
                       {:process 1 :type :invoke :f :read :value nil}\n{:process 1 :type :ok :f :read :value nil}";
        assert_eq!(verdict(not_yet, 1000), Verdict::Valid);
        let failed = "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :fail :f :write :value 1}\n\
                      {:process 1 :type :invoke :f :read :value nil}\n{:process 1 :type :ok :f :read :value 1}";
        assert_eq!(verdict(failed, 1000), Verdict::Invalid);
    }

    #[test]
    fn cas_and_bound() {
        let text = "{:process 0 :type :invoke :f :write :value 1}\n{:process 0 :type :ok :f :write :value 1}\n\
                    {:process 0 :type :invoke :f :cas :value [1 2]}\n{:process 0 :type :ok :f :cas :value [1 2]}\n\
                    {:process 0 :type :invoke :f :cas :value [1 3]}\n{:process 0 :type :ok :f :cas :value [1 3]}";
        assert_eq!(verdict(text, 1000), Verdict::Invalid);
        assert_eq!(verdict(text, 1), Verdict::Unknown);
    }

    /// Brute force: some subset of the indeterminate ops plus all the others has an order that
    /// respects real time and the model.
    fn brute(ops: &[LinOp]) -> bool {
        fn go(ops: &[LinOp], chosen: &[bool], done: &mut Vec<bool>, state: &Option<Value>) -> bool {
            let left: Vec<usize> = (0..ops.len()).filter(|&i| chosen[i] && !done[i]).collect();
            if left.is_empty() {
                return true;
            }
            for &i in &left {
                if left.iter().any(|&j| ops[j].ret < ops[i].call) {
                    continue;
                }
                if let Some(next) = step(state, &ops[i].f) {
                    done[i] = true;
                    let ok = go(ops, chosen, done, &next);
                    done[i] = false;
                    if ok {
                        return true;
                    }
                }
            }
            false
        }
        let optional: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].ret == usize::MAX)
            .collect();
        (0..1u32 << optional.len()).any(|mask| {
            let mut chosen = vec![true; ops.len()];
            for (b, &i) in optional.iter().enumerate() {
                chosen[i] = mask & (1 << b) != 0;
            }
            go(ops, &chosen, &mut vec![false; ops.len()], &None)
        })
    }

    fn arb_op() -> impl proptest::strategy::Strategy<Value = LinOp> {
        use proptest::prelude::*;
        (
            0usize..3,
            0i64..3,
            0i64..3,
            0usize..12,
            0usize..8,
            proptest::bool::weighted(0.2),
        )
            .prop_map(|(kind, a, b, start, len, info)| {
                let f = match kind {
                    0 => Call::Read(if a == 0 { Value::Nil } else { Value::Int(a) }),
                    1 => Call::Write(Value::Int(a)),
                    _ => Call::Cas(Value::Int(a), Value::Int(b)),
                };
                let optional = info && !matches!(f, Call::Read(_));
                LinOp {
                    op: 0,
                    call: start * 2,
                    ret: if optional {
                        usize::MAX
                    } else {
                        (start + len) * 2 + 1
                    },
                    f,
                }
            })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        #[test]
        fn search_agrees_with_brute_force(mut ops in proptest::collection::vec(arb_op(), 1..7)) {
            ops.sort_by_key(|o| o.call);
            let mut steps = 0;
            let got = match search(&ops, &mut steps, 1_000_000, None) {
                Outcome::Linearizable => true,
                Outcome::NotLinearizable { .. } => false,
                Outcome::Unknown => panic!("bound hit on {} ops", ops.len()),
            };
            proptest::prop_assert_eq!(got, brute(&ops), "{:?}", ops);
        }
    }
}
