//! Pipeline configuration for trackway: the TOML schema of `pipelines/<org>/<name>.toml` and its
//! two-phase validation.
//!
//! 1. **Parse** strictly, keeping the span of every key and value, and walk the document by hand
//!    so that every unknown key, wrong type, missing field and out-of-range number is reported,
//!    not just the first.
//! 2. **Compile** the stages into a validated graph: unique ids, known inputs, no sink used as an
//!    input, no cycles, no stage that feeds nothing, and each plugin stage's `config` checked by
//!    a caller-provided [`PluginChecker`] (the plugin itself, in the runtime).
//!
//! Every problem becomes a [`Diagnostic`] with file, line, column and a rustc-style snippet; a
//! load reports all of them at once as [`Diagnostics`]. The result of a clean load is a
//! [`Pipeline`] whose stages are in a stable topological order.
//!
//! ```
//! use trackway_config::{NoPluginCheck, SourceFile, load};
//!
//! let file = SourceFile {
//!     path: "pipelines/default/versions.toml".into(),
//!     text: r#"
//! [sources.api]
//! type = "events"
//! kinds = ["version.*"]
//!
//! [sinks.history]
//! plugin = "history"
//! inputs = ["api"]
//! grants = ["history"]
//! "#
//!     .into(),
//! };
//! let pipeline = load(&"default".parse()?, &file, &NoPluginCheck)?;
//! assert_eq!(pipeline.sinks[0].inputs[0].as_str(), "api");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! This crate does not run anything: it builds without tokio and wasmtime, so that
//! `trackway validate` and these tests stay fast.
//!
//! # Layout
//!
//! - `source`: finding and reading pipeline files ([`discover`], [`read_file`], [`SourceFile`]).
//! - `parse`: phase 1, the strict walk of one TOML document into raw stages.
//! - `compile`: phase 2, the graph checks, the plugin checks and [`load`].
//! - `pipeline`: the compiled types ([`Pipeline`], [`Source`], [`Stage`], ...) and the schema's
//!   documentation.
//! - `checker`: the [`PluginChecker`] hook for plugin configs.
//! - `plugin_config`: a stage's `config` table as JSON, and problem paths back to spans.
//! - `id`: the validated identifiers [`OrgId`], [`PipelineName`], [`StageId`].
//! - `capability`: [`Capability`], what `grants` may name, and [`Grants`], what a stage got.
//! - `kind_pattern`: [`KindPattern`], the globs of an `events` source.
//! - `diagnostic`: [`Diagnostic`], [`Diagnostics`] and their rendering.
//! - `error`: errors outside a pipeline file ([`Error`], ...).

mod capability;
mod checker;
mod compile;
mod diagnostic;
mod error;
mod id;
mod kind_pattern;
mod parse;
mod pipeline;
mod plugin_config;
mod source;

pub use capability::{Capability, Grants};
pub use checker::{ConfigProblem, NoPluginCheck, PluginChecker, StageSpec};
pub use compile::load;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use error::{Error, IdError, KindPatternError, UnknownCapability};
pub use id::{OrgId, PipelineName, StageId};
pub use kind_pattern::KindPattern;
pub use pipeline::{Limits, Pipeline, PluginRef, Retry, Source, SourceKind, Stage, StageKind};
pub use source::{SourceFile, discover, read_file};
