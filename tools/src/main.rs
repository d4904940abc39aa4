//! The `chronos` command: one binary for every tool.
//!
//! - `chronos` (no arguments) and `chronos sql`: the SQL shell on an embedded database in
//!   `./chronos-data` (or `--data-dir`); `chronos slt FILE...` runs sqllogictest files.
//! - `chronos serve`: an embedded database served over the PostgreSQL wire protocol.
//! - `chronos kv shell`: the storage engine's own put/get/scan shell.
//! - `chronos kv summary|verify --data-dir DIR`: look inside a stopped store's directory.
//! - `chronos bench kv`: the storage benchmark, against peer engines in the same run.
//! - `chronos check history FILE --workload W`: Jepsen-style history checkers.

// First, so that its macros are visible in every module below.
#[macro_use]
mod output;

mod bench;
mod cluster_cmd;
mod cmd_check;
mod kv_cmd;
mod serve_cmd;
mod slt;
mod sql_cmd;
mod workload;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "chronos",
    version,
    about = "Chronos: a fault-tolerant distributed SQL database"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Storage engine tools: an interactive shell, summaries, verification.
    Kv(kv_cmd::KvArgs),
    /// Benchmarks against peer engines.
    Bench(bench::BenchArgs),
    /// Jepsen-style history checkers.
    Check(cmd_check::CheckArgs),
    /// The SQL shell on an embedded database.
    Sql(sql_cmd::SqlArgs),
    /// Runs sqllogictest files against a fresh embedded database each.
    Slt(slt::SltArgs),
    /// Serves an embedded database (no Raft) over the PostgreSQL wire protocol.
    Serve(serve_cmd::ServeArgs),
    /// Runs a cluster node.
    Start(cluster_cmd::StartArgs),
    /// Shows a cluster's nodes, leader, term, commit and applied indexes, follower lag.
    Status(cluster_cmd::StatusArgs),
    /// Cluster administration: add or remove a node, transfer leadership.
    Admin(cluster_cmd::AdminArgs),
    /// Starts N nodes on 127.0.0.1 with their data under one folder (Ctrl-C stops them).
    DemoCluster(cluster_cmd::DemoArgs),
    /// Commit throughput and latency of a running cluster with 1, 16, 64 clients.
    ClusterBench(cluster_cmd::ClusterBenchArgs),
}

fn exit_code(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        if output::is_broken_pipe(&e) {
            return ExitCode::SUCCESS;
        }
        errln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHRONOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        None => {
            return exit_code(sql_cmd::run(sql_cmd::SqlArgs {
                data_dir: "chronos-data".into(),
                execute: Vec::new(),
                file: Vec::new(),
                format: sql_cmd::Format::Table,
                timing: false,
                host: None,
            }));
        }
        Some(Command::Kv(args)) => kv_cmd::run(args),
        Some(Command::Bench(args)) => bench::run(args),
        Some(Command::Sql(args)) => return exit_code(sql_cmd::run(args)),
        Some(Command::Slt(args)) => return exit_code(slt::run(args)),
        Some(Command::Serve(args)) => {
            return exit_code(serve_cmd::run(args).map(|()| ExitCode::SUCCESS));
        }
        Some(Command::Start(args)) => return exit_code(cluster_cmd::start(args)),
        Some(Command::Status(args)) => return exit_code(cluster_cmd::status(args)),
        Some(Command::Admin(args)) => return exit_code(cluster_cmd::admin(args)),
        Some(Command::DemoCluster(args)) => return exit_code(cluster_cmd::demo_cluster(args)),
        Some(Command::ClusterBench(args)) => return exit_code(cluster_cmd::cluster_bench(args)),
        // The checker has its own exit codes: 0 valid, 1 invalid, 2 unknown or unreadable.
        Some(Command::Check(args)) => {
            return cmd_check::run(args).unwrap_or_else(|e| {
                errln!("error: {e:#}");
                ExitCode::from(2)
            });
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
