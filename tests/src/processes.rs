//! A local cluster of real `chronos start` processes on 127.0.0.1, for tests that pause, kill or
//! talk to real nodes.
//!
//! The binary is found next to the test's directory (`target/<profile>/chronos`, built by
//! `cargo test` when chronos-tools is among the tested packages, as in `cargo test --workspace`)
//! or at `$CHRONOS_BIN`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `chronos` binary.
///
/// # Panics
/// If it is not built and `$CHRONOS_BIN` is not set (a test setup error).
pub fn chronos_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CHRONOS_BIN") {
        return PathBuf::from(p);
    }
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/chronos
    let exe = std::env::current_exe().expect("the test binary's path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary lives in target/<profile>/deps")
        .join(format!("chronos{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: build it first (cargo build -p chronos-tools, or test with \
         -p chronos-tools / --workspace) or set CHRONOS_BIN",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Node processes `1..=n`; killed (and their directory removed) on drop.
#[derive(Debug)]
pub struct ProcessCluster {
    dir: tempfile::TempDir,
    /// `host:port` of node `i + 1`.
    pub addrs: Vec<String>,
    /// `host:port` where node `i + 1` serves the PostgreSQL protocol.
    pub pg_addrs: Vec<String>,
    children: Vec<Child>,
}

impl ProcessCluster {
    /// Starts `n` nodes with the default Raft timing (25 ms ticks, election timeout 12 ticks).
    ///
    /// # Panics
    /// If a process cannot be started.
    pub fn start(n: usize) -> ProcessCluster {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let addrs: Vec<String> = (0..n)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        let pg_addrs: Vec<String> = (0..n)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect();
        let mut children = Vec::new();
        for i in 0..n {
            let mut cmd = Command::new(chronos_bin());
            cmd.arg("start")
                .arg("--id")
                .arg((i + 1).to_string())
                .arg("--listen")
                .arg(&addrs[i])
                .arg("--data-dir")
                .arg(dir.path().join(format!("node{}", i + 1)))
                .arg("--pg-listen")
                .arg(&pg_addrs[i]);
            for (j, a) in addrs.iter().enumerate() {
                if j != i {
                    cmd.arg("--peer").arg(format!("{}={a}", j + 1));
                }
            }
            cmd.env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            children.push(cmd.spawn().expect("starting chronos start"));
        }
        ProcessCluster {
            dir,
            addrs,
            pg_addrs,
            children,
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Sends `signal` (e.g. `-STOP`, `-CONT`) to node `id`'s process.
    ///
    /// # Panics
    /// If `kill` cannot be run.
    pub fn signal(&self, id: u64, signal: &str) {
        let pid = self.children[(id - 1) as usize].id();
        let ok = Command::new("kill")
            .arg(signal)
            .arg(pid.to_string())
            .status()
            .expect("running kill")
            .success();
        assert!(ok, "kill {signal} {pid} failed");
    }

    /// Waits until some node reports a leader that every answering node agrees on.
    pub async fn wait_leader(&self, within: Duration) -> Option<u64> {
        let start = Instant::now();
        while start.elapsed() < within {
            let mut seen = Vec::new();
            for a in &self.addrs {
                let status = async {
                    let mut c = chronos_server::Client::connect(a).await.ok()?;
                    c.status().await.ok()
                };
                if let Ok(Some(st)) = tokio::time::timeout(Duration::from_millis(500), status).await
                {
                    seen.push(st.leader);
                }
            }
            if let Some(&l) = seen.first()
                && l != 0
                && seen.iter().all(|x| *x == l)
                && seen.len() == self.addrs.len()
            {
                return Some(l);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }
}

impl Drop for ProcessCluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            // A paused process must be resumed to die promptly on some systems; SIGKILL works
            // on stopped processes on Linux.
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
