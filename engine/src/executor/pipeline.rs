//! The task of one pipeline: log -> sources -> processors -> sink outboxes, one transaction per
//! batch of log entries.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use trackway_config::{KindPattern, Pipeline, SourceKind, Stage, StageId};
use trackway_runtime::{CallError, Instance, Output, Pending};
use trackway_store::{DeadLetter, Event, EventHead, LoggedEvent, WriteBatch};

use super::{FAULT_BACKOFF, Shared, ids, pause};
use crate::metrics::{self, stage_labels};

/// Log entries read per round. Bigger rounds mean fewer commits under load; 1024 entries of a
/// few hundred bytes is well under a megabyte in memory.
const READ_BATCH: usize = 1024;

/// How long a pipeline that sees only other pipelines' events may leave its cursor unsaved.
/// Re-reading irrelevant events after a crash is cheap; committing after every round is not.
const IDLE_CURSOR_SAVE: Duration = Duration::from_secs(1);

/// The attribute that carries, on derived events, the `source` of the original event (their own
/// `source` names the processor that derived them).
pub const ORIGIN: &str = "trackway.origin";

/// The attribute naming, on an event in a pipeline's replay queue, the processor to run it
/// through again (removed before the processor sees it).
pub const REPLAY_STAGE: &str = "trackway.replay_stage";

/// Where a sink's events come from, and how to wake its task.
pub struct SinkRoute {
    /// `org/pipeline/sink`.
    pub scope: String,
    /// The stages feeding it.
    pub inputs: Vec<StageId>,
    /// Woken after each commit that queued events.
    pub notify: Arc<Notify>,
    /// The sink's instance, when the pipeline may deliver to it itself: a bundled sink whose
    /// grants reach nothing outside the host (`history`, `inventory`) takes a batch in
    /// microseconds, so while its outbox is empty the round delivers to it directly and
    /// commits what it wrote with the round, instead of writing each event to the outbox,
    /// reading it back and removing it. Anything it does not take goes to the outbox, in order.
    pub inline: Option<Arc<tokio::sync::Mutex<Instance>>>,
    /// Metric labels of the sink.
    pub labels: Vec<(&'static str, String)>,
}

/// A processor and its instance.
pub struct ProcessorStage {
    id: StageId,
    inputs: Vec<StageId>,
    batch_max: usize,
    instance: Instance,
}

impl ProcessorStage {
    /// A processor stage running in `instance`.
    pub fn new(instance: Instance, stage: &Stage) -> Self {
        Self {
            id: stage.id.clone(),
            inputs: stage.inputs.clone(),
            batch_max: stage.batch_max_events,
            instance,
        }
    }
}

enum Route {
    Kinds(Vec<KindPattern>),
    /// Events the source itself appended (schedule ticks, polled or webhook events).
    Own(String),
}

impl Route {
    /// Whether this source takes an event of `kind` from `source`.
    fn selects(&self, kind: &str, source: &str, derived: bool) -> bool {
        match self {
            // Derived events (processor outputs) are not fed to `events` sources: two pipelines
            // reading the same kinds would feed each other's outputs back and forth forever.
            // Other pipelines consume them through sinks instead.
            Route::Kinds(kinds) => !derived && kinds.iter().any(|k| k.matches(kind)),
            Route::Own(own) => source == own,
        }
    }
}

/// The task of one pipeline.
pub struct PipelineTask {
    shared: Arc<Shared>,
    org: String,
    name: String,
    cursor_name: String,
    sources: Vec<(StageId, Route)>,
    processors: Vec<ProcessorStage>,
    sinks: Vec<SinkRoute>,
    /// For each stage, how many processors and sinks read its events.
    readers: HashMap<StageId, usize>,
}

/// A failure that stops the round; it is retried from the same cursor.
struct Stalled(String);

impl PipelineTask {
    /// The task for `pipeline`.
    pub fn new(
        shared: Arc<Shared>,
        pipeline: &Pipeline,
        processors: Vec<ProcessorStage>,
        sinks: Vec<SinkRoute>,
    ) -> Self {
        let (org, name) = (pipeline.org.to_string(), pipeline.name.to_string());
        let sources = pipeline
            .sources
            .iter()
            .map(|s| {
                let route = match &s.kind {
                    SourceKind::Events { kinds } => Route::Kinds(kinds.clone()),
                    _ => Route::Own(format!("{name}/{}", s.id)),
                };
                (s.id.clone(), route)
            })
            .collect();
        let mut readers = HashMap::new();
        let inputs = processors.iter().map(|p| &p.inputs);
        for input in inputs.chain(sinks.iter().map(|s| &s.inputs)).flatten() {
            *readers.entry(input.clone()).or_insert(0) += 1;
        }
        Self {
            cursor_name: format!("{org}/{name}"),
            shared,
            org,
            name,
            sources,
            processors,
            sinks,
            readers,
        }
    }

    /// Run until shutdown.
    pub async fn run(mut self) {
        let mut shutdown = self.shared.shutdown.clone();
        let mut tail = self.shared.log_tail.clone();
        let mut cursor = match self.shared.store.cursor(&self.cursor_name) {
            Ok(cursor) => cursor,
            Err(error) => {
                tracing::error!(pipeline = %self.cursor_name, "cannot read cursor, pipeline stopped: {error}");
                return;
            }
        };
        let mut saved = cursor;
        let mut saved_at = Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.replay_round().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(Stalled(why)) => {
                    self.forget_cached_state().await;
                    tracing::error!(pipeline = %self.cursor_name, "replay failed, retrying: {why}");
                    pause(&mut shutdown, FAULT_BACKOFF).await;
                    continue;
                }
            }
            if self.shared.store.last_seq() <= cursor {
                // Caught up. A cursor moved past events no source selects is saved at most once
                // per IDLE_CURSOR_SAVE: under load this pipeline catches up after every commit,
                // and a commit of its own each time would double the writer's work.
                if saved != cursor
                    && saved_at.elapsed() >= IDLE_CURSOR_SAVE
                    && self.save_cursor(cursor).await
                {
                    saved = cursor;
                    saved_at = Instant::now();
                }
                let wait = if saved == cursor {
                    IDLE_CURSOR_SAVE
                } else {
                    IDLE_CURSOR_SAVE.saturating_sub(saved_at.elapsed())
                };
                tokio::select! {
                    _ = tail.changed() => {}
                    _ = shutdown.changed() => {}
                    () = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            let read = self
                .shared
                .store
                .events_selected(cursor, READ_BATCH, |head| self.selects(head));
            let (entries, last) = match read {
                Ok(read) => read,
                Err(error) => {
                    tracing::error!(pipeline = %self.cursor_name, "cannot read the log: {error}");
                    pause(&mut shutdown, FAULT_BACKOFF).await;
                    continue;
                }
            };
            let Some(last) = last else {
                continue;
            };
            let routed = self.route(entries);
            if routed.values().all(Vec::is_empty) {
                cursor = last;
                if saved_at.elapsed() >= IDLE_CURSOR_SAVE && self.save_cursor(cursor).await {
                    saved = cursor;
                    saved_at = Instant::now();
                }
                continue;
            }
            let mut write = WriteBatch::lazy();
            let queued = match self.run_stages(routed, HashMap::new(), &mut write).await {
                Ok(queued) => queued,
                Err(Stalled(why)) => {
                    self.forget_cached_state().await;
                    tracing::error!(pipeline = %self.cursor_name, "round failed, retrying from the same position: {why}");
                    pause(&mut shutdown, FAULT_BACKOFF).await;
                    continue;
                }
            };
            write.set_cursor(&self.cursor_name, last);
            match self.shared.store.commit(write).await {
                Ok(Ok(_)) => {
                    cursor = last;
                    saved = last;
                    saved_at = Instant::now();
                    for (sink, n) in self.sinks.iter().zip(queued) {
                        if n > 0 {
                            sink.notify.notify_one();
                        }
                    }
                }
                Ok(Err(error)) => {
                    self.forget_cached_state().await;
                    tracing::error!(pipeline = %self.cursor_name, "commit failed, retrying: {error}");
                    pause(&mut shutdown, FAULT_BACKOFF).await;
                }
                Err(_) => break,
            }
        }
        if saved != cursor {
            self.save_cursor(cursor).await;
        }
    }

    /// Run the events replayed from the dead-letter queue (queued for this pipeline by
    /// `POST .../dlq/.../replay`) through the processor each failed at, and on from there.
    /// Returns whether there were any.
    async fn replay_round(&mut self) -> Result<bool, Stalled> {
        let queued = self
            .shared
            .store
            .outbox(&self.cursor_name, READ_BATCH)
            .map_err(|e| Stalled(format!("cannot read the replay queue: {e}")))?;
        if queued.is_empty() {
            return Ok(false);
        }
        let mut write = WriteBatch::lazy();
        let mut injected: HashMap<StageId, Vec<Event>> = HashMap::new();
        for (seq, event) in queued {
            write.outbox_remove(&self.cursor_name, seq);
            let stage = event
                .attribute(REPLAY_STAGE)
                .and_then(|id| self.processors.iter().find(|p| p.id.as_str() == id))
                .map(|p| p.id.clone());
            let mut event = event;
            event.attributes.retain(|(k, _)| k != REPLAY_STAGE);
            match stage {
                Some(stage) => injected.entry(stage).or_default().push(event),
                None => {
                    tracing::warn!(pipeline = %self.cursor_name, event = %event.id, "replayed event names no processor of this pipeline; dropped")
                }
            }
        }
        let empty = self
            .sources
            .iter()
            .map(|(id, _)| (id.clone(), Vec::new()))
            .collect();
        let queued = self.run_stages(empty, injected, &mut write).await?;
        match self.shared.store.commit(write).await {
            Ok(Ok(_)) => {
                for (sink, n) in self.sinks.iter().zip(queued) {
                    if n > 0 {
                        sink.notify.notify_one();
                    }
                }
                Ok(true)
            }
            Ok(Err(error)) => Err(Stalled(format!("commit failed: {error}"))),
            Err(_) => Err(Stalled("the store writer has stopped".into())),
        }
    }

    /// The state writes of this round were not committed: the instances must not serve them
    /// from their caches.
    async fn forget_cached_state(&mut self) {
        for stage in &mut self.processors {
            stage.instance.forget_cached_state();
        }
        for sink in &self.sinks {
            if let Some(instance) = &sink.inline {
                instance.lock().await.forget_cached_state();
            }
        }
    }

    fn save_cursor(&self, cursor: u64) -> impl Future<Output = bool> + Send + 'static {
        let mut write = WriteBatch::lazy();
        write.set_cursor(&self.cursor_name, cursor);
        let committed = self.shared.store.commit(write);
        async move { matches!(committed.await, Ok(Ok(_))) }
    }

    /// Whether any source of this pipeline selects the event of `head`.
    fn selects(&self, head: EventHead<'_>) -> bool {
        head.org == self.org
            && self
                .sources
                .iter()
                .any(|(_, route)| route.selects(head.kind, head.source, head.derived))
    }

    /// The events each source selects from `entries`.
    fn route(&self, entries: Vec<LoggedEvent>) -> HashMap<StageId, Vec<Event>> {
        let mut routed: HashMap<StageId, Vec<Event>> = self
            .sources
            .iter()
            .map(|(id, _)| (id.clone(), Vec::new()))
            .collect();
        for LoggedEvent { event, .. } in entries {
            if event.org != self.org {
                continue;
            }
            let mut selecting = self
                .sources
                .iter()
                .filter(|(_, route)| {
                    route.selects(&event.kind, &event.source, event.parent.is_some())
                })
                .map(|(id, _)| id)
                .peekable();
            while let Some(id) = selecting.next() {
                let to = routed.get_mut(id).expect("every source has an entry");
                // The last source to select the event takes it; the others get copies.
                if selecting.peek().is_some() {
                    to.push(event.clone());
                } else {
                    to.push(event);
                    break;
                }
            }
        }
        routed
    }

    /// Run the processors in order and queue the results for the sinks; `injected` events are
    /// added to the input of the processor they name (replays). Returns how many events were
    /// queued per sink.
    async fn run_stages(
        &mut self,
        mut outputs: HashMap<StageId, Vec<Event>>,
        mut injected: HashMap<StageId, Vec<Event>>,
        write: &mut WriteBatch,
    ) -> Result<Vec<usize>, Stalled> {
        let mut readers = self.readers.clone();
        for index in 0..self.processors.len() {
            let (id, input) = {
                let stage = &self.processors[index];
                let mut input = take_inputs(&mut outputs, &mut readers, &stage.inputs);
                input.extend(injected.remove(&stage.id).unwrap_or_default());
                (stage.id.clone(), input)
            };
            let output = if input.is_empty() {
                Vec::new()
            } else {
                self.process(index, input, write).await?
            };
            outputs.insert(id, output);
        }
        let mut queued = Vec::with_capacity(self.sinks.len());
        for sink in &self.sinks {
            let events = take_inputs(&mut outputs, &mut readers, &sink.inputs);
            let rest = if events.is_empty() {
                events
            } else {
                deliver_inline(&self.shared, sink, events, write).await
            };
            queued.push(rest.len());
            for event in &rest {
                write.outbox_push(&sink.scope, event);
            }
        }
        Ok(queued)
    }

    /// Run processor `index` over `events` in chunks, isolating events that make it trap.
    async fn process(
        &mut self,
        index: usize,
        events: Vec<Event>,
        write: &mut WriteBatch,
    ) -> Result<Vec<Event>, Stalled> {
        let batch_max = self.processors[index].batch_max;
        let mut out = Vec::with_capacity(events.len());
        for chunk in events.chunks(batch_max) {
            match self.call(index, chunk).await {
                Ok((outputs, pending)) => {
                    self.apply(index, chunk, outputs, pending, write, &mut out)
                }
                Err(error @ (CallError::Init(_) | CallError::Instantiate(_))) => {
                    return Err(Stalled(error.to_string()));
                }
                Err(first) if chunk.len() > 1 => {
                    tracing::warn!(pipeline = %self.cursor_name, "batch of {} trapped ({first}); isolating the event at fault", chunk.len());
                    for event in chunk {
                        let single = std::slice::from_ref(event);
                        match self.call(index, single).await {
                            Ok((outputs, pending)) => {
                                self.apply(index, single, outputs, pending, write, &mut out)
                            }
                            Err(error @ (CallError::Init(_) | CallError::Instantiate(_))) => {
                                return Err(Stalled(error.to_string()));
                            }
                            Err(error) => self.dead_letter(
                                index,
                                event,
                                error.label(),
                                &error.to_string(),
                                write,
                            ),
                        }
                    }
                }
                Err(error) => {
                    self.dead_letter(index, &chunk[0], error.label(), &error.to_string(), write)
                }
            }
        }
        Ok(out)
    }

    /// One call into processor `index`; failures are counted here. Configuration and
    /// instantiation failures stall the pipeline rather than dead-letter innocent events.
    async fn call(
        &mut self,
        index: usize,
        events: &[Event],
    ) -> Result<(Vec<Output>, Pending), CallError> {
        let stage = &mut self.processors[index];
        let labels = stage_labels(&self.org, &self.name, stage.id.as_str());
        let started = Instant::now();
        let result = stage.instance.process(events).await;
        self.shared
            .metrics
            .observe(metrics::CALL_SECONDS, labels.clone(), started.elapsed());
        if let Err(error) = &result {
            let mut labels = labels;
            labels.push(("plugin", stage.instance.context().plugin.clone()));
            labels.push(("kind", error.label().to_owned()));
            self.shared.metrics.add(metrics::TRAPS, labels, 1);
            tracing::warn!(
                org = %self.org, pipeline = %self.name, stage = %stage.id,
                plugin = %stage.instance.context().plugin, "processor call failed: {error}"
            );
        }
        result
    }

    fn apply(
        &self,
        index: usize,
        inputs: &[Event],
        outputs: Vec<Output>,
        pending: Pending,
        write: &mut WriteBatch,
        out: &mut Vec<Event>,
    ) {
        let stage = &self.processors[index];
        let source = format!("{}/{}", self.name, stage.id);
        super::apply_pending(pending, stage.instance.context(), write);
        let mut processed = 0;
        for (input, output) in inputs.iter().zip(outputs) {
            match output {
                Output::Keep => {
                    out.push(input.clone());
                    processed += 1;
                }
                Output::Replace(events) => {
                    let derived: Vec<Event> = events
                        .into_iter()
                        .enumerate()
                        .map(|(i, mut e)| {
                            e.id = ids::derived(input.id, &self.name, stage.id.as_str(), i);
                            e.org.clone_from(&self.org);
                            e.source.clone_from(&source);
                            e.parent = Some(input.id);
                            let origin =
                                input.attribute(ORIGIN).unwrap_or(&input.source).to_owned();
                            e.attributes.retain(|(k, _)| k != ORIGIN);
                            e.attributes.push((ORIGIN.to_owned(), origin));
                            if e.time_ms == 0 {
                                e.time_ms = input.time_ms;
                            }
                            e
                        })
                        .collect();
                    write.append_derived(&derived);
                    out.extend(derived);
                    processed += 1;
                }
                Output::Fail(error) => {
                    self.dead_letter(index, input, "plugin", &error.to_string(), write);
                }
            }
        }
        self.shared.metrics.add(
            metrics::PROCESSED,
            stage_labels(&self.org, &self.name, stage.id.as_str()),
            processed,
        );
    }

    /// Move `event` to the dead-letter queue: it failed at processor `index` for `reason`
    /// (a [`CallError::label`], or `plugin` when the plugin reported the failure).
    fn dead_letter(
        &self,
        index: usize,
        event: &Event,
        reason: &str,
        error: &str,
        write: &mut WriteBatch,
    ) {
        let stage = &self.processors[index];
        let now = now_ms();
        let labels = stage_labels(&self.org, &self.name, stage.id.as_str());
        let mut failed = labels.clone();
        failed.push(("reason", reason.to_owned()));
        self.shared.metrics.add(metrics::FAILED, failed, 1);
        self.shared.metrics.add(metrics::DEAD_LETTERED, labels, 1);
        write.dead_letter(DeadLetter {
            id: trackway_store::event::next_id(),
            org: self.org.clone(),
            pipeline: self.name.clone(),
            stage: stage.id.to_string(),
            event: event.clone(),
            error: error.to_owned(),
            attempts: 1,
            first_failed_ms: now,
            last_failed_ms: now,
        });
    }
}

/// The events of the stages `inputs`, in order, for one reader of them: moved out of `outputs`
/// by the last reader of a stage (per `readers`, how many readers each stage has left), copied
/// for the others.
fn take_inputs(
    outputs: &mut HashMap<StageId, Vec<Event>>,
    readers: &mut HashMap<StageId, usize>,
    inputs: &[StageId],
) -> Vec<Event> {
    let mut events = Vec::new();
    for input in inputs {
        let left = readers.get_mut(input).expect("every input is counted");
        *left -= 1;
        if *left == 0 {
            events.extend(outputs.remove(input).unwrap_or_default());
        } else if let Some(output) = outputs.get(input) {
            events.extend(output.iter().cloned());
        }
    }
    events
}

/// Deliver `events` to `sink` in this round if it takes inline deliveries and its outbox is
/// empty (and its task is not delivering): its writes join `write`. Returns the events to
/// queue in the outbox instead: all of them, or those from the first one the sink did not
/// take (its task retries them, in order, or dead-letters them).
async fn deliver_inline(
    shared: &Shared,
    sink: &SinkRoute,
    events: Vec<Event>,
    write: &mut WriteBatch,
) -> Vec<Event> {
    let Some(instance) = &sink.inline else {
        return events;
    };
    let Ok(mut instance) = instance.try_lock() else {
        return events;
    };
    if !matches!(shared.store.outbox_is_empty(&sink.scope), Ok(true)) {
        return events;
    }
    let started = Instant::now();
    let result = instance.deliver(&events).await;
    shared.metrics.observe(
        metrics::CALL_SECONDS,
        sink.labels.clone(),
        started.elapsed(),
    );
    let Ok((results, pending)) = result else {
        // A trap or a failed start: the sink task handles it, with its isolation and
        // backoff, from the outbox.
        return events;
    };
    super::apply_pending(pending, instance.context(), write);
    let taken = results.iter().take_while(|r| r.is_ok()).count();
    shared
        .metrics
        .add(metrics::PROCESSED, sink.labels.clone(), taken as u64);
    if let Some(Err(error)) = results.get(taken) {
        // Counted here; the sink task counts its own attempts at it.
        let mut labels = sink.labels.clone();
        labels.push(("reason", error.label().to_owned()));
        shared.metrics.add(metrics::FAILED, labels, 1);
        tracing::warn!(sink = %sink.scope, "inline delivery failed, queued for the sink's task: {error}");
    }
    events.into_iter().skip(taken).collect()
}

/// Wall-clock milliseconds since the epoch (for dead-letter timestamps).
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
