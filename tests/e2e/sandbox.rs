//! Misbehaving plugins are stopped at their limits, the engine keeps serving, the next events
//! run in a fresh instance, and other pipelines are not held up.

use std::time::Duration;

use crate::harness::{Scratch, Server, eventually, misbehave_wasm};

fn pipelines(scratch: &Scratch, timeout_ms: u64) {
    let wasm = misbehave_wasm().display().to_string();
    scratch
        .open_org("sandbox")
        .pipeline(
            "sandbox",
            "misbehaving",
            &format!(
                r#"[sources.api]
type = "events"
kinds = ["test.*"]

[processors.misbehave]
path = "{wasm}"
inputs = ["api"]
limits = {{ timeout_ms = {timeout_ms}, max_memory_bytes = 16777216 }}

[sinks.history]
plugin = "history"
inputs = ["misbehave"]
grants = ["history"]
config = {{ stream = "survivors" }}
"#
            ),
        )
        .pipeline(
            "sandbox",
            "bystander",
            r#"[sources.api]
type = "events"
kinds = ["other.*"]

[sinks.history]
plugin = "history"
inputs = ["api"]
grants = ["history"]
config = { stream = "bystander" }
"#,
        );
}

#[tokio::test]
async fn loops_memory_bombs_and_panics_are_contained() {
    let scratch = Scratch::new();
    pipelines(&scratch, 300);
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let post = |kind: &'static str, subject: &'static str| {
        let server = &server;
        async move {
            let body = format!(r#"{{"kind": "{kind}", "subject": "{subject}"}}"#);
            let (status, _, body) = server.post("/v1/orgs/sandbox/events", &body, None).await;
            assert_eq!(status, 202, "{body}");
        }
    };
    for (bad, good) in [
        ("test.loop", "after-loop"),
        ("test.oom", "after-oom"),
        ("test.panic", "after-panic"),
    ] {
        post(bad, "bad").await;
        post("test.ok", good).await;
    }
    let survivors = eventually(Duration::from_secs(60), "the three good events", || async {
        let items = server.history("sandbox", "survivors").await;
        (items.len() >= 3).then_some(items)
    })
    .await;
    let mut subjects: Vec<_> = survivors
        .iter()
        .map(|e| e["subject"].as_str().unwrap().to_owned())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["after-loop", "after-oom", "after-panic"]);

    let labels = r#"org="sandbox",pipeline="misbehaving",stage="misbehave""#;
    assert_eq!(
        server
            .metric(&format!("trackway_events_dead_lettered_total{{{labels}}}"))
            .await,
        3.0
    );
    for (kind, reason) in [
        ("deadline", "deadline"),
        ("memory", "memory"),
        ("trap", "trap"),
    ] {
        let failed = server
            .metric(&format!(
                "trackway_events_failed_total{{{labels},reason=\"{reason}\"}}"
            ))
            .await;
        assert_eq!(failed, 1.0, "failures with reason {reason}");
        let traps = server
            .metric(&format!(
                "trackway_plugin_traps_total{{{labels},plugin=\"{}\",kind=\"{kind}\"}}",
                misbehave_wasm().display()
            ))
            .await;
        assert!(traps >= 1.0, "no trap of kind {kind} counted");
    }
    // Still serving.
    assert_eq!(server.get("/readyz").await.0, 200);
}

/// While one pipeline's plugin spins until its (long) deadline, another pipeline of the same
/// org keeps delivering: the spinning call yields the worker thread at every epoch tick.
#[tokio::test]
async fn a_stuck_plugin_does_not_hold_up_another_pipeline() {
    let scratch = Scratch::new();
    pipelines(&scratch, 20_000);
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let (status, _, _) = server
        .post("/v1/orgs/sandbox/events", r#"{"kind": "test.loop"}"#, None)
        .await;
    assert_eq!(status, 202);
    // Give the executor the loop event first.
    eventually(Duration::from_secs(30), "the loop to start", || async {
        let calls = server
            .metric(r#"trackway_plugin_call_seconds_count{org="sandbox",pipeline="misbehaving",stage="misbehave"}"#)
            .await;
        let text = server.client.get(format!("{}/metrics", server.url)).send().await.ok()?.text().await.ok()?;
        // The loop is running when the log holds it but no call has finished yet.
        (calls == 0.0 && text.contains("trackway_log_last_seq 1")).then_some(())
    })
    .await;
    for i in 0..5 {
        let body = format!(r#"{{"kind": "other.ping", "subject": "ping-{i}"}}"#);
        assert_eq!(
            server.post("/v1/orgs/sandbox/events", &body, None).await.0,
            202
        );
    }
    eventually(
        Duration::from_secs(15),
        "the bystander's events",
        || async { (server.history("sandbox", "bystander").await.len() == 5).then_some(()) },
    )
    .await;
    // The loop is still running: nothing was dead-lettered yet.
    let dead = server
        .metric(r#"trackway_events_dead_lettered_total{org="sandbox",pipeline="misbehaving",stage="misbehave"}"#)
        .await;
    assert_eq!(
        dead, 0.0,
        "the bystander only got through after the loop was stopped"
    );
}
