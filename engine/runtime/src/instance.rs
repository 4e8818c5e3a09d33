//! One live plugin instance per stage: created lazily, reused across calls, run under the
//! stage's limits (deadline through epoch interruption, memory cap, optional fuel), and
//! discarded on any trap so the next call starts from a fresh instance.

use std::sync::Arc;
use std::time::{Duration, Instant};

use trackway_store::Event;
use wasmtime::component::TypedFunc;
use wasmtime::{Trap, UpdateDeadline};

use crate::bindings::{packed_processor, processor, sink, source, types};
use crate::capability::Grants;
use crate::convert::{self, EventRef, IdText};
use crate::error::{CallError, PluginError};
use crate::host::{HostState, Pending, StageContext};
use crate::loader::{Plugin, Pre, Runtime};
use crate::packed;

/// Limits of one stage's instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deadline of one call, in milliseconds.
    pub timeout_ms: u64,
    /// Cap on the instance's linear memory, in bytes.
    pub max_memory_bytes: u64,
    /// Fuel per call (instructions, roughly), when metering is wanted.
    pub fuel: Option<u64>,
}

/// What a processor did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Pass it on unchanged.
    Keep,
    /// Replace it by these events (ids not yet assigned).
    Replace(Vec<Event>),
    /// It failed.
    Fail(PluginError),
}

impl Output {
    /// A processor's answer `annotate(attributes)` to `input`: `input` with each attribute set
    /// (replaced, or added last).
    pub fn annotated(input: &Event, attributes: Vec<(String, String)>) -> Self {
        let mut event = input.clone();
        event.attributes.reserve(attributes.len());
        for (name, value) in attributes {
            event.set_attribute(name, value);
        }
        Output::Replace(vec![event])
    }

    /// A processor's answer `replace(events)` to `input`: the events in the store's form (the
    /// output fails if one of them is not valid, see [`convert::event_from_wit`]).
    pub(crate) fn replaced(input: &Event, events: Vec<types::Event>) -> Self {
        events
            .into_iter()
            .map(|e| convert::event_from_wit(e, Some(&input.payload)))
            .collect::<Result<Vec<_>, _>>()
            .map_or_else(|e| Output::Fail(PluginError::Permanent(e)), Output::Replace)
    }
}

/// What a source poll returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    /// New events.
    pub events: Vec<Event>,
    /// The next cursor, if it moved.
    pub cursor: Option<String>,
}

/// What a webhook source answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookResponse {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// Events to append.
    pub events: Vec<Event>,
}

/// `process`, called with events borrowed from the caller (see [`EventRef`]); the generated
/// binding takes owned WIT events, which would mean copying every event before the call copies
/// it into the instance. Type-checked once per instance; `'static` here is shortened to the
/// caller's borrow at each call.
type ProcessFn = TypedFunc<(&'static [EventRef<'static>],), (Vec<types::Processed>,)>;
/// `deliver`, likewise.
type DeliverFn = TypedFunc<(&'static [EventRef<'static>],), (Vec<Result<(), types::Error>>,)>;

/// The largest batch buffer a packed processor's instance keeps for its next call (a batch of
/// 256 typical events takes ~120 KiB; one of large payloads is let go after its call).
const MAX_KEPT_BUFFER: usize = 1 << 20;

enum Bindings {
    Processor(processor::Processor, ProcessFn),
    /// With the buffer its batches are encoded in, kept from call to call.
    PackedProcessor(packed_processor::PackedProcessor, Vec<u8>),
    Sink(sink::Sink, DeliverFn),
    Source(source::Source),
}

struct Live {
    store: wasmtime::Store<HostState>,
    bindings: Bindings,
}

/// The instance of one stage.
pub struct Instance {
    runtime: Runtime,
    plugin: Arc<Plugin>,
    context: Arc<StageContext>,
    grants: Arc<Grants>,
    config: String,
    limits: Limits,
    live: Option<Live>,
    created: u64,
    dry: bool,
}

impl Runtime {
    /// An instance of `plugin` for a stage with `grants`; nothing runs until the first call.
    pub fn instance(
        &self,
        plugin: Arc<Plugin>,
        context: StageContext,
        grants: Grants,
        config_json: String,
        limits: Limits,
    ) -> Instance {
        Instance {
            runtime: self.clone(),
            plugin,
            context: Arc::new(context),
            grants: Arc::new(grants),
            config: config_json,
            limits,
            live: None,
            created: 0,
            dry: false,
        }
    }
}

impl Instance {
    /// The stage this instance serves.
    pub fn context(&self) -> &StageContext {
        &self.context
    }

    /// Make this a dry-run instance: it sees the stage's committed state but its own writes
    /// (state, history, inventory) are discarded after every call. For asking a stage what it
    /// would do with an event (validating a request before accepting it) without side effects.
    pub fn dry_run(mut self) -> Self {
        self.dry = true;
        self
    }

    /// How many instances were created so far (1 after the first call; +1 after each trap).
    pub fn instances_created(&self) -> u64 {
        self.created
    }

    /// Create the instance if needed and run `init`. Calling it first is optional: every call
    /// does it when there is no live instance.
    pub async fn init(&mut self) -> Result<(), CallError> {
        if self.live.is_some() {
            return Ok(());
        }
        let engine = self.runtime.flavour(self.plugin.fueled).clone();
        let inner = &self.runtime.inner;
        let max_memory = usize::try_from(self.limits.max_memory_bytes).unwrap_or(usize::MAX);
        let host = HostState::new(self.context.clone(), self.grants.clone(), inner, max_memory);
        let mut store = wasmtime::Store::new(&engine, host);
        store.data_mut().dry = self.dry;
        store.limiter(|host| &mut host.limiter);
        store.epoch_deadline_callback(|ctx| {
            Ok(if Instant::now() >= ctx.data().deadline {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::Yield(1)
            })
        });
        self.created += 1;
        arm(&mut store, self.limits).map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        let instantiated = match &self.plugin.pre {
            Pre::Processor(pre) => {
                let instance = pre.instance_pre().instantiate_async(&mut store).await;
                instance.and_then(|instance| {
                    Ok(Bindings::Processor(
                        processor::Processor::new(&mut store, &instance)?,
                        typed(&mut store, &instance, "process")?,
                    ))
                })
            }
            Pre::PackedProcessor(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(|bindings| Bindings::PackedProcessor(bindings, Vec::new())),
            Pre::Sink(pre) => {
                let instance = pre.instance_pre().instantiate_async(&mut store).await;
                instance.and_then(|instance| {
                    Ok(Bindings::Sink(
                        sink::Sink::new(&mut store, &instance)?,
                        typed(&mut store, &instance, "deliver")?,
                    ))
                })
            }
            Pre::Source(pre) => pre
                .instantiate_async(&mut store)
                .await
                .map(Bindings::Source),
        };
        let bindings = match instantiated {
            Ok(bindings) => bindings,
            Err(error) => return Err(classify(&store, self.limits, error)),
        };
        arm(&mut store, self.limits).map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        let result = match &bindings {
            Bindings::Processor(b, _) => b.call_init(&mut store, &self.config).await,
            Bindings::PackedProcessor(b, _) => b.call_init(&mut store, &self.config).await,
            Bindings::Sink(b, _) => b.call_init(&mut store, &self.config).await,
            Bindings::Source(b) => b.call_init(&mut store, &self.config).await,
        };
        match result {
            Ok(Ok(())) => {
                self.live = Some(Live { store, bindings });
                Ok(())
            }
            Ok(Err(error)) => Err(CallError::Init(error.into())),
            Err(error) => Err(classify(&store, self.limits, error)),
        }
    }

    /// Run `init` on a fresh instance and return the plugin's own verdict on its configuration
    /// (for `trackway validate`): `Ok(None)` when valid.
    pub async fn check_config(&mut self) -> Result<Option<PluginError>, CallError> {
        self.live = None;
        match self.init().await {
            Ok(()) => Ok(None),
            Err(CallError::Init(error)) => Ok(Some(error)),
            Err(other) => Err(other),
        }
    }

    async fn live(&mut self) -> Result<&mut Live, CallError> {
        self.init().await?;
        let limits = self.limits;
        let live = self.live.as_mut().expect("init leaves a live instance");
        arm(&mut live.store, limits).map_err(|e| CallError::Instantiate(format!("{e:#}")))?;
        Ok(live)
    }

    /// Settle a call: on error, discard the instance and say why it failed; on success, hand
    /// over the writes it made through host interfaces.
    fn settle<R>(&mut self, result: wasmtime::Result<R>) -> Result<(R, Pending), CallError> {
        let live = self.live.as_mut().expect("a call needs a live instance");
        match result {
            Ok(value) => {
                let host = live.store.data_mut();
                let pending = std::mem::take(&mut host.pending);
                if host.dry {
                    return Ok((value, Pending::default()));
                }
                // The state writes are in the cache already (`HostState::write`).
                Ok((value, pending))
            }
            Err(error) => {
                let live = self.live.take().expect("checked above");
                let error = classify(&live.store, self.limits, error);
                let c = &self.context;
                tracing::warn!(
                    org = %c.org, pipeline = %c.pipeline, stage = %c.stage, plugin = %c.plugin,
                    "plugin call failed, instance discarded: {error}"
                );
                Err(error)
            }
        }
    }

    /// Forget the state values cached from earlier calls. Call it when the writes of a
    /// successful call could not be committed, so the next call reads the store again.
    pub fn forget_cached_state(&mut self) {
        if let Some(live) = &mut self.live {
            let host = live.store.data_mut();
            host.cache.clear();
            host.state_kept = false;
        }
    }

    /// Run a processor over a batch: one [`Output`] per event, in order.
    pub async fn process(&mut self, events: &[Event]) -> Result<(Vec<Output>, Pending), CallError> {
        let live = self.live().await?;
        let result = match &mut live.bindings {
            Bindings::Processor(_, process) => {
                let ids: Vec<IdText> = events.iter().map(IdText::new).collect();
                let wit: Vec<EventRef<'_>> = events.iter().zip(&ids).map(EventRef::from).collect();
                let process: TypedFunc<(&[EventRef<'_>],), _> = *process;
                let result = process.call_async(&mut live.store, (&wit,)).await;
                result.map(|(results,)| typed_outputs(results, events))
            }
            Bindings::PackedProcessor(bindings, buffer) => {
                buffer.clear();
                packed::encode_events(events, buffer);
                let host = live.store.data_mut();
                let state_kept = std::mem::replace(&mut host.state_kept, true) && !host.dry;
                let result = bindings
                    .call_process_packed(&mut live.store, buffer, state_kept)
                    .await;
                if buffer.capacity() > MAX_KEPT_BUFFER {
                    *buffer = Vec::new();
                }
                result.map(|bytes| unpack(live.store.data_mut(), &bytes, events))
            }
            _ => return Err(CallError::Contract("not a processor".into())),
        };
        match self.settle(result)? {
            (Ok(outputs), pending) => Ok((outputs, pending)),
            (Err(error), _) => {
                self.live = None;
                Err(CallError::Contract(error))
            }
        }
    }

    /// Run a sink over a batch: one delivery result per event, in order.
    pub async fn deliver(
        &mut self,
        events: &[Event],
    ) -> Result<(Vec<Result<(), PluginError>>, Pending), CallError> {
        let ids: Vec<IdText> = events.iter().map(IdText::new).collect();
        let wit: Vec<EventRef<'_>> = events.iter().zip(&ids).map(EventRef::from).collect();
        let live = self.live().await?;
        let Bindings::Sink(_, deliver) = &live.bindings else {
            return Err(CallError::Contract("not a sink".into()));
        };
        let deliver: TypedFunc<(&[EventRef<'_>],), _> = *deliver;
        live.store.data_mut().delivering(Some(events));
        let result = deliver
            .call_async(&mut live.store, (&wit,))
            .await
            .map(|(results,)| results);
        if let Some(live) = &mut self.live {
            live.store.data_mut().delivering(None);
        }
        let (results, mut pending) = self.settle(result)?;
        for (stream, index) in std::mem::take(&mut pending.history_delivered) {
            pending.history.push((stream, events[index].clone()));
        }
        if results.len() != events.len() {
            self.live = None;
            return Err(CallError::Contract(format!(
                "deliver returned {} results for {} events",
                results.len(),
                events.len()
            )));
        }
        Ok((
            results
                .into_iter()
                .map(|r| r.map_err(PluginError::from))
                .collect(),
            pending,
        ))
    }

    /// Poll a source after `cursor`.
    pub async fn poll(
        &mut self,
        cursor: Option<&str>,
    ) -> Result<(Result<Polled, PluginError>, Pending), CallError> {
        let live = self.live().await?;
        let Bindings::Source(bindings) = &live.bindings else {
            return Err(CallError::Contract("not a source".into()));
        };
        let result = bindings.call_poll(&mut live.store, cursor).await;
        let (result, pending) = self.settle(result)?;
        let polled = match result {
            Ok(poll) => poll
                .events
                .into_iter()
                .map(|e| convert::event_from_wit(e, None))
                .collect::<Result<Vec<_>, _>>()
                .map(|events| Polled {
                    events,
                    cursor: poll.cursor,
                })
                .map_err(PluginError::Permanent),
            Err(error) => Err(error.into()),
        };
        Ok((polled, pending))
    }

    /// Hand an inbound HTTP request to a webhook source.
    pub async fn handle_request(
        &mut self,
        request: types::HttpRequest,
    ) -> Result<(Result<HookResponse, PluginError>, Pending), CallError> {
        let live = self.live().await?;
        let Bindings::Source(bindings) = &live.bindings else {
            return Err(CallError::Contract("not a source".into()));
        };
        let result = bindings
            .call_handle_request(&mut live.store, &request)
            .await;
        let (result, pending) = self.settle(result)?;
        let response = match result {
            Ok(r) => r
                .events
                .into_iter()
                .map(|e| convert::event_from_wit(e, None))
                .collect::<Result<Vec<_>, _>>()
                .map(|events| HookResponse {
                    status: r.status,
                    body: r.body,
                    events,
                })
                .map_err(PluginError::Permanent),
            Err(error) => Err(error.into()),
        };
        Ok((response, pending))
    }
}

/// The executor's outputs from the results of `process` for `events`.
fn typed_outputs(results: Vec<types::Processed>, events: &[Event]) -> Result<Vec<Output>, String> {
    if results.len() != events.len() {
        return Err(format!(
            "process returned {} results for {} events",
            results.len(),
            events.len()
        ));
    }
    let outputs = results
        .into_iter()
        .zip(events)
        .map(|(result, input)| match result {
            types::Processed::Keep => Output::Keep,
            types::Processed::Fail(error) => Output::Fail(error.into()),
            types::Processed::Annotate(attributes) => Output::annotated(input, attributes),
            types::Processed::Replace(events) => Output::replaced(input, events),
        })
        .collect();
    Ok(outputs)
}

/// The executor's outputs from the answer of `process-packed` for `events`, its state writes
/// recorded in `host` as if made through `state` (so they are committed, or discarded, with the
/// call's other writes).
fn unpack(host: &mut HostState, bytes: &[u8], events: &[Event]) -> Result<Vec<Output>, String> {
    let (outputs, writes) =
        packed::decode_answer(bytes, events, host.grants.contains_key("state"))?;
    host.pending.state.reserve(writes.len());
    for (key, value) in writes {
        host.write(key, value);
    }
    Ok(outputs)
}

/// The export `name` of `instance` as a typed function.
fn typed<P, R>(
    store: &mut wasmtime::Store<HostState>,
    instance: &wasmtime::component::Instance,
    name: &str,
) -> wasmtime::Result<TypedFunc<P, R>>
where
    P: wasmtime::component::ComponentNamedList + wasmtime::component::Lower,
    R: wasmtime::component::ComponentNamedList + wasmtime::component::Lift,
{
    instance
        .get_typed_func(&mut *store, name)
        .map_err(|error| error.context(format!("export `{name}`")))
}

/// Prepare a store for one call: a fresh deadline, fresh fuel.
fn arm(store: &mut wasmtime::Store<HostState>, limits: Limits) -> wasmtime::Result<()> {
    store.data_mut().deadline = Instant::now() + Duration::from_millis(limits.timeout_ms);
    store.set_epoch_deadline(1);
    if let Some(fuel) = limits.fuel {
        store.set_fuel(fuel)?;
    }
    Ok(())
}

fn classify(
    store: &wasmtime::Store<HostState>,
    limits: Limits,
    error: wasmtime::Error,
) -> CallError {
    if store.data().limiter.exceeded {
        return CallError::OutOfMemory {
            max_memory_bytes: limits.max_memory_bytes,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => CallError::Deadline {
            timeout_ms: limits.timeout_ms,
        },
        Some(Trap::OutOfFuel) => CallError::OutOfFuel,
        _ => CallError::Trap(format!("{error:#}")),
    }
}
