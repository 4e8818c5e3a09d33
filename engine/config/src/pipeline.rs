//! The compiled, validated pipeline: what the runtime executes.
//!
//! Everything here is produced by [`load`](crate::load) and only by it, so every value already
//! holds its invariants (ids valid and unique, inputs known, no cycles, every stage reached from a
//! source and feeding something, numbers in range, defaults filled in). This module owns the
//! types and their documentation; the TOML walk lives in `parse` and the graph checks in
//! `compile`.
//!
//! # The file format
//!
//! ```toml
//! # Every file starts with a comment saying what it shows and how to run it.
//! [sources.api]                 # built-in: events of this org from the log
//! type = "events"
//! kinds = ["version.*", "deployment.finished"]
//!
//! [sources.tick]                # built-in timer
//! type = "schedule"
//! interval_ms = 60000
//!
//! [sources.gh]                  # a plugin source (world `source`)
//! plugin = "github"             # a bundled plugin id, or
//! # path = "plugins/x.wasm"     # a component file, relative to this file's directory
//! poll_interval_ms = 30000
//! config = { repo = "a/b" }     # any TOML table, handed to the plugin as JSON
//! grants = ["state"]
//! limits = { timeout_ms = 1000, max_memory_bytes = 67108864, fuel = 1000000 }
//!
//! [processors.semver]
//! plugin = "semver"
//! inputs = ["api"]
//! config = { field = "version" }
//! grants = ["state"]
//! batch_max_events = 256
//!
//! [sinks.history]
//! plugin = "history"
//! inputs = ["semver"]
//! config = { stream = "versions" }
//! grants = ["history"]
//! retry = { max_attempts = 10, initial_backoff_ms = 100, max_backoff_ms = 60000 }
//! ```
//!
//! Which keys a stage accepts:
//!
//! | key | `type = "events"` source | `type = "schedule"` source | plugin source | processor | sink |
//! |---|---|---|---|---|---|
//! | `type` | required | required | - | - | - |
//! | `kinds` | required | - | - | - | - |
//! | `interval_ms` | - | required | - | - | - |
//! | `plugin` / `path` | - | - | exactly one | exactly one | exactly one |
//! | `inputs` | - | - | - | required | required |
//! | `poll_interval_ms` | - | - | optional | - | - |
//! | `config`, `grants`, `limits` | - | - | optional | optional | optional |
//! | `batch_max_events` | - | - | - | optional | optional |
//! | `retry` | - | - | - | - | optional |

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::capability::Grants;
use crate::id::{OrgId, PipelineName, StageId};
use crate::kind_pattern::KindPattern;

/// A validated pipeline, its stages in a stable topological order.
#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    /// The org owning the pipeline: the directory `pipelines/<org>/`.
    pub org: OrgId,
    /// The pipeline name: the file stem of `pipelines/<org>/<name>.toml`.
    pub name: PipelineName,
    /// The file the pipeline was loaded from, as given to [`load`](crate::load).
    pub file: PathBuf,
    /// The `[sources.<id>]` tables, in file order.
    pub sources: Vec<Source>,
    /// The `[processors.<id>]` tables, every processor after all of its inputs; processors that
    /// do not depend on each other keep their file order.
    pub processors: Vec<Stage>,
    /// The `[sinks.<id>]` tables, in file order.
    pub sinks: Vec<Stage>,
}

impl Pipeline {
    /// For every stage (sources, processors and sinks), the stages that list it in their
    /// `inputs`, in pipeline order. Sinks map to an empty list.
    pub fn downstream(&self) -> BTreeMap<&StageId, Vec<&StageId>> {
        let mut downstream: BTreeMap<&StageId, Vec<&StageId>> = self
            .sources
            .iter()
            .map(|source| &source.id)
            .chain(
                self.processors
                    .iter()
                    .chain(&self.sinks)
                    .map(|stage| &stage.id),
            )
            .map(|id| (id, Vec::new()))
            .collect();
        for stage in self.processors.iter().chain(&self.sinks) {
            for input in &stage.inputs {
                if let Some(consumers) = downstream.get_mut(input) {
                    consumers.push(&stage.id);
                }
            }
        }
        downstream
    }
}

/// Whether a stage is a source, a processor or a sink: which table it is declared in, and which
/// plugin world it must export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageKind {
    /// `[sources.<id>]`: where events enter the pipeline.
    Source,
    /// `[processors.<id>]`: turns input events into derived events.
    Processor,
    /// `[sinks.<id>]`: delivers events somewhere; feeds no other stage.
    Sink,
}

impl StageKind {
    /// `source`, `processor` or `sink`.
    pub fn as_str(self) -> &'static str {
        match self {
            StageKind::Source => "source",
            StageKind::Processor => "processor",
            StageKind::Sink => "sink",
        }
    }
}

impl fmt::Display for StageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A source stage: `[sources.<id>]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// The stage id, the key in `[sources.<id>]`.
    pub id: StageId,
    /// What produces the events.
    pub kind: SourceKind,
}

/// What produces a source's events.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceKind {
    /// `type = "events"`: events of this org read from the log, filtered by kind.
    Events {
        /// `kinds`: the event kinds selected, at least one; an event passes if any pattern
        /// matches. Required. Example: `kinds = ["version.*", "deployment.finished"]`.
        kinds: Vec<KindPattern>,
    },
    /// `type = "schedule"`: a timer emitting a tick event every interval.
    Schedule {
        /// `interval_ms`: milliseconds between ticks, at least 100. Required.
        /// Example: `interval_ms = 60000`.
        interval_ms: u64,
    },
    /// `plugin = "<id>"` or `path = "<file>"`: a plugin exporting the `source` world, polled by
    /// the host.
    Plugin {
        /// The component to run.
        plugin: PluginRef,
        /// `config`: handed to the plugin as JSON. Default `{}`.
        /// Example: `config = { repo = "a/b" }`.
        config: serde_json::Value,
        /// `grants`: host capabilities the plugin may use, with their targets. Default none.
        /// Example: `grants = ["state", { http = ["api.github.com"] }]`.
        grants: Grants,
        /// `limits`: per-call resource limits.
        limits: Limits,
        /// `poll_interval_ms`: milliseconds between two polls, at least 100. Default 60000.
        /// Example: `poll_interval_ms = 30000`.
        poll_interval_ms: u64,
    },
}

/// A processor or sink stage: `[processors.<id>]` or `[sinks.<id>]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// The stage id, the key in `[processors.<id>]` or `[sinks.<id>]`.
    pub id: StageId,
    /// `plugin` or `path`: the component to run (exactly one of the two keys).
    pub plugin: PluginRef,
    /// `config`: any TOML table, handed to the plugin as JSON (datetimes become RFC 3339
    /// strings). Default `{}`. Example: `config = { field = "version" }`.
    pub config: serde_json::Value,
    /// `grants`: host capabilities the plugin may use, with their targets for those that reach
    /// outside (see [`Capability`](crate::Capability)). Default none.
    /// Example: `grants = ["history", { redis = "redis://127.0.0.1:6379" }]`.
    pub grants: Grants,
    /// `limits`: per-call resource limits.
    pub limits: Limits,
    /// `inputs`: the stages whose events this stage receives, at least one, no sinks, no
    /// duplicates, in the order written. Required. Example: `inputs = ["api", "gh"]`.
    pub inputs: Vec<StageId>,
    /// `batch_max_events`: the most events handed to the plugin in one call, 1 to 4096.
    /// Default 256. Example: `batch_max_events = 64`.
    pub batch_max_events: usize,
    /// `retry`: how a failed delivery is retried. `Some` (defaults filled in) for sinks, `None`
    /// for processors (the key is only accepted on sinks).
    pub retry: Option<Retry>,
}

/// The component a plugin stage runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PluginRef {
    /// `plugin = "<id>"`: a bundled first-party plugin, `[a-z0-9][a-z0-9-]*`, the same string as
    /// its directory under `plugins/`. Example: `plugin = "semver"`.
    Bundled(String),
    /// `path = "<file>"`: a component file, resolved against the pipeline file's directory
    /// (absolute paths are kept). Example: `path = "plugins/custom.wasm"`.
    Path(PathBuf),
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginRef::Bundled(id) => f.write_str(id),
            PluginRef::Path(path) => write!(f, "{}", path.display()),
        }
    }
}

/// `limits = { ... }`: resource limits for each call into a plugin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Limits {
    /// `timeout_ms`: wall-clock deadline of one call, in milliseconds, 1 to 600000 (10 min).
    /// Default 1000. Example: `timeout_ms = 500`.
    pub timeout_ms: u64,
    /// `max_memory_bytes`: the most linear memory an instance may grow to, in bytes, 1 MiB to
    /// 4 GiB. Default 67108864 (64 MiB). Example: `max_memory_bytes = 134217728`.
    pub max_memory_bytes: u64,
    /// `fuel`: wasm fuel units one call may burn, greater than 0; a deterministic bound on work
    /// on top of the deadline. Default none (no fuel metering). Example: `fuel = 1000000`.
    pub fuel: Option<u64>,
}

impl Limits {
    /// Default `timeout_ms`: long enough for a batch of simple events, short enough that a stuck
    /// plugin is noticed within a second.
    pub const DEFAULT_TIMEOUT_MS: u64 = 1000;
    /// Default `max_memory_bytes`: 64 MiB is plenty for parsing JSON events, and bounds the host
    /// memory of many orgs times many instances.
    pub const DEFAULT_MAX_MEMORY_BYTES: u64 = 64 * 1024 * 1024;

    /// The call deadline as a [`Duration`].
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout_ms: Self::DEFAULT_TIMEOUT_MS,
            max_memory_bytes: Self::DEFAULT_MAX_MEMORY_BYTES,
            fuel: None,
        }
    }
}

/// `retry = { ... }` on a sink: exponential backoff between delivery attempts; after the last
/// attempt the batch goes to the dead-letter queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retry {
    /// `max_attempts`: delivery attempts in total, the first included, 1 to 1000. Default 10.
    /// Example: `max_attempts = 5`.
    pub max_attempts: u32,
    /// `initial_backoff_ms`: milliseconds before the second attempt, 1 to 3600000 (1 h); each
    /// further wait doubles. Default 100. Example: `initial_backoff_ms = 250`.
    pub initial_backoff_ms: u64,
    /// `max_backoff_ms`: cap on one wait, in milliseconds, from `initial_backoff_ms` to
    /// 86400000 (1 day). Default 60000. Example: `max_backoff_ms = 30000`.
    pub max_backoff_ms: u64,
}

impl Retry {
    /// The wait before attempt `attempt + 1` (1-based `attempt`): `initial_backoff_ms` doubled
    /// per earlier retry, capped at `max_backoff_ms`.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(63);
        let ms = self
            .initial_backoff_ms
            .saturating_mul(1u64 << doublings)
            .min(self.max_backoff_ms);
        Duration::from_millis(ms)
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: 10,
            initial_backoff_ms: 100,
            max_backoff_ms: 60_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let retry = Retry::default();
        let waits: Vec<u128> = (1..=12).map(|n| retry.backoff(n).as_millis()).collect();
        assert_eq!(
            waits,
            [
                100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000
            ]
        );
        assert_eq!(retry.backoff(1000).as_millis(), 60000);
    }

    #[test]
    fn downstream_lists_every_stage() {
        let stage = |id: &str, inputs: &[&str]| Stage {
            id: id.parse().unwrap(),
            plugin: PluginRef::Bundled(id.to_owned()),
            config: serde_json::json!({}),
            grants: Grants::new(),
            limits: Limits::default(),
            inputs: inputs.iter().map(|i| i.parse().unwrap()).collect(),
            batch_max_events: 256,
            retry: None,
        };
        let pipeline = Pipeline {
            org: "default".parse().unwrap(),
            name: "p".parse().unwrap(),
            file: PathBuf::from("p.toml"),
            sources: vec![Source {
                id: "api".parse().unwrap(),
                kind: SourceKind::Schedule { interval_ms: 100 },
            }],
            processors: vec![stage("a", &["api"]), stage("b", &["api", "a"])],
            sinks: vec![stage("out", &["a", "b"])],
        };
        let downstream: Vec<(String, Vec<String>)> = pipeline
            .downstream()
            .into_iter()
            .map(|(id, next)| (id.to_string(), next.iter().map(|n| n.to_string()).collect()))
            .collect();
        assert_eq!(
            downstream,
            [
                ("a".to_owned(), vec!["b".to_owned(), "out".to_owned()]),
                ("api".to_owned(), vec!["a".to_owned(), "b".to_owned()]),
                ("b".to_owned(), vec!["out".to_owned()]),
                ("out".to_owned(), vec![]),
            ]
        );
    }
}
