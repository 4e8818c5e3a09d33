//! The executor: runs every loaded pipeline against the event log.
//!
//! - One [`pipeline`] task per pipeline reads the log from the pipeline's durable cursor, routes
//!   events to its sources, runs its processors in topological order (batches across the plugin
//!   boundary), and commits in one transaction: derived events (appended to the log), plugin
//!   state, dead letters, the events queued in each sink's outbox, and the new cursor.
//! - One [`sink`] task per sink drains that sink's outbox in order, with retries, backoff and the
//!   dead-letter queue; a failing sink holds up nobody else.
//! - [`sources`]: schedule timers and plugin sources (polled, or called by webhooks) append to
//!   the log like the API does; the pipeline task picks their events up from there.
//!
//! Everything a task does becomes durable before it moves its cursor, so a restart (even after
//! `kill -9`) resumes where the last commit left off: at-least-once, with deterministic ids for
//! derived events so that replays are absorbed by the log and by idempotent sinks.

pub mod gate;
pub mod ids;
pub mod pipeline;
pub mod sink;
pub mod sources;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use trackway_config::{Pipeline, SourceKind};
use trackway_runtime::{Instance, Pending, Runtime, StageContext, World};
use trackway_store::{Store, WriteBatch};

use crate::metrics::Metrics;
use crate::pipelines::{grants, limits, plugin_source};

/// What every task shares.
pub struct Shared {
    /// The database.
    pub store: Store,
    /// The plugin host.
    pub runtime: Runtime,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The last durable log sequence number, updated after every commit.
    pub log_tail: watch::Receiver<u64>,
    /// Flips to `true` when the server shuts down.
    pub shutdown: watch::Receiver<bool>,
}

/// Dry-run gates of every pipeline with processors: (org, pipeline) -> gate.
pub type Gates = HashMap<(String, String), Arc<tokio::sync::Mutex<gate::Gate>>>;

/// Plugin source instances reachable by webhook: (org, pipeline, source) -> instance.
pub type Hooks = HashMap<(String, String, String), Arc<tokio::sync::Mutex<Instance>>>;

/// The running executor.
pub struct Executor {
    tasks: JoinSet<()>,
    /// Webhook-capable sources.
    pub hooks: Hooks,
    /// Dry-run gates.
    pub gates: Gates,
    /// Sinks (org, pipeline, sink), for lag metrics and replays.
    pub sink_scopes: Vec<(String, String, String)>,
    /// Processors (org, pipeline, processor), for replays.
    pub processor_scopes: Vec<(String, String, String)>,
}

impl Executor {
    /// Wait for every task to finish (after shutdown was signalled).
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

/// How long a task waits before retrying after an error that is not the plugin's fault (the
/// store failed, an instance could not be created): long enough not to spin, short enough to
/// recover quickly.
pub(crate) const FAULT_BACKOFF: Duration = Duration::from_secs(1);

/// Start tasks for every pipeline.
pub fn start(shared: Arc<Shared>, pipelines: &[Pipeline]) -> anyhow::Result<Executor> {
    let mut tasks = JoinSet::new();
    let mut hooks = Hooks::new();
    let mut gates = Gates::new();
    let mut sink_scopes = Vec::new();
    let mut processor_scopes = Vec::new();
    for p in pipelines {
        let org = p.org.to_string();
        let name = p.name.to_string();
        let context = |stage: &str, plugin: String| StageContext {
            org: org.clone(),
            pipeline: name.clone(),
            stage: stage.to_owned(),
            plugin,
        };
        let instance = |stage: &str,
                        plugin: &trackway_config::PluginRef,
                        config: &serde_json::Value,
                        stage_grants: &trackway_config::Grants,
                        lim: &trackway_config::Limits,
                        world: World|
         -> anyhow::Result<Instance> {
            let source = plugin_source(plugin);
            let loaded = shared
                .runtime
                .load(&source, lim.fuel.is_some())
                .with_context(|| format!("pipeline `{org}/{name}`, stage `{stage}`"))?;
            anyhow::ensure!(
                loaded.world() == world,
                "stage `{stage}` needs a {} plugin",
                world.as_str()
            );
            Ok(shared.runtime.instance(
                loaded,
                context(stage, source.to_string()),
                grants(stage_grants),
                config.to_string(),
                limits(lim),
            ))
        };

        let mut sinks = Vec::new();
        for stage in &p.sinks {
            let notify = Arc::new(Notify::new());
            let scope = format!("{org}/{name}/{}", stage.id);
            sink_scopes.push((org.clone(), name.clone(), stage.id.to_string()));
            let sink_instance = instance(
                stage.id.as_str(),
                &stage.plugin,
                &stage.config,
                &stage.grants,
                &stage.limits,
                World::Sink,
            )?;
            let stage_context = sink_instance.context().clone();
            let sink_instance = Arc::new(tokio::sync::Mutex::new(sink_instance));
            let task = sink::SinkTask::new(
                shared.clone(),
                sink_instance.clone(),
                stage_context,
                scope.clone(),
                stage,
                notify.clone(),
            );
            tasks.spawn(task.run());
            // Inline delivery puts the sink's call in the pipeline's round: only for bundled
            // plugins (known to answer in microseconds) that reach nothing outside the host. A
            // plugin of the user's, however granted, runs in its own task, where a slow or
            // looping one holds up nobody else.
            let inline = matches!(stage.plugin, trackway_config::PluginRef::Bundled(_))
                && stage.grants.keys().all(|c| !c.takes_targets());
            sinks.push(pipeline::SinkRoute {
                scope,
                inputs: stage.inputs.clone(),
                notify,
                inline: inline.then_some(sink_instance),
                labels: crate::metrics::stage_labels(&org, &name, stage.id.as_str()),
            });
        }
        let mut dry = Vec::new();
        for stage in &p.processors {
            dry.push(instance(
                stage.id.as_str(),
                &stage.plugin,
                &stage.config,
                &stage.grants,
                &stage.limits,
                World::Processor,
            )?);
        }
        if !dry.is_empty() {
            gates.insert(
                (org.clone(), name.clone()),
                Arc::new(tokio::sync::Mutex::new(gate::Gate::new(p, dry))),
            );
        }
        let mut processors = Vec::new();
        for stage in &p.processors {
            processor_scopes.push((org.clone(), name.clone(), stage.id.to_string()));
            processors.push(pipeline::ProcessorStage::new(
                instance(
                    stage.id.as_str(),
                    &stage.plugin,
                    &stage.config,
                    &stage.grants,
                    &stage.limits,
                    World::Processor,
                )?,
                stage,
            ));
        }
        for source in &p.sources {
            match &source.kind {
                SourceKind::Events { .. } => {}
                SourceKind::Schedule { interval_ms } => {
                    tasks.spawn(sources::schedule(
                        shared.clone(),
                        org.clone(),
                        name.clone(),
                        source.id.to_string(),
                        Duration::from_millis(*interval_ms),
                    ));
                }
                SourceKind::Plugin {
                    plugin,
                    config,
                    grants: source_grants,
                    limits: lim,
                    poll_interval_ms,
                } => {
                    let instance = Arc::new(tokio::sync::Mutex::new(instance(
                        source.id.as_str(),
                        plugin,
                        config,
                        source_grants,
                        lim,
                        World::Source,
                    )?));
                    hooks.insert(
                        (org.clone(), name.clone(), source.id.to_string()),
                        instance.clone(),
                    );
                    tasks.spawn(sources::poll(
                        shared.clone(),
                        instance,
                        Duration::from_millis(*poll_interval_ms),
                    ));
                }
            }
        }
        let task = pipeline::PipelineTask::new(shared.clone(), p, processors, sinks);
        tasks.spawn(task.run());
    }
    Ok(Executor {
        tasks,
        hooks,
        gates,
        sink_scopes,
        processor_scopes,
    })
}

/// Add the writes a plugin call made through host interfaces (state, history, inventory) to
/// `write`, scoped to the stage of `context`.
pub fn apply_pending(pending: Pending, context: &StageContext, write: &mut WriteBatch) {
    let scope = context.scope();
    for (key, value) in pending.state {
        write.set_state(&scope, &key, value);
    }
    for (stream, event) in pending.history {
        write.history_append(&stream, &event);
    }
    for report in pending.inventory {
        write.inventory(&context.org, report);
    }
}

/// Sleep for `duration` unless shutdown comes first; returns `false` on shutdown.
pub(crate) async fn pause(shutdown: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    if *shutdown.borrow() {
        return false;
    }
    tokio::select! {
        () = tokio::time::sleep(duration) => true,
        _ = shutdown.changed() => false,
    }
}
