//! `trackway bench`: the benchmarks behind `BENCHMARKS.md`.

use clap::Subcommand;

/// Which benchmark to run.
#[derive(Debug, Subcommand)]
pub enum Which {
    /// Durable ingest throughput through `semver` into `history`, against a bare handler.
    Ingest,
}

/// Run benchmark `which`.
pub async fn run(which: Which) -> anyhow::Result<()> {
    match which {
        Which::Ingest => anyhow::bail!("not yet"),
    }
}
