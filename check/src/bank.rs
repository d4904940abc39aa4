//! The bank checker: transfers move money between accounts, so every successful read of all
//! balances must show the same total, and (by default) no balance may be negative.
//!
//! Ops: `{:f :read, :value {account balance, ...}}` and `{:f :transfer, :value {:from a :to b
//! :amount n}}` (transfers are not inspected: only reads are evidence). The expected total is
//! [`BankOptions::total`] when given, else the total of the first successful read.

use std::time::Instant;

use crate::edn::Value;
use crate::error::{Error, Result};
use crate::history::{Completed, Status};
use crate::report::{Anomaly, OpRef, Report, Stats, Verdict, Workload};

/// Options of the bank checker.
#[derive(Debug, Clone, Default)]
pub struct BankOptions {
    /// The expected total; `None` takes the first successful read's total.
    pub total: Option<i64>,
    /// Accept negative balances.
    pub negative_balances: bool,
}

pub fn check(ops: &[Completed], opts: &BankOptions, max_examples: usize) -> Result<Report> {
    let started = Instant::now();
    let mut expected = opts.total;
    let mut wrong_total = 0usize;
    let mut negative = 0usize;
    let mut anomalies = Vec::new();
    for c in ops {
        if c.status != Status::Ok || c.f.as_deref() != Some("read") {
            continue;
        }
        let Value::Map(entries) = &c.value else {
            return Err(Error::bad_op(
                c.line,
                format!("bank read must return a map of balances, found {}", c.value),
            ));
        };
        let mut total = 0i64;
        let mut neg = Vec::new();
        for (account, balance) in entries {
            let Some(b) = balance.as_int() else {
                return Err(Error::bad_op(
                    c.line,
                    format!("balance of {account} is not an integer: {balance}"),
                ));
            };
            total = total.saturating_add(b);
            if b < 0 {
                neg.push(format!("{account} = {b}"));
            }
        }
        let op = OpRef {
            index: c.index,
            line: c.line,
            process: c.process.as_ref().map(Value::to_string),
            value: c.value.to_string(),
        };
        let want = *expected.get_or_insert(total);
        if total != want {
            wrong_total += 1;
            if wrong_total <= max_examples {
                anomalies.push(Anomaly {
                    kind: "wrong-total".into(),
                    explanation: format!("balances sum to {total}, expected {want}"),
                    ops: vec![op.clone()],
                    cycle: Vec::new(),
                });
            }
        }
        if !neg.is_empty() && !opts.negative_balances {
            negative += 1;
            if negative <= max_examples {
                anomalies.push(Anomaly {
                    kind: "negative-value".into(),
                    explanation: format!("negative balance: {}", neg.join(", ")),
                    ops: vec![op],
                    cycle: Vec::new(),
                });
            }
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    if negative > 0 {
        counts.insert("negative-value".to_string(), negative);
    }
    if wrong_total > 0 {
        counts.insert("wrong-total".to_string(), wrong_total);
    }
    let mut notes = Vec::new();
    if expected.is_none() {
        notes.push("no successful read: nothing to check".to_string());
    }
    Ok(Report {
        verdict: if counts.is_empty() {
            if expected.is_none() {
                Verdict::Unknown
            } else {
                Verdict::Valid
            }
        } else {
            Verdict::Invalid
        },
        workload: Workload::Bank,
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
            search_steps: 0,
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

    fn run(text: &str, opts: &BankOptions) -> Report {
        check(&pair(&parse(text, Format::Edn).unwrap()), opts, 3).unwrap()
    }

    #[test]
    fn constant_total_is_valid() {
        let text = "{:process 0 :type :invoke :f :read :value nil}\n{:process 0 :type :ok :f :read :value {0 10 1 10}}\n\
                    {:process 1 :type :invoke :f :transfer :value {:from 0 :to 1 :amount 5}}\n\
                    {:process 1 :type :ok :f :transfer :value {:from 0 :to 1 :amount 5}}\n\
                    {:process 0 :type :invoke :f :read :value nil}\n{:process 0 :type :ok :f :read :value {0 5 1 15}}";
        assert_eq!(run(text, &BankOptions::default()).verdict, Verdict::Valid);
        let wrong = BankOptions {
            total: Some(30),
            ..Default::default()
        };
        assert_eq!(run(text, &wrong).anomaly_types, vec!["wrong-total"]);
    }

    #[test]
    fn changed_total_and_negative_balance_are_invalid() {
        let text = "{:process 0 :type :ok :f :read :value {0 10 1 10}}\n{:process 0 :type :ok :f :read :value {0 -5 1 15}}\n\
                    {:process 0 :type :ok :f :read :value {0 5 1 10}}";
        let r = run(text, &BankOptions::default());
        assert_eq!(r.verdict, Verdict::Invalid);
        assert_eq!(r.anomaly_types, vec!["negative-value", "wrong-total"]);
        let lenient = BankOptions {
            negative_balances: true,
            ..Default::default()
        };
        assert_eq!(run(text, &lenient).anomaly_types, vec!["wrong-total"]);
        assert!(
            check(
                &pair(&parse("{:type :ok :f :read :value [1]}", Format::Edn).unwrap()),
                &BankOptions::default(),
                3
            )
            .is_err()
        );
    }
}
