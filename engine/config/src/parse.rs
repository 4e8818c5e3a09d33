//! Phase 1: walk the parsed TOML document strictly, stage by stage and key by key.
//!
//! Unlike `#[serde(deny_unknown_fields)]`, which stops at the first problem, the walk keeps
//! going and records every unknown key, wrong type, missing field and out-of-range number as a
//! [`Diagnostic`] at its span. What parses is kept in a [`RawStage`] (with defaults standing in
//! for what did not), so that phase 2 (`compile`) can check the graph in the same run. This module
//! does not look across stages: ids, inputs and cycles are `compile`'s.

use std::borrow::Cow;
use std::ops::{Range, RangeInclusive};
use std::path::Path;

use serde_spanned::Spanned;
use toml::de::{DeTable, DeValue};

use crate::capability::{Capability, Grants};
use crate::diagnostic::{Diagnostic, closest};
use crate::id::{StageId, check_plugin_id};
use crate::kind_pattern::KindPattern;
use crate::pipeline::{Limits, PluginRef, Retry, StageKind};
use crate::plugin_config;
use crate::source::SourceFile;

/// A byte range in the pipeline file.
pub(crate) type Span = Range<usize>;
/// A TOML key as parsed.
type Key<'i> = Spanned<Cow<'i, str>>;
/// A TOML value as parsed.
pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

/// The keys a source may have, in the order listed in messages.
const SOURCE_KEYS: &[&str] = &[
    "type",
    "kinds",
    "interval_ms",
    "plugin",
    "path",
    "poll_interval_ms",
    "config",
    "grants",
    "limits",
];
const EVENTS_KEYS: &[&str] = &["type", "kinds"];
const SCHEDULE_KEYS: &[&str] = &["type", "interval_ms"];
const PLUGIN_SOURCE_KEYS: &[&str] = &[
    "plugin",
    "path",
    "poll_interval_ms",
    "config",
    "grants",
    "limits",
];
const PROCESSOR_KEYS: &[&str] = &[
    "plugin",
    "path",
    "inputs",
    "config",
    "grants",
    "limits",
    "batch_max_events",
];
const SINK_KEYS: &[&str] = &[
    "plugin",
    "path",
    "inputs",
    "config",
    "grants",
    "limits",
    "batch_max_events",
    "retry",
];
const LIMITS_KEYS: &[&str] = &["timeout_ms", "max_memory_bytes", "fuel"];
const RETRY_KEYS: &[&str] = &["max_attempts", "initial_backoff_ms", "max_backoff_ms"];

/// Timers and polls faster than this would let one pipeline keep a core busy; 100 ms is far below
/// anything a deployment tracker needs.
const MIN_INTERVAL_MS: u64 = 100;
/// Default `poll_interval_ms`: once a minute is fresh enough for GitHub and registries and stays
/// well inside their rate limits.
const DEFAULT_POLL_INTERVAL_MS: u64 = 60_000;
/// `timeout_ms` range: a call may not hold an instance for more than 10 minutes.
const TIMEOUT_MS: RangeInclusive<u64> = 1..=600_000;
/// `max_memory_bytes` range: below 1 MiB no component instantiates; 4 GiB is all wasm32 can
/// address.
const MAX_MEMORY_BYTES: RangeInclusive<u64> = 1024 * 1024..=4 * 1024 * 1024 * 1024;
/// Largest value a TOML integer can hold.
const TOML_MAX: u64 = i64::MAX as u64;
/// Default `batch_max_events`: amortises the cost of a call across many events while keeping a
/// batch (and a retried batch) small.
const DEFAULT_BATCH_MAX_EVENTS: usize = 256;
/// `batch_max_events` range: 4096 events keeps one call's input well under the memory limit.
const BATCH_MAX_EVENTS: RangeInclusive<u64> = 1..=4096;
const MAX_ATTEMPTS: RangeInclusive<u64> = 1..=1000;
const INITIAL_BACKOFF_MS: RangeInclusive<u64> = 1..=3_600_000;
const MAX_BACKOFF_MS: RangeInclusive<u64> = 1..=86_400_000;

/// A stage after phase 1. Fields that had problems hold defaults; since any diagnostic fails the
/// load, those defaults are never seen by callers.
#[derive(Debug)]
pub(crate) struct RawStage<'d, 'i> {
    /// Which table the stage is in.
    pub kind: StageKind,
    /// The id as written.
    pub id: String,
    /// The valid id, `None` if it was invalid (and reported).
    pub valid_id: Option<StageId>,
    /// The span of the id key.
    pub id_span: Span,
    /// The span of the stage table: its `[kind.id]` header, or the inline table.
    pub span: Span,
    /// For sources, what kind of source; `None` for processors and sinks, or if undecidable.
    pub source: Option<RawSource>,
    /// `plugin` or `path`, if given and valid.
    pub plugin: Option<PluginRef>,
    /// `inputs` as written, with spans (empty for sources).
    pub inputs: Vec<(String, Span)>,
    /// The `config` value, if present.
    pub config: Option<&'d Value<'i>>,
    /// `config` as JSON, `None` if it could not be converted (and that was reported).
    pub config_json: Option<serde_json::Value>,
    /// The valid `grants`, with their targets.
    pub grants: Grants,
    /// `limits`, defaults filled in.
    pub limits: Limits,
    /// `poll_interval_ms` of a plugin source, or its default.
    pub poll_interval_ms: u64,
    /// `batch_max_events` of a processor or sink, or its default.
    pub batch_max_events: usize,
    /// `retry` of a sink, defaults filled in (unused for other stages).
    pub retry: Retry,
}

/// What a source produces events from.
#[derive(Debug)]
pub(crate) enum RawSource {
    /// `type = "events"` with its valid `kinds`.
    Events(Vec<KindPattern>),
    /// `type = "schedule"` with its `interval_ms`.
    Schedule(u64),
    /// `plugin` or `path`.
    Plugin,
}

/// Walks `doc`, returning every stage in file order and pushing a diagnostic for each problem.
pub(crate) fn stages<'d, 'i>(
    file: &SourceFile,
    doc: &'d DeTable<'i>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<RawStage<'d, 'i>> {
    let mut walker = Walker { file, diagnostics };
    let mut stages = Vec::new();
    for (key, value) in entries(doc) {
        let kind = match key.get_ref().as_ref() {
            "sources" => StageKind::Source,
            "processors" => StageKind::Processor,
            "sinks" => StageKind::Sink,
            _ => {
                walker.unknown_key(key, "the pipeline", &["sources", "processors", "sinks"]);
                continue;
            }
        };
        let Some(table) = walker.table(value, key, "the pipeline") else {
            continue;
        };
        for (id, stage) in entries(table) {
            if let Some(stage) = walker.stage(kind, id, stage) {
                stages.push(stage);
            }
        }
    }
    stages.sort_by_key(|stage| stage.id_span.start);
    stages
}

/// The entries of a table in file order (the parser's map is sorted by key).
fn entries<'d, 'i>(table: &'d DeTable<'i>) -> Vec<(&'d Key<'i>, &'d Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

/// `a` or `an` and the TOML type of `value`, for messages.
fn a_type(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// Where a key that is not allowed here would be allowed, for the help line.
fn valid_on(key: &str) -> Option<&'static str> {
    Some(match key {
        "type" => "sources",
        "kinds" => "sources with `type = \"events\"`",
        "interval_ms" => "sources with `type = \"schedule\"`",
        "poll_interval_ms" => "plugin sources",
        "config" | "grants" | "limits" => "plugin stages",
        "inputs" | "batch_max_events" => "processors and sinks",
        "retry" => "sinks",
        _ => return None,
    })
}

/// Quotes and joins names for "expected one of" lists.
fn one_of(names: &[&str]) -> String {
    names
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The phase-1 walk over one file.
struct Walker<'a> {
    file: &'a SourceFile,
    diagnostics: &'a mut Vec<Diagnostic>,
}

impl Walker<'_> {
    fn error(&mut self, span: Span, message: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(self.file, span, message));
    }

    fn error_with_help(&mut self, span: Span, message: impl Into<String>, help: impl Into<String>) {
        self.diagnostics
            .push(Diagnostic::new(self.file, span, message).with_help(help));
    }

    fn unknown_key(&mut self, key: &Key<'_>, context: &str, expected: &[&str]) {
        let name = key.get_ref().as_ref();
        let message = format!(
            "unknown key `{name}` in {context} (expected one of {})",
            one_of(expected)
        );
        let help = if let Some(close) = closest(name, expected.iter().copied()) {
            Some(format!("did you mean `{close}`?"))
        } else {
            valid_on(name).map(|place| format!("`{name}` is only valid on {place}"))
        };
        match help {
            Some(help) => self.error_with_help(key.span(), message, help),
            None => self.error(key.span(), message),
        }
    }

    fn wrong_type(&mut self, value: &Value<'_>, what: &str, expected: &str) {
        let message = format!(
            "wrong type for {what}: expected {expected}, found {}",
            a_type(value.get_ref())
        );
        self.error(value.span(), message);
    }

    /// `value` as a table, or a wrong-type error for key `key` in `context`.
    fn table<'d, 'i>(
        &mut self,
        value: &'d Value<'i>,
        key: &Key<'_>,
        context: &str,
    ) -> Option<&'d DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            _ => {
                let what = format!("`{}` in {context}", key.get_ref());
                self.wrong_type(value, &what, "a table");
                None
            }
        }
    }

    fn string<'d>(&mut self, value: &'d Value<'_>, key: &str, context: &str) -> Option<&'d str> {
        match value.get_ref() {
            DeValue::String(text) => Some(text),
            _ => {
                self.wrong_type(value, &format!("`{key}` in {context}"), "a string");
                None
            }
        }
    }

    /// `value` as an integer in `range`.
    fn integer(
        &mut self,
        value: &Value<'_>,
        key: &str,
        context: &str,
        range: RangeInclusive<u64>,
    ) -> Option<u64> {
        let DeValue::Integer(integer) = value.get_ref() else {
            self.wrong_type(value, &format!("`{key}` in {context}"), "an integer");
            return None;
        };
        let parsed = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
        match parsed.and_then(|n| u64::try_from(n).ok()) {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                let bounds = if *range.end() >= TOML_MAX {
                    format!("at least {}", range.start())
                } else {
                    format!("between {} and {}", range.start(), range.end())
                };
                let message = format!("`{key}` in {context} must be {bounds}, found {integer}");
                self.error(value.span(), message);
                None
            }
        }
    }

    /// `value` as an array of strings, each with its span. A lone string is reported, with a help
    /// line showing the array form, and then read as that array.
    fn strings<'d>(
        &mut self,
        value: &'d Value<'_>,
        key: &str,
        context: &str,
    ) -> Option<Vec<(&'d str, Span)>> {
        let items = match value.get_ref() {
            DeValue::Array(items) => items,
            DeValue::String(text) => {
                let message = format!(
                    "wrong type for `{key}` in {context}: expected an array of strings, found a string"
                );
                let help = format!("write `{key} = [\"{text}\"]`");
                self.error_with_help(value.span(), message, help);
                // Read on as the one-element array it surely means, so that later checks (an
                // input feeding nothing, say) do not pile up on this one mistake.
                return Some(vec![(text.as_ref(), value.span())]);
            }
            _ => {
                let what = format!("`{key}` in {context}");
                self.wrong_type(value, &what, "an array of strings");
                return None;
            }
        };
        let mut strings = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(text) => strings.push((text.as_ref(), item.span())),
                _ => self.wrong_type(
                    item,
                    &format!("an element of `{key}` in {context}"),
                    "a string",
                ),
            }
        }
        Some(strings)
    }

    /// One `[<kind>.<id>]` table.
    fn stage<'d, 'i>(
        &mut self,
        kind: StageKind,
        id: &'d Key<'i>,
        value: &'d Value<'i>,
    ) -> Option<RawStage<'d, 'i>> {
        let context = format!("{kind} `{}`", id.get_ref());
        let valid_id = match id.get_ref().parse::<StageId>() {
            Ok(valid) => Some(valid),
            Err(err) => {
                self.error(id.span(), err.to_string());
                None
            }
        };
        let DeValue::Table(table) = value.get_ref() else {
            self.wrong_type(value, &context, "a table");
            return None;
        };
        let mut stage = RawStage {
            kind,
            id: id.get_ref().to_string(),
            valid_id,
            id_span: id.span(),
            span: value.span(),
            source: None,
            plugin: None,
            inputs: Vec::new(),
            config: None,
            config_json: Some(serde_json::Value::Object(Default::default())),
            grants: Grants::new(),
            limits: Limits::default(),
            poll_interval_ms: DEFAULT_POLL_INTERVAL_MS,
            batch_max_events: DEFAULT_BATCH_MAX_EVENTS,
            retry: Retry::default(),
        };

        let plugin_key = table
            .get_key_value("plugin")
            .or_else(|| table.get_key_value("path"));
        stage.plugin = self.plugin_ref(table, &context);
        let allowed = match kind {
            StageKind::Source => {
                let (allowed, source) = self.source_kind(table, plugin_key, &stage, &context);
                stage.source = source;
                allowed
            }
            StageKind::Processor | StageKind::Sink => {
                if plugin_key.is_none() {
                    self.error_with_help(
                        stage.span.clone(),
                        format!("missing `plugin` or `path` in {context}"),
                        "set `plugin = \"<id>\"` for a bundled plugin or `path = \"<file>.wasm\"`",
                    );
                }
                if !table.contains_key("inputs") {
                    self.error(
                        stage.span.clone(),
                        format!("missing `inputs` in {context}: a {kind} needs at least one input"),
                    );
                }
                if kind == StageKind::Processor {
                    PROCESSOR_KEYS
                } else {
                    SINK_KEYS
                }
            }
        };

        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            if kind == StageKind::Source && name == "inputs" {
                self.error(
                    key.span(),
                    format!("{context} cannot have `inputs`: sources are where events enter the pipeline"),
                );
                continue;
            }
            if !allowed.contains(&name) {
                self.unknown_key(key, &context, allowed);
                continue;
            }
            match name {
                "inputs" => self.inputs(&mut stage, value, &context),
                "poll_interval_ms" => {
                    let range = MIN_INTERVAL_MS..=TOML_MAX;
                    if let Some(ms) = self.integer(value, name, &context, range) {
                        stage.poll_interval_ms = ms;
                    }
                }
                "config" => self.config(&mut stage, key, value, &context),
                "grants" => self.grants(&mut stage, value, &context),
                "limits" => {
                    if let Some(table) = self.table(value, key, &context) {
                        stage.limits = self.limits(table, &format!("`limits` of {context}"));
                    }
                }
                "batch_max_events" => {
                    if let Some(n) = self.integer(value, name, &context, BATCH_MAX_EVENTS) {
                        stage.batch_max_events =
                            usize::try_from(n).expect("at most 4096, fits in any usize");
                    }
                }
                "retry" => {
                    if let Some(table) = self.table(value, key, &context) {
                        stage.retry = self.retry(table, &format!("`retry` of {context}"));
                    }
                }
                // `type`, `kinds`, `interval_ms`, `plugin` and `path` were read up front.
                _ => {}
            }
        }
        Some(stage)
    }

    /// `plugin` or `path`, exactly one of them; reports both-given and invalid values, leaves
    /// neither-given to the caller (a source may have `type` instead).
    fn plugin_ref(&mut self, table: &DeTable<'_>, context: &str) -> Option<PluginRef> {
        match (table.get("plugin"), table.get_key_value("path")) {
            (Some(_), Some((path_key, _))) => {
                self.error_with_help(
                    path_key.span(),
                    format!("{context} has both `plugin` and `path`"),
                    "use `plugin` for a bundled plugin or `path` for a component file, not both",
                );
                None
            }
            (Some(value), None) => {
                let id = self.string(value, "plugin", context)?;
                match check_plugin_id(id) {
                    Ok(()) => Some(PluginRef::Bundled(id.to_owned())),
                    Err(err) => {
                        self.error(value.span(), format!("{err} (in {context})"));
                        None
                    }
                }
            }
            (None, Some((_, value))) => {
                let path = self.string(value, "path", context)?;
                if path.is_empty() {
                    self.error(
                        value.span(),
                        format!("`path` in {context} must not be empty"),
                    );
                    return None;
                }
                let dir = self.file.path.parent().unwrap_or(Path::new(""));
                Some(PluginRef::Path(dir.join(path)))
            }
            (None, None) => None,
        }
    }

    /// Decides what kind of source `table` is, reads its built-in keys, and returns the keys it
    /// may have.
    fn source_kind(
        &mut self,
        table: &DeTable<'_>,
        plugin_key: Option<(&Key<'_>, &Value<'_>)>,
        stage: &RawStage<'_, '_>,
        context: &str,
    ) -> (&'static [&'static str], Option<RawSource>) {
        let Some(type_value) = table.get("type") else {
            if plugin_key.is_some() {
                return (PLUGIN_SOURCE_KEYS, Some(RawSource::Plugin));
            }
            self.error_with_help(
                stage.span.clone(),
                format!("missing `type`, `plugin` or `path` in {context}"),
                "set `type = \"events\"` or `type = \"schedule\"` for a built-in source, or \
                 `plugin`/`path` for a plugin source",
            );
            return (SOURCE_KEYS, None);
        };
        if let Some((key, _)) = plugin_key {
            self.error_with_help(
                key.span(),
                format!("{context} has both `type` and `{}`", key.get_ref()),
                "a source is either built in (`type`) or a plugin (`plugin`/`path`)",
            );
            return (SOURCE_KEYS, None);
        }
        let Some(source_type) = self.string(type_value, "type", context) else {
            return (SOURCE_KEYS, None);
        };
        match source_type {
            "events" => {
                let kinds = match table.get("kinds") {
                    Some(value) => self.kinds(value, context),
                    None => {
                        self.error_with_help(
                            stage.span.clone(),
                            format!("missing `kinds` in {context}"),
                            "list the event kinds to read, e.g. `kinds = [\"version.*\"]`",
                        );
                        Vec::new()
                    }
                };
                (EVENTS_KEYS, Some(RawSource::Events(kinds)))
            }
            "schedule" => {
                let interval = match table.get("interval_ms") {
                    Some(value) => {
                        let range = MIN_INTERVAL_MS..=TOML_MAX;
                        self.integer(value, "interval_ms", context, range)
                    }
                    None => {
                        self.error_with_help(
                            stage.span.clone(),
                            format!("missing `interval_ms` in {context}"),
                            "set the time between ticks, e.g. `interval_ms = 60000`",
                        );
                        None
                    }
                };
                let interval = interval.unwrap_or(MIN_INTERVAL_MS);
                (SCHEDULE_KEYS, Some(RawSource::Schedule(interval)))
            }
            other => {
                self.error(
                    type_value.span(),
                    format!("unknown source type `{other}` in {context} (expected `events` or `schedule`)"),
                );
                (SOURCE_KEYS, None)
            }
        }
    }

    fn kinds(&mut self, value: &Value<'_>, context: &str) -> Vec<KindPattern> {
        let Some(patterns) = self.strings(value, "kinds", context) else {
            return Vec::new();
        };
        if patterns.is_empty() {
            self.error(
                value.span(),
                format!("`kinds` in {context} is empty: the source would never emit anything"),
            );
        }
        let mut kinds = Vec::new();
        for (pattern, span) in patterns {
            match pattern.parse::<KindPattern>() {
                Ok(kind) => kinds.push(kind),
                Err(err) => self.error(span, format!("{err} (in {context})")),
            }
        }
        kinds
    }

    fn inputs(&mut self, stage: &mut RawStage<'_, '_>, value: &Value<'_>, context: &str) {
        let Some(inputs) = self.strings(value, "inputs", context) else {
            return;
        };
        if inputs.is_empty() {
            let kind = stage.kind;
            self.error(
                value.span(),
                format!("`inputs` in {context} is empty: a {kind} needs at least one input"),
            );
        }
        for (input, span) in inputs {
            if stage.inputs.iter().any(|(seen, _)| seen == input) {
                self.error(span, format!("input `{input}` listed twice in {context}"));
            } else {
                stage.inputs.push((input.to_owned(), span));
            }
        }
    }

    fn grants(&mut self, stage: &mut RawStage<'_, '_>, value: &Value<'_>, context: &str) {
        let items = match value.get_ref() {
            DeValue::Array(items) => items,
            DeValue::String(text) => {
                let message = format!(
                    "wrong type for `grants` in {context}: expected an array, found a string"
                );
                self.error_with_help(
                    value.span(),
                    message,
                    format!("write `grants = [\"{text}\"]`"),
                );
                return;
            }
            _ => {
                let what = format!("`grants` in {context}");
                self.wrong_type(value, &what, "an array");
                return;
            }
        };
        for item in items.iter() {
            let (name, name_span, targets) = match item.get_ref() {
                DeValue::String(name) => (name.as_ref(), item.span(), None),
                DeValue::Table(table) if table.len() == 1 => {
                    let (key, targets) = table.iter().next().expect("one entry");
                    (key.get_ref().as_ref(), key.span(), Some(targets))
                }
                _ => {
                    let what = format!("an element of `grants` in {context}");
                    self.wrong_type(item, &what, "a capability name or `{ <name> = <targets> }`");
                    continue;
                }
            };
            let Some(capability) = self.capability(name, name_span.clone(), context) else {
                continue;
            };
            if stage.grants.contains_key(&capability) {
                self.error(
                    name_span,
                    format!("grant `{name}` listed twice in {context}"),
                );
                continue;
            }
            let targets = match (targets, capability.takes_targets()) {
                (None, false) => Vec::new(),
                (None, true) => {
                    self.error_with_help(
                        name_span,
                        format!("grant `{name}` in {context} needs its targets"),
                        format!("write `{}`", capability.example()),
                    );
                    continue;
                }
                (Some(_), false) => {
                    self.error_with_help(
                        item.span(),
                        format!("grant `{name}` in {context} takes no targets"),
                        format!("write `{}`", capability.example()),
                    );
                    continue;
                }
                (Some(targets), true) => {
                    let targets = match targets.get_ref() {
                        DeValue::String(one) => vec![(one.as_ref(), targets.span())],
                        _ => match self.strings(targets, name, &format!("grants of {context}")) {
                            Some(targets) => targets,
                            None => continue,
                        },
                    };
                    if targets.is_empty() {
                        self.error(
                            item.span(),
                            format!("grant `{name}` in {context} lists no targets"),
                        );
                        continue;
                    }
                    let mut valid = Vec::new();
                    for (target, span) in targets {
                        match capability.check_target(target) {
                            Ok(()) => valid.push(target.to_owned()),
                            Err(why) => self.error(
                                span,
                                format!("invalid `{name}` target in {context}: {why}"),
                            ),
                        }
                    }
                    valid
                }
            };
            stage.grants.insert(capability, targets);
        }
    }

    /// The capability `name` (at `span`) names, or an error with the closest known name.
    fn capability(&mut self, name: &str, span: Span, context: &str) -> Option<Capability> {
        if let Ok(capability) = name.parse::<Capability>() {
            return Some(capability);
        }
        let known: Vec<&str> = Capability::ALL.iter().map(|c| c.as_str()).collect();
        let message = format!(
            "unknown grant `{name}` for {context} (known: {})",
            one_of(&known)
        );
        match closest(name, known.iter().copied()) {
            Some(close) => self.error_with_help(span, message, format!("did you mean `{close}`?")),
            None => self.error(span, message),
        }
        None
    }

    fn config<'d, 'i>(
        &mut self,
        stage: &mut RawStage<'d, 'i>,
        key: &Key<'_>,
        value: &'d Value<'i>,
        context: &str,
    ) {
        if self.table(value, key, context).is_none() {
            // Do not hand the plugin a stand-in `{}` it would find fault with.
            stage.config_json = None;
            return;
        }
        stage.config = Some(value);
        let mut problems = Vec::new();
        let json = plugin_config::to_json(value, &mut problems);
        stage.config_json = problems.is_empty().then_some(json);
        for (span, problem) in problems {
            self.error(span, format!("{problem} (in `config` of {context})"));
        }
    }

    fn limits(&mut self, table: &DeTable<'_>, context: &str) -> Limits {
        let mut limits = Limits::default();
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            match name {
                "timeout_ms" => {
                    if let Some(ms) = self.integer(value, name, context, TIMEOUT_MS) {
                        limits.timeout_ms = ms;
                    }
                }
                "max_memory_bytes" => {
                    if let Some(bytes) = self.integer(value, name, context, MAX_MEMORY_BYTES) {
                        limits.max_memory_bytes = bytes;
                    }
                }
                "fuel" => limits.fuel = self.integer(value, name, context, 1..=TOML_MAX),
                _ => self.unknown_key(key, context, LIMITS_KEYS),
            }
        }
        limits
    }

    fn retry(&mut self, table: &DeTable<'_>, context: &str) -> Retry {
        let mut retry = Retry::default();
        // The spans of the backoffs as given; `Err` if given but invalid (and reported).
        let mut initial_at: Option<Result<Span, ()>> = None;
        let mut max_at: Option<Result<Span, ()>> = None;
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            match name {
                "max_attempts" => {
                    if let Some(n) = self.integer(value, name, context, MAX_ATTEMPTS) {
                        retry.max_attempts = u32::try_from(n).expect("at most 1000, fits in u32");
                    }
                }
                "initial_backoff_ms" => {
                    let ms = self.integer(value, name, context, INITIAL_BACKOFF_MS);
                    retry.initial_backoff_ms = ms.unwrap_or(retry.initial_backoff_ms);
                    initial_at = Some(ms.map(|_| value.span()).ok_or(()));
                }
                "max_backoff_ms" => {
                    let ms = self.integer(value, name, context, MAX_BACKOFF_MS);
                    retry.max_backoff_ms = ms.unwrap_or(retry.max_backoff_ms);
                    max_at = Some(ms.map(|_| value.span()).ok_or(()));
                }
                _ => self.unknown_key(key, context, RETRY_KEYS),
            }
        }
        let Retry {
            initial_backoff_ms: initial,
            max_backoff_ms: max,
            ..
        } = retry;
        if initial > max {
            match (initial_at, max_at) {
                (_, Some(Ok(span))) => self.error(
                    span,
                    format!(
                        "`max_backoff_ms` ({max}) in {context} is less than `initial_backoff_ms` \
                         ({initial})"
                    ),
                ),
                (Some(Ok(span)), None) => self.error_with_help(
                    span,
                    format!(
                        "`initial_backoff_ms` ({initial}) in {context} exceeds the default \
                         `max_backoff_ms` ({max})"
                    ),
                    "raise `max_backoff_ms` too, or lower `initial_backoff_ms`",
                ),
                // One of them is invalid and already reported.
                _ => {}
            }
        }
        retry
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// Walks `text`, returning the stages' debug summaries and the messages of all problems.
    fn walk(text: &str) -> (Vec<String>, Vec<String>) {
        let file = SourceFile {
            path: PathBuf::from("pipelines/default/p.toml"),
            text: text.to_owned(),
        };
        let doc = DeTable::parse(&file.text).unwrap();
        let mut diagnostics = Vec::new();
        let stages = stages(&file, doc.get_ref(), &mut diagnostics);
        let summaries = stages
            .iter()
            .map(|stage| format!("{} {}", stage.kind, stage.id))
            .collect();
        let messages = diagnostics.into_iter().map(|d| d.message).collect();
        (summaries, messages)
    }

    #[test]
    fn stages_come_in_file_order() {
        let (stages, problems) = walk(
            "[sinks.b]\nplugin = \"x\"\ninputs = [\"z\"]\n\
             [sources.z]\ntype = \"schedule\"\ninterval_ms = 100\n\
             [sinks.a]\nplugin = \"x\"\ninputs = [\"z\"]\n",
        );
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(stages, ["sink b", "source z", "sink a"]);
    }

    #[test]
    fn reports_every_problem_of_a_stage() {
        let (_, problems) = walk(
            "[processors.p]\nplugin = \"Bad\"\ninputs = [1, \"a\", \"a\"]\nkinds = [\"x\"]\n\
             grants = [\"stat\", \"state\", \"state\"]\nbatch_max_events = 0\n\
             limits = { timeout_ms = \"1\", fuel = 0, memory = 1 }\n",
        );
        assert_eq!(
            problems,
            [
                "invalid plugin id `Bad`: must start with a lowercase letter or a digit \
                 (in processor `p`)",
                "wrong type for an element of `inputs` in processor `p`: expected a string, \
                 found an integer",
                "input `a` listed twice in processor `p`",
                "unknown key `kinds` in processor `p` (expected one of `plugin`, `path`, \
                 `inputs`, `config`, `grants`, `limits`, `batch_max_events`)",
                "unknown grant `stat` for processor `p` (known: `state`, `history`, `inventory`, `redis`, `statsd`, `sql`, `http`)",
                "grant `state` listed twice in processor `p`",
                "`batch_max_events` in processor `p` must be between 1 and 4096, found 0",
                "wrong type for `timeout_ms` in `limits` of processor `p`: expected an integer, \
                 found a string",
                "`fuel` in `limits` of processor `p` must be at least 1, found 0",
                "unknown key `memory` in `limits` of processor `p` (expected one of \
                 `timeout_ms`, `max_memory_bytes`, `fuel`)",
            ]
        );
    }

    #[test]
    fn source_kinds_decide_the_allowed_keys() {
        let (_, problems) = walk(
            "[sources.a]\ntype = \"events\"\nkinds = []\ninterval_ms = 100\n\
             [sources.b]\ntype = \"schedule\"\n\
             [sources.c]\ntype = \"cron\"\n\
             [sources.d]\ntype = \"events\"\nplugin = \"x\"\nkinds = [\"a\"]\n\
             [sources.e]\nconfig = {}\n\
             [sources.f]\npath = \"x.wasm\"\nkinds = [\"a\"]\ninputs = [\"a\"]\n",
        );
        assert_eq!(
            problems,
            [
                "`kinds` in source `a` is empty: the source would never emit anything",
                "unknown key `interval_ms` in source `a` (expected one of `type`, `kinds`)",
                "missing `interval_ms` in source `b`",
                "unknown source type `cron` in source `c` (expected `events` or `schedule`)",
                "source `d` has both `type` and `plugin`",
                "missing `type`, `plugin` or `path` in source `e`",
                "unknown key `kinds` in source `f` (expected one of `plugin`, `path`, \
                 `poll_interval_ms`, `config`, `grants`, `limits`)",
                "source `f` cannot have `inputs`: sources are where events enter the pipeline",
            ]
        );
    }

    #[test]
    fn retry_backoffs_must_be_ordered() {
        let (_, problems) = walk(
            "[sinks.s]\nplugin = \"x\"\ninputs = [\"a\"]\n\
             retry = { initial_backoff_ms = 5000, max_backoff_ms = 1000, tries = 3 }\n",
        );
        assert_eq!(
            problems,
            [
                "unknown key `tries` in `retry` of sink `s` (expected one of `max_attempts`, \
                 `initial_backoff_ms`, `max_backoff_ms`)",
                "`max_backoff_ms` (1000) in `retry` of sink `s` is less than \
                 `initial_backoff_ms` (5000)",
            ]
        );
    }

    #[test]
    fn top_level_must_be_stage_tables() {
        let (stages, problems) = walk("name = \"x\"\nsources = [1]\n[sinks]\nx = 1\n");
        assert!(stages.is_empty());
        assert_eq!(
            problems,
            [
                "unknown key `name` in the pipeline (expected one of `sources`, `processors`, \
                 `sinks`)",
                "wrong type for `sources` in the pipeline: expected a table, found an array",
                "wrong type for sink `x`: expected a table, found an integer",
            ]
        );
    }
}
