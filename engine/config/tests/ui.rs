//! UI tests: every fixture under `tests/ui/valid/` must load, every one under `tests/ui/invalid/`
//! must fail, and what each produces (the compiled pipeline, or the rendered diagnostics) is
//! snapshotted next to it as `<name>.snap`. Also loads the repository's own `pipelines/`.
//!
//! Review changed snapshots with `cargo insta review`, or accept them with
//! `INSTA_UPDATE=always cargo test -p trackway-config`.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use trackway_config::{
    ConfigProblem, NoPluginCheck, OrgId, PluginChecker, PluginRef, SourceFile, StageSpec, discover,
    load,
};

/// Stands in for the runtime, which asks the plugin itself: a `semver` plugin that wants
/// `{ field, policy = { range } }` and a `history` plugin that wants `{ stream, rules = [{ name }] }`
/// (or no config at all), each reporting problems with serde-style paths.
struct FakeChecker;

impl PluginChecker for FakeChecker {
    fn check(&self, stage: &StageSpec<'_>) -> Vec<ConfigProblem> {
        let PluginRef::Bundled(plugin) = stage.plugin else {
            return Vec::new();
        };
        let config = stage.config.as_object().expect("config is always a table");
        let mut problems = Vec::new();
        match plugin.as_str() {
            "semver" => {
                if !config.contains_key("field") {
                    problems.push(ConfigProblem::new("", "missing field `field`"));
                }
                for key in config
                    .keys()
                    .filter(|k| !["field", "policy"].contains(&k.as_str()))
                {
                    problems.push(ConfigProblem::new(
                        key.as_str(),
                        format!("unknown field `{key}`, expected `field` or `policy`"),
                    ));
                }
                if let Some(policy) = config.get("policy").and_then(Value::as_object) {
                    match policy.get("range").and_then(Value::as_str) {
                        None => problems
                            .push(ConfigProblem::new("policy.range", "missing field `range`")),
                        Some(range) if !range.starts_with(['^', '~', '=']) => {
                            problems.push(ConfigProblem::new(
                                "policy.range",
                                format!("invalid version range `{range}`: expected `^`, `~` or `=` and a version"),
                            ));
                        }
                        Some(_) => {}
                    }
                    for key in policy.keys().filter(|k| k.as_str() != "range") {
                        problems.push(ConfigProblem::new(
                            format!("policy.{key}"),
                            format!("unknown field `{key}`, expected `range`"),
                        ));
                    }
                }
            }
            "history" => {
                if !config.is_empty() && !config.contains_key("stream") {
                    problems.push(ConfigProblem::new("stream", "missing field `stream`"));
                }
                let rules = config.get("rules").and_then(Value::as_array);
                for (index, rule) in rules.into_iter().flatten().enumerate() {
                    if rule.get("name").and_then(Value::as_str) == Some("") {
                        problems.push(ConfigProblem::new(
                            format!("rules[{index}].name"),
                            "must not be empty",
                        ));
                    }
                }
            }
            _ => {}
        }
        problems
    }
}

/// The `.toml` fixtures in `dir`, sorted, as paths relative to the crate (so that rendered
/// diagnostics do not depend on where the repository is checked out).
fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("cannot read {dir}: {err}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no fixtures in {dir}");
    paths
}

fn snapshot_name(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

fn org() -> OrgId {
    "default".parse().unwrap()
}

#[test]
fn valid_fixtures_load() {
    for path in fixtures("tests/ui/valid") {
        let file = SourceFile::read(&path).unwrap();
        assert!(
            file.text.starts_with('#'),
            "{}: start with a comment",
            path.display()
        );
        let pipeline = match load(&org(), &file, &FakeChecker) {
            Ok(pipeline) => pipeline,
            Err(diagnostics) => panic!("{} should load:\n{diagnostics}", path.display()),
        };
        insta::with_settings!({
            snapshot_path => "ui/valid",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_debug_snapshot!(snapshot_name(&path), pipeline);
        });
    }
}

#[test]
fn invalid_fixtures_report_every_problem() {
    for path in fixtures("tests/ui/invalid") {
        let file = SourceFile::read(&path).unwrap();
        assert!(
            file.text.starts_with('#'),
            "{}: start with a comment",
            path.display()
        );
        let Err(diagnostics) = load(&org(), &file, &FakeChecker) else {
            panic!("{} should not load", path.display());
        };
        insta::with_settings!({
            snapshot_path => "ui/invalid",
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(snapshot_name(&path), diagnostics.to_string());
        });
    }
}

#[test]
fn three_errors_are_reported_together_with_positions() {
    let file = SourceFile::read(Path::new("tests/ui/invalid/three_errors.toml")).unwrap();
    let diagnostics = load(&org(), &file, &NoPluginCheck).unwrap_err();
    let found: Vec<(usize, usize, &str)> = diagnostics
        .iter()
        .map(|d| (d.line, d.column, d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (
                6,
                1,
                "unknown key `intervall_ms` in source `api` (expected one of `type`, `kinds`)"
            ),
            (
                10,
                18,
                "stage inputs form a cycle: semver -> gate -> semver"
            ),
            (19, 19, "unknown input `semvr` for stage `history`"),
        ]
    );
}

/// Every pipeline shipped in the repository's `pipelines/` must validate.
#[test]
fn repository_pipelines_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines");
    let found = discover(&dir).unwrap();
    assert!(!found.is_empty(), "no pipelines in {}", dir.display());
    for (org, file) in found {
        assert!(
            file.text.starts_with('#'),
            "{} must start with a comment saying what it shows and how to run it",
            file.path.display()
        );
        if let Err(diagnostics) = load(&org, &file, &NoPluginCheck) {
            panic!("{diagnostics}");
        }
    }
}
