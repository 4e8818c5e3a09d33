//! `trackway bench`: the reproducible benchmarks behind `BENCHMARKS.md`.
//!
//! - `ingest`: durable ingest of single-event requests from 64 connections (wrk, 2 threads)
//!   through the example pipeline (`semver` into `history` and the inventory), then through
//!   `semver` into `history` alone (the issue's path), next to a bare axum handler that
//!   answers 202 without doing anything (the ceiling on this machine), with the processing lag
//!   sampled every second and the time to drain it after the load stops.
//! - `startup`: time from process start to listening and to `/readyz`, with a cold and then a
//!   warm component cache.
//! - `deployments`: deployment starts per second through the deployment-tracker API with the
//!   `redis-logstash`, `statsd` and `sql` (SQLite) sinks and `history` enabled, against a real
//!   `redis-server` and a UDP listener the benchmark starts; then the outbox lag (p99) at half
//!   that rate, offered open-loop.
//!
//! The per-event cost of a plugin stage against native code is a cargo bench:
//! `cargo bench -p trackway --bench plugin_stage`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Subcommand;

/// Which benchmark to run.
#[derive(Debug, Subcommand)]
pub enum Which {
    /// Durable ingest throughput through the example pipeline (`semver` into `history` and the
    /// inventory), then through `semver` into `history` only, against a bare handler.
    Ingest {
        /// Seconds of load per run.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Concurrent connections.
        #[arg(long, default_value_t = 64)]
        connections: u32,
        /// wrk threads.
        #[arg(long, default_value_t = 2)]
        threads: u32,
    },
    /// Version inventory at the SVT seed's scale: 260,000 reports (1,000 apps x 10
    /// environments x 26 reports), then on-disk size and read latencies.
    Inventory {
        /// Apps per environment.
        #[arg(long, default_value_t = 1000)]
        apps: usize,
        /// Environments.
        #[arg(long, default_value_t = 10)]
        envs: usize,
        /// Reports per app and environment.
        #[arg(long, default_value_t = 26)]
        reports: usize,
        /// Timed queries per read kind.
        #[arg(long, default_value_t = 2000)]
        queries: usize,
    },
    /// Start-up time with a cold and a warm component cache.
    Startup {
        /// Warm runs to take the median of.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Deployment starts per second with every sink, then the outbox lag at half that rate.
    Deployments {
        /// Seconds of load per phase.
        #[arg(long, default_value_t = 15)]
        seconds: u64,
        /// Concurrent connections of the throughput phase.
        #[arg(long, default_value_t = 64)]
        connections: u32,
    },
    /// (internal) the bare handler `ingest` compares against.
    #[command(hide = true)]
    Bare {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
}

/// Run benchmark `which`.
pub async fn run(which: Which) -> anyhow::Result<()> {
    match which {
        Which::Ingest {
            seconds,
            connections,
            threads,
        } => ingest(seconds, connections, threads).await,
        Which::Startup { runs } => startup(runs).await,
        Which::Inventory {
            apps,
            envs,
            reports,
            queries,
        } => tokio::task::spawn_blocking(move || inventory(apps, envs, reports, queries)).await?,
        Which::Bare { listen } => bare(listen).await,
        Which::Deployments {
            seconds,
            connections,
        } => deployments(seconds, connections).await,
    }
}

async fn bare(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/v1/orgs/{org}/events",
        post(|_body: axum::body::Bytes| async {
            (axum::http::StatusCode::ACCEPTED, "{\"ids\":[]}")
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// A child `trackway` process that printed its address.
struct Proc {
    child: Child,
    url: String,
}

impl Proc {
    fn spawn(args: &[&str], envs: &[(&str, &Path)]) -> anyhow::Result<(Proc, Duration)> {
        let started = Instant::now();
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(args)
            .env("TRACKWAY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut child = command.spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            bail!("the child did not start: {line:?}");
        };
        Ok((
            Proc {
                child,
                url: url.to_owned(),
            },
            started.elapsed(),
        ))
    }

    fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A scratch directory with the example pipelines.
fn scratch() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("trackway-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in crate::bundled::EXAMPLE_PIPELINES {
        let file = dir.join("pipelines").join(path);
        std::fs::create_dir_all(file.parent().expect("org dir"))?;
        std::fs::write(file, text)?;
    }
    Ok(dir)
}

fn serve_args(dir: &Path) -> Vec<String> {
    vec![
        "serve".into(),
        "--listen=127.0.0.1:0".into(),
        format!("--data-dir={}", dir.join("data").display()),
        format!("--pipelines={}", dir.join("pipelines").display()),
    ]
}

const WRK_SCRIPT: &str = r#"
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"kind":"version.reported","subject":"prod/app-%d","payload":{"version":"1.%d.%d","url":"http://ci.example.com/job/app-%d/build/%d"}}', n % 1000, math.floor(n / 1000), n % 100, n % 1000, n)
  return wrk.format("POST", "/v1/orgs/default/events", {["Content-Type"] = "application/json"}, body)
end
"#;

struct WrkResult {
    requests_per_sec: f64,
    p99_ms: f64,
    errors: String,
}

fn wrk(
    url: &str,
    script: &Path,
    seconds: u64,
    connections: u32,
    threads: u32,
) -> anyhow::Result<WrkResult> {
    wrk_with(url, script, seconds, connections, threads, &[])
}

/// [`wrk`] with arguments for the script (`-- args...`).
fn wrk_with(
    url: &str,
    script: &Path,
    seconds: u64,
    connections: u32,
    threads: u32,
    script_args: &[&str],
) -> anyhow::Result<WrkResult> {
    let output = Command::new("wrk")
        .args([
            "--latency",
            "-t",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
        ])
        .args(["-d", &format!("{seconds}s"), "-s"])
        .arg(script)
        .arg(url)
        .arg("--")
        .args(script_args)
        .output()
        .context("running wrk (install it: apt-get install wrk)")?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
    };
    let requests_per_sec = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("unexpected wrk output:\n{text}"))?;
    let p99 = field("99%").unwrap_or_default();
    let p99_ms = if let Some(us) = p99.strip_suffix("us") {
        us.parse::<f64>().unwrap_or(0.0) / 1000.0
    } else if let Some(ms) = p99.strip_suffix("ms") {
        ms.parse().unwrap_or(0.0)
    } else if let Some(s) = p99.strip_suffix('s') {
        s.parse::<f64>().unwrap_or(0.0) * 1000.0
    } else {
        0.0
    };
    let errors = [field("Non-2xx or 3xx responses:"), field("Socket errors:")]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("; ");
    Ok(WrkResult {
        requests_per_sec,
        p99_ms,
        errors,
    })
}

async fn metric(client: &reqwest::Client, url: &str, series: &str) -> anyhow::Result<f64> {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
        })
        .map_or(0.0, |v| v.parse().unwrap_or(0.0)))
}

/// The issue's path for the ingest benchmark: `semver` into `history`, nothing else (the example
/// pipeline also feeds the inventory).
const SEMVER_HISTORY: &str = r#"# Benchmark: `semver` into `history`.
[sources.reports]
type = "events"
kinds = ["version.reported"]

[processors.semver]
plugin = "semver"
inputs = ["reports"]
config = { field = "version" }
grants = ["state"]

[sinks.history]
plugin = "history"
inputs = ["semver"]
config = { stream = "versions" }
grants = ["history"]
"#;

/// One trackway run of the ingest benchmark.
struct IngestRun {
    wrk: WrkResult,
    ingested: f64,
    /// From the end of the load until history had every event.
    drained: Duration,
    load: Duration,
    /// (seconds since the start, ingested - delivered to history), each second.
    lags: Vec<(f64, f64)>,
    on_disk: u64,
}

async fn ingest(seconds: u64, connections: u32, threads: u32) -> anyhow::Result<()> {
    let dir = scratch()?;
    let script = dir.join("post.lua");
    std::fs::write(&script, WRK_SCRIPT)?;

    let (bare, _) = Proc::spawn(&["bench", "bare"], &[])?;
    let ceiling = wrk(&bare.url, &script, seconds, connections, threads)?;
    bare.stop()?;

    let example = ingest_run(&dir, &script, seconds, connections, threads).await?;
    std::fs::remove_dir_all(dir.join("data"))?;
    std::fs::write(dir.join("pipelines/default/versions.toml"), SEMVER_HISTORY)?;
    let issue_path = ingest_run(&dir, &script, seconds, connections, threads).await?;

    println!(
        "## durable ingest ({connections} connections, {threads} wrk threads, {seconds} s per run)\n"
    );
    println!("| run | requests/s | p99 latency | errors | ratio |");
    println!("| --- | ---: | ---: | --- | ---: |");
    println!(
        "| bare axum 202 handler (ceiling) | {:.0} | {:.2} ms | {} | |",
        ceiling.requests_per_sec, ceiling.p99_ms, ceiling.errors
    );
    for (name, run) in [
        (
            "example pipeline: commit + semver + history + inventory",
            &example,
        ),
        ("the issue's path: commit + semver + history", &issue_path),
    ] {
        println!(
            "| {name} | {:.0} | {:.2} ms | {} | {:.0} % |",
            run.wrk.requests_per_sec,
            run.wrk.p99_ms,
            run.wrk.errors,
            100.0 * run.wrk.requests_per_sec / ceiling.requests_per_sec
        );
    }
    for (name, run) in [
        ("example pipeline", &example),
        ("issue's path", &issue_path),
    ] {
        println!("\n{name}:");
        println!(
            "events ingested: {:.0}; drained {:.1} s after the load stopped",
            run.ingested,
            run.drained.as_secs_f64()
        );
        println!(
            "sustained end-to-end rate (ingested / (load + drain)): {:.0} events/s",
            run.ingested / (run.load + run.drained).as_secs_f64()
        );
        let samples: Vec<String> = run
            .lags
            .iter()
            .map(|(t, lag)| format!("{t:.0}s:{lag:.0}"))
            .collect();
        println!(
            "lag (ingested - delivered to history) each second: {}",
            samples.join(" ")
        );
        println!("database size: {:.1} MB", run.on_disk as f64 / 1e6);
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Load a server on `dir`'s pipelines (and a fresh `dir/data`) with wrk, sampling the lag to
/// history every second, then wait until history has every event.
async fn ingest_run(
    dir: &Path,
    script: &Path,
    seconds: u64,
    connections: u32,
    threads: u32,
) -> anyhow::Result<IngestRun> {
    let args = serve_args(dir);
    let (server, _) = Proc::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])?;
    let client = reqwest::Client::new();
    let ingested = r#"trackway_events_ingested_total{org="default"}"#;
    let delivered =
        r#"trackway_events_processed_total{org="default",pipeline="versions",stage="history"}"#;
    let url = server.url.clone();
    let load = tokio::task::spawn_blocking({
        let (url, script) = (url.clone(), script.to_owned());
        move || wrk(&url, &script, seconds, connections, threads)
    });
    let mut lags = Vec::new();
    let started = Instant::now();
    while !load.is_finished() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let lag = metric(&client, &url, ingested).await? - metric(&client, &url, delivered).await?;
        lags.push((started.elapsed().as_secs_f64(), lag));
    }
    let result = load.await??;
    let load_end = started.elapsed();
    let total = metric(&client, &url, ingested).await?;
    while metric(&client, &url, delivered).await? < total {
        if started.elapsed() > load_end + Duration::from_secs(300) {
            bail!("the pipeline did not catch up within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = started.elapsed() - load_end;
    let on_disk = std::fs::metadata(dir.join("data/trackway.redb"))?.len();
    server.stop()?;
    Ok(IngestRun {
        wrk: result,
        ingested: total,
        drained,
        load: load_end,
        lags,
        on_disk,
    })
}

/// Deployment starts with a unique id per request: `wrk ... -- <phase>`.
const DEPLOYMENTS_SCRIPT: &str = r#"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  phase = args[1] or "p"
end
local n = 0
request = function()
  n = n + 1
  local path = string.format("/v1/deployments/%s-%d-%d", phase, tid, n)
  local body = string.format('{"engine":"bench","engine_version":"1.0","host":"ci-%d","user":"ci","environment":"prod","package":"app-%d","package_url":"http://artifacts.example.com/app-%d/1.%d.tgz","version":"1.%d.0","arguments":"--strategy parallel"}', tid, n % 50, n % 50, n, n)
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end
"#;

/// The pipeline of the `deployments` benchmark: every sink of the deployment tracker.
fn deployments_pipeline(redis_port: u16, statsd_port: u16) -> String {
    format!(
        r#"# Benchmark: every deployment sink.
[sources.api]
type = "events"
kinds = ["deployment.*", "server.*"]

[sinks.logstash]
plugin = "redis-logstash"
inputs = ["api"]
config = {{ port = {redis_port} }}
grants = [{{ redis = "redis://127.0.0.1:{redis_port}" }}]
limits = {{ timeout_ms = 5000 }}

[sinks.statsd]
plugin = "statsd"
inputs = ["api"]
config = {{ port = {statsd_port} }}
grants = [{{ statsd = "127.0.0.1:{statsd_port}" }}]

[sinks.sql]
plugin = "sql"
inputs = ["api"]
grants = [{{ sql = "sqlite://deployments.db" }}]
limits = {{ timeout_ms = 5000 }}

[sinks.history]
plugin = "history"
inputs = ["api"]
config = {{ stream = "deployments" }}
grants = ["history"]
"#
    )
}

const SINKS: [&str; 4] = ["logstash", "statsd", "sql", "history"];

/// The outbox lag of every sink of the benchmark pipeline, summed.
async fn outbox_lag(client: &reqwest::Client, url: &str) -> anyhow::Result<f64> {
    let mut lag = 0.0;
    for sink in SINKS {
        let series = format!(
            "trackway_outbox_lag_events{{org=\"default\",pipeline=\"deployments\",stage=\"{sink}\"}}"
        );
        lag += metric(client, url, &series).await?;
    }
    Ok(lag)
}

async fn deployments(seconds: u64, connections: u32) -> anyhow::Result<()> {
    let dir = scratch()?;
    let pipelines = dir.join("pipelines");
    std::fs::remove_dir_all(pipelines.join("default"))?;
    std::fs::create_dir_all(pipelines.join("default"))?;
    let redis_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut redis = Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--port",
        ])
        .arg(redis_port.to_string())
        .stdout(Stdio::null())
        .spawn()
        .context("starting redis-server (apt-get install redis-server)")?;
    let statsd = std::net::UdpSocket::bind("127.0.0.1:0")?;
    let statsd_port = statsd.local_addr()?.port();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while statsd.recv(&mut buf).is_ok() {}
    });
    std::fs::write(
        pipelines.join("default/deployments.toml"),
        deployments_pipeline(redis_port, statsd_port),
    )?;
    let script = dir.join("deployments.lua");
    std::fs::write(&script, DEPLOYMENTS_SCRIPT)?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let args = serve_args(&dir);
    let (server, _) = Proc::spawn(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[])?;
    let client = reqwest::Client::new();
    let url = server.url.clone();

    // Phase 1: as many starts as 64 connections get through.
    let load = tokio::task::spawn_blocking({
        let (url, script) = (url.clone(), script.clone());
        move || wrk_with(&url, &script, seconds, connections, 2, &["max"])
    });
    let mut peak_lag: f64 = 0.0;
    while !load.is_finished() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        peak_lag = peak_lag.max(outbox_lag(&client, &url).await?);
    }
    let max = load.await??;
    let drain_started = Instant::now();
    while outbox_lag(&client, &url).await? > 0.0 {
        if drain_started.elapsed() > Duration::from_secs(300) {
            bail!("the sinks did not catch up within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = drain_started.elapsed();

    // Phase 2: half that rate, offered at a fixed pace whatever the answers take.
    let rate = (max.requests_per_sec / 2.0).max(1.0);
    let interval = Duration::from_secs_f64(1.0 / rate);
    let sampler = tokio::spawn({
        let (client, url) = (client.clone(), url.clone());
        async move {
            let mut samples = hdrhistogram::Histogram::<u64>::new(3)?;
            let until = Instant::now() + Duration::from_secs(seconds);
            while Instant::now() < until {
                samples.record(outbox_lag(&client, &url).await? as u64)?;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            anyhow::Ok(samples)
        }
    });
    let mut latencies = hdrhistogram::Histogram::<u64>::new(3)?;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut requests = tokio::task::JoinSet::new();
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut n = 0u64;
    let mut failed = 0u64;
    while Instant::now() < until {
        ticker.tick().await;
        n += 1;
        let (client, url) = (client.clone(), url.clone());
        requests.spawn(async move {
            let started = Instant::now();
            let status = client
                .post(format!("{url}/v1/deployments/half-{n}"))
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"engine":"bench","environment":"prod","package":"app-{}","version":"1.{n}.0"}}"#,
                    n % 50
                ))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0);
            (status, started.elapsed())
        });
        while let Some(done) = requests.try_join_next() {
            let (status, took) = done?;
            failed += u64::from(status != 201);
            latencies.record(took.as_micros() as u64)?;
        }
    }
    while let Some(done) = requests.join_next().await {
        let (status, took) = done?;
        failed += u64::from(status != 201);
        latencies.record(took.as_micros() as u64)?;
    }
    let lags = sampler.await??;
    server.stop()?;
    let _ = redis.kill();
    let _ = redis.wait();

    println!(
        "## deployment starts through the API (logstash via Redis, statsd, SQLite, history)
"
    );
    println!(
        "max: {:.0} starts/s ({connections} connections, {seconds} s; p99 {:.2} ms; {}); peak outbox lag {peak_lag:.0} events, drained {:.1} s after the load",
        max.requests_per_sec,
        max.p99_ms,
        if max.errors.is_empty() {
            "no errors"
        } else {
            &max.errors
        },
        drained.as_secs_f64()
    );
    println!(
        "half rate: {rate:.0} starts/s offered for {seconds} s ({n} sent, {failed} not 201); answer p99 {:.2} ms",
        latencies.value_at_quantile(0.99) as f64 / 1000.0
    );
    println!(
        "outbox lag at half rate (all four sinks, sampled every 100 ms): p50 {} events, p99 {} events, max {} (p99 ~ {:.0} ms of arrivals)",
        lags.value_at_quantile(0.5),
        lags.value_at_quantile(0.99),
        lags.max(),
        lags.value_at_quantile(0.99) as f64 / rate * 1000.0
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn startup(runs: usize) -> anyhow::Result<()> {
    let dir = scratch()?;
    let args = serve_args(&dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let client = reqwest::Client::new();
    let measure = || {
        let client = client.clone();
        let args = args.clone();
        async move {
            let started = Instant::now();
            let (server, listening) = Proc::spawn(&args, &[])?;
            while client
                .get(format!("{}/readyz", server.url))
                .send()
                .await
                .map_or(true, |r| r.status() != 200)
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let ready = started.elapsed();
            server.stop()?;
            anyhow::Ok((listening, ready))
        }
    };
    let (cold_listen, cold_ready) = measure().await?;
    let mut warm = Vec::new();
    for _ in 0..runs {
        warm.push(measure().await?);
    }
    warm.sort_by_key(|(_, ready)| *ready);
    let (warm_listen, warm_ready) = warm[warm.len() / 2];
    println!("## start-up (example pipelines, bundled plugins)\n");
    println!("| cache | to listening | to /readyz 200 |");
    println!("| --- | ---: | ---: |");
    println!(
        "| cold (compiles the plugins) | {} ms | {} ms |",
        cold_listen.as_millis(),
        cold_ready.as_millis()
    );
    println!(
        "| warm (median of {runs}) | {} ms | {} ms |",
        warm_listen.as_millis(),
        warm_ready.as_millis()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn inventory(apps: usize, envs: usize, reports: usize, queries: usize) -> anyhow::Result<()> {
    use trackway_store::inventory::Report;
    use trackway_store::{Store, Ulid, WriteBatch};

    let dir = scratch()?;
    let path = dir.join("inventory.redb");
    let store = Store::open(&path, Box::new(|_| {}))?;
    let env_name = |e: usize| format!("env-{e:02}");
    let app_name = |a: usize| format!("application-{a:04}");
    let total = apps * envs * reports;
    let started = Instant::now();
    // Reports arrive in time order, round after round (each app deployed once per round).
    let mut batch = WriteBatch::new();
    let mut n = 0;
    for round in 0..reports {
        for e in 0..envs {
            for a in 0..apps {
                n += 1;
                batch.inventory(
                    "default",
                    Report {
                        env: env_name(e),
                        app: app_name(a),
                        version: format!("{}.{}.{}", 1 + round / 10, round % 10, a % 100),
                        time_ms: 1_700_000_000_000 + n as u64 * 1000,
                        reporter: "svt".into(),
                        fields: format!(
                            r#"{{"url":"http://www.whatever.com:1337/{}/{round}"}}"#,
                            app_name(a)
                        ),
                        bump: Some("minor".into()),
                        event_id: Ulid::new(),
                    },
                );
                if n % 1000 == 0 {
                    store.commit_blocking(std::mem::take(&mut batch))?;
                }
            }
        }
    }
    store.commit_blocking(batch)?;
    let load = started.elapsed();
    drop(store);
    std::thread::sleep(Duration::from_millis(200));
    let (before, after) = Store::compact(&path).context("compacting")?;
    println!(
        "compaction: {:.1} MB -> {:.1} MB",
        before as f64 / 1e6,
        after as f64 / 1e6
    );
    // The writer thread releases the file when its channel closes; reopen to measure reads on
    // a cold handle, as after a restart.
    let store = (0..200)
        .find_map(|_| {
            Store::open(&path, Box::new(|_| {})).ok().or_else(|| {
                std::thread::sleep(Duration::from_millis(10));
                None
            })
        })
        .context("reopening the inventory database")?;
    let size = std::fs::metadata(&path)?.len();

    let mut rng = fastrand::Rng::with_seed(7);
    let mut measure = |name: &str,
                       f: &mut dyn FnMut(&mut fastrand::Rng) -> anyhow::Result<usize>|
     -> anyhow::Result<String> {
        let mut histogram = hdrhistogram::Histogram::<u64>::new(3)?;
        let mut rows = 0;
        for _ in 0..queries {
            let t = Instant::now();
            rows += f(&mut rng)?;
            histogram.record(t.elapsed().as_micros() as u64)?;
        }
        Ok(format!(
            "| {name} | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
            rows / queries,
            histogram.value_at_quantile(0.5) as f64 / 1000.0,
            histogram.value_at_quantile(0.99) as f64 / 1000.0,
            histogram.max() as f64 / 1000.0
        ))
    };
    let list = measure("apps of an environment", &mut |rng| {
        Ok(store.apps("default", &env_name(rng.usize(..envs)))?.len())
    })?;
    let across = measure("one app across environments", &mut |rng| {
        Ok(store
            .app_everywhere("default", &app_name(rng.usize(..apps)))?
            .len())
    })?;
    let history = measure("one app's history (newest 50)", &mut |rng| {
        Ok(store
            .app_history(
                "default",
                &env_name(rng.usize(..envs)),
                &app_name(rng.usize(..apps)),
                None,
                50,
            )?
            .items
            .len())
    })?;
    let environments = measure("environments", &mut |_| {
        Ok(store.environments("default")?.len())
    })?;

    println!(
        "## inventory at scale ({total} reports: {apps} apps x {envs} environments x {reports})\n"
    );
    println!(
        "loaded in {:.1} s ({:.0} reports/s, commits of 1,000)",
        load.as_secs_f64(),
        total as f64 / load.as_secs_f64()
    );
    println!(
        "on disk: {:.1} MB ({:.0} bytes per report)\n",
        size as f64 / 1e6,
        size as f64 / total as f64
    );
    println!("| read ({queries} queries each) | rows | p50 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for line in [list, across, history, environments] {
        println!("{line}");
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
