//! The bank workload: money moves between accounts, so every read of all balances must sum to
//! the same total, and no balance may go negative.
//!
//! Table `bank_accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)`, `accounts` rows of
//! `initial_balance` each. Ops:
//! - `{:f :read, :value {0 100, 1 100, ...}}`: `SELECT id, balance ... ORDER BY id`, one
//!   autocommit statement (one snapshot);
//! - `{:f :transfer, :value {:from a, :to b, :amount n}}`: a transaction that reads both
//!   balances, refuses (`insufficient-funds`, `:fail`) when `from` has less than `amount`, and
//!   writes both new balances as absolute values (read-modify-write, so a lost update changes
//!   the total).
//!
//! Durability: when no transfer is indeterminate, the final read must equal the initial
//! balances plus every acknowledged transfer, account by account.

use std::collections::BTreeMap;

use chronos_check::edn::Value;
use chronos_check::history::{Op, OpType};
use chronos_check::{BankOptions, CheckOptions, Workload as CheckWorkload};

use super::{
    Client, ClientError, Durability, Invocation, OpError, Rng, Workload, WorkloadKind, first_int,
    in_txn,
};

const TABLE: &str = "bank_accounts";

/// The bank workload's parameters.
#[derive(Debug, Clone)]
pub struct Bank {
    pub accounts: i64,
    pub initial_balance: i64,
    /// Transfers move `1..=max_transfer`.
    pub max_transfer: i64,
    /// Share of reads among the ops, in percent.
    pub read_percent: u64,
}

impl Default for Bank {
    fn default() -> Self {
        Bank {
            accounts: 8,
            initial_balance: 100,
            max_transfer: 5,
            read_percent: 50,
        }
    }
}

fn kw(s: &str) -> Value {
    Value::Keyword(s.to_string())
}

impl Bank {
    pub fn total(&self) -> i64 {
        self.accounts * self.initial_balance
    }

    fn read(&self, client: &mut dyn Client) -> Result<Value, OpError> {
        let reply = client.execute(&format!("SELECT id, balance FROM {TABLE} ORDER BY id"))?;
        let mut entries = Vec::with_capacity(reply.rows.len());
        for row in &reply.rows {
            match row.as_slice() {
                [
                    chronos_sql::Value::Integer(id),
                    chronos_sql::Value::Integer(b),
                ] => {
                    entries.push((Value::Int(*id), Value::Int(*b)));
                }
                other => {
                    return Err(OpError::refused(&format!(
                        "unexpected-row {other:?} in {TABLE}"
                    )));
                }
            }
        }
        Ok(Value::Map(entries))
    }

    fn balance(client: &mut dyn Client, id: i64) -> Result<i64, OpError> {
        let reply = client.execute(&format!("SELECT balance FROM {TABLE} WHERE id = {id}"))?;
        first_int(&reply)?.ok_or_else(|| OpError::refused("missing-account"))
    }
}

/// `(from, to, amount)` of a transfer's value.
fn transfer_of(v: &Value) -> Option<(i64, i64, i64)> {
    Some((
        v.get("from")?.as_int()?,
        v.get("to")?.as_int()?,
        v.get("amount")?.as_int()?,
    ))
}

impl Workload for Bank {
    fn kind(&self) -> WorkloadKind {
        WorkloadKind::Bank
    }

    fn setup(&self, client: &mut dyn Client) -> Result<(), ClientError> {
        client.execute(&format!("DROP TABLE IF EXISTS {TABLE}"))?;
        client.execute(&format!(
            "CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)"
        ))?;
        let rows: Vec<String> = (0..self.accounts)
            .map(|id| format!("({id}, {})", self.initial_balance))
            .collect();
        client.execute(&format!("INSERT INTO {TABLE} VALUES {}", rows.join(", ")))?;
        Ok(())
    }

    fn next_op(&self, rng: &mut Rng) -> Invocation {
        if rng.percent(self.read_percent) {
            return Invocation {
                f: "read".into(),
                key: None,
                value: Value::Nil,
                read_only: true,
            };
        }
        let n = self.accounts.max(2) as u64;
        let from = rng.below(n);
        let to = (from + 1 + rng.below(n - 1)) % n;
        let amount = 1 + rng.below(self.max_transfer.max(1) as u64);
        Invocation {
            f: "transfer".into(),
            key: None,
            value: Value::Map(vec![
                (kw("from"), Value::Int(from as i64)),
                (kw("to"), Value::Int(to as i64)),
                (kw("amount"), Value::Int(amount as i64)),
            ]),
            read_only: false,
        }
    }

    fn execute(&self, client: &mut dyn Client, inv: &Invocation) -> Result<Value, OpError> {
        match inv.f.as_str() {
            "read" => self.read(client),
            "transfer" => {
                let Some((from, to, amount)) = transfer_of(&inv.value) else {
                    return Err(OpError::refused("malformed-transfer"));
                };
                in_txn(client, |c| {
                    let fb = Self::balance(c, from)?;
                    let tb = Self::balance(c, to)?;
                    if fb < amount {
                        return Err(OpError::refused("insufficient-funds"));
                    }
                    c.execute(&format!(
                        "UPDATE {TABLE} SET balance = {} WHERE id = {from}",
                        fb - amount
                    ))?;
                    c.execute(&format!(
                        "UPDATE {TABLE} SET balance = {} WHERE id = {to}",
                        tb + amount
                    ))?;
                    Ok(inv.value.clone())
                })
            }
            other => Err(OpError::refused(&format!("unknown-op {other}"))),
        }
    }

    fn final_reads(&self) -> Vec<Invocation> {
        vec![Invocation {
            f: "read".into(),
            key: None,
            value: Value::Nil,
            read_only: true,
        }]
    }

    fn check_options(&self) -> CheckOptions {
        let mut opts = CheckOptions::new(CheckWorkload::Bank);
        opts.bank = BankOptions {
            total: Some(self.total()),
            negative_balances: false,
        };
        opts
    }

    fn durability(&self, history: &[Op]) -> Durability {
        let mut expected: BTreeMap<i64, i64> = (0..self.accounts)
            .map(|id| (id, self.initial_balance))
            .collect();
        let mut last_read = None;
        for op in history {
            match (op.op_type, op.f.as_deref()) {
                (OpType::Info, Some("transfer")) => {
                    return Durability::NotChecked(
                        "a transfer is indeterminate, so the final balances are not known".into(),
                    );
                }
                (OpType::Ok, Some("transfer")) => {
                    if let Some((from, to, amount)) = transfer_of(&op.value) {
                        *expected.entry(from).or_default() -= amount;
                        *expected.entry(to).or_default() += amount;
                    }
                }
                (OpType::Ok, Some("read")) => last_read = Some(&op.value),
                _ => {}
            }
        }
        let Some(Value::Map(read)) = last_read else {
            return Durability::NotChecked("no successful final read".into());
        };
        let seen: BTreeMap<i64, i64> = read
            .iter()
            .filter_map(|(k, v)| Some((k.as_int()?, v.as_int()?)))
            .collect();
        let lost = expected
            .iter()
            .filter(|(id, b)| seen.get(id) != Some(b))
            .map(|(id, b)| {
                format!(
                    "account {id}: acknowledged transfers leave {b}, the final read shows {}",
                    seen.get(id).map_or("nothing".to_string(), i64::to_string)
                )
            })
            .collect();
        Durability::Checked { lost }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn transfers_name_two_distinct_accounts_and_bounded_amounts() {
        let bank = Bank::default();
        let mut rng = Rng::new(7);
        let (mut reads, mut transfers) = (0, 0);
        for _ in 0..1000 {
            let inv = bank.next_op(&mut rng);
            if inv.f == "read" {
                reads += 1;
                assert!(inv.read_only);
                continue;
            }
            transfers += 1;
            let (from, to, amount) = transfer_of(&inv.value).unwrap();
            assert_ne!(from, to);
            assert!((0..8).contains(&from) && (0..8).contains(&to));
            assert!((1..=5).contains(&amount), "{amount}");
        }
        assert!(reads > 350 && transfers > 350, "{reads} {transfers}");
    }

    #[test]
    fn durability_replays_acknowledged_transfers() {
        let bank = Bank {
            accounts: 2,
            initial_balance: 10,
            ..Bank::default()
        };
        let text = "{:type :ok, :process 0, :f :transfer, :value {:from 0, :to 1, :amount 3}}\n\
                    {:type :fail, :process 0, :f :transfer, :value {:from 0, :to 1, :amount 9}}\n\
                    {:type :ok, :process 1, :f :read, :value {0 7, 1 13}}\n";
        let ops = chronos_check::history::parse(text, chronos_check::Format::Edn).unwrap();
        assert_eq!(
            bank.durability(&ops),
            Durability::Checked { lost: Vec::new() }
        );
        let lossy = text.replace("{0 7, 1 13}", "{0 10, 1 10}");
        let ops = chronos_check::history::parse(&lossy, chronos_check::Format::Edn).unwrap();
        let Durability::Checked { lost } = bank.durability(&ops) else {
            panic!("checked")
        };
        assert_eq!(lost.len(), 2, "{lost:?}");
    }
}
