//! The list-append workload (Elle's): transactions of `[:append k v]` and `[:r k nil]`
//! micro-operations; a read returns the whole list, so every read reveals the order of every
//! append it saw, which is what lets the checker infer version orders and find cycles.
//!
//! SQL form: table `append_lists (k INTEGER PRIMARY KEY, elements TEXT NOT NULL)`, one row per
//! key holding a comma-separated list (`"1,2,3"`). An append is a read-modify-write inside the
//! transaction: `SELECT elements`, then `INSERT` (first element) or `UPDATE ... SET elements =
//! '<old>,<v>'`. One row per key (rather than one row per element) keeps Elle's semantics
//! exact: a read is one point read of one version, two concurrent appends to a key write the
//! same row (so snapshot isolation's first-committer-wins aborts one of them, and a lost update
//! would show as a missing element), and the list order is the commit order of its appends.
//!
//! Keys rotate as in Elle: a few keys are active at a time; a key that has had
//! `max_writes_per_key` appends is retired for a fresh one, which keeps lists (and reads) short.
//! Elements are 1, 2, 3, ... per key, so each is unique within its key.
//!
//! Durability: every acknowledged append must be in the final read of its key.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, PoisonError};

use chronos_check::edn::Value;
use chronos_check::history::{Op, OpType};
use chronos_check::{CheckOptions, Workload as CheckWorkload};

use super::{
    Client, ClientError, Durability, Invocation, OpError, Rng, Workload, WorkloadKind, in_txn, mop,
};

const TABLE: &str = "append_lists";

/// Elle's rotating key pool, shared by all workers: uniform choice among `active` keys; a key
/// retires after `max_writes_per_key` writes and a fresh key takes its place.
#[derive(Debug, Clone)]
pub struct KeyPool {
    active: Vec<i64>,
    /// Writes generated so far per key (also the last value generated for it).
    writes: BTreeMap<i64, i64>,
    next_key: i64,
    max_writes_per_key: i64,
}

impl KeyPool {
    pub fn new(active_keys: usize, max_writes_per_key: i64) -> Self {
        let n = active_keys.max(1) as i64;
        KeyPool {
            active: (0..n).collect(),
            writes: BTreeMap::new(),
            next_key: n,
            max_writes_per_key: max_writes_per_key.max(1),
        }
    }

    /// A key to operate on.
    pub fn pick(&self, rng: &mut Rng) -> i64 {
        self.active[rng.below(self.active.len() as u64) as usize]
    }

    /// The next value to write to `k` (1, 2, 3, ...: unique per key); retires `k` once it has
    /// had its share of writes.
    pub fn write(&mut self, k: i64) -> i64 {
        let count = self.writes.entry(k).or_default();
        *count += 1;
        let v = *count;
        if v >= self.max_writes_per_key
            && let Some(slot) = self.active.iter_mut().find(|a| **a == k)
        {
            *slot = self.next_key;
            self.next_key += 1;
        }
        v
    }

    /// Every key handed out so far.
    pub fn keys(&self) -> std::ops::Range<i64> {
        0..self.next_key
    }
}

/// The list-append workload's parameters and shared generator.
#[derive(Debug)]
pub struct ListAppend {
    pool: Mutex<KeyPool>,
    pub max_txn_len: u64,
}

impl ListAppend {
    pub fn new(active_keys: usize, max_writes_per_key: i64, max_txn_len: u64) -> Self {
        ListAppend {
            pool: Mutex::new(KeyPool::new(active_keys, max_writes_per_key)),
            max_txn_len: max_txn_len.max(1),
        }
    }
}

/// Parses a stored list; an element that is not an integer is kept as a string, so a garbage
/// read shows up as such in the history.
fn parse_list(text: &str) -> Value {
    Value::Vector(
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_or_else(|_| Value::Str(s.into()), Value::Int))
            .collect(),
    )
}

fn read_key(client: &mut dyn Client, k: i64) -> Result<Option<String>, OpError> {
    let reply = client.execute(&format!("SELECT elements FROM {TABLE} WHERE k = {k}"))?;
    match reply.rows.first().and_then(|r| r.first()) {
        None | Some(chronos_sql::Value::Null) => Ok(None),
        Some(chronos_sql::Value::Text(s)) => Ok(Some(s.clone())),
        Some(other) => Err(OpError::refused(&format!("unexpected-value {other:?}"))),
    }
}

/// Runs a list-append transaction's micro-operations; returns them with reads filled in.
pub fn run_mops(client: &mut dyn Client, mops: &[Value]) -> Result<Value, OpError> {
    let mut out = Vec::with_capacity(mops.len());
    for m in mops {
        let (f, k, v) = match m.as_seq() {
            Some([f, k, v]) => (f.as_name(), k.as_int(), v),
            _ => (None, None, m),
        };
        let Some(k) = k else {
            return Err(OpError::refused("malformed-mop"));
        };
        match f {
            Some("r") => {
                let list = read_key(client, k)?;
                out.push(mop("r", k, list.as_deref().map_or(Value::Nil, parse_list)));
            }
            Some("append") => {
                let Some(x) = v.as_int() else {
                    return Err(OpError::refused("malformed-mop"));
                };
                match read_key(client, k)? {
                    None => client.execute(&format!("INSERT INTO {TABLE} VALUES ({k}, '{x}')"))?,
                    Some(old) => client.execute(&format!(
                        "UPDATE {TABLE} SET elements = '{old},{x}' WHERE k = {k}"
                    ))?,
                };
                out.push(m.clone());
            }
            _ => return Err(OpError::refused("malformed-mop")),
        }
    }
    Ok(Value::Vector(out))
}

impl Workload for ListAppend {
    fn kind(&self) -> WorkloadKind {
        WorkloadKind::ListAppend
    }

    fn setup(&self, client: &mut dyn Client) -> Result<(), ClientError> {
        client.execute(&format!("DROP TABLE IF EXISTS {TABLE}"))?;
        client.execute(&format!(
            "CREATE TABLE {TABLE} (k INTEGER PRIMARY KEY, elements TEXT NOT NULL)"
        ))?;
        Ok(())
    }

    fn next_op(&self, rng: &mut Rng) -> Invocation {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        let len = 1 + rng.below(self.max_txn_len);
        let mops = (0..len)
            .map(|_| {
                let k = pool.pick(rng);
                if rng.percent(50) {
                    mop("r", k, Value::Nil)
                } else {
                    mop("append", k, Value::Int(pool.write(k)))
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
        in_txn(client, |c| run_mops(c, mops))
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
        CheckOptions::new(CheckWorkload::ListAppend)
    }

    fn durability(&self, history: &[Op]) -> Durability {
        durability(history)
    }
}

/// Every acknowledged append must appear in the last successful read of its key.
pub fn durability(history: &[Op]) -> Durability {
    let mut acked: BTreeMap<i64, BTreeSet<Value>> = BTreeMap::new();
    let mut last_read: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    for op in history {
        if op.op_type != OpType::Ok || op.f.as_deref() != Some("txn") {
            continue;
        }
        for m in op.value.as_seq().unwrap_or_default() {
            let Some([f, k, v]) = m.as_seq() else {
                continue;
            };
            let Some(k) = k.as_int() else { continue };
            match f.as_name() {
                Some("append") => {
                    acked.entry(k).or_default().insert(v.clone());
                }
                Some("r") => {
                    last_read.insert(k, v.as_seq().unwrap_or_default().to_vec());
                }
                _ => {}
            }
        }
    }
    let mut lost = Vec::new();
    for (k, values) in &acked {
        let Some(read) = last_read.get(k) else {
            lost.push(format!(
                "key {k}: never read after its acknowledged appends"
            ));
            continue;
        };
        let missing: Vec<String> = values
            .iter()
            .filter(|v| !read.contains(v))
            .map(Value::to_string)
            .collect();
        if !missing.is_empty() {
            lost.push(format!(
                "key {k}: acknowledged appends {} missing from the final read",
                missing.join(" ")
            ));
        }
    }
    Durability::Checked { lost }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn keys_rotate_and_elements_are_unique_per_key() {
        let w = ListAppend::new(2, 3, 4);
        let mut rng = Rng::new(1);
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            let inv = w.next_op(&mut rng);
            let mops = inv.value.as_seq().unwrap();
            assert!((1..=4).contains(&mops.len()));
            for m in mops {
                let [f, k, v] = m.as_seq().unwrap() else {
                    panic!("{m}")
                };
                if f.as_name() == Some("append") {
                    let v = v.as_int().unwrap();
                    assert!((1..=3).contains(&v), "at most 3 writes per key: {m}");
                    assert!(seen.insert((k.as_int().unwrap(), v)), "duplicate {m}");
                }
            }
        }
        let keys = w.pool.lock().unwrap().keys();
        assert!(keys.end > 10, "keys rotated: {keys:?}");
        let finals = w.final_reads();
        assert_eq!(finals[0].value.as_seq().unwrap().len() as i64, keys.end);
    }

    #[test]
    fn stored_lists_parse_back() {
        assert_eq!(
            parse_list("1,2,x"),
            Value::Vector(vec![Value::Int(1), Value::Int(2), Value::Str("x".into())])
        );
        assert_eq!(parse_list(""), Value::Vector(Vec::new()));
    }

    #[test]
    fn durability_finds_an_acknowledged_append_missing_from_the_final_read() {
        let text = "{:type :ok, :process 0, :f :txn, :value [[:append 1 1] [:append 1 2]]}\n\
                    {:type :ok, :process 1, :f :txn, :value [[:r 1 [1 2]]]}\n";
        let ops = chronos_check::history::parse(text, chronos_check::Format::Edn).unwrap();
        assert_eq!(durability(&ops), Durability::Checked { lost: Vec::new() });
        let ops = chronos_check::history::parse(
            &text.replace("[:r 1 [1 2]]", "[:r 1 [1]]"),
            chronos_check::Format::Edn,
        )
        .unwrap();
        let Durability::Checked { lost } = durability(&ops) else {
            panic!()
        };
        assert_eq!(
            lost,
            vec!["key 1: acknowledged appends 2 missing from the final read"]
        );
    }
}
