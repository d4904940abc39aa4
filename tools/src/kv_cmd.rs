//! `chronos kv`: the storage engine's own shell and inspection commands.

use std::io::{BufRead, Write};
use std::ops::Bound;
use std::path::PathBuf;

use anyhow::{Context, Result};
use chronos_kv::{Db, Direction, Options, WriteOptions};

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
    /// Levels, SSTables with key ranges and sizes, and engine counters.
    Summary {
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Reads every block of every SSTable and checks every checksum.
    Verify {
        #[arg(long)]
        data_dir: PathBuf,
    },
}

pub fn run(args: KvArgs) -> Result<()> {
    match args.command {
        KvCommand::Shell { data_dir } => shell(&data_dir),
        KvCommand::Summary { data_dir } => summary(&data_dir),
        KvCommand::Verify { data_dir } => verify(&data_dir),
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
    println!(
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
            println!();
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
            println!("error: {e:#}");
        }
    }
}

fn shell_command(db: &Db, cmd: &str, args: &[&str]) -> Result<()> {
    let scan = |lower: Bound<&[u8]>, upper: Bound<&[u8]>, direction| -> Result<()> {
        let mut n = 0;
        for entry in db.scan(lower, upper, direction)?.take(SCAN_LIMIT) {
            let (k, v) = entry?;
            println!("{} = {}", show(&k), show(&v));
            n += 1;
        }
        println!(
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
            println!("OK");
        }
        ("get", [k]) => match db.get(k.as_bytes())? {
            Some(v) => println!("{}", show(&v)),
            None => println!("(not found)"),
        },
        ("delete", [k]) => {
            db.delete(k.as_bytes(), WriteOptions::SYNC)?;
            println!("OK");
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
                println!("{} = {}", show(&k), show(&v));
                n += 1;
            }
            println!("({n} keys)");
        }
        ("flush", []) => {
            db.flush()?;
            println!("OK");
        }
        ("compact", []) => {
            db.compact()?;
            println!("OK");
        }
        ("stats", []) => println!("{}", db.stats()),
        ("help", _) => println!("{HELP}"),
        _ => println!("unknown command or wrong arguments; type 'help'"),
    }
    Ok(())
}

fn summary(dir: &PathBuf) -> Result<()> {
    let db = open_existing(dir)?;
    let version = db.version();
    println!("data directory {}", dir.display());
    for (level, files) in version.levels.iter().enumerate() {
        if files.is_empty() {
            continue;
        }
        let bytes: u64 = files.iter().map(|f| f.size_bytes).sum();
        println!("L{level}: {} files, {bytes} bytes", files.len());
        for f in files {
            println!(
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
    println!(
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
    println!("{}", db.stats());
    Ok(())
}

fn verify(dir: &PathBuf) -> Result<()> {
    let db = open_existing(dir)?;
    let entries = db.verify()?;
    println!(
        "OK: {entries} entries in {} SSTables, every checksum verified",
        db.version().file_count()
    );
    Ok(())
}
