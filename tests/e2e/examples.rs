//! The examples under `examples/`: the custom plugin (`examples/custom-plugin`) builds as a
//! plugin author builds it, its example pipeline validates, a bad config is reported by the
//! plugin at its place in the file, and a server running the pipeline annotates the deployments
//! it accepts and dead-letters the ones it rejects, with the plugin's message.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Scratch, Server, build_plugin, eventually, root, validate};

/// The example pipeline's `path`, relative to its directory (the artifact of a plain
/// `cargo build --release` in examples/custom-plugin).
const EXAMPLE_PATH: &str = r#"path = "../../target/wasm32-wasip2/release/plugin_ownership.wasm""#;

/// The `ownership` example plugin, built once per test run (into `target/plugins`, next to the
/// bundled plugins, rather than into examples/custom-plugin/target).
fn ownership_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_plugin("examples/custom-plugin", "plugin_ownership"))
}

/// The example pipeline as written, with its `path` made absolute (to the test's build) so that
/// it can live in a scratch directory.
fn example_pipeline() -> String {
    let file = root().join("examples/custom-plugin/pipelines/default/ownership.toml");
    let text = std::fs::read_to_string(&file).expect("reading the example pipeline");
    assert!(
        text.contains(EXAMPLE_PATH),
        "{} no longer says {EXAMPLE_PATH}",
        file.display()
    );
    let path = format!("path = {:?}", ownership_wasm().display().to_string());
    text.replace(EXAMPLE_PATH, &path)
}

/// A scratch pipelines directory with `toml` as `default/ownership.toml`, `default` open.
fn scratch(toml: &str) -> Scratch {
    let scratch = Scratch::new();
    scratch
        .open_org("default")
        .pipeline("default", "ownership", toml);
    scratch
}

#[test]
fn the_custom_plugin_pipeline_is_valid() {
    let scratch = scratch(&example_pipeline());
    let (ok, stdout, stderr) = validate(&[&scratch.pipelines()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1 pipeline(s) valid"), "{stdout}");
}

/// The plugin's own `init` rejects the config, and every problem it names is shown at the
/// line and column of the offending value.
#[test]
fn a_bad_custom_plugin_config_is_reported_with_its_path() {
    let good = example_pipeline();
    let required = r#"required = ["environment", "package", "version"]"#;
    let team = r#"api = "platform""#;
    assert!(good.contains(required) && good.contains(team), "{good}");
    let bad = good
        .replace(required, r#"required = ["environment", "", "version"]"#)
        .replace(team, r#"api = """#);
    let line_of = |text: &str| {
        1 + bad
            .lines()
            .position(|line| line.starts_with(text))
            .expect("the edited line")
    };
    let scratch = scratch(&bad);
    let (ok, _, stderr) = validate(&[&scratch.pipelines()]);
    assert!(!ok, "validate accepted a bad config:\n{stderr}");
    for (path, message, position) in [
        (
            "config.required[1]",
            "must not be empty",
            format!("ownership.toml:{}:28", line_of("required =")),
        ),
        (
            "config.teams.api",
            "must not be empty",
            format!("ownership.toml:{}:1", line_of("api =")),
        ),
    ] {
        let line = stderr
            .lines()
            .position(|l| l.starts_with("error") && l.contains(&format!("`{path}`")))
            .unwrap_or_else(|| panic!("no error about `{path}` in:\n{stderr}"));
        let error = stderr.lines().nth(line).unwrap_or_default();
        assert!(
            error.contains("processor `ownership`") && error.contains(message),
            "{error}"
        );
        let location = stderr.lines().nth(line + 1).unwrap_or_default();
        assert!(
            location.contains(&position),
            "`{path}` reported at `{location}`, expected {position}:\n{stderr}"
        );
    }
}

/// Deployments posted to the deployment API go through the plugin: the complete one reaches the
/// history stream with its team, the incomplete and the unowned ones land in the dead-letter
/// queue with the plugin's messages.
#[tokio::test(flavor = "multi_thread")]
async fn the_custom_plugin_tags_owned_deployments_and_dead_letters_the_rest() {
    let scratch = scratch(&example_pipeline());
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    for (id, body) in [
        (
            "d-1",
            r#"{"environment": "prod", "package": "billing", "version": "1.4.0"}"#,
        ),
        ("d-2", r#"{"environment": "prod", "package": "billing"}"#),
        (
            "d-3",
            r#"{"environment": "prod", "package": "ledger", "version": "0.3.1"}"#,
        ),
    ] {
        let (status, _, body) = server
            .post(&format!("/v1/deployments/{id}"), body, None)
            .await;
        assert_eq!(status, 201, "{body}");
    }

    let letters = eventually(Duration::from_secs(30), "2 dead letters", || async {
        let (_, body) = server.get("/v1/orgs/default/dlq").await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= 2).then_some(items)
    })
    .await;
    let by_subject = |subject: &str| -> &Value {
        letters
            .iter()
            .find(|letter| letter["event"]["subject"] == subject)
            .unwrap_or_else(|| panic!("no dead letter of `{subject}` in {letters:?}"))
    };
    for (subject, fragments) in [
        (
            "d-2",
            ["lacks required field `version`", "payload of event `"],
        ),
        (
            "d-3",
            [
                "package `ledger` of event `",
                "has no team: map it in `teams`",
            ],
        ),
    ] {
        let letter = by_subject(subject);
        assert_eq!(
            (letter["pipeline"].as_str(), letter["stage"].as_str()),
            (Some("ownership"), Some("ownership")),
            "{letter}"
        );
        let error = letter["error"].as_str().expect("an error");
        for fragment in fragments {
            assert!(error.contains(fragment), "`{fragment}` not in `{error}`");
        }
    }
    assert_eq!(letters.len(), 2, "only d-2 and d-3 fail: {letters:?}");

    let history = eventually(Duration::from_secs(30), "d-1 in history", || async {
        let items = server.history("default", "owned-deployments").await;
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(history.len(), 1, "{history:?}");
    let owned = &history[0];
    assert_eq!(
        (
            owned["kind"].as_str(),
            owned["subject"].as_str(),
            owned["attributes"]["team"].as_str(),
            owned["payload"]["version"].as_str(),
        ),
        (
            Some("deployment.started"),
            Some("d-1"),
            Some("payments"),
            Some("1.4.0")
        ),
        "{owned}"
    );
}
