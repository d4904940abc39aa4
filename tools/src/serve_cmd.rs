//! `chronos serve --data-dir DIR [--pg-listen HOST:PORT]`: one embedded database (no Raft)
//! served over the PostgreSQL wire protocol, what a developer runs on a laptop.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The database directory (created if missing).
    #[arg(long, default_value = "chronos-data")]
    pub data_dir: PathBuf,
    /// Where PostgreSQL clients connect.
    #[arg(long, default_value = chronos_pg::DEFAULT_LISTEN)]
    pub pg_listen: String,
    /// Sessions open at once; one more is refused with SQLSTATE 53300.
    #[arg(long, default_value_t = chronos_pg::PgConfig::default().max_connections)]
    pub max_connections: usize,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let engine = chronos_sql::Engine::open(&args.data_dir)
        .with_context(|| format!("opening {}", args.data_dir.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let config = chronos_pg::PgConfig {
            max_connections: args.max_connections,
        };
        let server = chronos_pg::PgServer::bind(&args.pg_listen, engine, config).await?;
        let addr = server.local_addr()?;
        println!(
            "chronos serving PostgreSQL on {addr} (data in {}); connect with:\n  psql -h {} -p {} -U {} -d {}",
            args.data_dir.display(),
            addr.ip(),
            addr.port(),
            chronos_pg::USER,
            chronos_pg::DATABASE
        );
        tokio::select! {
            r = server.run() => r.map_err(anyhow::Error::from),
            r = tokio::signal::ctrl_c() => r.context("waiting for Ctrl-C"),
        }
    })
}
