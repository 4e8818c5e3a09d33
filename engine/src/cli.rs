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
        /// The database's page cache, in MiB (recently written and read pages of the redb file;
        /// the operating system caches the file too).
        #[arg(long, env = "TRACKWAY_CACHE_MB", default_value_t = trackway_store::DEFAULT_CACHE_BYTES >> 20)]
        cache_mb: usize,
        /// How often every task is re-evaluated, in milliseconds.
        #[arg(long, env = "TRACKWAY_TASK_INTERVAL_MS", default_value_t = 60_000)]
        task_interval_ms: u64,
    },
    /// Check pipeline files (or directories of `<org>/<name>.toml`) and report every problem.
    Validate {
        /// Files or directories; default `pipelines`.
        paths: Vec<PathBuf>,
    },
    /// Manage API keys (kept hashed in `<data-dir>/keys.toml`; a running server picks up changes).
    Keys {
        #[command(subcommand)]
        action: KeysAction,
        /// Directory of the server's data.
        #[arg(long, env = "TRACKWAY_DATA_DIR", default_value = "data", global = true)]
        data_dir: PathBuf,
    },
    /// Manage organisations (directories of the pipelines directory, settings in `orgs.toml`).
    Orgs {
        #[command(subcommand)]
        action: OrgsAction,
        /// Directory of pipelines.
        #[arg(
            long,
            env = "TRACKWAY_PIPELINES",
            default_value = "pipelines",
            global = true
        )]
        pipelines: PathBuf,
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
    /// Record one run of a scheduled job on a running trackway and print the ack's id.
    ///
    /// `API_KEY=... trackway track nightly-backup`. Exit codes: 0 done, 1 trackway could not be
    /// reached, 2 it refused the request.
    Track {
        /// The task: its id if all digits, else its name (created on its first run).
        task: String,
        #[command(flatten)]
        remote: crate::remote::Remote,
    },
    /// Show the scheduled jobs of a running trackway and their status.
    Tasks {
        #[command(subcommand)]
        action: crate::remote::TasksAction,
        #[command(flatten)]
        remote: crate::remote::Remote,
    },
    /// List or replay the dead letters of an org on a running trackway.
    Dlq {
        #[command(subcommand)]
        action: crate::remote::DlqAction,
        #[command(flatten)]
        remote: crate::remote::Remote,
    },
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Create a key and print it (once: only its hash is kept).
    Create {
        /// The org the key belongs to.
        #[arg(long)]
        org: String,
        /// What the key may do.
        #[arg(long, value_enum)]
        scope: crate::auth::Scope,
        /// A label, e.g. the CI system that uses it.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List keys (ids, orgs, scopes; never the keys).
    List,
    /// Revoke a key by id.
    Revoke {
        /// The key id (`k_...`), as `keys list` shows it.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
enum OrgsAction {
    /// Create an org: its pipelines directory and its entry in `orgs.toml`.
    Create {
        /// The org name (`[a-z0-9][a-z0-9_-]*`).
        org: String,
        /// Let requests without a key act on this org (local demos only).
        #[arg(long)]
        open: bool,
    },
    /// List orgs.
    List,
}

fn keys(action: KeysAction, data_dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    match action {
        KeysAction::Create { org, scope, name } => {
            let (key, entry) = crate::auth::create_key(data_dir, &org, scope, &name)?;
            eprintln!(
                "created key {} for org `{}` with scope `{:?}`; it is shown only now:",
                entry.id, entry.org, entry.scope
            );
            println!("{key}");
        }
        KeysAction::List => {
            for k in crate::auth::list_keys(data_dir)? {
                println!(
                    "{}\t{}\t{:?}\t{}\t{}",
                    k.id, k.org, k.scope, k.created, k.name
                );
            }
        }
        KeysAction::Revoke { id } => {
            if !crate::auth::revoke_key(data_dir, &id)? {
                eprintln!("error: no key `{id}`");
                return Ok(ExitCode::FAILURE);
            }
            eprintln!("revoked {id}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn orgs(action: OrgsAction, pipelines: &std::path::Path) -> anyhow::Result<ExitCode> {
    match action {
        OrgsAction::Create { org, open } => {
            crate::auth::create_org(pipelines, &org, open)?;
            eprintln!(
                "created org `{org}` in `{}`{}; restart the server to serve it",
                pipelines.display(),
                if open { " (open: no key needed)" } else { "" }
            );
        }
        OrgsAction::List => {
            let settings = crate::auth::read_orgs(pipelines)?;
            for entry in std::fs::read_dir(pipelines)? {
                let entry = entry?;
                if entry.file_type()?.is_dir() {
                    let name = entry.file_name().to_string_lossy().into_owned();
                    let open = settings.get(&name).is_some_and(|s| s.open);
                    println!("{name}{}", if open { "\topen" } else { "" });
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
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
                cache_mb,
                task_interval_ms,
            } => serve(ServeOptions {
                listen,
                data_dir,
                pipelines_dir: pipelines,
                body_limit,
                cache_mb,
                task_interval: std::time::Duration::from_millis(task_interval_ms.max(100)),
            })
            .await
            .map(|()| ExitCode::SUCCESS),
            Command::Validate { paths } => validate(paths).await,
            Command::Keys { action, data_dir } => keys(action, &data_dir),
            Command::Orgs { action, pipelines } => orgs(action, &pipelines),
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
            Command::Track { task, remote } => Ok(crate::remote::track(&task, &remote).await),
            Command::Tasks { action, remote } => Ok(crate::remote::tasks(action, &remote).await),
            Command::Dlq { action, remote } => Ok(crate::remote::dlq(action, &remote).await),
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
