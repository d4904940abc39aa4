//! `chronos check`: judge a recorded history (Jepsen EDN or JSON lines) with the checkers of
//! `chronos-check` (`history`), or run a workload against an embedded database or a cluster and
//! judge the history it records (`run`, in [`crate::workload`]).
//!
//! Exit status: 0 valid, 1 invalid, 2 unknown (a search bound was hit, or the history says too
//! little) or unreadable input.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chronos_check::{CheckOptions, Format, Model, Verdict, Workload};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(subcommand)]
    command: CheckCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CheckCommand {
    /// Check a history file and print the verdict and the anomalies found.
    History(HistoryArgs),
    /// Run a workload (bank, list-append, rw-register, register) with concurrent clients against
    /// an embedded database, a running cluster (--hosts) or a local cluster it starts and
    /// injects faults into (--cluster N --nemesis kill|pause|partition|all), record its
    /// history, check it, and draw latency and throughput.
    Run(crate::workload::cli::RunArgs),
}

#[derive(Debug, clap::Args)]
struct HistoryArgs {
    /// The history: one op map per line, EDN or JSON.
    file: PathBuf,
    /// The workload that produced it: list-append, rw-register, bank, register or kv.
    #[arg(long)]
    workload: String,
    /// Consistency model(s) for transactional workloads (repeatable; default strict-serializable):
    /// read-uncommitted, read-committed, repeatable-read, snapshot-isolation,
    /// strong-session-snapshot-isolation, strong-snapshot-isolation, serializable,
    /// strong-session-serializable, strict-serializable.
    #[arg(long = "model")]
    models: Vec<String>,
    /// Further anomalies to look for, by Elle's names (G0, G1, G1c, G-single, G2, lost-update, ...).
    #[arg(long = "anomaly")]
    anomalies: Vec<String>,
    /// Input format: edn, json or auto.
    #[arg(long, default_value = "auto")]
    format: String,
    /// rw-register: infer version orders from each process's order.
    #[arg(long)]
    sequential_keys: bool,
    /// rw-register: infer version orders from real-time order (each key is linearizable).
    #[arg(long)]
    linearizable_keys: bool,
    /// rw-register: a write follows the version the same transaction read.
    #[arg(long)]
    wfr_keys: bool,
    /// Bank: the expected total (default: the first read's total).
    #[arg(long)]
    bank_total: Option<i64>,
    /// Bound on search steps before answering unknown.
    #[arg(long, default_value_t = 20_000_000)]
    max_steps: u64,
    /// Bound on search time in seconds before answering unknown.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Exit status for a history that could not be read or checked.
const EXIT_UNKNOWN: u8 = 2;

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        CheckCommand::History(h) => match history(&h) {
            Ok(code) => Ok(code),
            // The reader of the report went away (`| head`): a quiet end, see `output`.
            Err(e) if crate::output::is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                errln!("error: {e:#}");
                Ok(ExitCode::from(EXIT_UNKNOWN))
            }
        },
        CheckCommand::Run(r) => match crate::workload::cli::run_command(&r) {
            Ok(code) => Ok(code),
            // The reader of the report went away (`| head`): a quiet end, see `output`.
            Err(e) if crate::output::is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                errln!("error: {e:#}");
                Ok(ExitCode::from(EXIT_UNKNOWN))
            }
        },
    }
}

fn options(h: &HistoryArgs) -> anyhow::Result<CheckOptions> {
    let workload: Workload = h.workload.parse()?;
    let mut opts = CheckOptions::new(workload);
    opts.format = h.format.parse::<Format>()?;
    if !h.models.is_empty() {
        opts.txn.models = h
            .models
            .iter()
            .map(|m| m.parse::<Model>())
            .collect::<Result<_, _>>()?;
    }
    opts.txn.anomalies = h.anomalies.clone();
    opts.txn.sequential_keys = h.sequential_keys;
    opts.txn.linearizable_keys = h.linearizable_keys;
    opts.txn.wfr_keys = h.wfr_keys;
    opts.bank.total = h.bank_total;
    opts.limits.max_steps = h.max_steps;
    opts.limits.max_duration = Some(Duration::from_secs(h.timeout_secs));
    Ok(opts)
}

fn history(h: &HistoryArgs) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let opts = options(h)?;
    let text = std::fs::read_to_string(&h.file)
        .with_context(|| format!("reading {}", h.file.display()))?;
    let report = chronos_check::check_history(&text, &opts)
        .with_context(|| format!("checking {}", h.file.display()))?;
    if h.json {
        outln!("{}", report.to_json());
    } else {
        outprint!("{report}");
    }
    Ok(ExitCode::from(match report.verdict {
        Verdict::Valid => 0,
        Verdict::Invalid => 1,
        Verdict::Unknown => EXIT_UNKNOWN,
    }))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Top,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Top {
        Check(CheckArgs),
    }

    fn exit_code(history: &str, extra: &[&str]) -> ExitCode {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.edn");
        std::fs::write(&path, history).unwrap();
        let mut argv = vec!["chronos", "check", "history", path.to_str().unwrap()];
        argv.extend_from_slice(extra);
        let Top::Check(args) = Cli::parse_from(argv).command;
        run(args).unwrap()
    }

    #[test]
    fn exit_codes_follow_the_verdict() {
        let skew = "{:type :ok, :process 0, :value [[:r :x nil] [:append :y 1]]}\n\
                    {:type :ok, :process 1, :value [[:r :y nil] [:append :x 1]]}\n";
        let si = ["--workload", "list-append", "--model", "snapshot-isolation"];
        assert_eq!(exit_code(skew, &si), ExitCode::from(0));
        assert_eq!(
            exit_code(
                skew,
                &["--workload", "list-append", "--model", "serializable"]
            ),
            ExitCode::from(1)
        );
        assert_eq!(exit_code("{:type", &si), ExitCode::from(2));
        assert_eq!(
            exit_code(skew, &["--workload", "nonsense"]),
            ExitCode::from(2)
        );
    }
}
