//! Golden scenario tests: one script per behaviour in `tests/testdata/*.txt`.
//!
//! A script is a sequence of blocks separated by blank lines; each block is one or more command
//! lines, a `---` line, and the expected output. Lines starting with `#` outside blocks are
//! comments. Run with `UPDATE_GOLDEN=1` to rewrite the expected output, then review the diff.
//!
//! Commands (nodes are numbered from 1):
//! - `cluster n=3 [extra=4,5] [prevote=false] [checkquorum=false] [forward=false] [batch=N]
//!   [chunk=N] [lease=true]`: a fresh cluster; `extra` nodes run but are not in the bootstrap membership.
//!   Election timeouts are fixed by the node's seed, so runs are deterministic.
//! - `campaign N`, `tick N [count]`, `propose N data`, `read N ctx`, `transfer N to`,
//!   `conf N add-learner|add-voter|remove ID`, `compact N`: drive one node.
//! - `process`: drain every node's `Ready` (persist, queue messages, apply) without delivering.
//! - `deliver`: deliver every queued message once (in order), then `process`.
//! - `stabilize`: `process`, then `deliver` until nothing is left.
//! - `run TICKS [quiet]`: tick every live node and stabilize, TICKS times; `quiet` hides messages.
//! - `partition 1 2 | 3`: only nodes in the same group can talk; `heal` removes it.
//! - `crash N` (loses nothing synced: every Ready is synced), `restart N`.
//! - `status`, `log N`, `progress N` (leader's view of each follower): print state.

#![expect(clippy::unwrap_used, reason = "test harness")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use chronos_raft::storage::{LogStorage, MemStorage, persist_ready};
use chronos_raft::{ConfChange, Config, EntryPayload, Message, RawNode, Role, format_entry};

struct Node {
    storage: MemStorage,
    raw: Option<RawNode>,
    cfg: Config,
}

#[derive(Default)]
struct Cluster {
    nodes: BTreeMap<u64, Node>,
    queue: Vec<Message>,
    groups: Option<BTreeMap<u64, usize>>,
}

impl Cluster {
    fn new(args: &BTreeMap<String, String>) -> Self {
        let n: u64 = args.get("n").map_or(3, |v| v.parse().unwrap());
        let extra: Vec<u64> = args
            .get("extra")
            .map(|v| v.split(',').map(|x| x.parse().unwrap()).collect())
            .unwrap_or_default();
        let flag = |k: &str| args.get(k).is_none_or(|v| v != "false");
        let mut c = Cluster::default();
        for id in (1..=n).chain(extra.iter().copied()) {
            let mut cfg = Config::new(id);
            if id <= n {
                cfg.bootstrap_voters = (1..=n).collect();
            }
            cfg.pre_vote = flag("prevote");
            cfg.check_quorum = flag("checkquorum");
            cfg.forward_proposals = flag("forward");
            if let Some(b) = args.get("batch") {
                cfg.max_msg_entries = b.parse().unwrap();
            }
            cfg.lease_reads = args.get("lease").is_some_and(|v| v == "true");
            if let Some(b) = args.get("chunk") {
                cfg.snapshot_chunk_bytes = b.parse().unwrap();
            }
            let storage = MemStorage::new();
            let raw = RawNode::new(cfg.clone(), storage.initial_state().unwrap()).unwrap();
            c.nodes.insert(
                id,
                Node {
                    storage,
                    raw: Some(raw),
                    cfg,
                },
            );
        }
        c
    }

    fn raw(&mut self, id: u64) -> &mut RawNode {
        self.nodes
            .get_mut(&id)
            .and_then(|n| n.raw.as_mut())
            .unwrap_or_else(|| panic!("node {id} is down"))
    }

    fn connected(&self, a: u64, b: u64) -> bool {
        self.groups.as_ref().is_none_or(|g| g.get(&a) == g.get(&b))
    }

    fn process(&mut self, out: &mut String) -> bool {
        let mut any = false;
        let ids: Vec<u64> = self.nodes.keys().copied().collect();
        for id in ids {
            loop {
                let node = self.nodes.get_mut(&id).unwrap();
                let Some(raw) = node.raw.as_mut() else { break };
                if !raw.has_ready() {
                    break;
                }
                any = true;
                let ready = raw.ready();
                persist_ready(&mut node.storage, &ready).unwrap();
                if let Some(ss) = ready.soft_state {
                    let term = raw.raft().term();
                    let leader = ss.leader.map_or("none".to_string(), |l| l.to_string());
                    writeln!(out, "n{id}: {:?} term={term} leader={leader}", ss.role).unwrap();
                }
                if let Some(s) = &ready.snapshot {
                    writeln!(
                        out,
                        "n{id}: installed snapshot {}/{} ({})",
                        s.meta.index, s.meta.term, s.meta.membership
                    )
                    .unwrap();
                }
                let applied: Vec<String> = ready
                    .committed_entries
                    .iter()
                    // Skip no-ops and the bootstrap membership (term 1).
                    .filter(|e| !matches!(e.payload, EntryPayload::Empty) && e.term > 1)
                    .map(format_entry)
                    .collect();
                if !applied.is_empty() {
                    writeln!(out, "n{id}: apply {}", applied.join(" ")).unwrap();
                }
                for rs in &ready.read_states {
                    writeln!(
                        out,
                        "n{id}: read ctx={} ready at index {}",
                        rs.ctx, rs.index
                    )
                    .unwrap();
                }
                self.queue.extend(ready.messages);
                raw.advance();
            }
        }
        any
    }

    fn deliver(&mut self, out: &mut String, quiet: bool) {
        let msgs = std::mem::take(&mut self.queue);
        for m in msgs {
            let down = self.nodes.get(&m.to).is_none_or(|n| n.raw.is_none());
            let dropped = !self.connected(m.from, m.to) || down;
            if !quiet {
                writeln!(out, "  {m}{}", if dropped { "  (dropped)" } else { "" }).unwrap();
            }
            if !dropped {
                self.raw(m.to).step(m).unwrap();
            }
        }
        self.process(out);
    }

    fn stabilize(&mut self, out: &mut String, quiet: bool) {
        self.process(out);
        for _ in 0..1000 {
            if self.queue.is_empty() {
                return;
            }
            self.deliver(out, quiet);
        }
        panic!("stabilize did not converge");
    }

    fn status(&self, out: &mut String) {
        for (id, n) in &self.nodes {
            let Some(raw) = &n.raw else {
                writeln!(out, "n{id}: down").unwrap();
                continue;
            };
            let r = raw.raft();
            let log = r.log();
            let leader = r.leader().map_or("none".to_string(), |l| l.to_string());
            writeln!(
                out,
                "n{id}: {:?} term={} leader={leader} commit={} applied={} last={}/{} {}",
                r.role(),
                r.term(),
                log.commit(),
                log.applied(),
                log.last_index(),
                log.last_term(),
                r.membership()
            )
            .unwrap();
        }
    }

    fn exec(&mut self, line: &str, out: &mut String) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> u64 {
            words
                .get(i)
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("bad args: {line}"))
        };
        let report = |out: &mut String, r: chronos_raft::Result<()>| match r {
            Ok(()) => {}
            Err(e) => writeln!(out, "error: {e}").unwrap(),
        };
        match words[0] {
            "cluster" => {
                let args = words[1..]
                    .iter()
                    .map(|w| {
                        let (k, v) = w.split_once('=').unwrap();
                        (k.to_string(), v.to_string())
                    })
                    .collect();
                *self = Cluster::new(&args);
                self.process(out);
            }
            "campaign" => self.raw(num(1)).campaign(),
            "tick" => {
                let count = if words.len() > 2 { num(2) } else { 1 };
                for _ in 0..count {
                    self.raw(num(1)).tick();
                }
            }
            "propose" => {
                let r = self.raw(num(1)).propose(words[2].as_bytes().to_vec());
                report(out, r);
            }
            "read" => {
                let r = self.raw(num(1)).read_index(num(2));
                report(out, r);
            }
            "transfer" => {
                let r = self.raw(num(1)).transfer_leader(num(2));
                report(out, r);
            }
            "conf" => {
                let id = num(3);
                let cc = match words[2] {
                    "add-learner" => ConfChange::AddLearner(id),
                    "add-voter" => ConfChange::AddVoter(id),
                    "remove" => ConfChange::RemoveNode(id),
                    other => panic!("unknown conf change {other}"),
                };
                let r = self.raw(num(1)).propose_conf_change(cc);
                report(out, r);
            }
            "compact" => {
                let id = num(1);
                let node = self.nodes.get_mut(&id).unwrap();
                let raw = node.raw.as_mut().unwrap();
                let applied = raw.raft().log().applied();
                match raw.compact(applied, format!("state@{applied}").into_bytes()) {
                    Ok(snap) => {
                        node.storage.compact(&snap).unwrap();
                        node.storage.sync().unwrap();
                        writeln!(
                            out,
                            "n{id}: compacted to {}/{}",
                            snap.meta.index, snap.meta.term
                        )
                        .unwrap();
                    }
                    Err(e) => writeln!(out, "error: {e}").unwrap(),
                }
            }
            "process" => {
                self.process(out);
            }
            "deliver" => self.deliver(out, false),
            "stabilize" => self.stabilize(out, false),
            "run" => {
                let quiet = words.get(2) == Some(&"quiet");
                for _ in 0..num(1) {
                    let ids: Vec<u64> = self.nodes.keys().copied().collect();
                    for id in ids {
                        if let Some(raw) = self.nodes.get_mut(&id).unwrap().raw.as_mut() {
                            raw.tick();
                        }
                    }
                    self.stabilize(out, quiet);
                }
            }
            "partition" => {
                let mut groups = BTreeMap::new();
                for (g, part) in line["partition".len()..].split('|').enumerate() {
                    for id in part.split_whitespace() {
                        groups.insert(id.parse().unwrap(), g);
                    }
                }
                self.groups = Some(groups);
            }
            "heal" => self.groups = None,
            "crash" => {
                let node = self.nodes.get_mut(&num(1)).unwrap();
                node.raw = None;
                node.storage.crash();
            }
            "restart" => {
                let node = self.nodes.get_mut(&num(1)).unwrap();
                let raw =
                    RawNode::new(node.cfg.clone(), node.storage.initial_state().unwrap()).unwrap();
                node.raw = Some(raw);
            }
            "status" => self.status(out),
            "progress" => {
                let raw = self.raw(num(1));
                for (id, p) in raw.raft().progress().into_iter().flatten() {
                    writeln!(
                        out,
                        "{id}: match={} next={} {:?}",
                        p.match_index, p.next_index, p.state
                    )
                    .unwrap();
                }
            }
            "log" => {
                let raw = self.raw(num(1));
                let log = raw.raft().log();
                let entries: Vec<String> = log.entries().iter().map(format_entry).collect();
                writeln!(
                    out,
                    "snapshot={}/{} commit={} entries: {}",
                    log.snapshot_index(),
                    log.snapshot_term(),
                    log.commit(),
                    entries.join(" ")
                )
                .unwrap();
            }
            other => panic!("unknown command {other}"),
        }
    }
}

fn run_script(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/testdata")
        .join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut cluster = Cluster::default();
    let mut expected_file = String::new();
    let mut actual_file = String::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() || line.starts_with('#') {
            expected_file.push_str(line);
            expected_file.push('\n');
            actual_file.push_str(line);
            actual_file.push('\n');
            i += 1;
            continue;
        }
        // A block: commands up to `---`, then output up to a blank line.
        let mut out = String::new();
        while i < lines.len() && lines[i] != "---" {
            writeln!(expected_file, "{}", lines[i]).unwrap();
            writeln!(actual_file, "{}", lines[i]).unwrap();
            cluster.exec(lines[i], &mut out);
            i += 1;
        }
        assert!(i < lines.len(), "{name}: block without ---");
        expected_file.push_str("---\n");
        actual_file.push_str("---\n");
        i += 1;
        while i < lines.len() && !lines[i].trim().is_empty() {
            writeln!(expected_file, "{}", lines[i]).unwrap();
            i += 1;
        }
        let out = if out.is_empty() {
            "ok\n".to_string()
        } else {
            out
        };
        actual_file.push_str(&out);
    }
    if std::env::var("UPDATE_GOLDEN").is_ok_and(|v| v == "1") {
        std::fs::write(&path, &actual_file).unwrap();
        return;
    }
    if expected_file != actual_file {
        let exp: Vec<&str> = expected_file.lines().collect();
        let act: Vec<&str> = actual_file.lines().collect();
        let first = exp
            .iter()
            .zip(&act)
            .position(|(a, b)| a != b)
            .unwrap_or(exp.len().min(act.len()));
        panic!(
            "{name}: output differs from {} at line {} (run with UPDATE_GOLDEN=1 and review the diff)\nexpected: {:?}\nactual:   {:?}",
            path.display(),
            first + 1,
            exp.get(first),
            act.get(first)
        );
    }
}

macro_rules! golden {
    ($($name:ident),* $(,)?) => {
        $(#[test] fn $name() { run_script(stringify!($name)); })*
    };
}

golden!(
    election_tie,
    prevote_rejoin,
    check_quorum_step_down,
    log_divergence,
    figure8,
    snapshot_catchup,
    read_index,
    leader_transfer,
    membership_change,
    proposal_redirect,
    lease_read,
);

#[test]
fn roles_are_reported() {
    // Smoke test of the harness itself.
    let mut c = Cluster::new(&BTreeMap::new());
    let mut out = String::new();
    c.exec("campaign 1", &mut out);
    c.stabilize(&mut out, true);
    assert_eq!(c.raw(1).raft().role(), Role::Leader);
}

#[test]
fn single_node_commits_alone() {
    let mut args = BTreeMap::new();
    args.insert("n".to_string(), "1".to_string());
    let mut c = Cluster::new(&args);
    let mut out = String::new();
    c.exec("campaign 1", &mut out);
    c.exec("propose 1 solo", &mut out);
    c.exec("read 1 5", &mut out);
    c.stabilize(&mut out, false);
    assert!(out.contains("n1: apply 3/2:solo"), "{out}");
    assert!(out.contains("n1: read ctx=5"), "{out}");
}

/// A node persisting through `FileStorage` restarts from its files with its term, vote and log.
#[test]
fn file_storage_restart_keeps_state() {
    use chronos_raft::storage::FileStorage;
    let dir = std::env::temp_dir().join(format!("chronos-raft-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = Config::new(1);
    cfg.bootstrap_voters = vec![1];
    {
        let mut storage = FileStorage::open(&dir, 4096).unwrap();
        let mut raw = RawNode::new(cfg.clone(), storage.initial_state().unwrap()).unwrap();
        raw.campaign();
        for i in 0..20 {
            raw.propose(format!("v{i}").into_bytes()).unwrap();
        }
        while raw.has_ready() {
            let ready = raw.ready();
            persist_ready(&mut storage, &ready).unwrap();
            raw.advance();
        }
        assert_eq!(raw.raft().log().commit(), 22);
        let snap = raw.compact(10, b"snap".to_vec()).unwrap();
        storage.compact(&snap).unwrap();
    }
    let storage = FileStorage::open(&dir, 4096).unwrap();
    let state = storage.initial_state().unwrap();
    assert_eq!(state.hard_state.term, 2);
    assert_eq!(state.hard_state.vote, Some(1));
    assert_eq!(state.snapshot.as_ref().unwrap().meta.index, 10);
    let raw = RawNode::new(cfg, state).unwrap();
    assert_eq!(raw.raft().log().last_index(), 22);
    assert_eq!(raw.raft().log().commit(), 22);
    let _ = std::fs::remove_dir_all(&dir);
}
