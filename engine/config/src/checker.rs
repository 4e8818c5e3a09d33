//! [`PluginChecker`]: how a caller validates each plugin stage's `config` table.
//!
//! This crate cannot run plugins (it must build without wasmtime), yet `config` problems should
//! be reported with the rest, at the offending key. So [`load`](crate::load) hands each plugin
//! stage to a caller-provided checker (the runtime asks the plugin itself) and maps the
//! [`ConfigProblem`]s it returns back to spans in the file. [`NoPluginCheck`] skips this, for
//! schema-only validation.

use crate::capability::Grants;
use crate::id::StageId;
use crate::pipeline::{PluginRef, StageKind};

/// A plugin stage as the [`PluginChecker`] sees it.
#[derive(Clone, Copy, Debug)]
pub struct StageSpec<'a> {
    /// The stage id.
    pub id: &'a StageId,
    /// Source, processor or sink: which world the plugin must export.
    pub kind: StageKind,
    /// The component to run.
    pub plugin: &'a PluginRef,
    /// The stage's `config` table as JSON (`{}` when absent).
    pub config: &'a serde_json::Value,
    /// The stage's `grants`, with their targets.
    pub grants: &'a Grants,
}

/// One problem with a stage's `config`, as reported by a plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Where in `config` the problem is, as dotted keys with `[n]` (or `.n`) for array indexes:
    /// `policy.range`, `rules[0].name`. Empty for the config as a whole.
    pub path: String,
    /// What is wrong, e.g. ``unknown field `rnage`, expected `range` ``.
    pub message: String,
}

impl ConfigProblem {
    /// A problem at `path` (empty for the whole config).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Validates the `config` of plugin stages; called by [`load`](crate::load) once per plugin
/// stage whose schema is otherwise valid.
pub trait PluginChecker {
    /// The problems with `stage`'s config (and anything else the plugin objects to, such as a
    /// missing grant); empty if it is fine. A plugin that cannot be found or does not export the
    /// right world is reported here too, with an empty path.
    fn check(&self, stage: &StageSpec<'_>) -> Vec<ConfigProblem>;
}

/// A [`PluginChecker`] that accepts every config: validates the pipeline schema and graph only.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoPluginCheck;

impl PluginChecker for NoPluginCheck {
    fn check(&self, _stage: &StageSpec<'_>) -> Vec<ConfigProblem> {
        Vec::new()
    }
}
