//! Cluster commands: `chronos start` (run a node), `chronos status`, `chronos admin ...` and
//! `chronos demo-cluster N` (a local cluster of N node processes under one folder).

use std::path::PathBuf;
use std::process::{Child, Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, bail};
use chronos_server::{Client, NodeConfig};

/// `chronos start`: run one node.
#[derive(Debug, clap::Args)]
pub struct StartArgs {
    /// This node's id (non-zero).
    #[arg(long)]
    pub id: Option<u64>,
    /// Address to listen on, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// Address the others reach this node at (default: --listen).
    #[arg(long, value_name = "HOST:PORT")]
    pub advertise: Option<String>,
    /// Data directory (the store and the Raft log).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Another initial member, ID=HOST:PORT (repeat for each).
    #[arg(long = "peer", value_name = "ID=HOST:PORT")]
    pub peers: Vec<String>,
    /// Join an existing cluster (start empty and wait for `chronos admin add-node`).
    #[arg(long)]
    pub join: bool,
    /// A file of `key = value` lines with the same settings (flags win).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Raft tick length in milliseconds.
    #[arg(long)]
    pub tick_ms: Option<u64>,
    /// Snapshot and compact the Raft log every N applied entries.
    #[arg(long, value_name = "N")]
    pub compact_every: Option<u64>,
    /// Default `statement_timeout` of SQL sessions, as SQL's SET takes it (`500` ms, `500ms`,
    /// `2s`, `1min`; 0 = none). Sessions may SET their own.
    #[arg(long, value_name = "TIME", value_parser = parse_timeout)]
    pub statement_timeout: Option<std::time::Duration>,
    /// Where PostgreSQL clients connect (HOST:PORT; `off`: no PostgreSQL listener).
    /// Default 127.0.0.1:26257; give each node on one host its own port.
    #[arg(long, value_name = "HOST:PORT")]
    pub pg_listen: Option<String>,
}

fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    chronos_sql::parse_statement_timeout(text).map_err(|e| e.message)
}

pub fn start(args: StartArgs) -> anyhow::Result<ExitCode> {
    let mut cfg = NodeConfig::new(0, ([127, 0, 0, 1], 0).into(), PathBuf::new());
    // The default, before the file and the flags that may change it.
    cfg.pg_listen = Some(chronos_pg::DEFAULT_LISTEN.to_owned());
    if let Some(path) = &args.config {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        cfg.apply_file(&text)?;
    }
    if let Some(id) = args.id {
        cfg.id = id;
    }
    if let Some(l) = args.listen {
        cfg.listen = l;
        cfg.advertise = l.to_string();
    }
    if let Some(a) = args.advertise {
        cfg.advertise = a;
    }
    if let Some(d) = args.data_dir {
        cfg.data_dir = d;
    }
    for p in &args.peers {
        let (id, addr) = chronos_server::config::parse_peer(p)?;
        cfg.peers.insert(id, addr);
    }
    cfg.join |= args.join;
    if let Some(t) = args.tick_ms {
        cfg.tick_ms = t;
    }
    if let Some(n) = args.compact_every {
        cfg.compact_every_entries = n;
    }
    if let Some(t) = args.statement_timeout {
        cfg.statement_timeout = t;
    }
    if let Some(p) = &args.pg_listen {
        cfg.pg_listen = chronos_server::config::parse_pg_listen(p)?;
    }
    if cfg.id == 0 || cfg.listen.port() == 0 || cfg.data_dir.as_os_str().is_empty() {
        bail!("--id, --listen and --data-dir are required (flags or --config)");
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(chronos_server::serve(cfg, shutdown_signal()))?;
    rt.shutdown_timeout(Duration::from_secs(1));
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

fn client_rt() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the client runtime")
}

/// `chronos status`.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Any node of the cluster.
    #[arg(long, value_name = "HOST:PORT")]
    pub host: String,
}

pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let rt = client_rt()?;
    rt.block_on(async {
        let mut c = Client::connect(&args.host).await?;
        let st = c.status().await?;
        let leader = if st.leader == 0 {
            "none".to_string()
        } else {
            format!("{} ({})", st.leader, st.leader_address)
        };
        outln!(
            "node {} ({}) role={} term={} leader={leader}",
            st.node_id, args.host, st.role, st.term
        );
        outln!(
            "  log: last={} commit={} applied={} snapshot={}",
            st.last_index, st.commit_index, st.applied_index, st.snapshot_index
        );
        outln!("  SQL sessions open here: {}", st.open_sessions);
        // The leader knows every follower's progress: ask it if this node is not it.
        let leader_view = if st.role == "leader" || st.leader_address.is_empty() {
            st.clone()
        } else {
            match Client::connect(&st.leader_address).await {
                Ok(mut l) => l.status().await.unwrap_or_else(|_| st.clone()),
                Err(_) => st.clone(),
            }
        };
        outln!(
            "{:>4}  {:<22} {:<8} {:<10} {:>6} {:>8} {:>8} {:>8} {:>6}  replication",
            "node", "address", "voter", "role", "term", "commit", "applied", "match", "lag"
        );
        let mut nodes = vec![(leader_view.node_id, String::new(), true, 0u64, 0u64, String::new())];
        for p in &leader_view.peers {
            nodes.push((p.id, p.address.clone(), p.voter, p.match_index, p.lag, p.state.clone()));
        }
        for (id, mut addr, voter, m, lag, state) in nodes {
            if id == st.node_id {
                addr = args.host.clone();
            }
            if id == leader_view.node_id && addr.is_empty() {
                addr = if st.leader_address.is_empty() {
                    args.host.clone()
                } else {
                    st.leader_address.clone()
                };
            }
            let remote = match tokio::time::timeout(Duration::from_secs(1), async {
                let mut c = Client::connect(&addr).await?;
                c.status().await
            })
            .await
            {
                Ok(Ok(s)) => Some(s),
                _ => None,
            };
            let (role, term, commit, applied) = match &remote {
                Some(s) => (
                    s.role.clone(),
                    s.term.to_string(),
                    s.commit_index.to_string(),
                    s.applied_index.to_string(),
                ),
                None => ("down?".into(), "-".into(), "-".into(), "-".into()),
            };
            let (m, lag) = if id == leader_view.node_id {
                ("-".to_string(), "-".to_string())
            } else {
                (m.to_string(), lag.to_string())
            };
            outln!(
                "{id:>4}  {addr:<22} {:<8} {role:<10} {term:>6} {commit:>8} {applied:>8} {m:>8} {lag:>6}  {state}",
                if voter { "voter" } else { "learner" }
            );
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `chronos admin`.
#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    /// Any node of the cluster (requests are forwarded to the leader).
    #[arg(
        long,
        value_name = "HOST:PORT",
        global = true,
        default_value = "127.0.0.1:7001"
    )]
    pub host: String,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum AdminCommand {
    /// Add a node (started with `chronos start --join`): learner first, voter once caught up.
    AddNode {
        #[arg(long)]
        id: u64,
        #[arg(long, value_name = "HOST:PORT")]
        address: String,
        /// Leave it a learner.
        #[arg(long)]
        learner: bool,
    },
    /// Remove a node from the membership.
    RemoveNode {
        #[arg(long)]
        id: u64,
    },
    /// Transfer leadership to a node.
    Transfer {
        #[arg(long)]
        to: u64,
    },
}

pub fn admin(args: AdminArgs) -> anyhow::Result<ExitCode> {
    let rt = client_rt()?;
    let msg = rt.block_on(async {
        let mut c = Client::connect(&args.host).await?;
        Ok::<_, chronos_server::Error>(match args.command {
            AdminCommand::AddNode {
                id,
                address,
                learner,
            } => c.add_node(id, &address, learner).await?,
            AdminCommand::RemoveNode { id } => c.remove_node(id).await?,
            AdminCommand::Transfer { to } => c.transfer_leader(to).await?,
        })
    })?;
    outln!("{msg}");
    Ok(ExitCode::SUCCESS)
}

/// `chronos demo-cluster`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Number of nodes.
    #[arg(default_value_t = 3)]
    pub nodes: u64,
    /// Folder holding every node's data directory (`node1`, `node2`, ...).
    #[arg(long, default_value = "chronos-cluster", value_name = "DIR")]
    pub dir: PathBuf,
    /// Port of node 1; node i listens on base + i - 1.
    #[arg(long, default_value_t = 7001)]
    pub base_port: u16,
    /// PostgreSQL port of node 1; node i serves PostgreSQL on base + i - 1.
    #[arg(long, default_value_t = 26257)]
    pub pg_base_port: u16,
}

pub fn demo_cluster(args: DemoArgs) -> anyhow::Result<ExitCode> {
    if args.nodes == 0 || args.nodes > 9 {
        bail!("between 1 and 9 nodes");
    }
    let exe = std::env::current_exe().context("locating the chronos binary")?;
    let addr = |i: u64| format!("127.0.0.1:{}", u64::from(args.base_port) + i - 1);
    let pg_port = |i: u64| u64::from(args.pg_base_port) + i - 1;
    let mut children: Vec<Child> = Vec::new();
    for i in 1..=args.nodes {
        let mut cmd = Command::new(&exe);
        cmd.arg("start")
            .arg("--id")
            .arg(i.to_string())
            .arg("--listen")
            .arg(addr(i))
            .arg("--data-dir")
            .arg(args.dir.join(format!("node{i}")))
            .arg("--pg-listen")
            .arg(format!("127.0.0.1:{}", pg_port(i)));
        for j in (1..=args.nodes).filter(|j| *j != i) {
            cmd.arg("--peer").arg(format!("{j}={}", addr(j)));
        }
        children.push(cmd.spawn().with_context(|| format!("starting node {i}"))?);
        outln!(
            "node {i}: {} postgresql://{}@127.0.0.1:{}/{} data {}",
            addr(i),
            chronos_pg::USER,
            pg_port(i),
            chronos_pg::DATABASE,
            args.dir.join(format!("node{i}")).display()
        );
    }
    outln!(
        "\nConnect with:  psql postgresql://{user}@127.0.0.1:{port}/{db}\n               \
         psql -h 127.0.0.1 -p {port} -U {user} -d {db}\n               \
         chronos sql --host {grpc}\n\
         Any node works: followers execute through the leader.\n\
         Status:        chronos status --host {grpc}\n\
         Ctrl-C stops every node (leaders hand over first).",
        user = chronos_pg::USER,
        db = chronos_pg::DATABASE,
        port = pg_port(1),
        grpc = addr(1),
    );
    let rt = client_rt()?;
    rt.block_on(async {
        tokio::select! {
            _ = shutdown_signal() => {},
            _ = async {
                // Stop waiting once every node has exited on its own.
                loop {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    if children.iter_mut().all(|c| c.try_wait().ok().flatten().is_some()) {
                        break;
                    }
                }
            } => {},
        }
    });
    // Ask every node to stop cleanly (SIGTERM: leaders hand over first), then wait (bounded).
    for c in &children {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
    }
    for mut c in children {
        for _ in 0..50 {
            if c.try_wait().ok().flatten().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
    Ok(ExitCode::SUCCESS)
}

/// `chronos cluster-bench`: commit throughput and latency of a running cluster.
#[derive(Debug, clap::Args)]
pub struct ClusterBenchArgs {
    /// Nodes to spread the clients over (repeat, or comma-separated).
    #[arg(
        long = "host",
        value_name = "HOST:PORT",
        value_delimiter = ',',
        required = true
    )]
    pub hosts: Vec<String>,
    /// Concurrent clients, one run per value (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    pub clients: Vec<usize>,
    /// Seconds per run.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

/// One single-row INSERT per transaction (autocommit), into `bench_kv`, keys unique per client.
pub fn cluster_bench(args: ClusterBenchArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let mut c = Client::connect(&args.hosts[0]).await?;
        let _ = c
            .execute(0, "CREATE TABLE bench_kv (k INTEGER PRIMARY KEY, v TEXT)")
            .await?;
        let base = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
            * 1_000_000;
        outln!("clients  commits/s  p50 ms  p99 ms  errors");
        for (run, &n) in args.clients.iter().enumerate() {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(args.seconds);
            let mut tasks = Vec::new();
            for i in 0..n {
                let host = args.hosts[i % args.hosts.len()].clone();
                let key0 = base + (run as i64) * 100_000_000 + (i as i64) * 1_000_000;
                tasks.push(tokio::spawn(async move {
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    let mut c = Client::connect(&host).await?;
                    let mut k = key0;
                    while tokio::time::Instant::now() < deadline {
                        let t = std::time::Instant::now();
                        let ok = matches!(
                            c.execute(0, &format!("INSERT INTO bench_kv VALUES ({k}, 'v')"))
                                .await
                                .as_deref(),
                            Ok([Ok(_)])
                        );
                        k += 1;
                        if ok {
                            lat.push(t.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    Ok::<_, chronos_server::Error>((lat, errors))
                }));
            }
            let mut all = Vec::new();
            let mut errors = 0;
            for t in tasks {
                let (l, e) = t.await.context("client task")??;
                all.extend(l);
                errors += e;
            }
            all.sort();
            let pct = |p: f64| {
                all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
                    .map_or(0.0, |d| d.as_secs_f64() * 1e3)
            };
            outln!(
                "{n:>7}  {:>9.0}  {:>6.2}  {:>6.2}  {errors:>6}",
                all.len() as f64 / args.seconds as f64,
                pct(0.5),
                pct(0.99)
            );
        }
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
