//! `chronos kv`: the storage engine's own shell and inspection commands.

use std::io::{BufRead, Write};
use std::ops::Bound;
use std::path::PathBuf;

use std::sync::Arc;

use anyhow::{Context, Result};
use chronos_kv::mvcc::{
    EngineKey, HybridClock, MvccOptions, MvccStore, Timestamp, WallClock, decode_engine_key,
    decode_version_value, version_prefix,
};
use chronos_kv::{Db, Direction, Options, WriteOptions};
use chronos_sql::Engine;
use chronos_sql::inspect::{KeyFormatter, hex};

/// Where the embedded store lives when no directory is given.
const DEFAULT_DATA_DIR: &str = "chronos-data";

#[derive(Debug, clap::Args)]
pub struct KvArgs {
    #[command(subcommand)]
    command: KvCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KvCommand {
    /// An interactive put/get/delete/scan shell on an embedded store.
    Shell {
        #[arg(long, default_value = DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Levels, SSTables with key ranges and sizes, WAL recovery, and engine counters.
    Summary {
        #[arg(long)]
        data_dir: PathBuf,
        /// One JSON object per SSTable and one for the whole store, one per line.
        #[arg(long)]
        json: bool,
    },
    /// Keys of the MVCC store, decoded (table, index, key values, commit timestamp,
    /// tombstones) and as raw hex: the newest version of each key, or every version.
    Scan(ScanArgs),
    /// A cluster node's Raft log: hard state, snapshot, and every entry (term, index, decoded
    /// transaction batch with keys named through the catalog).
    RaftLog {
        /// The node's data directory (the one given to `chronos start`).
        #[arg(long)]
        data_dir: PathBuf,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Reads every block of every SSTable and checks every checksum.
    Verify {
        #[arg(long)]
        data_dir: PathBuf,
        /// The verdict as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    #[arg(long)]
    data_dir: PathBuf,
    /// Only the rows and index entries of this SQL table.
    #[arg(long, conflicts_with = "prefix")]
    table: Option<String>,
    /// Only user keys starting with these bytes (hex).
    #[arg(long)]
    prefix: Option<String>,
    /// Every version of each key, not just the newest visible one.
    #[arg(long)]
    all_versions: bool,
    /// Read as of this commit timestamp (`WALL_MS.LOGICAL` or `WALL_MS`).
    #[arg(long, value_name = "TS")]
    at: Option<String>,
    /// Stop after this many entries.
    #[arg(long, default_value_t = 1000)]
    limit: usize,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: KvArgs) -> Result<()> {
    match args.command {
        KvCommand::Shell { data_dir } => shell(&data_dir),
        KvCommand::Summary { data_dir, json } => summary(&data_dir, json),
        KvCommand::Verify { data_dir, json } => verify(&data_dir, json),
        KvCommand::Scan(args) => scan(&args),
        KvCommand::RaftLog { data_dir, json } => raft_log(&data_dir, json),
    }
}

fn open_existing(dir: &PathBuf) -> Result<Db> {
    // Read-only: inspecting a directory must not change it (no recovery flush, no new
    // manifest or WAL segment, no cleanup).
    let opts = Options {
        create_if_missing: false,
        read_only: true,
        ..Options::default()
    };
    Db::open(dir, opts).with_context(|| format!("opening {}", dir.display()))
}

/// Renders bytes as text when printable, else as hex.
fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if s.chars().all(|c| !c.is_control()) => format!("{s:?}"),
        _ => format!(
            "0x{}",
            bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ),
    }
}

const HELP: &str = "commands:
  put KEY VALUE        set KEY (durably)
  get KEY              print KEY's value
  delete KEY           remove KEY
  scan [FROM [TO]]     list keys in [FROM, TO) (at most 100)
  rscan [FROM [TO]]    the same, in reverse
  prefix P             list keys starting with P
  flush                write the memtable to an SSTable
  compact              compact until the tree is in shape
  stats                levels, files and counters
  help                 this text
  quit                 leave (also Ctrl-D)";

const SCAN_LIMIT: usize = 100;

fn shell(dir: &PathBuf) -> Result<()> {
    let db =
        Db::open(dir, Options::default()).with_context(|| format!("opening {}", dir.display()))?;
    let report = db.recovery_report();
    outln!(
        "Chronos storage shell on {} ({}). Type 'help' for commands.",
        dir.display(),
        if report.created {
            "new store".to_string()
        } else {
            format!("{} WAL batches recovered", report.wal_batches_replayed)
        }
    );
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    let mut line = String::new();
    loop {
        write!(out, "kv> ")?;
        out.flush()?;
        line.clear();
        if stdin.lock().read_line(&mut line)? == 0 {
            outln!();
            return Ok(());
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some((&cmd, args)) = words.split_first() else {
            continue;
        };
        if cmd == "quit" || cmd == "exit" {
            return Ok(());
        }
        if let Err(e) = shell_command(&db, cmd, args) {
            outln!("error: {e:#}");
        }
    }
}

fn shell_command(db: &Db, cmd: &str, args: &[&str]) -> Result<()> {
    let scan = |lower: Bound<&[u8]>, upper: Bound<&[u8]>, direction| -> Result<()> {
        let mut n = 0;
        for entry in db.scan(lower, upper, direction)?.take(SCAN_LIMIT) {
            let (k, v) = entry?;
            outln!("{} = {}", show(&k), show(&v));
            n += 1;
        }
        outln!(
            "({n} keys{})",
            if n == SCAN_LIMIT {
                ", limit reached"
            } else {
                ""
            }
        );
        Ok(())
    };
    let bound = |i: usize, inclusive: bool| match args.get(i) {
        Some(a) if inclusive => Bound::Included(a.as_bytes()),
        Some(a) => Bound::Excluded(a.as_bytes()),
        None => Bound::Unbounded,
    };
    match (cmd, args) {
        ("put", [k, v]) => {
            db.put(k.as_bytes(), v.as_bytes(), WriteOptions::SYNC)?;
            outln!("OK");
        }
        ("get", [k]) => match db.get(k.as_bytes())? {
            Some(v) => outln!("{}", show(&v)),
            None => outln!("(not found)"),
        },
        ("delete", [k]) => {
            db.delete(k.as_bytes(), WriteOptions::SYNC)?;
            outln!("OK");
        }
        ("scan", a) if a.len() <= 2 => scan(bound(0, true), bound(1, false), Direction::Forward)?,
        ("rscan", a) if a.len() <= 2 => scan(bound(0, true), bound(1, false), Direction::Reverse)?,
        ("prefix", [p]) => {
            let mut n = 0;
            for entry in db
                .scan_prefix(p.as_bytes(), Direction::Forward)?
                .take(SCAN_LIMIT)
            {
                let (k, v) = entry?;
                outln!("{} = {}", show(&k), show(&v));
                n += 1;
            }
            outln!("({n} keys)");
        }
        ("flush", []) => {
            db.flush()?;
            outln!("OK");
        }
        ("compact", []) => {
            db.compact()?;
            outln!("OK");
        }
        ("stats", []) => outln!("{}", db.stats()),
        ("help", _) => outln!("{HELP}"),
        _ => outln!("unknown command or wrong arguments; type 'help'"),
    }
    Ok(())
}

fn summary(dir: &PathBuf, json: bool) -> Result<()> {
    let db = open_existing(dir)?;
    let version = db.version();
    if json {
        for (level, files) in version.levels.iter().enumerate() {
            for f in files {
                let obj = serde_json::json!({
                    "sstable": format!("{:06}.sst", f.number), "level": level, "bytes": f.size_bytes,
                    "entries": f.entries, "smallest": hex(f.smallest_user_key()), "largest": hex(f.largest_user_key()),
                });
                outln!("{obj}");
            }
        }
        let report = db.recovery_report();
        let stats = db.stats();
        let obj = serde_json::json!({
            "data_dir": dir.display().to_string(),
            "levels": stats.levels.iter().map(|l| serde_json::json!({"files": l.files, "bytes": l.bytes})).collect::<Vec<_>>(),
            "wal_segments_replayed": report.wal_segments_replayed,
            "wal_batches_replayed": report.wal_batches_replayed,
            "torn_wal_tail": report.torn_wal_tail.as_ref().map(|(seg, off, why)| serde_json::json!({"segment": seg, "offset": off, "reason": why})),
            "last_sequence": stats.last_sequence,
            "memtable_bytes": stats.memtable_bytes,
        });
        outln!("{obj}");
        return Ok(());
    }
    outln!("data directory {}", dir.display());
    for (level, files) in version.levels.iter().enumerate() {
        if files.is_empty() {
            continue;
        }
        let bytes: u64 = files.iter().map(|f| f.size_bytes).sum();
        outln!("L{level}: {} files, {bytes} bytes", files.len());
        for f in files {
            outln!(
                "  {:06}.sst  {:>10} bytes  {:>8} entries  [{} .. {}]",
                f.number,
                f.size_bytes,
                f.entries,
                show(f.smallest_user_key()),
                show(f.largest_user_key())
            );
        }
    }
    let report = db.recovery_report();
    outln!(
        "WAL: {} segments replayed, {} batches{}",
        report.wal_segments_replayed,
        report.wal_batches_replayed,
        report
            .torn_wal_tail
            .as_ref()
            .map(|(seg, off, why)| format!(
                "; torn tail dropped in segment {seg} at offset {off}: {why}"
            ))
            .unwrap_or_default()
    );
    outln!("{}", db.stats());
    Ok(())
}

fn verify(dir: &PathBuf, json: bool) -> Result<()> {
    let db = open_existing(dir)?;
    let entries = db.verify()?;
    if json {
        let obj = serde_json::json!({"ok": true, "entries": entries, "sstables": db.version().file_count()});
        outln!("{obj}");
        return Ok(());
    }
    outln!(
        "OK: {entries} entries in {} SSTables, every checksum verified",
        db.version().file_count()
    );
    Ok(())
}

fn parse_ts(s: &str) -> Result<Timestamp> {
    let (wall, logical) = s.split_once('.').unwrap_or((s, "0"));
    Ok(Timestamp::new(
        wall.parse()
            .with_context(|| format!("bad timestamp {s:?}"))?,
        logical
            .parse()
            .with_context(|| format!("bad timestamp {s:?}"))?,
    ))
}

fn parse_hex(s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        anyhow::bail!("hex prefix {s:?} has an odd number of digits");
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&s[i..i + 2], 16).with_context(|| format!("bad hex prefix {s:?}"))
        })
        .collect()
}

/// A wall clock that is never read for anything but ids (inspection writes nothing).
#[derive(Debug)]
struct StoppedClock;

impl WallClock for StoppedClock {
    fn now_millis(&self) -> u64 {
        0
    }
}

fn scan(args: &ScanArgs) -> Result<()> {
    let db = open_existing(&args.data_dir)?;
    let store = MvccStore::open(
        db,
        HybridClock::new(Arc::new(StoppedClock)),
        MvccOptions::default(),
    )?;
    let engine = Engine::from_store(store.clone());
    let formatter = KeyFormatter::new(&engine)?;
    let at = args.at.as_deref().map(parse_ts).transpose()?;
    let user_prefix = match (&args.table, &args.prefix) {
        (Some(t), _) => {
            let mut probe = engine.session();
            probe.describe_table(t)?;
            let id = formatter
                .table_id(t)
                .with_context(|| format!("no table {t}"))?;
            Some(chronos_kv::keycode::encode_tuple(&[
                chronos_kv::keycode::Value::UInt(id),
            ]))
        }
        (None, Some(p)) => Some(parse_hex(p)?),
        (None, None) => None,
    };
    // The engine prefix of every version of every user key starting with `user_prefix`: the
    // escaped user key without its terminator.
    let engine_prefix = match &user_prefix {
        Some(p) => {
            let mut k = version_prefix(p);
            k.truncate(k.len() - 2);
            k
        }
        None => Vec::new(),
    };
    let mut out = std::io::stdout().lock();
    let mut shown = 0;
    let mut last_user_key: Option<Vec<u8>> = None;
    for entry in store
        .engine()
        .scan_prefix(&engine_prefix, Direction::Forward)?
    {
        if shown >= args.limit {
            writeln!(out, "(limit of {} entries reached)", args.limit)?;
            break;
        }
        let (key, value) = entry?;
        let decoded = decode_engine_key(&key);
        let (line_key, ts, tombstone, shown_value) = match &decoded {
            Ok(EngineKey::Meta(name)) => (
                format!("/meta/{name}"),
                None,
                false,
                format!("0x{}", hex(&value)),
            ),
            Ok(EngineKey::Version { user_key, ts }) => {
                if at.is_some_and(|at| *ts > at) {
                    continue;
                }
                if !args.all_versions && last_user_key.as_ref() == Some(user_key) {
                    continue;
                }
                last_user_key = Some(user_key.clone());
                let v = decode_version_value(&value)?;
                let rendered = v.map_or("<deleted>".to_string(), |v| {
                    formatter.format_value(user_key, v)
                });
                (
                    formatter.format_key(user_key),
                    Some(*ts),
                    v.is_none(),
                    rendered,
                )
            }
            Err(_) => (
                "(not an MVCC key)".to_string(),
                None,
                false,
                format!("0x{}", hex(&value)),
            ),
        };
        if args.json {
            let obj = serde_json::json!({
                "key": line_key,
                "ts": ts.map(|t| t.to_string()),
                "tombstone": tombstone,
                "value": shown_value,
                "raw_key": hex(&key),
                "raw_value": hex(&value),
            });
            writeln!(out, "{obj}")?;
        } else {
            let at_ts = ts.map(|t| format!(" @{t}")).unwrap_or_default();
            writeln!(
                out,
                "{line_key}{at_ts} = {shown_value}    [0x{}]",
                hex(&key)
            )?;
        }
        shown += 1;
    }
    Ok(())
}

/// Renders a transaction batch's writes with keys named through the catalog.
fn describe_batch(
    batch: &chronos_kv::mvcc::KvBatch,
    formatter: Option<&KeyFormatter>,
) -> Vec<String> {
    batch
        .writes
        .iter()
        .map(|(k, v)| {
            let key = formatter.map_or_else(|| format!("0x{}", hex(k)), |f| f.format_key(k));
            match v {
                None => format!("delete {key}"),
                Some(v) => format!(
                    "put {key} = {}",
                    formatter.map_or_else(|| format!("0x{}", hex(v)), |f| f.format_value(k, v))
                ),
            }
        })
        .collect()
}

fn raft_log(data_dir: &std::path::Path, json: bool) -> Result<()> {
    use chronos_raft::storage::FileStorage;
    use chronos_raft::storage::LogStorage;
    use chronos_raft::types::EntryPayload;
    use chronos_server::state_machine::Command;

    let raft_dir = data_dir.join("raft");
    if !raft_dir.is_dir() {
        anyhow::bail!(
            "{} holds no Raft log (is it a cluster node's data directory?)",
            data_dir.display()
        );
    }
    // Opening recovers the log as a restarting node would (a torn tail is truncated).
    let storage = FileStorage::open(&raft_dir, u64::MAX)
        .with_context(|| format!("opening {}", raft_dir.display()))?;
    let init = storage.initial_state()?;
    // Keys are named through the node's catalog when its store can be opened read-only.
    let formatter = open_existing(&data_dir.join("kv"))
        .ok()
        .and_then(|db| {
            MvccStore::open(
                db,
                HybridClock::new(Arc::new(StoppedClock)),
                MvccOptions::default(),
            )
            .ok()
        })
        .and_then(|store| KeyFormatter::new(&Engine::from_store(store)).ok());
    let mut out = std::io::stdout().lock();
    let hs = init.hard_state;
    if !json {
        writeln!(out, "hard state: {hs:?}")?;
        if let Some(s) = &init.snapshot {
            writeln!(out, "snapshot: index {} term {}", s.meta.index, s.meta.term)?;
        }
    }
    for e in &init.entries {
        let (kind, detail): (&str, Vec<String>) = match &e.payload {
            EntryPayload::Empty => ("no-op", Vec::new()),
            EntryPayload::Normal(bytes) => match Command::decode(&bytes[..]) {
                Ok(Command::Txn { batch, .. }) => {
                    let mut d = vec![format!(
                        "read_ts {} commit_ts {}",
                        batch.read_ts, batch.commit_ts
                    )];
                    d.extend(describe_batch(&batch, formatter.as_ref()));
                    ("txn", d)
                }
                Ok(Command::SetAddress { node, address }) => {
                    ("address", vec![format!("node {node} at {address}")])
                }
                Err(err) => (
                    "undecodable",
                    vec![format!("{err} (0x{})", hex(&bytes[..]))],
                ),
            },
            EntryPayload::ConfChange(c) => ("conf-change", vec![format!("{c:?}")]),
            EntryPayload::Bootstrap(m) => ("bootstrap", vec![format!("{m:?}")]),
        };
        if json {
            let obj = serde_json::json!({"index": e.index, "term": e.term, "kind": kind, "detail": detail});
            writeln!(out, "{obj}")?;
        } else {
            writeln!(out, "{:>8} term {:<4} {kind}", e.index, e.term)?;
            for d in detail {
                writeln!(out, "         {d}")?;
            }
        }
    }
    Ok(())
}
