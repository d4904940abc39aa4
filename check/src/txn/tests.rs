//! One test per anomaly that snapshot isolation must forbid, and the write skew it allows.
#![expect(clippy::unwrap_used, reason = "tests")]

use crate::{CheckOptions, Model, Verdict, Workload, check_history};

fn check(workload: Workload, model: Model, history: &str) -> crate::Report {
    check_history(history, &CheckOptions::new(workload).with_model(model)).unwrap()
}

fn types(workload: Workload, model: Model, history: &str) -> (Verdict, Vec<String>) {
    let r = check(workload, model, history);
    (r.verdict, r.anomaly_types)
}

const SI: Model = Model::SnapshotIsolation;
const LA: Workload = Workload::ListAppend;
const RW: Workload = Workload::RwRegister;

#[test]
fn g0_write_cycle() {
    let h = "{:type :ok, :process 0, :value [[:append :x 1] [:append :y 1]]}
             {:type :ok, :process 1, :value [[:append :x 2] [:append :y 2]]}
             {:type :ok, :process 2, :value [[:r :x [1 2]] [:r :y [2 1]]]}";
    assert_eq!(types(LA, SI, h), (Verdict::Invalid, vec!["G0".to_string()]));
}

#[test]
fn g1a_aborted_read() {
    let h = "{:type :fail, :process 0, :value [[:append :x 1]]}
             {:type :ok, :process 1, :value [[:append :y 1]]}
             {:type :ok, :process 2, :value [[:r :x [1]] [:r :y [1]]]}";
    assert_eq!(
        types(LA, SI, h),
        (Verdict::Invalid, vec!["G1a".to_string()])
    );
    let h = "{:type :fail, :process 0, :value [[:w :x 1]]}
             {:type :ok, :process 1, :value [[:w :y 1]]}
             {:type :ok, :process 2, :value [[:r :x 1] [:r :y 1]]}";
    assert_eq!(
        types(RW, SI, h),
        (Verdict::Invalid, vec!["G1a".to_string()])
    );
}

#[test]
fn g1b_intermediate_read() {
    let h = "{:type :ok, :process 0, :value [[:w :x 1] [:w :x 2] [:w :y 1]]}
             {:type :ok, :process 1, :value [[:r :x 1] [:r :y 1]]}";
    assert_eq!(
        types(RW, SI, h),
        (Verdict::Invalid, vec!["G1b".to_string()])
    );
}

#[test]
fn g1c_circular_information_flow() {
    let h = "{:type :ok, :process 0, :value [[:w :x 1] [:r :y 1]]}
             {:type :ok, :process 1, :value [[:w :y 1] [:r :x 1]]}";
    assert_eq!(
        types(RW, SI, h),
        (Verdict::Invalid, vec!["G1c".to_string()])
    );
    assert_eq!(
        types(RW, Model::ReadUncommitted, h),
        (Verdict::Valid, vec![])
    );
}

#[test]
fn g_single_read_skew() {
    let h = "{:type :ok, :process 0, :value [[:append :x 1] [:append :y 1]]}
             {:type :ok, :process 1, :value [[:r :x [1]] [:r :y []]]}";
    assert_eq!(
        types(LA, SI, h),
        (Verdict::Invalid, vec!["G-single-item".to_string()])
    );
    assert_eq!(types(LA, Model::ReadCommitted, h), (Verdict::Valid, vec![]));
}

#[test]
fn lost_update() {
    let h = "{:type :ok, :process 0, :value [[:append :x 0]]}
             {:type :ok, :process 1, :value [[:r :x [0]] [:append :x 1]]}
             {:type :ok, :process 2, :value [[:r :x [0]] [:append :x 2]]}";
    let (v, t) = types(LA, SI, h);
    assert_eq!(v, Verdict::Invalid);
    assert!(t.contains(&"lost-update".to_string()), "{t:?}");
    let h = "{:type :ok, :process 0, :value [[:w :x 0]]}
             {:type :ok, :process 1, :value [[:r :x 0] [:w :x 1]]}
             {:type :ok, :process 2, :value [[:r :x 0] [:w :x 2]]}";
    assert_eq!(
        types(RW, SI, h),
        (Verdict::Invalid, vec!["lost-update".to_string()])
    );
}

#[test]
fn write_skew_is_allowed_by_snapshot_isolation_only() {
    let h = "{:type :ok, :process 0, :value [[:r :x nil] [:append :y 1]]}
             {:type :ok, :process 1, :value [[:r :y nil] [:append :x 1]]}";
    assert_eq!(types(LA, SI, h), (Verdict::Valid, vec![]));
    let r = check(LA, SI, h);
    assert_eq!(r.allowed_anomaly_types, vec!["G2-item"]);
    assert_eq!(
        types(LA, Model::Serializable, h),
        (Verdict::Invalid, vec!["G2-item".to_string()])
    );
}

#[test]
fn stale_read_needs_real_time() {
    let h = "{:type :invoke, :process 0, :value [[:append :x 1]]}
             {:type :ok, :process 0, :value [[:append :x 1]]}
             {:type :invoke, :process 1, :value [[:r :x nil]]}
             {:type :ok, :process 1, :value [[:r :x []]]}";
    assert_eq!(types(LA, Model::Serializable, h), (Verdict::Valid, vec![]));
    assert_eq!(
        types(LA, Model::StrictSerializable, h),
        (Verdict::Invalid, vec!["G-single-item-realtime".to_string()])
    );
}

#[test]
fn integrity_anomalies() {
    let internal = "{:type :ok, :process 0, :value [[:append :x 1] [:r :x [2]]]}";
    assert!(types(LA, SI, internal).1.contains(&"internal".to_string()));
    let dup = "{:type :ok, :process 0, :value [[:append :x 1]]}
               {:type :ok, :process 1, :value [[:r :x [1 1]]]}";
    assert!(
        types(LA, SI, dup)
            .1
            .contains(&"duplicate-elements".to_string())
    );
    let garbage = "{:type :ok, :process 0, :value [[:append :x 1]]}
                   {:type :ok, :process 1, :value [[:r :x [1 7]]]}";
    assert!(
        types(LA, SI, garbage)
            .1
            .contains(&"garbage-read".to_string())
    );
    let dirty = "{:type :fail, :process 0, :value [[:append :x 1]]}
                 {:type :ok, :process 1, :value [[:append :x 2]]}
                 {:type :ok, :process 2, :value [[:r :x [1 2]]]}";
    assert!(
        types(LA, Model::ReadCommitted, dirty)
            .1
            .contains(&"dirty-update".to_string())
    );
}

#[test]
fn explanation_names_the_cycle() {
    let h = "{:index 0, :type :ok, :process 0, :value [[:append :x 1] [:append :y 1]]}
             {:index 1, :type :ok, :process 1, :value [[:r :x [1]] [:r :y []]]}";
    let r = check(LA, SI, h);
    let text = r.to_string();
    assert!(text.contains("T0 -wr-> T1"), "{text}");
    assert!(text.contains("T1 -rw-> T0"), "{text}");
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
    assert_eq!(json["verdict"], "invalid");
    assert_eq!(json["anomalies"][0]["type"], "G-single-item");
    assert_eq!(json["anomalies"][0]["cycle"].as_array().unwrap().len(), 2);
}

#[test]
fn indeterminate_writes_may_be_seen() {
    let h = "{:type :invoke, :process 0, :value [[:append :x 1]]}
             {:type :info, :process 0, :value [[:append :x 1]]}
             {:type :invoke, :process 1, :value [[:r :x nil]]}
             {:type :ok, :process 1, :value [[:r :x [1]]]}";
    assert_eq!(
        types(LA, Model::StrictSerializable, h),
        (Verdict::Valid, vec![])
    );
}

/// Random small list-append histories: a serial execution, sometimes with one read tampered
/// with. Whenever some serial order explains every read, the checker must not say invalid (no
/// false positives); whenever it says invalid, no serial order may exist.
mod against_brute_force {
    use super::*;
    use proptest::prelude::*;

    /// (append?, key, element or read list)
    type Mop = (bool, u8, Vec<u32>);

    fn serial_ok(txns: &[Vec<Mop>], order: &[usize]) -> bool {
        let mut state: [Vec<u32>; 3] = Default::default();
        for &t in order {
            for (append, k, v) in &txns[t] {
                let cell = &mut state[*k as usize];
                if *append {
                    cell.push(v[0]);
                } else if cell != v {
                    return false;
                }
            }
        }
        true
    }

    pub(super) fn permutations(n: usize) -> Vec<Vec<usize>> {
        if n == 0 {
            return vec![vec![]];
        }
        let mut out = Vec::new();
        for p in permutations(n - 1) {
            for i in 0..=p.len() {
                let mut q = p.clone();
                q.insert(i, n - 1);
                out.push(q);
            }
        }
        out
    }

    fn history(txns: &[Vec<Mop>]) -> String {
        let mut out = String::new();
        for (i, t) in txns.iter().enumerate() {
            let mops: Vec<String> = t
                .iter()
                .map(|(append, k, v)| {
                    if *append {
                        format!("[:append {k} {}]", v[0])
                    } else {
                        let items: Vec<String> = v.iter().map(u32::to_string).collect();
                        format!("[:r {k} [{}]]", items.join(" "))
                    }
                })
                .collect();
            out.push_str(&format!(
                "{{:type :ok, :process {i}, :value [{}]}}\n",
                mops.join(" ")
            ));
        }
        out
    }

    fn arb_history() -> impl Strategy<Value = Vec<Vec<Mop>>> {
        let txn = proptest::collection::vec((any::<bool>(), 0u8..3), 1..4);
        (
            proptest::collection::vec(txn, 2..5),
            any::<u64>(),
            0u8..4,
            any::<u64>(),
        )
            .prop_map(|(shapes, perm_seed, tamper, tamper_seed)| {
                // Assign unique elements, run serially in a pseudo-random order to fill reads.
                let mut next = 1u32;
                let mut txns: Vec<Vec<Mop>> = shapes
                    .iter()
                    .map(|t| {
                        t.iter()
                            .map(|&(append, k)| {
                                next += 1;
                                (append, k, if append { vec![next] } else { vec![] })
                            })
                            .collect()
                    })
                    .collect();
                let perms = permutations(txns.len());
                let order = &perms[(perm_seed % perms.len() as u64) as usize];
                let mut state: [Vec<u32>; 3] = Default::default();
                for &t in order {
                    for (append, k, v) in &mut txns[t] {
                        if *append {
                            state[*k as usize].push(v[0]);
                        } else {
                            *v = state[*k as usize].clone();
                        }
                    }
                }
                // Maybe tamper with one read: drop its last element, or add a foreign element.
                let reads: Vec<(usize, usize)> = txns
                    .iter()
                    .enumerate()
                    .flat_map(|(t, m)| (0..m.len()).filter(move |&j| !m[j].0).map(move |j| (t, j)))
                    .collect();
                if tamper > 0 && !reads.is_empty() {
                    let (t, j) = reads[(tamper_seed % reads.len() as u64) as usize];
                    let k = txns[t][j].1 as usize;
                    let v = &mut txns[t][j].2;
                    if tamper == 1 {
                        v.pop();
                    } else if let Some(&extra) = state[k].iter().find(|e| !v.contains(e)) {
                        v.push(extra);
                    } else {
                        v.reverse();
                    }
                }
                txns
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn no_false_positives(txns in arb_history()) {
            let serializable = permutations(txns.len()).iter().any(|o| serial_ok(&txns, o));
            let text = history(&txns);
            let report = check(LA, Model::Serializable, &text);
            if serializable {
                prop_assert!(report.verdict != Verdict::Invalid, "serializable, yet:\n{text}\n{report}");
            }
        }
    }
}

/// The same for rw-register histories, with writes-follow-reads inference (which serializability
/// implies).
mod registers_against_brute_force {
    use super::*;
    use proptest::prelude::*;

    /// (write?, key, value written or read; 0 = nil)
    type Mop = (bool, u8, u32);

    fn serial_ok(txns: &[Vec<Mop>], order: &[usize]) -> bool {
        let mut state = [0u32; 3];
        for &t in order {
            for &(write, k, v) in &txns[t] {
                if write {
                    state[k as usize] = v;
                } else if state[k as usize] != v {
                    return false;
                }
            }
        }
        true
    }

    fn history(txns: &[Vec<Mop>]) -> String {
        let mut out = String::new();
        for (i, t) in txns.iter().enumerate() {
            let mops: Vec<String> = t
                .iter()
                .map(|&(write, k, v)| match (write, v) {
                    (true, v) => format!("[:w {k} {v}]"),
                    (false, 0) => format!("[:r {k} nil]"),
                    (false, v) => format!("[:r {k} {v}]"),
                })
                .collect();
            out.push_str(&format!(
                "{{:type :ok, :process {i}, :value [{}]}}\n",
                mops.join(" ")
            ));
        }
        out
    }

    fn arb_history() -> impl Strategy<Value = Vec<Vec<Mop>>> {
        let txn = proptest::collection::vec((any::<bool>(), 0u8..3), 1..4);
        (
            proptest::collection::vec(txn, 2..5),
            any::<u64>(),
            0u8..3,
            any::<u64>(),
        )
            .prop_map(|(shapes, perm_seed, tamper, tamper_seed)| {
                let mut next = 0u32;
                let mut txns: Vec<Vec<Mop>> = shapes
                    .iter()
                    .map(|t| {
                        t.iter()
                            .map(|&(write, k)| {
                                next += 1;
                                (write, k, if write { next } else { 0 })
                            })
                            .collect()
                    })
                    .collect();
                let perms = super::against_brute_force::permutations(txns.len());
                let order = &perms[(perm_seed % perms.len() as u64) as usize];
                let mut state = [0u32; 3];
                for &t in order {
                    for (write, k, v) in &mut txns[t] {
                        if *write {
                            state[*k as usize] = *v;
                        } else {
                            *v = state[*k as usize];
                        }
                    }
                }
                // Maybe make one read return another value written to the same key (or nil).
                let reads: Vec<(usize, usize)> = txns
                    .iter()
                    .enumerate()
                    .flat_map(|(t, m)| (0..m.len()).filter(move |&j| !m[j].0).map(move |j| (t, j)))
                    .collect();
                if tamper > 0 && !reads.is_empty() {
                    let (t, j) = reads[(tamper_seed % reads.len() as u64) as usize];
                    let k = txns[t][j].1;
                    let written: Vec<u32> = txns
                        .iter()
                        .flatten()
                        .filter(|m| m.0 && m.1 == k)
                        .map(|m| m.2)
                        .collect();
                    let pick = (tamper_seed / 7) as usize % (written.len() + 1);
                    txns[t][j].2 = written.get(pick).copied().unwrap_or(0);
                }
                txns
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn no_false_positives(txns in arb_history()) {
            let serializable =
                super::against_brute_force::permutations(txns.len()).iter().any(|o| serial_ok(&txns, o));
            let text = history(&txns);
            let mut opts = CheckOptions::new(RW).with_model(Model::Serializable);
            opts.txn.wfr_keys = true;
            let report = check_history(&text, &opts).unwrap();
            if serializable {
                prop_assert!(report.verdict != Verdict::Invalid, "serializable, yet:\n{text}\n{report}");
            }
        }
    }
}
