//! Faults for real clusters: a [`LocalCluster`] of `chronos start` child processes that the
//! run owns (so it can kill, restart and pause them), its peer traffic routed through
//! fault-injecting TCP proxies, and the [`ClusterNemesis`] that uses them.
//!
//! ```text
//! node i ──--peer j=127.0.0.1:P(i,j)──► proxy (i→j) ──► node j's listen address
//! ```
//!
//! Every ordered pair of nodes has its own proxy on 127.0.0.1 (these machines only have
//! loopback), so a partition is a set of proxies that stop forwarding: their connections are
//! cut and new ones are closed at once until the partition heals. Clients talk to the nodes'
//! listen addresses directly; a follower that forwards a client request to the leader goes
//! through its proxy, like Raft traffic.
//!
//! Faults: `kill` (SIGKILL the leader, restart it on heal), `pause` (SIGSTOP the leader,
//! SIGCONT on heal), `partition` (isolate the leader from every other node), `all` (those three
//! in turn). The leader is asked of the nodes (`Admin.Status`); without an answer a node is
//! picked in turn.

use std::collections::HashMap;
use std::io::Read as _;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chronos_check::edn::Value;

use super::nemesis::Nemesis;

/// A TCP forwarder from a local port to `target` that can be told to drop everything.
#[derive(Debug)]
pub struct Proxy {
    listen: SocketAddr,
    shared: Arc<ProxyShared>,
}

#[derive(Debug)]
struct ProxyShared {
    target: SocketAddr,
    blocked: AtomicBool,
    stopped: AtomicBool,
    next_id: AtomicU64,
    /// Both ends of every live connection, to cut them.
    conns: Mutex<HashMap<u64, (TcpStream, TcpStream)>>,
}

impl ProxyShared {
    fn cut_all(&self) {
        let conns: Vec<_> = self
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain()
            .collect();
        for (_, (a, b)) in conns {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
    }
}

impl Proxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `target`.
    pub fn start(target: SocketAddr) -> anyhow::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding a proxy port")?;
        let listen = listener.local_addr()?;
        let shared = Arc::new(ProxyShared {
            target,
            blocked: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            conns: Mutex::new(HashMap::new()),
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name(format!("proxy-{}", listen.port()))
            .spawn(move || accept_loop(&listener, &s))
            .context("starting a proxy thread")?;
        Ok(Proxy { listen, shared })
    }

    pub fn address(&self) -> SocketAddr {
        self.listen
    }

    /// Drops every connection and refuses to forward until [`Proxy::heal`].
    pub fn block(&self) {
        self.shared.blocked.store(true, Ordering::SeqCst);
        self.shared.cut_all();
    }

    pub fn heal(&self) {
        self.shared.blocked.store(false, Ordering::SeqCst);
    }

    #[cfg(test)]
    pub fn is_blocked(&self) -> bool {
        self.shared.blocked.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.listen, Duration::from_millis(200));
        self.shared.cut_all();
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<ProxyShared>) {
    for incoming in listener.incoming() {
        if shared.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = incoming else { continue };
        if shared.blocked.load(Ordering::SeqCst) {
            // Dropped: the connection closes at once.
            continue;
        }
        let Ok(upstream) = TcpStream::connect_timeout(&shared.target, Duration::from_secs(1))
        else {
            continue;
        };
        let _ = client.set_nodelay(true);
        let _ = upstream.set_nodelay(true);
        let (Ok(c2), Ok(u2), Ok(c3), Ok(u3)) = (
            client.try_clone(),
            upstream.try_clone(),
            client.try_clone(),
            upstream.try_clone(),
        ) else {
            continue;
        };
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        shared
            .conns
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, (c3, u3));
        let (s1, s2) = (shared.clone(), shared.clone());
        let _ = std::thread::Builder::new()
            .name("proxy-pump".into())
            .spawn(move || pump(client, upstream, &s1, id));
        let _ = std::thread::Builder::new()
            .name("proxy-pump".into())
            .spawn(move || pump(u2, c2, &s2, id));
    }
}

/// Copies `from` to `to` until either end closes or the proxy blocks, then closes both.
fn pump(mut from: TcpStream, mut to: TcpStream, shared: &ProxyShared, id: u64) {
    use std::io::Write as _;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if shared.blocked.load(Ordering::SeqCst) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
    shared
        .conns
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&id);
}

/// One node process of a [`LocalCluster`].
#[derive(Debug)]
struct Node {
    id: u64,
    listen: SocketAddr,
    data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

/// A local cluster of `chronos start` processes (this binary) under a temporary folder, with a
/// proxy on every peer link. Dropping it kills every node.
#[derive(Debug)]
pub struct LocalCluster {
    exe: PathBuf,
    dir: tempfile::TempDir,
    nodes: Vec<Node>,
    /// `(from, to)` node ids → the proxy `from` reaches `to` through.
    proxies: HashMap<(u64, u64), Proxy>,
    rt: tokio::runtime::Runtime,
}

fn free_port() -> anyhow::Result<SocketAddr> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .context("picking a free port")?
        .local_addr()?)
}

impl LocalCluster {
    /// Starts `n` nodes and waits (up to 30 s) until they have elected a leader. Node logs go
    /// to `logs/node<i>.log`.
    pub fn start(n: u64, logs: &Path) -> anyhow::Result<LocalCluster> {
        anyhow::ensure!((1..=9).contains(&n), "--cluster must be 1..=9 nodes");
        let exe = std::env::current_exe().context("locating the chronos binary")?;
        let dir = tempfile::Builder::new()
            .prefix("chronos-check-cluster")
            .tempdir()
            .context("creating the cluster folder")?;
        let mut nodes = Vec::new();
        for id in 1..=n {
            nodes.push(Node {
                id,
                listen: free_port()?,
                data_dir: dir.path().join(format!("node{id}")),
                log: logs.join(format!("node{id}.log")),
                child: None,
                paused: false,
            });
        }
        let mut proxies = HashMap::new();
        for from in &nodes {
            for to in nodes.iter().filter(|t| t.id != from.id) {
                proxies.insert((from.id, to.id), Proxy::start(to.listen)?);
            }
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut cluster = LocalCluster {
            exe,
            dir,
            nodes,
            proxies,
            rt,
        };
        for id in 1..=n {
            cluster.spawn(id)?;
        }
        let start = Instant::now();
        while cluster.leader().is_none() {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(30),
                "the cluster elected no leader within 30 s (logs in {})",
                logs.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(cluster)
    }

    /// The nodes' client addresses, node 1 first.
    pub fn hosts(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.listen.to_string()).collect()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn node(&mut self, id: u64) -> anyhow::Result<&mut Node> {
        self.nodes
            .iter_mut()
            .find(|n| n.id == id)
            .with_context(|| format!("no node {id}"))
    }

    /// Starts (or restarts) node `id`'s process: `chronos start` with its peers behind its
    /// proxies.
    fn spawn(&mut self, id: u64) -> anyhow::Result<()> {
        let peers: Vec<String> = self
            .proxies
            .iter()
            .filter(|((from, _), _)| *from == id)
            .map(|((_, to), p)| format!("{to}={}", p.address()))
            .collect();
        let exe = self.exe.clone();
        let node = self.node(id)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .with_context(|| format!("opening {}", node.log.display()))?;
        let mut cmd = Command::new(exe);
        cmd.arg("start")
            .arg("--id")
            .arg(id.to_string())
            .arg("--listen")
            .arg(node.listen.to_string())
            .arg("--data-dir")
            .arg(&node.data_dir)
            // The workloads speak gRPC; several nodes on one host cannot share the default port.
            .arg("--pg-listen")
            .arg("off");
        for p in &peers {
            cmd.arg("--peer").arg(p);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting node {id}"))?;
        node.child = Some(child);
        node.paused = false;
        Ok(())
    }

    /// The leader as some live, unpaused node reports it.
    pub fn leader(&self) -> Option<u64> {
        for n in self.nodes.iter().filter(|n| n.child.is_some() && !n.paused) {
            let addr = n.listen.to_string();
            let st = self.rt.block_on(async move {
                tokio::time::timeout(Duration::from_millis(500), async move {
                    let mut c = chronos_server::Client::connect(&addr).await.ok()?;
                    c.status().await.ok()
                })
                .await
            });
            if let Ok(Some(st)) = st
                && st.leader != 0
            {
                return Some(st.leader);
            }
        }
        None
    }

    /// SIGKILL.
    pub fn kill(&mut self, id: u64) -> anyhow::Result<()> {
        let node = self.node(id)?;
        if let Some(mut c) = node.child.take() {
            c.kill().with_context(|| format!("killing node {id}"))?;
            c.wait()?;
        }
        node.paused = false;
        Ok(())
    }

    /// Restarts a killed node (nothing when it runs).
    pub fn restart(&mut self, id: u64) -> anyhow::Result<bool> {
        if self.node(id)?.child.is_some() {
            return Ok(false);
        }
        self.spawn(id)?;
        Ok(true)
    }

    fn signal(&mut self, id: u64, sig: &str, paused: bool) -> anyhow::Result<()> {
        let node = self.node(id)?;
        let Some(child) = &node.child else {
            anyhow::bail!("node {id} is not running");
        };
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(child.id().to_string())
            .status()
            .context("running kill")?;
        anyhow::ensure!(status.success(), "kill -{sig} of node {id} failed");
        node.paused = paused;
        Ok(())
    }

    /// SIGSTOP.
    pub fn pause(&mut self, id: u64) -> anyhow::Result<()> {
        self.signal(id, "STOP", true)
    }

    /// SIGCONT.
    pub fn resume(&mut self, id: u64) -> anyhow::Result<()> {
        self.signal(id, "CONT", false)
    }

    /// Cuts every link between `id` and the other nodes, both ways.
    pub fn isolate(&mut self, id: u64) {
        for ((from, to), p) in &self.proxies {
            if *from == id || *to == id {
                p.block();
            }
        }
    }

    /// Heals every link.
    pub fn heal_network(&mut self) {
        for p in self.proxies.values() {
            p.heal();
        }
    }

    fn ids(&self) -> Vec<u64> {
        self.nodes.iter().map(|n| n.id).collect()
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Which fault a [`ClusterNemesis`] injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Kill,
    Pause,
    Partition,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::Partition => "partition",
        }
    }
}

/// The faults of `--nemesis`: `kill`, `pause`, `partition`, or `all` (in turn).
pub fn parse_faults(s: &str) -> anyhow::Result<Vec<Fault>> {
    Ok(match s {
        "kill" => vec![Fault::Kill],
        "pause" => vec![Fault::Pause],
        "partition" => vec![Fault::Partition],
        "all" => vec![Fault::Kill, Fault::Pause, Fault::Partition],
        other => {
            anyhow::bail!("unknown nemesis {other:?} (none, noop, kill, pause, partition, all)")
        }
    })
}

/// Kills, pauses or isolates the leader of a [`LocalCluster`], and heals.
#[derive(Debug)]
pub struct ClusterNemesis<'a> {
    cluster: &'a mut LocalCluster,
    faults: Vec<Fault>,
    started: u64,
    /// What the last start did, for its stop.
    active: Vec<(Fault, u64)>,
}

impl<'a> ClusterNemesis<'a> {
    pub fn new(cluster: &'a mut LocalCluster, faults: Vec<Fault>) -> Self {
        ClusterNemesis {
            cluster,
            faults,
            started: 0,
            active: Vec::new(),
        }
    }

    fn target(&self) -> u64 {
        self.cluster.leader().unwrap_or_else(|| {
            let ids = self.cluster.ids();
            ids[(self.started as usize) % ids.len()]
        })
    }
}

fn node_name(id: u64) -> Value {
    Value::Str(format!("n{id}"))
}

impl Nemesis for ClusterNemesis<'_> {
    fn name(&self) -> String {
        let names: Vec<&str> = self.faults.iter().map(|f| f.name()).collect();
        format!("{} the leader", names.join(", "))
    }

    fn start(&mut self) -> Result<Value, String> {
        if self.faults.is_empty() {
            return Err("no faults configured".into());
        }
        let fault = self.faults[(self.started as usize) % self.faults.len()];
        let target = self.target();
        self.started += 1;
        let done = match fault {
            Fault::Kill => self.cluster.kill(target).map(|()| "killed"),
            Fault::Pause => self.cluster.pause(target).map(|()| "paused"),
            Fault::Partition => {
                self.cluster.isolate(target);
                Ok("isolated")
            }
        };
        match done {
            Ok(what) => {
                self.active.push((fault, target));
                Ok(Value::Map(vec![(
                    Value::Keyword(what.into()),
                    Value::Vector(vec![node_name(target)]),
                )]))
            }
            Err(e) => Err(format!("{} n{target}: {e:#}", fault.name())),
        }
    }

    fn stop(&mut self) -> Result<Value, String> {
        let mut healed = Vec::new();
        let mut errors = Vec::new();
        for (fault, id) in std::mem::take(&mut self.active) {
            let r = match fault {
                Fault::Kill => self.cluster.restart(id).map(|_| "restarted"),
                Fault::Pause => self.cluster.resume(id).map(|()| "resumed"),
                Fault::Partition => {
                    self.cluster.heal_network();
                    Ok("healed")
                }
            };
            match r {
                Ok(what) => healed.push(Value::Str(format!("{what} n{id}"))),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        if errors.is_empty() {
            Ok(Value::Vector(healed))
        } else {
            Err(errors.join("; "))
        }
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use std::io::{Read as _, Write as _};

    use super::*;

    /// An echo server, a proxy in front of it: bytes pass; blocked, connections are cut and
    /// new ones closed; healed, they pass again.
    #[test]
    fn proxy_forwards_blocks_and_heals() {
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = echo.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in echo.incoming() {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 1024];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let proxy = Proxy::start(target).unwrap();
        let roundtrip = |s: &mut TcpStream| -> bool {
            s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            if s.write_all(b"ping").is_err() {
                return false;
            }
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).is_ok() && &buf == b"ping"
        };
        let mut a = TcpStream::connect(proxy.address()).unwrap();
        assert!(roundtrip(&mut a));
        proxy.block();
        assert!(proxy.is_blocked());
        assert!(!roundtrip(&mut a), "a blocked proxy cuts live connections");
        let mut b = TcpStream::connect(proxy.address()).unwrap();
        assert!(!roundtrip(&mut b), "and closes new ones");
        proxy.heal();
        let mut c = TcpStream::connect(proxy.address()).unwrap();
        assert!(roundtrip(&mut c));
    }

    #[test]
    fn fault_names() {
        assert_eq!(parse_faults("all").unwrap().len(), 3);
        assert_eq!(parse_faults("pause").unwrap(), vec![Fault::Pause]);
        assert!(parse_faults("meteor").is_err());
    }
}
