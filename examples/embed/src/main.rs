//! Embedding trackway: run a plugin stage inside your own program, with no server, no database
//! and no pipeline file.
//!
//! Loads the `ownership` component of `examples/custom-plugin` (or the `.wasm` given as the first
//! argument) with [`trackway_runtime::Runtime`], asks the plugin what it thinks of a bad config,
//! then creates the stage's instance with a good one and runs three deployment events through
//! it, printing what became of each. This is what the server's executor does for every
//! processor stage, minus the durable log around it: the same sandbox, limits and errors.
//!
//! Run: `cargo build --release` in `examples/custom-plugin`, then `cargo run` here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use serde_json::json;
use trackway_runtime::{
    Grants, Instance, Limits, Output, Plugin, PluginSource, Runtime, RuntimeOptions, StageContext,
    SystemClock, World,
};
use trackway_store::{Event, Ulid};

/// The stage id, in messages and in the instance's context.
const STAGE: &str = "ownership";

/// What `cargo build --release` in `examples/custom-plugin` produces.
const DEFAULT_WASM: &str = "../custom-plugin/target/wasm32-wasip2/release/plugin_ownership.wasm";

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let wasm = match std::env::args_os().nth(1) {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_WASM),
    };
    if !wasm.is_file() {
        bail!(
            "no component at {}: run `cargo build --release` in examples/custom-plugin first, \
             or give the path of a processor's .wasm",
            wasm.display()
        );
    }

    // One runtime per program: it owns the wasmtime engines and compiled components. With a
    // cache directory, a component is compiled once per content hash (about a second in a
    // debug build), and later runs load it from disk. No store: this stage keeps no state.
    let runtime = Runtime::new(RuntimeOptions {
        cache_dir: Some(std::env::temp_dir().join("trackway-embed-cache")),
        bundled: HashMap::new(),
        store: None,
        clock: Arc::new(SystemClock),
        data_dir: None,
    })
    // wasmtime has an error type of its own, which converts into `anyhow::Error`.
    .map_err(anyhow::Error::from)
    .context("starting the wasm runtime")?;
    let plugin = runtime
        .load(&PluginSource::Path(wasm.clone()), false)
        .with_context(|| format!("loading {}", wasm.display()))?;
    // A stage grants nothing here: the plugin may import no capability (`state`, `http`, ...).
    let grants = Grants::new();
    plugin.check_stage(STAGE, World::Processor, &grants)?;
    let file = wasm
        .file_name()
        .unwrap_or(wasm.as_os_str())
        .to_string_lossy();
    let imports = match plugin.capabilities() {
        none if none.is_empty() => "no capability".to_string(),
        some => some.iter().cloned().collect::<Vec<_>>().join(", "),
    };
    println!(
        "loaded {file}: a {}, importing {imports}",
        plugin.world().as_str()
    );

    // The config is the stage's `config` TOML table as JSON text, validated by the plugin's
    // `init`; `check_config` is what `trackway validate` asks.
    let bad = json!({ "required": ["version", ""], "teams": { "api": "" } });
    if let Some(error) = stage(&runtime, &plugin, &grants, &bad)
        .check_config()
        .await?
    {
        println!("config {bad} rejected: {error}");
    }

    let config = json!({ "teams": { "billing": "payments", "api": "platform" } });
    let mut instance = stage(&runtime, &plugin, &grants, &config);
    let events = [
        deployment(
            1,
            r#"{"environment": "prod", "package": "billing", "version": "1.4.0"}"#,
        ),
        deployment(2, r#"{"environment": "prod", "package": "billing"}"#),
        deployment(
            3,
            r#"{"environment": "prod", "package": "ledger", "version": "0.3.1"}"#,
        ),
    ];
    // One call for the batch: one output per event, in order. `_pending` holds the writes the
    // plugin made through host interfaces (state, history), which the server would commit with
    // the outputs; this plugin makes none.
    let (outputs, _pending) = instance.process(&events).await?;
    for (event, output) in events.iter().zip(outputs) {
        let result = match output {
            Output::Keep => "kept as it is".to_string(),
            Output::Replace(replaced) => replaced
                .iter()
                .map(|event| {
                    format!(
                        "passed with team = {}",
                        event.attribute("team").unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            Output::Fail(error) => format!("failed: {error}"),
        };
        println!("{} {}: {result}", event.kind, event.subject);
    }
    Ok(())
}

/// The instance of the `ownership` stage with `config`. Nothing runs until its first call; a
/// call that traps or runs past `limits` is an error, and the next call gets a fresh instance.
fn stage(
    runtime: &Runtime,
    plugin: &Arc<Plugin>,
    grants: &Grants,
    config: &serde_json::Value,
) -> Instance {
    let context = StageContext {
        org: "default".into(),
        pipeline: "embedded".into(),
        stage: STAGE.into(),
        plugin: plugin.name().into(),
    };
    let limits = Limits {
        timeout_ms: 1_000,
        max_memory_bytes: 16 << 20,
        fuel: None,
    };
    runtime.instance(
        plugin.clone(),
        context,
        grants.clone(),
        config.to_string(),
        limits,
    )
}

/// A `deployment.started` event of deployment `d-<n>`, as the deployment API would record it.
/// Fixed ids (rather than [`Ulid::new`]) keep the output the same from run to run.
fn deployment(n: u64, payload: &str) -> Event {
    let time_ms = 1_796_000_000_000 + n;
    Event {
        id: Ulid::from_parts(time_ms, n.into()),
        org: "default".into(),
        kind: "deployment.started".into(),
        source: "api".into(),
        time_ms,
        subject: format!("d-{n}"),
        attributes: Vec::new(),
        payload: payload.into(),
        parent: None,
    }
}
