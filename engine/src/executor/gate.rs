//! Dry runs: what a pipeline's processors would say about an event, before it is accepted.
//! Request routes that must answer "invalid" synchronously (the SVT-compatible `POST /create`
//! answers 400 for a version the org's rule rejects) run the event through dry-run instances of
//! the pipeline's processors: same plugins and configs, the committed state, no writes.

use std::collections::HashMap;

use trackway_config::{Pipeline, SourceKind, StageId};
use trackway_runtime::{Instance, Output};
use trackway_store::Event;

/// Dry-run instances of one pipeline's processors.
pub struct Gate {
    /// (source id, kind patterns) of the pipeline's `events` sources.
    sources: Vec<(StageId, Vec<trackway_config::KindPattern>)>,
    /// (id, inputs, dry-run instance) in topological order.
    processors: Vec<(StageId, Vec<StageId>, Instance)>,
}

impl Gate {
    /// A gate for `pipeline`, with `instances` created by the caller in processor order.
    pub fn new(pipeline: &Pipeline, instances: Vec<Instance>) -> Self {
        let sources = pipeline
            .sources
            .iter()
            .filter_map(|s| match &s.kind {
                SourceKind::Events { kinds } => Some((s.id.clone(), kinds.clone())),
                _ => None,
            })
            .collect();
        let processors = pipeline
            .processors
            .iter()
            .zip(instances)
            .map(|(stage, instance)| (stage.id.clone(), stage.inputs.clone(), instance.dry_run()))
            .collect();
        Self {
            sources,
            processors,
        }
    }

    /// Run `event` through the processors it would reach. `Err` carries the first failure, in
    /// words for the client (the plugin's own message).
    pub async fn check(&mut self, event: &Event) -> Result<(), String> {
        self.run(event).await.map(drop)
    }

    /// Like [`Gate::check`], returning every event the processors output, in stage order (for
    /// routes that answer with what a stage computed, such as a task's status).
    pub async fn run(&mut self, event: &Event) -> Result<Vec<Event>, String> {
        let mut produced = Vec::new();
        let mut outputs: HashMap<StageId, Vec<Event>> = HashMap::new();
        for (id, kinds) in &self.sources {
            if kinds.iter().any(|k| k.matches(&event.kind)) {
                outputs.insert(id.clone(), vec![event.clone()]);
            }
        }
        for (id, inputs, instance) in &mut self.processors {
            let input: Vec<Event> = inputs
                .iter()
                .filter_map(|i| outputs.get(i))
                .flatten()
                .cloned()
                .collect();
            if input.is_empty() {
                continue;
            }
            let (results, _) = instance
                .process(&input)
                .await
                .map_err(|e| format!("stage `{id}` could not check the report: {e}"))?;
            let mut out = Vec::new();
            for (input, result) in input.into_iter().zip(results) {
                match result {
                    Output::Keep => out.push(input),
                    Output::Replace(events) => out.extend(events),
                    Output::Fail(error) => return Err(error.to_string()),
                }
            }
            produced.extend(out.iter().cloned());
            outputs.insert(id.clone(), out);
        }
        Ok(produced)
    }
}
