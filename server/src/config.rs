//! A node's configuration: flags of `chronos start`, or the same settings in a file.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// Everything a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's id (non-zero, unique in the cluster).
    pub id: u64,
    /// Address the gRPC services listen on (Raft, SQL, admin).
    pub listen: SocketAddr,
    /// Address other nodes and clients use to reach this node (defaults to `listen`).
    pub advertise: String,
    /// Data directory: the store in `kv/`, the Raft log in `raft/`.
    pub data_dir: PathBuf,
    /// The other initial members, id → `host:port`.
    pub peers: BTreeMap<u64, String>,
    /// Join an existing cluster instead of bootstrapping one: the node starts with an empty log
    /// and waits to be added (`chronos admin add-node`).
    pub join: bool,
    /// Length of one Raft tick.
    pub tick_ms: u64,
    /// Election timeout in ticks (the actual timeout is drawn from `[t, 2t)`).
    pub election_timeout_ticks: u64,
    /// Leader heartbeat interval in ticks.
    pub heartbeat_interval_ticks: u64,
    /// Take a snapshot and compact the Raft log after this many applied entries.
    pub compact_every_entries: u64,
    /// Bound on how long a commit or read waits for Raft before reporting a timeout.
    pub request_timeout_ms: u64,
    /// Serve linearizable reads under a leader lease (no heartbeat round per read), relying on
    /// bounded clock drift between nodes; off: every transaction start is a ReadIndex round.
    pub lease_reads: bool,
    /// The `statement_timeout` SQL sessions start with (zero: none); a session may SET its own.
    pub statement_timeout: std::time::Duration,
    /// Where this node serves the PostgreSQL protocol (`HOST:PORT`; port 0 picks a free
    /// one); `None`: not at all. `chronos start` defaults it to [`chronos_pg::DEFAULT_LISTEN`].
    pub pg_listen: Option<String>,
}

impl NodeConfig {
    /// A configuration with defaults for everything but identity, address and directory.
    pub fn new(id: u64, listen: SocketAddr, data_dir: PathBuf) -> Self {
        NodeConfig {
            id,
            listen,
            advertise: listen.to_string(),
            data_dir,
            peers: BTreeMap::new(),
            join: false,
            tick_ms: 25,
            election_timeout_ticks: 12,
            heartbeat_interval_ticks: 3,
            compact_every_entries: 10_000,
            request_timeout_ms: 10_000,
            lease_reads: true,
            statement_timeout: std::time::Duration::ZERO,
            pg_listen: None,
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<()> {
        if self.id == 0 {
            return Err(Error::Config("node id 0 is reserved".into()));
        }
        if self.peers.contains_key(&self.id) {
            return Err(Error::Config(
                "--peer must name the other nodes, not this one".into(),
            ));
        }
        if self.tick_ms == 0 || self.compact_every_entries == 0 {
            return Err(Error::Config(
                "tick and compaction interval must be >= 1".into(),
            ));
        }
        Ok(())
    }

    /// Applies `key = value` lines of a config file (`#` comments). Keys: `id`, `listen`,
    /// `advertise`, `data-dir`, `peer` (repeatable, `ID=HOST:PORT`), `join`, `tick-ms`,
    /// `election-timeout-ticks`, `heartbeat-interval-ticks`, `compact-every-entries`, `lease-reads`,
    /// `statement-timeout` (as SQL's `SET statement_timeout`: `500`, `500ms`, `2s`),
    /// `pg-listen` (`HOST:PORT`, or `off`).
    pub fn apply_file(&mut self, text: &str) -> Result<()> {
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| Error::Config(format!("line {}: expected key = value", n + 1)))?;
            let bad = |what: &str| Error::Config(format!("line {}: bad {what}: {v}", n + 1));
            match k {
                "id" => self.id = v.parse().map_err(|_| bad("id"))?,
                "listen" => {
                    self.listen = v.parse().map_err(|_| bad("listen address"))?;
                    self.advertise = self.listen.to_string();
                }
                "advertise" => self.advertise = v.to_string(),
                "data-dir" => self.data_dir = v.into(),
                "peer" => {
                    let (id, addr) = parse_peer(v)?;
                    self.peers.insert(id, addr);
                }
                "join" => self.join = v.parse().map_err(|_| bad("join"))?,
                "lease-reads" => self.lease_reads = v.parse().map_err(|_| bad("lease-reads"))?,
                "tick-ms" => self.tick_ms = v.parse().map_err(|_| bad("tick-ms"))?,
                "election-timeout-ticks" => {
                    self.election_timeout_ticks = v.parse().map_err(|_| bad("ticks"))?;
                }
                "heartbeat-interval-ticks" => {
                    self.heartbeat_interval_ticks = v.parse().map_err(|_| bad("ticks"))?;
                }
                "statement-timeout" => {
                    self.statement_timeout = chronos_sql::parse_statement_timeout(v)
                        .map_err(|e| Error::Config(format!("line {}: {}", n + 1, e.message)))?;
                }
                "pg-listen" => self.pg_listen = parse_pg_listen(v)?,
                "compact-every-entries" => {
                    self.compact_every_entries = v.parse().map_err(|_| bad("count"))?;
                }
                _ => return Err(Error::Config(format!("line {}: unknown key {k}", n + 1))),
            }
        }
        Ok(())
    }
}

/// Parses a PostgreSQL listen address: `HOST:PORT`, or `off` for none.
pub fn parse_pg_listen(s: &str) -> Result<Option<String>> {
    let s = s.trim();
    if s == "off" {
        return Ok(None);
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(Some(s.to_string()))
        }
        _ => Err(Error::Config(format!(
            "PostgreSQL listen address {s}: expected HOST:PORT or off"
        ))),
    }
}

/// Parses `ID=HOST:PORT`.
pub fn parse_peer(s: &str) -> Result<(u64, String)> {
    let (id, addr) = s
        .split_once('=')
        .ok_or_else(|| Error::Config(format!("peer {s}: expected ID=HOST:PORT")))?;
    let id: u64 = id
        .trim()
        .parse()
        .map_err(|_| Error::Config(format!("peer {s}: bad id")))?;
    if id == 0 || !addr.contains(':') {
        return Err(Error::Config(format!("peer {s}: expected ID=HOST:PORT")));
    }
    Ok((id, addr.trim().to_string()))
}
