//! Scheduled-job tracking through the HTTP API alone, with backfilled ack times and `at=`
//! evaluation: the seed README's table (`daily` mode), the seed implementation's boundaries
//! (`rolling` mode), and the API's answers and errors.

use serde_json::{Value, json};

use crate::harness::{Scratch, Server};

fn server() -> (Scratch, Server) {
    let scratch = Scratch::new();
    scratch.examples();
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    (scratch, server)
}

async fn post(server: &Server, path: &str, body: Value) -> (u16, Value) {
    let (status, _, body) = server.post(path, &body.to_string(), None).await;
    (status, body)
}

/// Create a task and ack it at each of `acks` (RFC 3339); returns its id.
async fn task(server: &Server, spec: Value, acks: &[&str]) -> u64 {
    let (status, body) = post(server, "/api/tasks", spec).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_u64().unwrap();
    for time in acks {
        let (status, body) = post(
            server,
            &format!("/api/tasks/{id}/jobs"),
            json!({ "time": time }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    id
}

async fn status(server: &Server, id: u64, at: &str) -> Value {
    let (code, body) = server.get(&format!("/api/tasks/{id}?at={at}")).await;
    assert_eq!(code, 200, "{body}");
    body
}

#[tokio::test]
async fn the_seed_readme_table_in_daily_mode() {
    let (_scratch, server) = server();
    // Evaluated on 2026-11-20 at noon UTC; no ack yet today, so the window is the 5 days
    // ending yesterday (15th to 19th).
    let at = "2026-11-20T12:00:00Z";
    let created = "2026-11-01T00:00:00Z";
    let rows = [
        (
            "xxxxx",
            0,
            created,
            vec!["15", "16", "17", "18", "19"],
            "OK",
        ),
        ("_xxx_", 2, created, vec!["16", "17", "18"], "OK"),
        (
            "xxx (3 days old)",
            0,
            "2026-11-17T00:30:00Z",
            vec!["17", "18", "19"],
            "INSUFFICIENT",
        ),
        ("xxx__", 1, created, vec!["15", "16", "17"], "ERROR"),
    ];
    for (name, tolerance, created, days, expected) in rows {
        let acks: Vec<String> = days
            .iter()
            .map(|d| format!("2026-11-{d}T03:00:00Z"))
            .collect();
        let acks: Vec<&str> = acks.iter().map(String::as_str).collect();
        let spec = json!({"name": name, "datapoints": 5, "tolerance": tolerance, "mode": "daily", "created": created});
        let id = task(&server, spec, &acks).await;
        let body = status(&server, id, at).await;
        assert_eq!(body["status"], expected, "row `{name}`: {body}");
    }
}

#[tokio::test]
async fn the_seed_implementation_boundaries_in_rolling_mode() {
    let (_scratch, server) = server();
    let at = "2026-11-20T12:00:00Z";
    // Window (at - 3 days, at]: an ack exactly 3 days old does not count.
    let id = task(
        &server,
        json!({"name": "edge", "datapoints": 3, "tolerance": 0, "created": "2026-11-01T00:00:00Z"}),
        &[
            "2026-11-17T12:00:00Z",
            "2026-11-18T12:00:00Z",
            "2026-11-19T12:00:00Z",
        ],
    )
    .await;
    let body = status(&server, id, at).await;
    assert_eq!(
        (
            body["status"].as_str(),
            body["count"].as_u64(),
            body["expected"].as_u64()
        ),
        (Some("ERROR"), Some(2), Some(3)),
        "{body}"
    );
    // One millisecond inside the window, it counts.
    post(
        &server,
        &format!("/api/tasks/{id}/jobs"),
        json!({"time": "2026-11-17T12:00:00.001Z"}),
    )
    .await;
    assert_eq!(status(&server, id, at).await["status"], "OK");
    // The same question about an earlier moment gets the answer of that moment.
    assert_eq!(
        status(&server, id, "2026-11-18T11:00:00Z").await["count"],
        2
    );

    // Readiness: a task exactly `datapoints` days old is ready (ERROR without acks); a second
    // younger, it is INSUFFICIENT.
    let ready = task(&server, json!({"name": "ready", "datapoints": 3, "tolerance": 0, "created": "2026-11-17T12:00:00Z"}), &[]).await;
    let young = task(&server, json!({"name": "young", "datapoints": 3, "tolerance": 0, "created": "2026-11-17T12:00:01Z"}), &[]).await;
    let r = status(&server, ready, at).await;
    assert_eq!(
        (r["status"].as_str(), r["isReady"].as_bool()),
        (Some("ERROR"), Some(true)),
        "{r}"
    );
    let y = status(&server, young, at).await;
    assert_eq!(
        (y["status"].as_str(), y["isReady"].as_bool()),
        (Some("INSUFFICIENT"), Some(false)),
        "{y}"
    );
}

#[tokio::test]
async fn task_routes_answer_and_refuse_as_the_seed_did() {
    let (_scratch, server) = server();
    let spec = json!({"name": "db", "datapoints": 2, "tolerance": 0});
    assert_eq!(post(&server, "/api/tasks", spec.clone()).await.0, 201);
    let (status, body) = post(&server, "/api/tasks", spec).await;
    assert_eq!(status, 409, "{body}");
    for (bad, field) in [
        (
            json!({"name": "x", "datapoints": 0, "tolerance": 0}),
            "datapoints",
        ),
        (
            json!({"name": "x", "datapoints": 3, "tolerance": -1}),
            "tolerance",
        ),
        (
            json!({"name": "x", "datapoints": 3, "tolerance": 0, "created": "2999-01-01T00:00:00Z"}),
            "created",
        ),
        (
            json!({"name": "x", "datapoints": 3, "tolerance": 0, "mode": "weekly"}),
            "mode",
        ),
    ] {
        let (status, body) = post(&server, "/api/tasks", bad.clone()).await;
        assert_eq!(status, 422, "{bad} -> {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(field),
            "{bad} -> {body}"
        );
    }
    // Ack by name creates the task with the seed's defaults.
    let (status, body) = post(&server, "/api/backups", json!({"taskName": "nightly"})).await;
    assert_eq!(status, 201, "{body}");
    assert!(body["id"].is_u64());
    assert_eq!(
        post(&server, "/api/backups", json!({"taskName": "nightly"}))
            .await
            .0,
        201
    );
    assert_eq!(post(&server, "/api/tasks/999/jobs", json!({})).await.0, 404);
    assert_eq!(
        post(
            &server,
            "/api/backups",
            json!({"taskName": "nightly", "time": "2999-01-01T00:00:00Z"})
        )
        .await
        .0,
        422
    );

    let (_, list) = server.get("/api/tasks").await;
    let nightly = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "nightly")
        .unwrap()
        .clone();
    assert_eq!(
        (
            nightly["datapoints"].as_u64(),
            nightly["tolerance"].as_u64()
        ),
        (Some(7), Some(0))
    );
    assert_eq!(nightly["count"], 2);
    let (_, detail) = server.get(&format!("/api/tasks/{}", nightly["id"])).await;
    assert_eq!(detail["acks"].as_array().unwrap().len(), 2);

    let (status, report) = post(&server, "/api/reports", json!({"notify": "ON_ERROR"})).await;
    assert_eq!(status, 200, "{report}");
    assert!(report["time"].is_string());
    assert!(["OK", "ERROR"].contains(&report["status"].as_str().unwrap()));
    for task in report["tasks"].as_array().unwrap() {
        for field in [
            "name",
            "status",
            "count",
            "expected",
            "isReady",
            "lastBackup",
        ] {
            assert!(task.get(field).is_some(), "{field} missing in {task}");
        }
    }
    assert_eq!(
        post(&server, "/api/reports", json!({"notify": "SOMETIMES"}))
            .await
            .0,
        422
    );
    assert_eq!(server.get("/healthz/ready").await.0, 200);
    // A malformed id or query parameter is answered in the API's error shape too.
    let (status, body) = server.get("/api/tasks/abc").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request"))
    );
    let (status, body) = server.get("/api/tasks?at=a&at=b").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_field"))
    );
}

/// A job that stops reporting turns ERROR through the scheduled re-evaluation alone, and back to
/// OK when it reports again: one `task.status.changed` event per change, not per evaluation.
#[tokio::test]
async fn the_scheduler_records_each_status_change_once() {
    let scratch = Scratch::new();
    scratch.examples();
    let server = Server::start_with(
        &scratch.pipelines(),
        &scratch.data(),
        &["--task-interval-ms=200"],
    );
    let spec = json!({"name": "heartbeat", "datapoints": 1, "tolerance": 0, "mode": "heartbeat",
                      "heartbeat": {"period_seconds": 1, "grace_seconds": 1}});
    let id = task(&server, spec, &[]).await;
    post(&server, &format!("/api/tasks/{id}/jobs"), json!({})).await;
    let changes = |wanted: usize| {
        let server = &server;
        async move {
            crate::harness::eventually(
                std::time::Duration::from_secs(30),
                "status changes",
                || async {
                    let items = server.history("default", "task-status").await;
                    let changes: Vec<(Value, Value)> = items
                        .iter()
                        .rev()
                        .filter(|e| e["kind"] == "task.status.changed")
                        .map(|e| (e["payload"]["from"].clone(), e["payload"]["to"].clone()))
                        .collect();
                    (changes.len() >= wanted).then_some(changes)
                },
            )
            .await
        }
    };
    // OK while it reports, then ERROR once the period and grace have passed without an ack.
    let seen = changes(2).await;
    assert_eq!(
        seen[..2],
        [(Value::Null, json!("OK")), (json!("OK"), json!("ERROR"))]
    );
    // Recovery on the next ack.
    post(&server, &format!("/api/tasks/{id}/jobs"), json!({})).await;
    let seen = changes(3).await;
    assert_eq!(seen[2], (json!("ERROR"), json!("OK")));
    // Several more evaluations while healthy add nothing. A canary task that turns ERROR a
    // second after its ack shows when they have happened (the scheduler runs every 200 ms),
    // without sleeping for a guessed time.
    let spec = json!({"name": "canary", "datapoints": 1, "tolerance": 0, "mode": "heartbeat",
                      "heartbeat": {"period_seconds": 1, "grace_seconds": 0}});
    let canary = task(&server, spec, &[]).await;
    post(&server, &format!("/api/tasks/{id}/jobs"), json!({})).await;
    post(&server, &format!("/api/tasks/{canary}/jobs"), json!({})).await;
    let all = crate::harness::eventually(
        std::time::Duration::from_secs(30),
        "the canary's ERROR",
        || async {
            let items = server.history("default", "task-status").await;
            items
                .iter()
                .any(|e| e["payload"]["name"] == "canary" && e["payload"]["to"] == "ERROR")
                .then_some(items)
        },
    )
    .await;
    assert_eq!(
        all.iter()
            .filter(|e| e["kind"] == "task.status.changed" && e["payload"]["name"] == "heartbeat")
            .count(),
        3,
        "{all:?}"
    );
}
