//! The servers `chronos bench pg` measures, each started by the benchmark and stopped (with
//! its data removed) when dropped: a Chronos single node (`chronos serve`), a 3-node Chronos
//! cluster (`chronos start` ×3), and a PostgreSQL 15 from the machine's binaries.
//!
//! PostgreSQL refuses to run as root, so when the benchmark runs as root its cluster is
//! initialised and run as the unprivileged user `nobody` (through `runuser`), in a directory
//! given to that user. Every server listens on 127.0.0.1 only, on a free port; the user is
//! `root` and the database `chronos` everywhere, so pgbench's command line differs only in
//! the port.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// How long a server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The unprivileged user PostgreSQL runs as when we are root.
const PG_OS_USER: &str = "nobody";

/// A started server: where pgbench connects.
#[derive(Debug)]
pub struct Server {
    pub name: &'static str,
    pub port: u16,
    kind: Kind,
    _dir: tempfile::TempDir,
}

#[derive(Debug)]
enum Kind {
    /// Chronos processes, killed on drop.
    Chronos(Vec<Child>),
    /// A PostgreSQL cluster directory, stopped with pg_ctl on drop.
    Postgres { pg_ctl: PathBuf, data: PathBuf },
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits until `port` accepts TCP connections (the server may still be electing a leader;
/// the caller's first statement waits for that).
fn wait_listening(port: u16, children: &mut [Child]) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < START_TIMEOUT {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        for c in children.iter_mut() {
            if let Some(status) = c.try_wait()? {
                bail!("a server process exited at startup ({status})");
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on port {port} after {START_TIMEOUT:?}")
}

impl Server {
    /// `chronos serve` on a fresh directory.
    pub fn chronos_single(exe: &Path, parent: &Path) -> Result<Server> {
        let dir = tempfile::tempdir_in(parent)?;
        let port = free_port()?;
        let child = Command::new(exe)
            .arg("serve")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--pg-listen")
            .arg(format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting chronos serve")?;
        let mut children = vec![child];
        let started = wait_listening(port, &mut children);
        let server = Server {
            name: "chronos 1 node",
            port,
            kind: Kind::Chronos(children),
            _dir: dir,
        };
        started.map(|()| server)
    }

    /// Three `chronos start` nodes; pgbench connects to the leader's PostgreSQL port (a
    /// follower would add a forwarding hop to every statement).
    pub fn chronos_cluster(exe: &Path, parent: &Path) -> Result<Server> {
        const NODES: usize = 3;
        let dir = tempfile::tempdir_in(parent)?;
        let grpc: Vec<String> = (0..NODES)
            .map(|_| free_port().map(|p| format!("127.0.0.1:{p}")))
            .collect::<Result<_>>()?;
        let pg: Vec<u16> = (0..NODES).map(|_| free_port()).collect::<Result<_>>()?;
        let mut children = Vec::new();
        for i in 0..NODES {
            let mut cmd = Command::new(exe);
            cmd.arg("start")
                .arg("--id")
                .arg((i + 1).to_string())
                .arg("--listen")
                .arg(&grpc[i])
                .arg("--data-dir")
                .arg(dir.path().join(format!("node{}", i + 1)))
                .arg("--pg-listen")
                .arg(format!("127.0.0.1:{}", pg[i]));
            for (j, a) in grpc.iter().enumerate().filter(|(j, _)| *j != i) {
                cmd.arg("--peer").arg(format!("{}={a}", j + 1));
            }
            children.push(
                cmd.stdout(Stdio::null())
                    .stderr(Stdio::inherit())
                    .spawn()
                    .with_context(|| format!("starting node {}", i + 1))?,
            );
        }
        let leader = wait_listening(pg[0], &mut children).and_then(|()| leader_of(&grpc[0]));
        let mut server = Server {
            name: "chronos 3 nodes",
            port: pg[0],
            kind: Kind::Chronos(children),
            _dir: dir,
        };
        server.port = pg[(leader? - 1) as usize];
        Ok(server)
    }

    /// A PostgreSQL cluster from `bin` (initdb, pg_ctl), user `root`, database `chronos`,
    /// default settings (fsync on, synchronous_commit on).
    pub fn postgres(bin: &Path, parent: &Path) -> Result<Server> {
        let dir = tempfile::tempdir_in(parent)?;
        let as_root = is_root();
        if as_root {
            // The unprivileged user must reach and own its directories.
            chmod_world_traversable(dir.path())?;
            run(Command::new("chown").arg(PG_OS_USER).arg(dir.path()))?;
        }
        let data = dir.path().join("data");
        let port = free_port()?;
        let pg_cmd = |tool: &str| {
            let mut c = if as_root {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(PG_OS_USER).arg("--").arg(bin.join(tool));
                c
            } else {
                Command::new(bin.join(tool))
            };
            c.current_dir(dir.path());
            c
        };
        run(pg_cmd("initdb").arg("-D").arg(&data).args([
            "-U",
            "root",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]))?;
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200",
            dir.path().display()
        );
        run(pg_cmd("pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-o")
            .arg(options)
            .arg("-l")
            .arg(dir.path().join("postgres.log"))
            .args(["-w", "-t", "60", "start"]))?;
        let server = Server {
            name: "postgresql",
            port,
            kind: Kind::Postgres {
                pg_ctl: bin.join("pg_ctl"),
                data,
            },
            _dir: dir,
        };
        run(Command::new(bin.join("psql"))
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "root"])
            .args(["-d", "postgres", "-q", "-c", "CREATE DATABASE chronos"]))?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.kind {
            Kind::Chronos(children) => {
                for c in children.iter_mut() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
            Kind::Postgres { pg_ctl, data } => {
                let mut c = if is_root() {
                    let mut c = Command::new("runuser");
                    c.arg("-u").arg(PG_OS_USER).arg("--").arg(&*pg_ctl);
                    c
                } else {
                    Command::new(&*pg_ctl)
                };
                let _ = c
                    .arg("-D")
                    .arg(&*data)
                    .args(["-m", "immediate", "-w", "stop"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

/// Whether this process runs as root (the owner of `/proc/self` is its effective user).
fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn chmod_world_traversable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut p = std::fs::metadata(path)?.permissions();
    p.set_mode(p.mode() | 0o711);
    std::fs::set_permissions(path, p).with_context(|| format!("chmod {}", path.display()))
}

/// The cluster's leader as node `grpc` sees it, once one is elected.
fn leader_of(grpc: &str) -> Result<u64> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let start = Instant::now();
        while start.elapsed() < START_TIMEOUT {
            if let Ok(mut c) = chronos_server::Client::connect(grpc).await
                && let Ok(st) = c.status().await
                && st.leader != 0
            {
                return Ok(st.leader);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no leader elected within {START_TIMEOUT:?}")
    })
}

/// Runs a setup command, failing with its output if it fails.
pub fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
