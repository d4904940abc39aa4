//! Register workloads.
//!
//! **rw-register** (Elle's): transactions of `[:w k v]` and `[:r k nil]` over table
//! `rw_registers (k INTEGER PRIMARY KEY, v INTEGER)`; a write is `UPDATE`, then `INSERT` when
//! no row was there; values are unique per key (1, 2, 3, ...), keys rotate as in list-append,
//! and a transaction writes a key at most once. The checker runs with `wfr_keys` (a write
//! follows the version its own transaction read), which snapshot isolation's
//! first-committer-wins guarantees.
//!
//! **register**: single-key operations checked for linearizability, key by key, over table
//! `cas_registers (k INTEGER PRIMARY KEY, v INTEGER)`: `{:f :read, :key k}` (autocommit
//! SELECT), `{:f :write, :key k, :value v}` (a transaction: UPDATE, else INSERT), `{:f :cas,
//! :key k, :value [old new]}` (`UPDATE ... WHERE k = k AND v = old`, autocommit; no row
//! changed is a definite `:fail`, `cas-mismatch`). Values are small (0..5), as in Knossos, so
//! cas succeeds often.
//!
//! Durability: rw-register is not checked beyond the checker (which version is last is what
//! the checker infers); register's final reads are part of the linearizability check.

use std::sync::{Mutex, PoisonError};

use chronos_check::edn::Value;
use chronos_check::history::Op;
use chronos_check::{CheckOptions, Workload as CheckWorkload};

use super::list_append::KeyPool;
use super::{
    Client, ClientError, Durability, Invocation, OpError, Rng, Workload, WorkloadKind, first_int,
    in_txn, mop,
};

const RW_TABLE: &str = "rw_registers";
const CAS_TABLE: &str = "cas_registers";

/// Writes `v` to key `k` of `table`: update, or insert when the key has no row yet.
fn upsert(client: &mut dyn Client, table: &str, k: i64, v: i64) -> Result<(), OpError> {
    let r = client.execute(&format!("UPDATE {table} SET v = {v} WHERE k = {k}"))?;
    if r.affected == 0 {
        client.execute(&format!("INSERT INTO {table} VALUES ({k}, {v})"))?;
    }
    Ok(())
}

fn read(client: &mut dyn Client, table: &str, k: i64) -> Result<Value, OpError> {
    let reply = client.execute(&format!("SELECT v FROM {table} WHERE k = {k}"))?;
    Ok(first_int(&reply)?.map_or(Value::Nil, Value::Int))
}

fn create(client: &mut dyn Client, table: &str) -> Result<(), ClientError> {
    client.execute(&format!("DROP TABLE IF EXISTS {table}"))?;
    client.execute(&format!(
        "CREATE TABLE {table} (k INTEGER PRIMARY KEY, v INTEGER)"
    ))?;
    Ok(())
}

/// The rw-register workload.
#[derive(Debug)]
pub struct RwRegister {
    pool: Mutex<KeyPool>,
    pub max_txn_len: u64,
}

impl RwRegister {
    pub fn new(active_keys: usize, max_writes_per_key: i64, max_txn_len: u64) -> Self {
        RwRegister {
            pool: Mutex::new(KeyPool::new(active_keys, max_writes_per_key)),
            max_txn_len: max_txn_len.max(1),
        }
    }
}

impl Workload for RwRegister {
    fn kind(&self) -> WorkloadKind {
        WorkloadKind::RwRegister
    }

    fn setup(&self, client: &mut dyn Client) -> Result<(), ClientError> {
        create(client, RW_TABLE)
    }

    fn next_op(&self, rng: &mut Rng) -> Invocation {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let len = 1 + rng.below(self.max_txn_len);
        let mut written = Vec::new();
        let mops = (0..len)
            .map(|_| {
                let k = pool.pick(rng);
                if rng.percent(50) || written.contains(&k) {
                    mop("r", k, Value::Nil)
                } else {
                    written.push(k);
                    mop("w", k, Value::Int(pool.write(k)))
                }
            })
            .collect();
        Invocation {
            f: "txn".into(),
            key: None,
            value: Value::Vector(mops),
            read_only: false,
        }
    }

    fn execute(&self, client: &mut dyn Client, inv: &Invocation) -> Result<Value, OpError> {
        let Some(mops) = inv.value.as_seq() else {
            return Err(OpError::refused("malformed-txn"));
        };
        in_txn(client, |c| {
            let mut out = Vec::with_capacity(mops.len());
            for m in mops {
                let Some([f, k, v]) = m.as_seq() else {
                    return Err(OpError::refused("malformed-mop"));
                };
                let (Some(f), Some(k)) = (f.as_name(), k.as_int()) else {
                    return Err(OpError::refused("malformed-mop"));
                };
                match (f, v.as_int()) {
                    ("r", _) => out.push(mop("r", k, read(c, RW_TABLE, k)?)),
                    ("w", Some(x)) => {
                        upsert(c, RW_TABLE, k, x)?;
                        out.push(m.clone());
                    }
                    _ => return Err(OpError::refused("malformed-mop")),
                }
            }
            Ok(Value::Vector(out))
        })
    }

    fn final_reads(&self) -> Vec<Invocation> {
        let pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        vec![Invocation {
            f: "txn".into(),
            key: None,
            value: Value::Vector(pool.keys().map(|k| mop("r", k, Value::Nil)).collect()),
            read_only: true,
        }]
    }

    fn check_options(&self) -> CheckOptions {
        let mut opts = CheckOptions::new(CheckWorkload::RwRegister);
        opts.txn.wfr_keys = true;
        opts
    }

    fn durability(&self, _history: &[Op]) -> Durability {
        Durability::NotChecked(
            "rw-register: the last version of a key is the checker's inference".into(),
        )
    }
}

/// The single-key register workload (linearizability).
#[derive(Debug, Clone)]
pub struct Register {
    pub keys: i64,
    /// Values are drawn from `0..values`.
    pub values: u64,
}

impl Default for Register {
    fn default() -> Self {
        Register { keys: 4, values: 5 }
    }
}

impl Register {
    fn op(f: &str, k: i64, value: Value) -> Invocation {
        Invocation {
            f: f.into(),
            key: Some(Value::Int(k)),
            value,
            read_only: f == "read",
        }
    }
}

impl Workload for Register {
    fn kind(&self) -> WorkloadKind {
        WorkloadKind::Register
    }

    fn setup(&self, client: &mut dyn Client) -> Result<(), ClientError> {
        create(client, CAS_TABLE)
    }

    fn next_op(&self, rng: &mut Rng) -> Invocation {
        let k = rng.below(self.keys.max(1) as u64) as i64;
        let values = self.values.max(1);
        let v = |rng: &mut Rng| Value::Int(rng.below(values) as i64);
        match rng.below(10) {
            0..4 => Self::op("read", k, Value::Nil),
            4..7 => Self::op("write", k, v(rng)),
            _ => {
                let old = v(rng);
                Self::op("cas", k, Value::Vector(vec![old, v(rng)]))
            }
        }
    }

    fn execute(&self, client: &mut dyn Client, inv: &Invocation) -> Result<Value, OpError> {
        let Some(k) = inv.key.as_ref().and_then(Value::as_int) else {
            return Err(OpError::refused("malformed-op"));
        };
        match (inv.f.as_str(), &inv.value) {
            ("read", _) => read(client, CAS_TABLE, k),
            ("write", Value::Int(v)) => {
                in_txn(client, |c| upsert(c, CAS_TABLE, k, *v))?;
                Ok(inv.value.clone())
            }
            ("cas", Value::Vector(pair)) => {
                let [Value::Int(old), Value::Int(new)] = pair.as_slice() else {
                    return Err(OpError::refused("malformed-op"));
                };
                let r = client
                    .execute(&format!(
                        "UPDATE {CAS_TABLE} SET v = {new} WHERE k = {k} AND v = {old}"
                    ))
                    .map_err(OpError::committing)?;
                if r.affected == 0 {
                    return Err(OpError::refused("cas-mismatch"));
                }
                Ok(inv.value.clone())
            }
            _ => Err(OpError::refused("malformed-op")),
        }
    }

    fn final_reads(&self) -> Vec<Invocation> {
        (0..self.keys.max(1))
            .map(|k| Self::op("read", k, Value::Nil))
            .collect()
    }

    fn check_options(&self) -> CheckOptions {
        CheckOptions::new(CheckWorkload::Register)
    }

    fn durability(&self, _history: &[Op]) -> Durability {
        Durability::NotChecked(
            "register: the final reads are part of the linearizability check".into(),
        )
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn rw_register_transactions_write_each_key_at_most_once() {
        let w = RwRegister::new(3, 4, 4);
        let mut rng = Rng::new(3);
        for _ in 0..300 {
            let inv = w.next_op(&mut rng);
            let mut written = Vec::new();
            for m in inv.value.as_seq().unwrap() {
                let [f, k, _] = m.as_seq().unwrap() else {
                    panic!("{m}")
                };
                if f.as_name() == Some("w") {
                    assert!(!written.contains(k), "{}", inv.value);
                    written.push(k.clone());
                }
            }
        }
    }

    #[test]
    fn register_ops_carry_a_key_and_well_formed_values() {
        let w = Register::default();
        let mut rng = Rng::new(5);
        let mut fs = std::collections::BTreeMap::new();
        for _ in 0..500 {
            let inv = w.next_op(&mut rng);
            let k = inv.key.as_ref().and_then(Value::as_int).unwrap();
            assert!((0..4).contains(&k));
            match inv.f.as_str() {
                "read" => assert!(inv.read_only && inv.value.is_nil()),
                "write" => assert!(inv.value.as_int().is_some()),
                "cas" => assert_eq!(inv.value.as_seq().unwrap().len(), 2),
                other => panic!("{other}"),
            }
            *fs.entry(inv.f).or_insert(0) += 1;
        }
        assert_eq!(fs.len(), 3, "{fs:?}");
    }
}
