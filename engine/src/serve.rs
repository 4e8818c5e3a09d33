//! `trackway serve`: open the store, start the plugin runtime, load and start the pipelines,
//! serve HTTP, and on SIGINT/SIGTERM stop accepting requests, let every task finish its current
//! batch, and exit.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use anyhow::Context as _;
use tokio::sync::watch;
use trackway_runtime::{Runtime, RuntimeOptions, SystemClock};
use trackway_store::Store;

use crate::executor::{self, Shared};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::{bundled, pipelines};

/// Options of `trackway serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    pub listen: SocketAddr,
    /// Directory of the database and the component cache.
    pub data_dir: PathBuf,
    /// Directory of `<org>/<name>.toml` pipelines; `None` uses `./pipelines` if it exists, else
    /// the bundled examples (written to `<data_dir>/pipelines` on first start).
    pub pipelines_dir: Option<PathBuf>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// The database's page cache, in MiB.
    pub cache_mb: usize,
    /// How often every task is re-evaluated (status changes become events).
    pub task_interval: std::time::Duration,
}

/// The pipelines directory to use, creating it from the bundled examples if needed.
fn pipelines_dir(options: &ServeOptions) -> anyhow::Result<PathBuf> {
    if let Some(dir) = &options.pipelines_dir {
        return Ok(dir.clone());
    }
    let local = PathBuf::from("pipelines");
    if local.is_dir() {
        return Ok(local);
    }
    let dir = options.data_dir.join("pipelines");
    for (path, text) in bundled::EXAMPLE_PIPELINES {
        let file = dir.join(path);
        if !file.exists() {
            std::fs::create_dir_all(file.parent().expect("example paths have an org directory"))?;
            std::fs::write(&file, text)?;
        }
    }
    Ok(dir)
}

/// Open the store in `data_dir` with a page cache of `cache_bytes`, and a channel that follows
/// the end of the log.
pub fn open_store(
    data_dir: &Path,
    cache_bytes: usize,
) -> anyhow::Result<(Store, watch::Receiver<u64>)> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory `{}`", data_dir.display()))?;
    let (tail_tx, tail_rx) = watch::channel(0);
    let store = Store::open_with_cache(
        &data_dir.join("trackway.redb"),
        cache_bytes,
        Box::new(move |seq| {
            let _ = tail_tx.send(seq);
        }),
    )
    .with_context(|| format!("cannot open the database in `{}`", data_dir.display()))?;
    Ok((store, tail_rx))
}

/// A runtime with the bundled plugins and the component cache in `data_dir`.
pub fn runtime(data_dir: &Path, store: Option<Store>) -> anyhow::Result<Runtime> {
    Ok(Runtime::new(RuntimeOptions {
        cache_dir: Some(data_dir.join("cache")),
        bundled: bundled::plugins(),
        store,
        clock: Arc::new(SystemClock),
        data_dir: Some(data_dir.to_path_buf()),
    })?)
}

/// Run the server until a shutdown signal.
pub async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let (store, log_tail) = open_store(&options.data_dir, options.cache_mb << 20)?;
    let runtime = runtime(&options.data_dir, Some(store.clone()))?;
    let dir = pipelines_dir(&options)?;
    let loaded = {
        let (runtime, dir) = (runtime.clone(), dir.clone());
        let handle = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || pipelines::load_dir(&dir, &runtime, handle)).await??
    };
    if !loaded.failures.is_empty() {
        for diagnostics in &loaded.failures {
            eprintln!("{diagnostics}");
        }
        anyhow::bail!(
            "{} pipeline file(s) in `{}` are invalid",
            loaded.failures.len(),
            dir.display()
        );
    }
    let (shutdown_tx, shutdown) = watch::channel(false);
    let shutdown_rx = shutdown.clone();
    let metrics = Arc::new(Metrics::default());
    let shared = Arc::new(Shared {
        store: store.clone(),
        runtime,
        metrics: metrics.clone(),
        log_tail,
        shutdown,
    });
    let targets = sink_targets(&loaded.pipelines);
    let running = executor::start(shared.clone(), &loaded.pipelines)?;
    let schedulers =
        crate::tasks::start(&store, &running.gates, options.task_interval, &shutdown_rx);
    let settings = crate::auth::read_orgs(&dir)?;
    let mut orgs = loaded.orgs;
    orgs.extend(settings.keys().cloned());
    let open = settings
        .iter()
        .filter(|(_, s)| s.open)
        .map(|(org, _)| org.clone())
        .collect();
    let access = crate::auth::Access::new(orgs, open, &options.data_dir);
    let state = Arc::new(AppState {
        store,
        metrics,
        access,
        pipelines: loaded.pipelines.len(),
        ready: false.into(),
        hooks: running.hooks.clone(),
        gates: running.gates.clone(),
        sinks: running.sink_scopes.clone(),
        processors: running.processor_scopes.clone(),
        targets,
        runtime: shared.runtime.clone(),
        svt_creates: http::svt::CreateLocks::default(),
    });
    state.ready.store(true, Ordering::Release);
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, pipelines = loaded.pipelines.len(), dir = %dir.display(), "trackway is serving");
    // The first line on stdout is the address, for scripts and tests that listen on port 0.
    println!("listening on http://{addr}");
    let app = tower::Layer::layer(
        &tower::util::MapRequestLayer::new(http::trim_trailing_slash),
        http::router(state, options.body_limit),
    );
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service(app),
    )
    .with_graceful_shutdown(signal())
    .await?;
    tracing::info!("shutting down: finishing the current batches");
    let _ = shutdown_tx.send(true);
    running.join().await;
    for scheduler in schedulers {
        let _ = scheduler.await;
    }
    Ok(())
}

/// The targets of the `redis`, `statsd` and `sql` grants of every sink.
fn sink_targets(pipelines: &[trackway_config::Pipeline]) -> Vec<http::health::SinkTarget> {
    use trackway_config::Capability;
    let mut targets = Vec::new();
    for pipeline in pipelines {
        for sink in &pipeline.sinks {
            for (capability, granted) in &sink.grants {
                if !matches!(
                    capability,
                    Capability::Redis | Capability::Statsd | Capability::Sql
                ) {
                    continue;
                }
                for target in granted {
                    targets.push(http::health::SinkTarget {
                        org: pipeline.org.to_string(),
                        stage: format!("{}/{}/{}", pipeline.org, pipeline.name, sink.id),
                        capability: capability.as_str(),
                        target: target.clone(),
                    });
                }
            }
        }
    }
    targets
}

async fn signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
