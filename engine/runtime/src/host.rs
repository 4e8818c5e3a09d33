//! The state of one plugin instance's store, and the host interfaces it imports: `log`, `clock`,
//! `state`, `history` and `inventory` (the capabilities that reach outside are in
//! [`crate::capability`]), plus a deny-by-default WASI context (no env, no files, no sockets).
//!
//! Writes through `state` and `history` are buffered in [`Pending`] and handed to the executor
//! after a successful call, so they become durable in the same transaction as the call's outputs
//! and vanish if the call traps.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use trackway_store::inventory::Report;
use trackway_store::{Event, Store, Ulid};
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::{clock, history, inventory, log, state, types};
use crate::capability::{Connections, Grants};
use crate::convert;

/// The time source of plugins and of evaluation logic; tests inject a fixed one.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// Who a plugin instance works for; used to scope its state and tag its logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StageContext {
    /// Organisation.
    pub org: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Stage id.
    pub stage: String,
    /// Plugin id or path, for messages.
    pub plugin: String,
}

impl StageContext {
    /// The key prefix of this stage's state and outbox: `org/pipeline/stage`.
    pub fn scope(&self) -> String {
        format!("{}/{}/{}", self.org, self.pipeline, self.stage)
    }
}

/// Writes a call made through host interfaces, not yet durable.
#[derive(Debug, Default)]
pub struct Pending {
    /// State writes (`None` = delete), last write per key wins. A map in no order, hashed with
    /// foldhash as the cache is: a packed processor's answer often records one per event, and a
    /// `BTreeMap`'s key comparisons cost ~3 % of a `semver` stage.
    pub state: HashMap<String, Option<Vec<u8>>, foldhash::fast::RandomState>,
    /// History appends, in call order.
    pub history: Vec<(String, Event)>,
    /// History appends of events being delivered (`append-delivered`): the stream and the
    /// event's index in the call's batch. [`crate::Instance::deliver`] turns them into
    /// `history` entries.
    pub(crate) history_delivered: Vec<(String, usize)>,
    /// Inventory reports, in call order.
    pub inventory: Vec<Report>,
}

impl Pending {
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
            && self.history.is_empty()
            && self.history_delivered.is_empty()
            && self.inventory.is_empty()
    }
}

/// Memory and table caps of one store; records when it refused a growth so a trap can be
/// reported as "out of memory" rather than as the `unreachable` the guest then hits.
pub(crate) struct Limiter {
    pub(crate) max_memory_bytes: usize,
    pub(crate) exceeded: bool,
}

/// Bound on cached state entries per instance: a stage with more distinct keys than this just
/// reads some of them from the store again (the cache is cleared when full).
const STATE_CACHE_ENTRIES: usize = 100_000;

/// Tables hold function references; plugins need few. The cap stops a table bomb.
const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max_memory_bytes {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} bytes exceeded", self.max_memory_bytes);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// The data of one plugin instance's store.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limiter: Limiter,
    pub(crate) context: Arc<StageContext>,
    scope: String,
    store: Option<Store>,
    clock: Arc<dyn Clock>,
    pub(crate) pending: Pending,
    /// State values read from the store or written by calls, so a stage that reads the same
    /// keys over and over (semver: the previous version of each subject) does not open a read
    /// transaction per event. Writes go here as they are made (and to `pending`): a call that
    /// fails discards the whole instance, cache included, so what remains is exact as long as
    /// every successful call's writes are committed; the executor drops it
    /// ([`crate::Instance::forget_cached_state`]) when a commit fails. Hashed with foldhash
    /// (randomly seeded, as SipHash, at a fraction of its cost per key).
    pub(crate) cache: HashMap<String, Option<Vec<u8>>, foldhash::fast::RandomState>,
    /// Whether the stage's state is what the instance left it as (`state-kept` of
    /// `process-packed`, so a guest may cache it too): false until the first call, and after
    /// [`crate::Instance::forget_cached_state`].
    pub(crate) state_kept: bool,
    /// A dry-run instance (see [`crate::Instance::dry_run`]): reads the committed state only,
    /// caches nothing, and its writes are thrown away.
    pub(crate) dry: bool,
    /// When the current call must end; checked at every epoch tick, and bounding the waits of
    /// host calls.
    pub(crate) deadline: Instant,
    /// The ids of the events the current `deliver` call hands over (empty outside one), and
    /// where the last `append-delivered` found its id: sinks append in order, so the next id is
    /// looked for from there.
    delivering: Vec<Ulid>,
    delivered_at: usize,
    /// What the stage was granted, with the targets of capabilities that reach outside.
    pub(crate) grants: Arc<Grants>,
    /// The runtime's connection pools.
    pub(crate) connections: Arc<Connections>,
}

impl HostState {
    pub(crate) fn new(
        context: Arc<StageContext>,
        grants: Arc<Grants>,
        runtime: &crate::loader::Inner,
        max_memory_bytes: usize,
    ) -> Self {
        let wasi = WasiCtx::builder()
            .allow_blocking_current_thread(false)
            .allow_ip_name_lookup(false)
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        Self {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter {
                max_memory_bytes,
                exceeded: false,
            },
            scope: context.scope(),
            context,
            store: runtime.store.clone(),
            clock: runtime.clock.clone(),
            pending: Pending::default(),
            cache: HashMap::default(),
            state_kept: false,
            dry: false,
            deadline: Instant::now(),
            delivering: Vec::new(),
            delivered_at: 0,
            grants,
            connections: runtime.connections.clone(),
        }
    }
}

impl HostState {
    /// A `deliver` call of `events` starts (`None`: it ended); `append-delivered` refers to them.
    pub(crate) fn delivering(&mut self, events: Option<&[Event]>) {
        self.delivering.clear();
        self.delivering
            .extend(events.into_iter().flatten().map(|event| event.id));
        self.delivered_at = 0;
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        let c = &self.context;
        let (org, pipeline, stage, plugin) = (&c.org, &c.pipeline, &c.stage, &c.plugin);
        match level {
            log::Level::Trace => tracing::trace!(org, pipeline, stage, plugin, "{message}"),
            log::Level::Debug => tracing::debug!(org, pipeline, stage, plugin, "{message}"),
            log::Level::Info => tracing::info!(org, pipeline, stage, plugin, "{message}"),
            log::Level::Warn => tracing::warn!(org, pipeline, stage, plugin, "{message}"),
            log::Level::Error => tracing::error!(org, pipeline, stage, plugin, "{message}"),
        }
    }
}

impl clock::Host for HostState {
    fn now_ms(&mut self) -> u64 {
        self.clock.now_ms()
    }
}

impl state::Host for HostState {
    fn get(&mut self, key: String) -> Option<Vec<u8>> {
        // The cache holds this call's writes too, unless it was cleared when full since (or this
        // is a dry run, which caches nothing): then `pending` does.
        if let Some(value) = self
            .cache
            .get(&key)
            .or_else(|| self.pending.state.get(&key))
        {
            return value.clone();
        }
        let Some(store) = &self.store else {
            return None;
        };
        match store.state(&self.scope, &key) {
            Ok(value) => {
                if !self.dry {
                    if self.cache.len() >= STATE_CACHE_ENTRIES {
                        self.cache.clear();
                    }
                    self.cache.insert(key, value.clone());
                }
                value
            }
            Err(error) => {
                // Reads are served from the local database; failing one is a host fault, not
                // something the plugin can handle. Report it and answer "absent".
                tracing::error!(scope = %self.scope, key, "state read failed: {error}");
                None
            }
        }
    }

    fn set(&mut self, key: String, value: Vec<u8>) {
        self.write(key, Some(value));
    }

    fn delete(&mut self, key: String) {
        self.write(key, None);
    }
}

impl HostState {
    /// Record a state write of the current call: in `pending`, and in the cache (see there).
    pub(crate) fn write(&mut self, key: String, value: Option<Vec<u8>>) {
        if !self.dry {
            if let Some(cached) = self.cache.get_mut(&key) {
                // Rewriting a cached key (the usual case) reuses its entry's allocations.
                cached.clone_from(&value);
            } else {
                if self.cache.len() >= STATE_CACHE_ENTRIES {
                    self.cache.clear();
                }
                self.cache.insert(key.clone(), value.clone());
            }
        }
        self.pending.state.insert(key, value);
    }
}

impl history::Host for HostState {
    fn append(&mut self, stream: String, event: types::Event) -> Result<(), types::Error> {
        if !valid_stream(&stream) {
            return Err(invalid_stream(&stream));
        }
        // Not re-checked as JSON: history is not the log, and its read route shows a payload
        // that does not parse as a string.
        let payload = event.payload.clone();
        let mut event =
            convert::event_from_wit(event, Some(&payload)).map_err(types::Error::Permanent)?;
        // A plugin writes only into its own org.
        event.org.clone_from(&self.context.org);
        self.pending.history.push((stream, event));
        Ok(())
    }

    fn append_delivered(&mut self, stream: String, event_id: String) -> Result<(), types::Error> {
        if !valid_stream(&stream) {
            return Err(invalid_stream(&stream));
        }
        let found = Ulid::from_string(&event_id)
            .ok()
            .and_then(|id| find_from(&self.delivering, self.delivered_at, id));
        let Some(index) = found else {
            return Err(types::Error::Permanent(format!(
                "`{event_id}` is not the id of an event this call delivers"
            )));
        };
        self.delivered_at = index + 1;
        self.pending.history_delivered.push((stream, index));
        Ok(())
    }
}

/// The index of `id` in `ids`, looking from `start` on and then from the beginning.
fn find_from(ids: &[Ulid], start: usize, id: Ulid) -> Option<usize> {
    let start = start.min(ids.len());
    let (before, after) = ids.split_at(start);
    after
        .iter()
        .position(|&i| i == id)
        .map(|at| start + at)
        .or_else(|| before.iter().position(|&i| i == id))
}

fn invalid_stream(stream: &str) -> types::Error {
    types::Error::Permanent(format!(
        "invalid history stream name `{stream}`: use 1-128 of a-z 0-9 . _ -"
    ))
}

impl inventory::Host for HostState {
    fn submit(&mut self, report: inventory::Report) -> Result<(), types::Error> {
        let invalid =
            |what: &str| Err(types::Error::Permanent(format!("inventory report: {what}")));
        if report.env.is_empty() || report.env.len() > 128 {
            return invalid("`env` must be 1-128 characters");
        }
        if report.app.is_empty() || report.app.len() > 256 {
            return invalid("`app` must be 1-256 characters");
        }
        if report.version.is_empty() || report.version.len() > 128 {
            return invalid("`version` must be 1-128 characters");
        }
        if !serde_json::from_str::<serde_json::Value>(&report.fields).is_ok_and(|v| v.is_object()) {
            return invalid("`fields` must be a JSON object");
        }
        let Ok(event_id) = Ulid::from_string(&report.event_id) else {
            return invalid("`event-id` must be the ULID of the event");
        };
        self.pending.inventory.push(Report {
            env: report.env,
            app: report.app,
            version: report.version,
            time_ms: report.time,
            reporter: report.reporter,
            fields: report.fields,
            bump: report.bump,
            event_id,
        });
        Ok(())
    }
}

/// Stream names: 1-128 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn valid_stream(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 128
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivered_ids_are_found_from_the_last_one_on_and_then_from_the_start() {
        let ids: Vec<Ulid> = (1..=4).map(Ulid).collect();
        assert_eq!(find_from(&ids, 0, Ulid(1)), Some(0));
        assert_eq!(find_from(&ids, 2, Ulid(3)), Some(2));
        assert_eq!(find_from(&ids, 2, Ulid(1)), Some(0));
        assert_eq!(find_from(&ids, 4, Ulid(4)), Some(3));
        assert_eq!(find_from(&ids, 9, Ulid(2)), Some(1));
        assert_eq!(find_from(&ids, 1, Ulid(5)), None);
        assert_eq!(find_from(&[], 0, Ulid(1)), None);
    }
}
