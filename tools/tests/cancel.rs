//! Stopping statements in a real `chronos` process: `statement_timeout` (embedded and on a
//! cluster node, where `chronos start --statement-timeout` sets the default), and Ctrl-C in the
//! interactive shell, which runs on a pseudo-terminal here so that it is the real REPL.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Rows in each table of the cross join: 4000 × 4000 join candidates run for many seconds
/// unless cancelled.
const ROWS: usize = 4000;
const CROSS_JOIN: &str = "SELECT count(*) FROM a, b WHERE a.x + b.y < 0";
/// How long a cancelled statement may take to stop, measured around the whole process or
/// round trip (generous: the machine running the tests may be busy).
const CANCEL_BOUND: Duration = Duration::from_secs(5);

fn chronos() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chronos"))
}

fn sql(target: &[&str], script: &str) -> Output {
    chronos()
        .arg("sql")
        .args(target)
        .args(["-e", script])
        .output()
        .unwrap()
}

fn sql_ok(target: &[&str], script: &str) -> String {
    let out = sql(target, script);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{script}: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn create_tables(target: &[&str]) {
    sql_ok(
        target,
        "CREATE TABLE a (x INTEGER PRIMARY KEY); CREATE TABLE b (y INTEGER PRIMARY KEY)",
    );
    let values: Vec<String> = (0..ROWS).map(|i| format!("({i})")).collect();
    for t in ["a", "b"] {
        sql_ok(
            target,
            &format!("INSERT INTO {t} VALUES {}", values.join(",")),
        );
    }
}

fn free_address() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("127.0.0.1:{port}")
}

/// A cluster of `chronos start` processes, killed when dropped.
struct Cluster {
    children: Vec<Child>,
    addresses: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn start(nodes: usize, extra: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let addresses: Vec<String> = (0..nodes).map(|_| free_address()).collect();
        let mut children = Vec::new();
        for (i, address) in addresses.iter().enumerate() {
            let mut cmd = chronos();
            cmd.args(["start", "--id", &(i + 1).to_string(), "--listen", address])
                .arg("--data-dir")
                .arg(dir.path().join(format!("node{}", i + 1)))
                .args(["--pg-listen", "off"])
                .args(extra)
                .stdout(Stdio::null());
            for (j, peer) in addresses.iter().enumerate() {
                if j != i {
                    cmd.args(["--peer", &format!("{}={peer}", j + 1)]);
                }
            }
            children.push(cmd.spawn().unwrap());
        }
        let cluster = Cluster {
            children,
            addresses,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 0..nodes {
            while !sql(&cluster.target(i), "SELECT 1").status.success() {
                assert!(Instant::now() < deadline, "node {} did not come up", i + 1);
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        cluster
    }

    fn target(&self, i: usize) -> [&str; 2] {
        ["--host", &self.addresses[i]]
    }

    /// A node that is not the leader, by `chronos status`.
    fn follower(&self) -> usize {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            for (i, address) in self.addresses.iter().enumerate() {
                let out = chronos()
                    .args(["status", "--host", address])
                    .output()
                    .unwrap();
                if String::from_utf8_lossy(&out.stdout).contains("role=follower") {
                    return i;
                }
            }
            assert!(Instant::now() < deadline, "no follower found");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A one-node cluster.
struct Node {
    cluster: Cluster,
    address: String,
}

impl Node {
    fn start(extra: &[&str]) -> Node {
        let cluster = Cluster::start(1, extra);
        let address = cluster.addresses[0].clone();
        Node { cluster, address }
    }

    fn target(&self) -> [&str; 2] {
        self.cluster.target(0)
    }
}

fn assert_times_out(target: &[&str], script: &str) {
    let start = Instant::now();
    let out = sql(target, script);
    let elapsed = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("canceling statement due to statement timeout (SQLSTATE 57014)"),
        "{stderr}"
    );
    assert!(elapsed < CANCEL_BOUND, "took {elapsed:?}");
}

#[test]
fn statement_timeout_cancels_a_long_join_embedded() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let target = ["--data-dir", data.to_str().unwrap()];
    create_tables(&target);
    assert_times_out(
        &target,
        &format!("SET statement_timeout = '300ms'; {CROSS_JOIN}"),
    );
}

#[test]
fn statement_timeout_cancels_a_long_join_on_a_cluster_node() {
    let node = Node::start(&["--statement-timeout", "300ms"]);
    let target = node.target();
    create_tables(&target);
    assert!(sql_ok(&target, "SHOW statement_timeout").contains("300ms"));
    assert_times_out(&target, CROSS_JOIN);
    // A session's own SET wins over the node's default.
    assert_times_out(
        &target,
        &format!("SET statement_timeout = '200ms'; {CROSS_JOIN}"),
    );
    assert!(sql_ok(&target, "SET statement_timeout = 0; SELECT count(*) FROM a").contains("4000"));
}

/// The shell on a pseudo-terminal: what it printed so far, and a way to type.
struct Terminal {
    child: Child,
    input: std::fs::File,
    output: mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Terminal {
    fn open(args: &[&str], home: &Path) -> Terminal {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 40,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: the out-pointers are valid; a null name and termios are allowed.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: openpty returned two fresh descriptors that nothing else owns.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let child = chronos()
            .arg("sql")
            .args(args)
            .env("HOME", home)
            .env("TERM", "xterm")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .spawn()
            .unwrap();
        let mut reader = std::fs::File::from(master.try_clone().unwrap());
        let (tx, output) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Terminal {
            child,
            input: std::fs::File::from(master),
            output,
            seen: String::new(),
        }
    }

    fn type_keys(&mut self, keys: &str) {
        self.input.write_all(keys.as_bytes()).unwrap();
        self.input.flush().unwrap();
    }

    /// Waits until the shell prints `needle`; consumes the output up to it.
    fn expect(&mut self, needle: &str) {
        if !self.expect_within(needle, Duration::from_secs(60)) {
            panic!("waited for {needle:?}; the shell printed {:?}", self.seen);
        }
    }

    /// Like [`Terminal::expect`], but gives up after `wait` and says whether it was seen.
    fn expect_within(&mut self, needle: &str, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(at) = self.seen.find(needle) {
                self.seen.drain(..at + needle.len());
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.output.recv_timeout(left) {
                Ok(bytes) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                Err(_) => return false,
            }
        }
    }

    fn interrupt(&self) {
        // SAFETY: plain kill(2) of our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        assert_eq!(rc, 0);
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGINT mid-query cancels the statement (57014), aborts the open transaction block (25P02
/// until ROLLBACK, which undoes its insert), and the shell goes on; Ctrl-C at the prompt
/// discards typed input, and twice at an empty prompt exits.
fn ctrl_c_cancels_the_statement_and_keeps_the_shell(target: &[&str], home: &Path) {
    let mut t = Terminal::open(target, home);
    t.expect("chronos=> ");
    t.type_keys("BEGIN;\r");
    t.expect("chronos=*> ");
    t.type_keys("INSERT INTO a VALUES (100000);\r");
    t.expect("INSERT 0 1");
    t.expect("chronos=*> ");
    t.type_keys(&format!("{CROSS_JOIN};\r"));
    // Let the statement start (the echo of the line comes first), then press Ctrl-C.
    t.expect(CROSS_JOIN);
    std::thread::sleep(Duration::from_millis(500));
    // A Ctrl-C that lands before the statement has started is lost (the session clears its
    // cancel flag when a statement starts, as PostgreSQL ignores a cancel for an idle
    // backend), which a loaded machine can stretch past the pause above: press again until
    // the statement is cancelled, each press with the full bound to take effect.
    let cancelled = (0..5).any(|_| {
        t.interrupt();
        t.expect_within(
            "canceling statement due to user request (SQLSTATE 57014)",
            CANCEL_BOUND,
        )
    });
    assert!(cancelled, "no Ctrl-C cancelled the statement: {:?}", t.seen);
    t.expect("chronos=*> ");
    t.type_keys("SELECT 1;\r");
    t.expect("current transaction is aborted");
    t.type_keys("ROLLBACK;\r");
    t.expect("ROLLBACK");
    t.expect("chronos=> ");
    t.type_keys("SELECT count(*) AS n FROM a WHERE x = 100000;\r");
    t.expect(" 0\r\n(1 row)");
    t.expect("chronos=> ");
    // Typed input is discarded without the exit hint; then two presses on an empty line exit.
    t.type_keys("SELECT 2\x03");
    t.expect("chronos=> ");
    t.type_keys("\x03");
    t.expect("To exit, press Ctrl-C again");
    // Between two prompts the terminal is not in raw mode, and a Ctrl-C typed then is a signal
    // the shell ignores rather than a key: wait for the prompt (drawn in raw mode) first.
    t.expect("chronos=> ");
    assert!(
        t.child.try_wait().unwrap().is_none(),
        "one Ctrl-C must not exit"
    );
    t.type_keys("\x03");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = t.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the second Ctrl-C did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
}

#[test]
fn ctrl_c_in_the_embedded_shell() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let target = ["--data-dir", data.to_str().unwrap()];
    create_tables(&target);
    ctrl_c_cancels_the_statement_and_keeps_the_shell(&target, dir.path());
}

#[test]
fn ctrl_c_in_the_shell_on_a_cluster_node() {
    let node = Node::start(&[]);
    let target = node.target();
    create_tables(&target);
    let home = tempfile::tempdir().unwrap();
    ctrl_c_cancels_the_statement_and_keeps_the_shell(&target, home.path());
    // The node stopped the statement: a new session runs at once and sees no insert.
    let start = Instant::now();
    assert!(sql_ok(&target, "SELECT count(*) FROM a").contains("4000"));
    assert!(start.elapsed() < CANCEL_BOUND);
}

/// Through a follower, which forwards the session's statements to the leader: the dropped
/// stream reaches the leader, which cancels. (Had it not, the join would complete, the block
/// would not be aborted, and `SELECT 1` would answer 1.)
#[test]
fn ctrl_c_in_the_shell_on_a_follower() {
    let cluster = Cluster::start(3, &[]);
    let follower = cluster.follower();
    let target = cluster.target(follower);
    create_tables(&target);
    let home = tempfile::tempdir().unwrap();
    ctrl_c_cancels_the_statement_and_keeps_the_shell(&target, home.path());
}

/// Output to a pipe whose reader is gone (`chronos … | head`): a quiet exit, never a panic.
#[test]
fn a_closed_output_pipe_ends_commands_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("h.edn");
    let ops: String = (0..200)
        .map(|i| {
            format!(
                "{{:type :invoke, :process 0, :f :txn, :value [[:append :x {i}]]}}\n\
                 {{:type :ok, :process 0, :f :txn, :value [[:append :x {i}]]}}\n"
            )
        })
        .collect();
    std::fs::write(&history, ops).unwrap();
    let data = dir.path().join("db");
    create_tables(&["--data-dir", data.to_str().unwrap()]);
    let node = Node::start(&[]);
    create_tables(&node.target());
    let commands: Vec<Vec<&str>> = vec![
        vec![
            "check",
            "history",
            history.to_str().unwrap(),
            "--workload",
            "list-append",
        ],
        vec![
            "check",
            "history",
            history.to_str().unwrap(),
            "--workload",
            "list-append",
            "--json",
        ],
        vec![
            "sql",
            "--data-dir",
            data.to_str().unwrap(),
            "-e",
            "SELECT * FROM a",
        ],
        vec!["sql", "--host", &node.address, "-e", "SELECT * FROM a"],
        vec!["status", "--host", &node.address],
        vec!["kv", "summary", "--data-dir", data.to_str().unwrap()],
        vec!["--help"],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        // The reader is gone before the command writes its first byte.
        drop(reader);
        let out = chronos()
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
    // A closed stderr loses the message but not the status: the checker's "unreadable" is 2.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let missing = dir.path().join("missing.edn");
    let out = chronos()
        .args([
            "check",
            "history",
            missing.to_str().unwrap(),
            "--workload",
            "bank",
        ])
        .stderr(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
