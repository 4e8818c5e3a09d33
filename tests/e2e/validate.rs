//! `trackway validate`.

use crate::harness::{Scratch, root, validate};

#[test]
fn the_example_pipelines_are_valid() {
    let (ok, stdout, stderr) = validate(&[&root().join("pipelines")]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("valid"), "{stdout}");
}

/// Three different errors (an unknown key, an unknown input, a plugin config error found by the
/// plugin itself) are all reported, each with its line and column, and the exit code says so.
#[test]
fn every_error_is_reported_with_its_position() {
    let scratch = Scratch::new();
    scratch.pipeline(
        "default",
        "broken",
        r#"[sources.api]
type = "events"
kinds = ["version.*"]
colour = "blue"

[processors.semver]
plugin = "semver"
inputs = ["api"]
grants = ["state"]
config = { field = "version", allow_v_prefx = true }

[sinks.history]
plugin = "history"
inputs = ["semvr"]
grants = ["history"]
config = { stream = "versions" }
"#,
    );
    let file = scratch.pipelines().join("default/broken.toml");
    let (ok, _, stderr) = validate(&[&file]);
    assert!(!ok, "validate accepted a broken file");
    for (what, position) in [
        ("colour", "broken.toml:4:1"),
        ("semvr", "broken.toml:14:11"),
        ("allow_v_prefx", "broken.toml:10:"),
    ] {
        let line = stderr
            .lines()
            .position(|l| l.contains(what) && l.starts_with("error"))
            .unwrap_or_else(|| panic!("no error about `{what}` in:\n{stderr}"));
        let location = stderr.lines().nth(line + 1).unwrap_or_default();
        assert!(
            location.contains(position),
            "`{what}` reported at `{location}`, expected {position}:\n{stderr}"
        );
    }
    assert!(stderr.contains('^'), "no caret in:\n{stderr}");
}

/// A plugin that imports a capability its stage was not granted is refused, naming both.
#[test]
fn a_missing_grant_names_the_capability_and_the_stage() {
    let scratch = Scratch::new();
    scratch.pipeline(
        "default",
        "ungranted",
        r#"[sources.api]
type = "events"
kinds = ["version.*"]

[sinks.history]
plugin = "history"
inputs = ["api"]
config = { stream = "versions" }
"#,
    );
    let (ok, _, stderr) = validate(&[&scratch.pipelines()]);
    assert!(!ok);
    assert!(
        stderr.contains("capability `history`") && stderr.contains("stage `history`"),
        "{stderr}"
    );
}

/// A stage whose plugin imports a capability the stage was not granted fails validation with a
/// message naming the stage and the capability; a target the plugin's config names but the
/// grant does not is reported at the config key.
#[test]
fn capabilities_must_be_granted_with_the_targets_the_plugin_uses() {
    let scratch = Scratch::new();
    scratch.pipeline(
        "default",
        "ungranted",
        r#"# A Logstash sink without its grant, and one granted another server.
[sources.api]
type = "events"
kinds = ["deployment.*"]

[sinks.logstash]
plugin = "redis-logstash"
inputs = ["api"]

[sinks.elsewhere]
plugin = "redis-logstash"
inputs = ["api"]
config = { host = "10.0.0.9" }
grants = [{ redis = "redis://127.0.0.1:6379" }]
"#,
    );
    let file = scratch.pipelines().join("default/ungranted.toml");
    let (ok, _, stderr) = validate(&[&file]);
    assert!(!ok, "validate accepted an ungranted capability");
    assert!(
        stderr.contains("stage `logstash`") && stderr.contains("capability `redis`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("redis://10.0.0.9:6379/0") && stderr.contains("not granted"),
        "{stderr}"
    );
}
