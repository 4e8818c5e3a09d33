//! The `trackway` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::serve::{ServeOptions, serve};

/// Deployment-tracking engine: a durable event log and sandboxed WebAssembly pipelines.
#[derive(Debug, Parser)]
#[command(name = "trackway", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on; port 0 picks a free port (the address is printed).
        #[arg(long, env = "TRACKWAY_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Directory of the database and the compiled-plugin cache.
        #[arg(long, env = "TRACKWAY_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
        /// Directory of pipelines (`<org>/<name>.toml`). Default: `./pipelines` if present,
        /// else the bundled examples.
        #[arg(long, env = "TRACKWAY_PIPELINES")]
        pipelines: Option<PathBuf>,
        /// Largest accepted request body, in bytes.
        #[arg(long, env = "TRACKWAY_BODY_LIMIT", default_value_t = crate::http::DEFAULT_BODY_LIMIT)]
        body_limit: usize,
    },
    /// Check pipeline files (or directories of `<org>/<name>.toml`) and report every problem.
    Validate {
        /// Files or directories; default `pipelines`.
        paths: Vec<PathBuf>,
    },
    /// Compact the database (the server must be stopped): give free pages back to the disk.
    Compact {
        /// Directory of the database.
        #[arg(long, env = "TRACKWAY_DATA_DIR", default_value = "data")]
        data_dir: PathBuf,
    },
    /// Run a benchmark and print its figures (see BENCHMARKS.md).
    Bench {
        #[command(subcommand)]
        which: crate::bench::Which,
    },
}

/// Parse the command line and run it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TRACKWAY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve {
                listen,
                data_dir,
                pipelines,
                body_limit,
            } => serve(ServeOptions {
                listen,
                data_dir,
                pipelines_dir: pipelines,
                body_limit,
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Validate { paths } => validate(paths).await,
            Command::Compact { data_dir } => {
                let path = data_dir.join("trackway.redb");
                let (before, after) = trackway_store::Store::compact(&path)?;
                println!(
                    "{}: {:.1} MB -> {:.1} MB",
                    path.display(),
                    before as f64 / 1e6,
                    after as f64 / 1e6
                );
                Ok(ExitCode::SUCCESS)
            }
            Command::Bench { which } => crate::bench::run(which).await.map(|()| ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn validate(paths: Vec<PathBuf>) -> anyhow::Result<ExitCode> {
    let paths = if paths.is_empty() {
        vec![PathBuf::from("pipelines")]
    } else {
        paths
    };
    let cache = std::env::temp_dir().join("trackway-validate");
    let runtime = crate::serve::runtime(&cache, None)?;
    let handle = tokio::runtime::Handle::current();
    let loaded =
        tokio::task::spawn_blocking(move || crate::pipelines::load_paths(&paths, &runtime, handle))
            .await??;
    for diagnostics in &loaded.failures {
        eprintln!("{diagnostics}");
    }
    if loaded.failures.is_empty() {
        println!("{} pipeline(s) valid", loaded.pipelines.len());
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}
