//! `chronos bench`: benchmarks that compare Chronos with peer engines in the same run.

/// Arguments of `chronos bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {}

pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("benchmarks are not built yet")
}
