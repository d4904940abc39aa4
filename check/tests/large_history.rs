//! Performance: a generated list-append history of 100k transactions must be checked in well
//! under a minute (the test profile builds with opt-level 1).

use std::fmt::Write as _;
use std::time::Instant;

use chronos_check::{CheckOptions, Format, Model, Verdict, Workload, check_history};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a generated history exercises.
#[derive(Clone, Copy)]
struct Spec {
    txns: usize,
    processes: usize,
    seed: u64,
    /// rw-register instead of list-append.
    registers: bool,
    /// Some transactions fail (no effect) or end indeterminate (effect applied or not).
    faults: bool,
    /// Drop one acknowledged write from the store halfway through.
    lose_one_write: bool,
}

/// A strict-serializable history: each transaction runs atomically against an in-memory store at
/// its completion, between its invocation and its completion. Keys are retired after
/// `max_writes_per_key` writes, as Jepsen's workloads do. A process whose op ends indeterminate is
/// replaced by a fresh one, as in Jepsen.
fn generate(spec: Spec) -> String {
    let mut rng = Rng(spec.seed);
    let mut store: Vec<Vec<u64>> = Vec::new();
    let (active, max_writes_per_key) = (8u64, 32usize);
    let mut writes_per_key: Vec<usize> = Vec::new();
    let mut first_key = 0u64;
    let mut next_value = 1u64;
    let mut pending: Vec<Option<Vec<(bool, u64, u64)>>> = vec![None; spec.processes];
    let mut process_id: Vec<usize> = (0..spec.processes).collect();
    let mut out = String::new();
    let (mut done, mut index) = (0usize, 0usize);
    let mut lost = false;
    let (write_f, read_empty) = if spec.registers {
        ("w", "nil")
    } else {
        ("append", "[]")
    };
    while done < spec.txns {
        let slot = rng.below(spec.processes as u64) as usize;
        let p = process_id[slot];
        match pending[slot].take() {
            None => {
                let n = 1 + rng.below(4);
                let mops: Vec<(bool, u64, u64)> = (0..n)
                    .map(|_| {
                        let write = rng.below(2) == 0;
                        let v = if write { next_value } else { 0 };
                        next_value += u64::from(write);
                        (write, first_key + rng.below(active), v)
                    })
                    .collect();
                let text: Vec<String> = mops
                    .iter()
                    .map(|&(w, k, v)| {
                        if w {
                            format!("[:{write_f} {k} {v}]")
                        } else {
                            format!("[:r {k} nil]")
                        }
                    })
                    .collect();
                let _ = writeln!(
                    out,
                    "{{:index {index}, :type :invoke, :process {p}, :f :txn, :value [{}]}}",
                    text.join(" ")
                );
                index += 1;
                pending[slot] = Some(mops);
            }
            Some(mops) => {
                let roll = if spec.faults { rng.below(100) } else { 0 };
                let (outcome, applied) = match roll {
                    0..=89 => ("ok", true),
                    90..=94 => ("fail", false),
                    _ => ("info", rng.below(2) == 0),
                };
                let mut text = Vec::new();
                let mut staged = store.clone_from_keys(&mops);
                for &(write, k, v) in &mops {
                    let cell = staged.entry(k).or_default();
                    if write {
                        if spec.registers {
                            *cell = vec![v];
                        } else {
                            cell.push(v);
                        }
                        text.push(format!("[:{write_f} {k} {v}]"));
                    } else if outcome == "ok" {
                        let shown = if spec.registers {
                            cell.last()
                                .map_or_else(|| "nil".to_string(), u64::to_string)
                        } else if cell.is_empty() {
                            read_empty.to_string()
                        } else {
                            let items: Vec<String> = cell.iter().map(u64::to_string).collect();
                            format!("[{}]", items.join(" "))
                        };
                        text.push(format!("[:r {k} {shown}]"));
                    } else {
                        text.push(format!("[:r {k} nil]"));
                    }
                }
                if applied {
                    for (k, cell) in staged {
                        let k = k as usize;
                        if store.len() <= k {
                            store.resize(k + 1, Vec::new());
                            writes_per_key.resize(k + 1, 0);
                        }
                        let grew = cell.len() != store[k].len() || cell != store[k];
                        if grew {
                            writes_per_key[k] += 1;
                        }
                        if spec.lose_one_write && !lost && grew && done >= spec.txns / 2 {
                            // An acknowledged write the store forgets.
                            lost = true;
                            continue;
                        }
                        store[k] = cell;
                    }
                }
                let _ = writeln!(
                    out,
                    "{{:index {index}, :type :{outcome}, :process {p}, :f :txn, :value [{}]}}",
                    text.join(" ")
                );
                index += 1;
                done += 1;
                if outcome == "info" {
                    process_id[slot] += spec.processes;
                }
                if writes_per_key
                    .get(first_key as usize)
                    .is_some_and(|&n| n >= max_writes_per_key)
                {
                    first_key += 1;
                }
            }
        }
    }
    // Invocations still pending are left without completion: indeterminate.
    out
}

/// The store's cells for the keys a transaction touches, for staging its effects.
trait Stage {
    fn clone_from_keys(
        &self,
        mops: &[(bool, u64, u64)],
    ) -> std::collections::BTreeMap<u64, Vec<u64>>;
}

impl Stage for Vec<Vec<u64>> {
    fn clone_from_keys(
        &self,
        mops: &[(bool, u64, u64)],
    ) -> std::collections::BTreeMap<u64, Vec<u64>> {
        mops.iter()
            .map(|&(_, k, _)| (k, self.get(k as usize).cloned().unwrap_or_default()))
            .collect()
    }
}

const BASE: Spec = Spec {
    txns: 100_000,
    processes: 10,
    seed: 7,
    registers: false,
    faults: false,
    lose_one_write: false,
};

#[test]
fn hundred_thousand_transactions_in_well_under_a_minute() {
    let text = generate(BASE);
    let started = Instant::now();
    let mut opts = CheckOptions::new(Workload::ListAppend).with_model(Model::StrictSerializable);
    opts.format = Format::Edn;
    let report = check_history(&text, &opts).expect("check");
    let elapsed = started.elapsed();
    println!(
        "100k transactions ({} bytes): {} in {elapsed:?}; {} edges",
        text.len(),
        report.verdict,
        report.stats.edges
    );
    assert_eq!(report.verdict, Verdict::Valid, "{report}");
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
}

/// Valid histories with failed and indeterminate transactions must stay valid, under every
/// inference option (no false positives).
#[test]
fn faults_do_not_make_valid_histories_invalid() {
    for registers in [false, true] {
        let spec = Spec {
            txns: 20_000,
            seed: 3,
            registers,
            faults: true,
            ..BASE
        };
        let text = generate(spec);
        let workload = if registers {
            Workload::RwRegister
        } else {
            Workload::ListAppend
        };
        let mut opts = CheckOptions::new(workload);
        opts.txn.sequential_keys = registers;
        opts.txn.linearizable_keys = registers;
        opts.txn.wfr_keys = registers;
        let report = check_history(&text, &opts).expect("check");
        assert_eq!(
            report.verdict,
            Verdict::Valid,
            "registers={registers}\n{report}"
        );
        assert!(report.stats.fail > 0 && report.stats.info > 0);
    }
}

/// A lost append stays visible: every later read of the key misses it. (A lost register write
/// can be undetectable, if the next write overwrites it before anyone reads.)
#[test]
fn a_lost_write_is_found_in_a_large_history() {
    let spec = Spec {
        txns: 20_000,
        seed: 11,
        lose_one_write: true,
        ..BASE
    };
    let report =
        check_history(&generate(spec), &CheckOptions::new(Workload::ListAppend)).expect("check");
    assert_eq!(report.verdict, Verdict::Invalid, "{report}");
}

/// A linearizable history of one register: each op takes effect at its completion (indeterminate
/// writes at their completion or never), 10 processes, reads, writes and compare-and-sets.
fn register_history(ops: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let processes = 10usize;
    let mut value: Option<u64> = None;
    let mut pending: Vec<Option<(u64, u64, u64)>> = vec![None; processes];
    let mut process_id: Vec<usize> = (0..processes).collect();
    let mut out = String::new();
    let mut done = 0;
    let show = |v: Option<u64>| v.map_or_else(|| "nil".to_string(), |v| v.to_string());
    while done < ops {
        let slot = rng.below(processes as u64) as usize;
        let p = process_id[slot];
        match pending[slot].take() {
            None => {
                let (f, a, b) = (rng.below(3), rng.below(5), rng.below(5));
                let (name, arg) = match f {
                    0 => ("read", "nil".to_string()),
                    1 => ("write", a.to_string()),
                    _ => ("cas", format!("[{a} {b}]")),
                };
                let _ = writeln!(
                    out,
                    "{{:process {p}, :type :invoke, :f :{name}, :value {arg}}}"
                );
                pending[slot] = Some((f, a, b));
            }
            Some((f, a, b)) => {
                done += 1;
                match f {
                    0 => {
                        let _ = writeln!(
                            out,
                            "{{:process {p}, :type :ok, :f :read, :value {}}}",
                            show(value)
                        );
                    }
                    1 => {
                        let crash = rng.below(20) == 0;
                        if !crash || rng.below(2) == 0 {
                            value = Some(a);
                        }
                        let ty = if crash { "info" } else { "ok" };
                        let _ =
                            writeln!(out, "{{:process {p}, :type :{ty}, :f :write, :value {a}}}");
                        if crash {
                            process_id[slot] += processes;
                        }
                    }
                    _ => {
                        let ty = if value == Some(a) {
                            value = Some(b);
                            "ok"
                        } else {
                            "fail"
                        };
                        let _ = writeln!(
                            out,
                            "{{:process {p}, :type :{ty}, :f :cas, :value [{a} {b}]}}"
                        );
                    }
                }
            }
        }
    }
    out
}

#[test]
fn a_busy_register_is_checked_quickly() {
    let text = register_history(5_000, 5);
    let started = Instant::now();
    let report = check_history(&text, &CheckOptions::new(Workload::Register)).expect("check");
    println!(
        "register, 5000 ops: {} in {:?}, {} steps",
        report.verdict,
        started.elapsed(),
        report.stats.search_steps
    );
    assert_eq!(report.verdict, Verdict::Valid, "{report}");
    // A read of a value never written breaks it.
    let broken = text.replacen(
        ":type :ok, :f :read, :value 3}",
        ":type :ok, :f :read, :value 77}",
        1,
    );
    let report = check_history(&broken, &CheckOptions::new(Workload::Register)).expect("check");
    assert_eq!(report.verdict, Verdict::Invalid, "{report}");
}
