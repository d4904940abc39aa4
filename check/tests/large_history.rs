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

/// A strict-serializable history: each transaction runs atomically against an in-memory store at
/// its completion, between its invocation and its completion. Keys are retired after
/// `max_writes_per_key` appends, as Jepsen's list-append workload does.
fn generate(txns: usize, processes: usize, seed: u64, lose_one_append: bool) -> String {
    let mut rng = Rng(seed);
    let mut lists: Vec<Vec<u64>> = Vec::new();
    let (active, max_writes_per_key) = (8u64, 32usize);
    let mut first_key = 0u64;
    let mut next_elem = 1u64;
    let mut pending: Vec<Option<Vec<(bool, u64, u64)>>> = vec![None; processes];
    let mut out = String::new();
    let (mut done, mut index) = (0usize, 0usize);
    let mut lost = false;
    while done < txns {
        let p = rng.below(processes as u64) as usize;
        match pending[p].take() {
            None => {
                let n = 1 + rng.below(4);
                let mops: Vec<(bool, u64, u64)> = (0..n)
                    .map(|_| {
                        let append = rng.below(2) == 0;
                        let e = if append { next_elem } else { 0 };
                        next_elem += u64::from(append);
                        (append, first_key + rng.below(active), e)
                    })
                    .collect();
                let text: Vec<String> = mops
                    .iter()
                    .map(|&(append, k, e)| {
                        if append {
                            format!("[:append {k} {e}]")
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
                pending[p] = Some(mops);
            }
            Some(mops) => {
                let mut text = Vec::new();
                for (append, k, e) in mops {
                    let k = k as usize;
                    if lists.len() <= k {
                        lists.resize(k + 1, Vec::new());
                    }
                    if append {
                        // Optionally drop one acknowledged append from the store: a lost write.
                        if lose_one_append && !lost && done >= txns / 2 {
                            lost = true;
                        } else {
                            lists[k].push(e);
                        }
                        text.push(format!("[:append {k} {e}]"));
                    } else {
                        let items: Vec<String> = lists[k].iter().map(u64::to_string).collect();
                        text.push(format!("[:r {k} [{}]]", items.join(" ")));
                    }
                }
                let _ = writeln!(
                    out,
                    "{{:index {index}, :type :ok, :process {p}, :f :txn, :value [{}]}}",
                    text.join(" ")
                );
                index += 1;
                done += 1;
                if lists
                    .get(first_key as usize)
                    .is_some_and(|l| l.len() >= max_writes_per_key)
                {
                    first_key += 1;
                }
            }
        }
    }
    // Invocations still pending are left without completion: indeterminate.
    out
}

#[test]
fn hundred_thousand_transactions_in_well_under_a_minute() {
    let text = generate(100_000, 10, 7, false);
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

#[test]
fn a_lost_append_is_found_in_a_large_history() {
    let text = generate(20_000, 10, 11, true);
    let report = check_history(&text, &CheckOptions::new(Workload::ListAppend)).expect("check");
    assert_eq!(report.verdict, Verdict::Invalid, "{report}");
}
