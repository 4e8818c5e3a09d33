//! Per-event cost of a plugin stage (the bundled `semver` processor: parse the JSON payload,
//! read the subject's previous version from `state`, classify, annotate) at batch sizes 1, 16
//! and 256, next to the same stage called natively.
//!
//! Both sides start from the executor's events and end with the executor's [`Output`]s. The
//! wasm figure is everything the executor pays per event: encoding the events, the call, the
//! guest's work (its `state` reads and writes: host calls for what the SDK has not seen yet,
//! the writes returned with the answers), decoding and checking the answers, recording the
//! writes. The native figure is the same stage compiled natively (`Semver::step`: everything
//! the plugin's `process` does but its two `state` calls) with a `HashMap` of bytes for `state`,
//! its input made as the boundary makes it (the id as text, every field the plugin's own) and
//! its answer turned into an [`Output`] by the same `Output::annotated` as the wasm side. Each
//! figure is the best of five rounds that alternate the sides. Both sides run with the
//! allocator of the `trackway` binary, and are compiled as the plugins are (fat LTO, one codegen
//! unit: `[profile.bench]` in the workspace's `Cargo.toml`).
//!
//! Run: `cargo bench -p trackway --bench plugin_stage` (results in BENCHMARKS.md).
//!
//! To see the guest's own functions in a profile, build `semver` with its symbols and point the
//! benchmark at it (`SEMVER_WASM`; the bundled one is stripped), with wasmtime's perf map on:
//!
//! ```sh
//! (cd plugins && CARGO_PROFILE_RELEASE_STRIP=false CARGO_TARGET_DIR=/tmp/semver \
//!     cargo build --release -p plugin-semver)
//! SEMVER_WASM=/tmp/semver/wasm32-wasip2/release/plugin_semver.wasm TRACKWAY_PERFMAP=1 \
//!     perf record -F 2999 target/release/deps/plugin_stage-<hash>
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use trackway_runtime::{
    Limits, Output, PluginError, PluginSource, Runtime, RuntimeOptions, StageContext, SystemClock,
};
use trackway_store::{Event, Store, Ulid};

/// The allocator the `trackway` binary runs with (engine/src/main.rs), so the host side of the
/// stage costs here what it costs in production.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const EVENTS: usize = 4096;
const BATCHES: [usize; 3] = [1, 16, 256];
const ROUNDS: usize = 5;
const RUN: Duration = Duration::from_secs(1);

fn payload(i: usize) -> String {
    // About 250 bytes, like a CI system's deployment report.
    format!(
        r#"{{"version":"1.{}.{}","app":"app-{}","environment":"production","url":"https://ci.example.com/job/app-{}/build/{i}","commit":"9f2c4e7b1a3d5f6e8c0b2a4d6f8e0c2a4b6d8f0e","user":"deploy-bot","engine":"ansible","arguments":"--strategy parallel --limit web"}}"#,
        i / 100,
        i % 100,
        i % 1000,
        i % 1000
    )
}

fn events() -> Vec<Event> {
    (0..EVENTS)
        .map(|i| Event {
            id: Ulid::new(),
            org: "bench".into(),
            kind: "version.reported".into(),
            source: "api".into(),
            time_ms: 1,
            subject: format!("prod/app-{}", i % 1000),
            attributes: vec![("team".into(), "platform".into())],
            payload: payload(i),
            parent: None,
        })
        .collect()
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("bench.redb"), Box::new(|_| {})).expect("store");
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(dir.path().join("cache")),
        bundled: trackway::bundled::plugins(),
        store: Some(store),
        clock: Arc::new(SystemClock),
        data_dir: None,
    })
    .expect("runtime");
    let source = match std::env::var_os("SEMVER_WASM") {
        Some(path) => PluginSource::Path(path.into()),
        None => PluginSource::Bundled("semver".into()),
    };
    let plugin = runtime.load(&source, false).expect("semver");
    let context = StageContext {
        org: "bench".into(),
        pipeline: "bench".into(),
        stage: "semver".into(),
        plugin: "semver".into(),
    };
    let limits = Limits {
        timeout_ms: 10_000,
        max_memory_bytes: 64 << 20,
        fuel: None,
    };
    let grants = [("state".to_owned(), Vec::new())].into();
    let mut instance = runtime.instance(
        plugin,
        context,
        grants,
        r#"{"field":"version"}"#.into(),
        limits,
    );
    let events = events();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio");

    let stage =
        <plugin_semver::Semver as trackway_plugin_sdk::Processor>::init(r#"{"field":"version"}"#)
            .expect("config");
    // Like the wasm side at batch 256: the answers of a batch are dropped before the next one
    // (holding all 4096, ~2.5 MB, made the native loop slower and its time erratic, as its
    // working set no longer fitted the cache), and `state` lives from run to run, as the host's
    // state cache does.
    let mut state: HashMap<String, Vec<u8>> = HashMap::new();
    let mut native = || {
        for chunk in events.chunks(256) {
            let mut outputs = Vec::with_capacity(chunk.len());
            for event in chunk {
                let input = sdk_event(event);
                let subject = input.subject.clone();
                let (processed, remember) =
                    stage.step(input, state.get(&subject).map(Vec::as_slice));
                if let Some(text) = remember {
                    state.insert(subject, text.into_bytes());
                }
                outputs.push(output(event, processed));
            }
            black_box(outputs);
        }
        events.len()
    };
    // Rounds alternate the sides, so a slower stretch of the machine (a neighbour's load) hits
    // both alike; noise only ever adds time, so the best round of each side is its cost, and the
    // medians show the spread.
    let mut native_runs = Vec::with_capacity(ROUNDS);
    let mut wasm_runs = vec![Vec::with_capacity(ROUNDS); BATCHES.len()];
    for _ in 0..ROUNDS {
        native_runs.push(per_event(&mut native));
        for (runs, batch) in wasm_runs.iter_mut().zip(BATCHES) {
            runs.push(per_event(|| {
                rt.block_on(async {
                    for chunk in events.chunks(batch) {
                        let (outputs, pending) = instance.process(chunk).await.expect("process");
                        black_box((outputs, pending));
                    }
                });
                events.len()
            }));
        }
    }
    let (native_best, native_median) = best_and_median(&mut native_runs);

    println!(
        "## plugin stage cost per event (semver, {}-byte payloads, best of {ROUNDS} rounds)\n",
        events[0].payload.len()
    );
    println!("| batch | wasm stage | native | ratio | ratio of the medians |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for (runs, batch) in wasm_runs.iter_mut().zip(BATCHES) {
        let (best, median) = best_and_median(runs);
        println!(
            "| {batch} | {best:.0} ns | {native_best:.0} ns | {:.2}x | {:.2}x |",
            best / native_best,
            median / native_median
        );
    }
}

/// The lowest and the median of `runs`.
fn best_and_median(runs: &mut [f64]) -> (f64, f64) {
    runs.sort_by(f64::total_cmp);
    (runs[0], runs[runs.len() / 2])
}

/// `event` as the plugin SDK's type, as the boundary hands it to the plugin: the id as text,
/// every field the plugin's own.
fn sdk_event(event: &Event) -> trackway_plugin_sdk::Event {
    trackway_plugin_sdk::Event {
        id: event.id.to_string(),
        org: event.org.clone(),
        kind: event.kind.clone(),
        source: event.source.clone(),
        time: event.time_ms,
        subject: event.subject.clone(),
        attributes: event.attributes.clone(),
        payload: event.payload.clone(),
        parent: event.parent.map(|id| id.to_string()),
    }
}

/// The stage's answer to `input` as the executor takes it, made as `Instance::process` makes
/// it from the plugin's answer (the executor assigns ids later).
fn output(input: &Event, processed: trackway_plugin_sdk::Processed) -> Output {
    use trackway_plugin_sdk::Processed;
    match processed {
        Processed::Keep => Output::Keep,
        Processed::Annotate(attributes) => Output::annotated(input, attributes),
        Processed::Replace(events) => Output::Replace(
            events
                .into_iter()
                .map(|e| Event {
                    id: Ulid::nil(),
                    org: e.org,
                    kind: e.kind,
                    source: e.source,
                    time_ms: e.time,
                    subject: e.subject,
                    attributes: e.attributes,
                    payload: e.payload,
                    parent: Some(input.id),
                })
                .collect(),
        ),
        Processed::Fail(error) => Output::Fail(PluginError::Permanent(format!("{error:?}"))),
    }
}

/// Nanoseconds per event of `run` (which processes and returns a number of events), after a
/// warm-up, over at least [`RUN`].
fn per_event(mut run: impl FnMut() -> usize) -> f64 {
    run();
    let started = Instant::now();
    let mut n = 0;
    while started.elapsed() < RUN {
        n += run();
    }
    started.elapsed().as_nanos() as f64 / n as f64
}
