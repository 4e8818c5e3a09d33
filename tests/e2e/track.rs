//! `trackway track` and `trackway tasks`, the seed CLI's `API_KEY='...' tracker track $TASK`:
//! the real binary against a real server, with the key and URL from the environment; its
//! messages and exit codes when the task, the key or the server is wrong.

use std::process::{Command, Output};

use serde_json::Value;

use crate::harness::{Scratch, Server, root};

/// Run `trackway args...` with `TRACKWAY_URL=url` and, if given, `API_KEY=key`.
fn trackway(url: &str, key: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trackway"));
    command
        .args(args)
        .env("TRACKWAY_URL", url)
        .env_remove("API_KEY");
    if let Some(key) = key {
        command.env("API_KEY", key);
    }
    command.output().expect("running trackway")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).trim().to_owned()
}

/// An org `acme` (keys required, with the example `tasks` pipeline) and a write key for it.
fn acme(scratch: &Scratch) -> String {
    let pipelines = scratch.pipelines();
    let data = scratch.data();
    let setup = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_trackway"))
            .args(args)
            .output()
            .expect("running trackway");
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    setup(&[
        "orgs",
        "create",
        "acme",
        "--pipelines",
        pipelines.to_str().unwrap(),
    ]);
    std::fs::copy(
        root().join("pipelines/default/tasks.toml"),
        pipelines.join("acme/tasks.toml"),
    )
    .unwrap();
    setup(&[
        "keys",
        "create",
        "--org",
        "acme",
        "--scope",
        "write",
        "--data-dir",
        data.to_str().unwrap(),
    ])
}

#[tokio::test]
async fn track_acks_by_name_and_id_and_fails_readably() {
    let scratch = Scratch::new();
    scratch.examples();
    let key = acme(&scratch);
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let url = server.url.clone();
    let url = url.as_str();

    // By name: the first run creates the task; stdout is the ack id alone.
    let output = trackway(url, Some(&key), &["track", "nightly-backup"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let ack: u64 = stdout(&output).parse().expect("an ack id on stdout");

    let tasks: Value = server
        .client
        .get(format!("{url}/api/tasks"))
        .header("x-api-key", &key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let tasks = tasks["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0]["name"], "nightly-backup");
    assert_eq!(tasks[0]["count"], 1, "{tasks:?}");
    let id = tasks[0]["id"].as_u64().unwrap();

    // By id (digits only), through `--api-key` this time.
    let output = Command::new(env!("CARGO_BIN_EXE_trackway"))
        .args(["track", &id.to_string(), "--url", url, "--api-key", &key])
        .env_remove("API_KEY")
        .env_remove("TRACKWAY_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).parse::<u64>().unwrap() > ack);

    // The task is acme's: the open `default` org (no key) does not see it.
    let output = trackway(url, None, &["tasks", "list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stdout(&output).contains("nightly-backup"));

    // `tasks list`: a header and the task's row.
    let output = trackway(url, Some(&key), &["tasks", "list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let list = stdout(&output);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("LAST BACKUP"));
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &row[..4],
        [&id.to_string(), "nightly-backup", "INSUFFICIENT", "2/7"]
    );

    // `tasks status`, by name and by id: the same task with its two acks.
    for task in ["nightly-backup".to_owned(), id.to_string()] {
        let output = trackway(url, Some(&key), &["tasks", "status", &task]);
        assert!(output.status.success(), "{}", stderr(&output));
        let text = stdout(&output);
        assert!(
            text.contains("nightly-backup") && text.contains("acks         2"),
            "{text}"
        );
    }
    let output = trackway(url, Some(&key), &["tasks", "status", "weekly"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: no task named `weekly` (see `trackway tasks list`)"
    );

    // An unknown id: refused (2), with the server's reason on one line.
    let output = trackway(url, Some(&key), &["track", "42"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        stderr(&output),
        "error: trackway answered 404 not_found: no task with id 42"
    );

    // A wrong key: refused, readably.
    let output = trackway(url, Some("tw_not-a-key"), &["track", "nightly-backup"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        stderr(&output),
        "error: trackway answered 401 unauthorized: invalid API key"
    );
    assert!(output.stdout.is_empty());

    // An invalid `--at` is the server's 422, naming the field.
    let output = trackway(url, Some(&key), &["tasks", "list", "--at", "yesterday"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: trackway answered 422 invalid_field: field `at`"),
        "{}",
        stderr(&output)
    );

    // The count did not move through all of this.
    let output = trackway(url, Some(&key), &["tasks", "status", &id.to_string()]);
    assert!(
        stdout(&output).contains("count        2/7"),
        "{}",
        stdout(&output)
    );
    server.stop();

    // No server: unreachable (1), saying where it looked.
    let output = trackway(url, Some(&key), &["track", "nightly-backup"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.starts_with(&format!("error: cannot reach trackway at {url}: ")),
        "{message}"
    );
    assert_eq!(message.lines().count(), 1, "{message}");
}
