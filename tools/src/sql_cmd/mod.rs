//! `chronos sql`: a SQL shell on an embedded Chronos store.
//!
//! - Interactive when standard input is a terminal and neither `-e` nor `-f` is given: line
//!   editing and history, statements spanning lines until a `;` (see [`split`]), psql-style
//!   tables and meta-commands (see [`repl`]). An error is printed and the shell goes on.
//! - Otherwise non-interactive: every statement of `-e`, `-f` or standard input runs in order,
//!   results go to stdout in `--format`, errors to stderr as `ERROR: message (SQLSTATE code)`,
//!   and the first error stops the run with a non-zero exit status.
//!
//! Ctrl-C cancels the running statement and keeps the shell (see [`interrupt`]); a
//! `statement_timeout` (`SET statement_timeout = '2s'`) cancels long ones by itself.
//!
//! Command tags (`INSERT 0 3`, `CREATE TABLE`) and `--timing` lines are status output: on
//! stdout with the table format, as psql prints them, but on stderr with CSV/TSV/JSON so that
//! stdout holds nothing but data.

mod format;
mod interrupt;
mod remote;
mod repl;
mod split;

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use chronos_sql::{ColumnInfo, DataType, Engine, Session, StatementResult, Value};

use interrupt::{Canceller, Interrupts};

pub use format::Format;

/// Where the embedded store lives when no directory is given.
const DEFAULT_DATA_DIR: &str = "chronos-data";

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Interactive when standard input is a terminal and neither -e nor -f is given (\\? lists the \
meta-commands). Otherwise statements come from -e, -f or standard input, run in order, and the \
first error stops the run: it is printed to stderr as `ERROR: message (SQLSTATE code)` and the \
exit status is 1. json is JSON Lines: one object per row, one row per line. With csv, tsv and json, \
command tags and timings go to stderr so that stdout holds only data.")]
pub struct SqlArgs {
    /// Directory of the embedded store (created if missing).
    #[arg(long, default_value = DEFAULT_DATA_DIR, value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Run these SQL statements and exit (repeatable; `;` separates several in one).
    #[arg(
        short = 'e',
        long = "execute",
        value_name = "SQL",
        conflicts_with = "file"
    )]
    pub execute: Vec<String>,

    /// Run the statements in FILE and exit (repeatable; `-` reads standard input).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Vec<PathBuf>,

    /// Output format of query results.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Print how long each statement took (`\timing` toggles it in the shell).
    #[arg(long)]
    pub timing: bool,

    /// Connect to a cluster node at HOST:PORT instead of opening an embedded store (any node:
    /// followers forward to the leader).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "data_dir")]
    pub host: Option<String>,
}

/// What the shell runs statements on: an embedded session or a session on a cluster node.
pub trait SqlTarget {
    fn execute(&mut self, sql: &str) -> Vec<chronos_sql::Result<StatementResult>>;
    fn in_transaction(&self) -> bool;
    fn list_tables(&mut self) -> chronos_sql::Result<Vec<String>>;
    fn describe_table(&mut self, name: &str) -> chronos_sql::Result<StatementResult>;
    /// What stops the statement `execute` is running, called from another thread.
    fn canceller(&self) -> Canceller;
    /// The notices of the last `execute` (none from a cluster node: gRPC does not carry
    /// them yet).
    fn take_notices(&mut self) -> Vec<String> {
        Vec::new()
    }
}

impl SqlTarget for Session {
    fn execute(&mut self, sql: &str) -> Vec<chronos_sql::Result<StatementResult>> {
        Session::execute(self, sql)
    }
    fn in_transaction(&self) -> bool {
        Session::in_transaction(self)
    }
    fn list_tables(&mut self) -> chronos_sql::Result<Vec<String>> {
        Session::list_tables(self)
    }
    fn describe_table(&mut self, name: &str) -> chronos_sql::Result<StatementResult> {
        Session::describe_table(self, name)
    }
    fn canceller(&self) -> Canceller {
        let handle = self.cancel_handle();
        std::sync::Arc::new(move || handle.cancel())
    }
    fn take_notices(&mut self) -> Vec<String> {
        self.take_messages()
            .into_iter()
            .filter_map(|m| match m {
                chronos_sql::SessionMessage::Notice { message, .. } => Some(message),
                chronos_sql::SessionMessage::ParameterStatus { .. } => None,
            })
            .collect()
    }
}

pub fn run(args: SqlArgs) -> anyhow::Result<ExitCode> {
    let mut target: Box<dyn SqlTarget> = match &args.host {
        Some(host) => Box::new(remote::RemoteSession::connect(host)?),
        None => {
            let engine = Engine::open(&args.data_dir)
                .with_context(|| format!("opening the database in {}", args.data_dir.display()))?;
            Box::new(engine.session())
        }
    };
    let session = target.as_mut();
    let mut printer = Printer {
        format: args.format,
        timing: args.timing,
    };

    let interactive = args.execute.is_empty() && args.file.is_empty() && io::stdin().is_terminal();
    let interrupts = Interrupts::install(interactive)?;
    if interactive {
        let place = match &args.host {
            Some(h) => format!("the cluster at {h}"),
            None => args.data_dir.display().to_string(),
        };
        repl::run(session, &mut printer, &interrupts, &place)?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut scripts = args.execute.clone();
    for path in &args.file {
        scripts.push(if path.as_os_str() == "-" {
            read_stdin()?
        } else {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        });
    }
    if args.execute.is_empty() && args.file.is_empty() {
        scripts.push(read_stdin()?);
    }
    for script in &scripts {
        match run_statements(session, &printer, &interrupts, split::split_all(script)) {
            Ok(true) => {}
            Ok(false) => return Ok(ExitCode::FAILURE),
            // The reader went away (`chronos sql ... | head`): nothing more to say.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            Err(e) => return Err(e).context("writing results"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_stdin() -> anyhow::Result<String> {
    let mut text = String::new();
    io::stdin()
        .read_to_string(&mut text)
        .context("reading standard input")?;
    Ok(text)
}

/// Runs `statements` in order, printing each result; stops at the first error, which it
/// prints to stderr. Returns whether every statement succeeded.
fn run_statements(
    session: &mut dyn SqlTarget,
    printer: &Printer,
    interrupts: &Interrupts,
    statements: impl IntoIterator<Item = String>,
) -> io::Result<bool> {
    for statement in statements {
        let start = Instant::now();
        let cancel = session.canceller();
        let results = interrupts.run(cancel, || session.execute(&statement));
        let elapsed = start.elapsed();
        for notice in session.take_notices() {
            errln!("NOTICE: {notice}");
        }
        let mut failed = false;
        for result in results {
            match result {
                Ok(result) => printer.result(&result)?,
                Err(e) => {
                    print_error(&e);
                    failed = true;
                }
            }
        }
        printer.timing(elapsed)?;
        if failed {
            return Ok(false);
        }
    }
    Ok(true)
}

fn print_error(e: &chronos_sql::Error) {
    errln!("ERROR: {} (SQLSTATE {})", e.message, e.state.code());
}

/// Writes results in the chosen format; knows where status lines go.
#[derive(Debug)]
struct Printer {
    format: Format,
    timing: bool,
}

impl Printer {
    fn result(&self, result: &StatementResult) -> io::Result<()> {
        let mut out = io::stdout().lock();
        match result {
            StatementResult::Query { columns, rows } => {
                format::write_rows(&mut out, self.format, columns, rows)?;
            }
            StatementResult::Explain { lines } if self.format == Format::Table => {
                for line in lines {
                    writeln!(out, "{line}")?;
                }
            }
            StatementResult::Explain { lines } => {
                let columns = [ColumnInfo {
                    name: format::EXPLAIN_COLUMN.to_string(),
                    data_type: Some(DataType::Text),
                }];
                let rows: Vec<Vec<Value>> =
                    lines.iter().map(|l| vec![Value::Text(l.clone())]).collect();
                format::write_rows(&mut out, self.format, &columns, &rows)?;
            }
            StatementResult::Modified { .. } | StatementResult::Command { .. } => {
                if let Some(tag) = format::command_tag(result) {
                    drop(out);
                    self.status(&tag)?;
                    return Ok(());
                }
            }
        }
        out.flush()
    }

    /// A list of names as a one-column result (`\dt`).
    fn names(&self, heading: &str, names: &[String]) -> io::Result<()> {
        let columns = [ColumnInfo {
            name: heading.to_string(),
            data_type: Some(DataType::Text),
        }];
        let rows: Vec<Vec<Value>> = names.iter().map(|n| vec![Value::Text(n.clone())]).collect();
        self.result(&StatementResult::Query {
            columns: columns.to_vec(),
            rows,
        })
    }

    fn timing(&self, elapsed: Duration) -> io::Result<()> {
        if self.timing {
            self.status(&format!("Time: {:.3} ms", elapsed.as_secs_f64() * 1e3))?;
        }
        Ok(())
    }

    /// A status line: stdout for tables, stderr for the machine formats.
    fn status(&self, line: &str) -> io::Result<()> {
        if self.format == Format::Table {
            let mut out = io::stdout().lock();
            writeln!(out, "{line}")?;
            out.flush()
        } else {
            let mut err = io::stderr().lock();
            writeln!(err, "{line}")
        }
    }
}
