//! Loading `pipelines/<org>/*.toml`: the config crate parses and compiles each file, and asks
//! [`RuntimeChecker`] about every plugin stage, which loads the plugin, checks its world and
//! imports against the stage's grants, and runs its `init` on the stage's `config`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use trackway_config::{
    ConfigProblem, Diagnostics, OrgId, Pipeline, PluginChecker, PluginRef, StageKind, StageSpec,
};
use trackway_runtime::{Grants, Limits, PluginSource, Runtime, StageContext, World};

/// Every pipeline found, and the diagnostics of the files that failed.
pub struct Loaded {
    /// Orgs: every directory of the pipelines directory, with or without pipelines.
    pub orgs: BTreeSet<String>,
    /// The pipelines that loaded cleanly.
    pub pipelines: Vec<Pipeline>,
    /// One entry per file that did not.
    pub failures: Vec<Diagnostics>,
}

/// The runtime's view of a plugin reference.
pub fn plugin_source(plugin: &PluginRef) -> PluginSource {
    match plugin {
        PluginRef::Bundled(id) => PluginSource::Bundled(id.clone()),
        PluginRef::Path(path) => PluginSource::Path(path.clone()),
    }
}

/// The runtime's view of a stage's grants.
pub fn grants(grants: &trackway_config::Grants) -> Grants {
    grants
        .iter()
        .map(|(capability, targets)| (capability.as_str().to_owned(), targets.clone()))
        .collect()
}

/// The runtime's view of a stage's limits.
pub fn limits(limits: &trackway_config::Limits) -> Limits {
    Limits {
        timeout_ms: limits.timeout_ms,
        max_memory_bytes: limits.max_memory_bytes,
        fuel: limits.fuel,
    }
}

/// The world a stage kind needs.
pub fn world(kind: StageKind) -> World {
    match kind {
        StageKind::Source => World::Source,
        StageKind::Processor => World::Processor,
        StageKind::Sink => World::Sink,
    }
}

/// Checks plugin stages by asking the plugins themselves. Must run outside the async runtime
/// (it blocks on `init`): from a blocking thread with a handle to the runtime.
pub struct RuntimeChecker<'a> {
    runtime: &'a Runtime,
    handle: tokio::runtime::Handle,
    org: String,
}

impl PluginChecker for RuntimeChecker<'_> {
    fn check(&self, stage: &StageSpec<'_>) -> Vec<ConfigProblem> {
        let source = plugin_source(stage.plugin);
        let plugin = match self.runtime.load(&source, false) {
            Ok(plugin) => plugin,
            Err(error) => return vec![ConfigProblem::new("", error.to_string())],
        };
        let grants = grants(stage.grants);
        if let Err(error) = plugin.check_stage(stage.id.as_str(), world(stage.kind), &grants) {
            return vec![ConfigProblem::new("", error.to_string())];
        }
        let context = StageContext {
            org: self.org.clone(),
            pipeline: "validate".into(),
            stage: stage.id.to_string(),
            plugin: source.to_string(),
        };
        let limits = limits(&trackway_config::Limits::default());
        let mut instance =
            self.runtime
                .instance(plugin, context, grants, stage.config.to_string(), limits);
        match self.handle.block_on(instance.check_config()) {
            Ok(None) => Vec::new(),
            Ok(Some(trackway_runtime::PluginError::InvalidConfig(problems))) => problems
                .into_iter()
                .map(|(path, message)| ConfigProblem::new(path, message))
                .collect(),
            Ok(Some(other)) => vec![ConfigProblem::new("", format!("init failed: {other}"))],
            Err(error) => vec![ConfigProblem::new("", format!("init failed: {error}"))],
        }
    }
}

/// Load every pipeline under `dir`; blocking (see [`RuntimeChecker`]).
pub fn load_dir(
    dir: &Path,
    runtime: &Runtime,
    handle: tokio::runtime::Handle,
) -> anyhow::Result<Loaded> {
    let mut orgs = BTreeSet::new();
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("cannot read pipelines directory `{}`", dir.display()))?
    {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.parse::<OrgId>().is_ok() {
                orgs.insert(name);
            }
        }
    }
    let files = trackway_config::discover(dir)?;
    Ok(load_files(orgs, files, runtime, handle))
}

/// Load the given pipeline files (org = parent directory name); blocking.
pub fn load_paths(
    paths: &[PathBuf],
    runtime: &Runtime,
    handle: tokio::runtime::Handle,
) -> anyhow::Result<Loaded> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(trackway_config::discover(path)?);
        } else {
            files.push(trackway_config::read_file(path)?);
        }
    }
    Ok(load_files(BTreeSet::new(), files, runtime, handle))
}

fn load_files(
    mut orgs: BTreeSet<String>,
    files: Vec<(OrgId, trackway_config::SourceFile)>,
    runtime: &Runtime,
    handle: tokio::runtime::Handle,
) -> Loaded {
    let mut pipelines = Vec::new();
    let mut failures = Vec::new();
    for (org, file) in files {
        orgs.insert(org.to_string());
        let checker = RuntimeChecker {
            runtime,
            handle: handle.clone(),
            org: org.to_string(),
        };
        match trackway_config::load(&org, &file, &checker) {
            Ok(pipeline) => pipelines.push(pipeline),
            Err(diagnostics) => failures.push(diagnostics),
        }
    }
    Loaded {
        orgs,
        pipelines,
        failures,
    }
}
