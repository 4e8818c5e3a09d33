//! Notifications: the `webhook` sink against a real HTTP receiver on a free loopback port. The
//! example `notifications.toml` alerts once when a task turns ERROR through the scheduler alone
//! and once when it recovers, and for nothing else; a receiver that answers 5xx gets the message
//! again after a backoff; a URL whose host is not granted is refused before any connection and
//! dead-lettered.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};

use crate::harness::{Scratch, Server, eventually};

const WAIT: Duration = Duration::from_secs(30);

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    method: String,
    path: String,
    headers: HeaderMap,
    /// The body as JSON (`Value::String` of the text if it is not JSON).
    body: Value,
    /// The status it was answered.
    status: u16,
}

impl Received {
    /// The Slack message's `text`, after checking that the body is exactly `{"text": ...}`.
    fn slack_text(&self) -> &str {
        let fields = self.body.as_object().expect("a JSON object body");
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["text"],
            "not a Slack message: {}",
            self.body
        );
        fields["text"].as_str().expect("`text` is a string")
    }
}

#[derive(Default)]
struct Log {
    received: Vec<Received>,
    /// Statuses for the next requests, in order; 200 once they are used up.
    answers: VecDeque<u16>,
}

/// A webhook receiver: records every request and answers the statuses it was told to.
struct Receiver {
    /// `127.0.0.1:PORT`.
    address: String,
    log: Arc<Mutex<Log>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listen on a free port, answering `answers` to the first requests and 200 after.
    async fn start(answers: &[u16]) -> Receiver {
        let log = Arc::new(Mutex::new(Log {
            received: Vec::new(),
            answers: answers.iter().copied().collect(),
        }));
        let app = Router::new().fallback(record).with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let address = listener.local_addr().expect("addr").to_string();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("the receiver runs");
        });
        Receiver { address, log, task }
    }

    /// Every request so far, in arrival order.
    fn received(&self) -> Vec<Received> {
        self.log.lock().expect("log").received.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(
    State(log): State<Arc<Mutex<Log>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut log = log.lock().expect("log");
    let status = log.answers.pop_front().unwrap_or(200);
    log.received.push(Received {
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        status,
    });
    StatusCode::from_u16(status).expect("a valid status")
}

/// Create a heartbeat task (an ack due every `period_seconds`, ERROR `grace_seconds` later) and
/// ack it once; returns its id.
async fn heartbeat(server: &Server, name: &str, period_seconds: u32, grace_seconds: u32) -> u64 {
    let spec = json!({"name": name, "datapoints": 1, "tolerance": 0, "mode": "heartbeat",
                      "heartbeat": {"period_seconds": period_seconds, "grace_seconds": grace_seconds}});
    let (status, _, body) = server.post("/api/tasks", &spec.to_string(), None).await;
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_u64().expect("an id");
    ack(server, id).await;
    id
}

async fn ack(server: &Server, id: u64) {
    let (status, _, body) = server
        .post(&format!("/api/tasks/{id}/jobs"), "{}", None)
        .await;
    assert_eq!(status, 201, "{body}");
}

/// The `task.status.changed` events so far, oldest first, as `(name, from, to)`.
async fn changes(server: &Server) -> Vec<(String, Value, Value)> {
    let mut items = server.history("default", "task-status").await;
    items.reverse();
    items
        .iter()
        .filter(|e| e["kind"] == "task.status.changed")
        .map(|e| {
            let p = &e["payload"];
            (
                p["name"].as_str().expect("a name").to_owned(),
                p["from"].clone(),
                p["to"].clone(),
            )
        })
        .collect()
}

/// A task that stops acking is alerted once when the scheduler turns it ERROR and once when it
/// recovers, in that order; its other changes and the evaluations in between send nothing.
#[tokio::test(flavor = "multi_thread")]
async fn the_example_alerts_once_on_error_and_once_on_recovery() {
    let receiver = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.examples();
    let example = scratch.pipelines().join("default/notifications.toml");
    let text = std::fs::read_to_string(&example).expect("the example exists");
    assert!(text.contains("127.0.0.1:9000"), "{text}");
    std::fs::write(&example, text.replace("127.0.0.1:9000", &receiver.address))
        .expect("write the example");
    let server = Server::start_with(
        &scratch.pipelines(),
        &scratch.data(),
        &["--task-interval-ms=200"],
    );

    // ERROR 3 s after its ack, with no request: only the scheduler's evaluations notice.
    let id = heartbeat(&server, "heartbeat", 1, 2).await;
    let alert = eventually(WAIT, "the ERROR message", || async {
        receiver.received().first().cloned()
    })
    .await;
    assert_eq!(
        (alert.method.as_str(), alert.path.as_str()),
        ("POST", "/hooks/tasks")
    );
    assert_eq!(alert.headers["content-type"], "application/json");
    let text = alert.slack_text();
    assert!(
        text.starts_with("Task `heartbeat` is now ERROR (was OK): no ack since "),
        "{text}"
    );

    // Recovery on the next ack. A second task, due every second with no grace, turns ERROR a
    // second later: its alert comes after every earlier change has been handled (one sink
    // delivers in order), and after five scheduler runs or more in which `heartbeat` stayed OK
    // (it is due again only 3 s after this ack).
    ack(&server, id).await;
    heartbeat(&server, "canary", 1, 0).await;
    let received = eventually(WAIT, "the canary's ERROR message", || async {
        let received = receiver.received();
        received
            .iter()
            .any(|r| r.slack_text().starts_with("Task `canary`"))
            .then_some(received)
    })
    .await;
    let texts: Vec<&str> = received.iter().map(Received::slack_text).collect();
    let expected = [
        "Task `heartbeat` is now ERROR (was OK): no ack since ",
        "Task `heartbeat` is now OK (was ERROR): last ack at ",
        "Task `canary` is now ERROR (was OK): no ack since ",
    ];
    assert_eq!(texts.len(), expected.len(), "{texts:#?}");
    for (text, start) in texts.iter().zip(expected) {
        assert!(
            text.starts_with(start),
            "{text:?} should start with {start:?}"
        );
    }
    assert!(received.iter().all(|r| r.status == 200));

    // Each message stands for one change to or from ERROR; the others (each task's first OK)
    // were recorded and sent nothing.
    let changes = changes(&server).await;
    let upto = changes
        .iter()
        .position(|(name, _, to)| name == "canary" && to == "ERROR")
        .expect("the canary's change is recorded");
    let notified: Vec<(String, Value, Value)> = changes[..=upto]
        .iter()
        .filter(|(_, from, to)| from == "ERROR" || to == "ERROR")
        .cloned()
        .collect();
    assert_eq!(
        notified,
        [
            ("heartbeat".to_owned(), json!("OK"), json!("ERROR")),
            ("heartbeat".to_owned(), json!("ERROR"), json!("OK")),
            ("canary".to_owned(), json!("OK"), json!("ERROR")),
        ],
        "{changes:?}"
    );
    assert!(
        changes[..=upto].len() > notified.len(),
        "changes that send nothing were recorded too: {changes:?}"
    );
}

/// The pipeline of the tests below: `task.status.changed` events to a webhook sink `slack` at
/// `url` with `grant`, retried quickly.
fn webhook_pipeline(scratch: &Scratch, url: &str, grant: &str) {
    scratch.open_org("default").pipeline(
        "default",
        "alerts",
        &format!(
            "# Status changes to a webhook (the Slack message by default).\n\
             [sources.changes]\ntype = \"events\"\nkinds = [\"task.status.changed\"]\n\n\
             [sinks.slack]\nplugin = \"webhook\"\ninputs = [\"changes\"]\n\
             config = {{ url = \"{url}\" }}\ngrants = [{{ http = [\"{grant}\"] }}]\n\
             retry = {{ initial_backoff_ms = 50, max_backoff_ms = 200 }}\n"
        ),
    );
}

/// Post one `task.status.changed` event of `db-backup` turning ERROR.
async fn post_change(server: &Server) {
    let event = json!({"kind": "task.status.changed", "subject": "db-backup", "payload": {
        "id": 1, "name": "db-backup", "from": "OK", "to": "ERROR", "at": "2026-11-20T12:00:00.000Z",
        "reason": "no ack since 2026-11-18T03:00:00.000Z"}});
    let (status, _, body) = server
        .post("/v1/orgs/default/events", &event.to_string(), None)
        .await;
    assert!((200..300).contains(&status), "{status} {body}");
}

const SLACK: &str = r#"org="default",pipeline="alerts",stage="slack""#;

/// A receiver that answers 500, then 503, gets the same message (with the same idempotency key)
/// a third time, answers 200, and gets nothing more; the failed attempts are counted.
#[tokio::test(flavor = "multi_thread")]
async fn a_failing_receiver_gets_the_message_again_until_it_takes_it() {
    let receiver = Receiver::start(&[500, 503]).await;
    let scratch = Scratch::new();
    let url = format!("http://{}/hooks/retry", receiver.address);
    webhook_pipeline(&scratch, &url, &receiver.address);
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    post_change(&server).await;

    eventually(WAIT, "an answered delivery", || async {
        receiver
            .received()
            .iter()
            .any(|r| r.status == 200)
            .then_some(())
    })
    .await;
    // Nothing left to send once the delivery is recorded: no request can follow.
    let lag = format!("trackway_outbox_lag_events{{{SLACK}}}");
    eventually(WAIT, "an empty outbox", || async {
        (server.metric(&lag).await == 0.0).then_some(())
    })
    .await;
    let received = receiver.received();
    assert_eq!(
        received.iter().map(|r| r.status).collect::<Vec<_>>(),
        [500, 503, 200]
    );
    // Every attempt carries the same key, the id of the event, so a receiver can tell a
    // message it already took from a new one.
    let key = &received[0].headers["idempotency-key"];
    assert_eq!(key.len(), 26, "a ULID: {key:?}");
    for request in &received {
        assert_eq!(&request.headers["idempotency-key"], key);
        assert_eq!(request.path, "/hooks/retry");
        assert_eq!(
            request.slack_text(),
            "Task `db-backup` is now ERROR (was OK): no ack since 2026-11-18T03:00:00.000Z"
        );
    }
    let failed = format!("trackway_events_failed_total{{{SLACK},reason=\"retryable\"}}");
    assert_eq!(server.metric(&failed).await, 2.0);
    let processed = format!("trackway_events_processed_total{{{SLACK}}}");
    assert_eq!(server.metric(&processed).await, 1.0);
    let (_, dlq) = server.get("/v1/orgs/default/dlq").await;
    assert_eq!(dlq["items"], json!([]), "{dlq}");
}

/// A URL whose host and port the grant does not list is refused before any connection: a
/// permanent error, dead-lettered at once with the host in its message. A grant without a port
/// allows the scheme's default port only, so `127.0.0.1` does not allow `127.0.0.1:PORT`.
#[tokio::test(flavor = "multi_thread")]
async fn a_url_outside_the_grant_is_dead_lettered_without_a_request() {
    let receiver = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    let url = format!("http://{}/hooks/denied", receiver.address);
    webhook_pipeline(&scratch, &url, "127.0.0.1");
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    post_change(&server).await;

    let letters = eventually(WAIT, "a dead letter", || async {
        let (_, body) = server.get("/v1/orgs/default/dlq").await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    let letter = &letters[0];
    assert_eq!(
        (
            letter["pipeline"].as_str(),
            letter["stage"].as_str(),
            letter["attempts"].as_u64()
        ),
        (Some("alerts"), Some("slack"), Some(1)),
        "{letter}"
    );
    assert_eq!(letter["event"]["kind"], "task.status.changed");
    let error = letter["error"].as_str().expect("an error");
    assert!(
        error.contains("host `127.0.0.1`") && error.contains("not granted"),
        "{error}"
    );
    // A webhook URL's path is often its secret: errors name the origin only.
    assert!(!error.contains("/hooks"), "{error}");
    let failed = format!("trackway_events_failed_total{{{SLACK},reason=\"permanent\"}}");
    assert_eq!(server.metric(&failed).await, 1.0);
    // The event is done with for good (dead-lettered), so this is final, not a snapshot.
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
}

/// `POST /api/reports` notifies as its `notify` says: `NEVER` sends nothing, `ON_ERROR` only when
/// a task is in ERROR, `ALWAYS` every time (the example's `report` sink).
#[tokio::test(flavor = "multi_thread")]
async fn reports_notify_as_they_ask() {
    let receiver = Receiver::start(&[]).await;
    let scratch = Scratch::new();
    scratch.examples();
    let example = scratch.pipelines().join("default/notifications.toml");
    let text = std::fs::read_to_string(&example).expect("the example exists");
    std::fs::write(&example, text.replace("127.0.0.1:9000", &receiver.address))
        .expect("write the example");
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let report = |notify: &'static str| {
        let server = &server;
        async move {
            let body = json!({ "notify": notify }).to_string();
            let (status, _, answer) = server.post("/api/reports", &body, None).await;
            assert_eq!(status, 200, "{answer}");
            answer["status"].as_str().unwrap_or_default().to_owned()
        }
    };
    let reports = || {
        receiver
            .received()
            .into_iter()
            .filter(|r| r.slack_text().starts_with("Scheduled jobs"))
            .map(|r| r.slack_text().to_owned())
            .collect::<Vec<_>>()
    };
    // One healthy task: NEVER and ON_ERROR say nothing, ALWAYS does.
    heartbeat(&server, "healthy", 3600, 3600).await;
    assert_eq!(report("NEVER").await, "OK");
    assert_eq!(report("ON_ERROR").await, "OK");
    assert_eq!(report("ALWAYS").await, "OK");
    // The sink delivers in order: once the ALWAYS report arrived, the others were handled.
    let sent = eventually(WAIT, "the ALWAYS report", || async {
        let sent = reports();
        (!sent.is_empty()).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].ends_with(": OK"), "{sent:?}");
    // A task whose last ack is two days old: ON_ERROR now sends.
    let old = "2020-01-01T00:00:00Z";
    let spec = json!({"name": "stale", "datapoints": 1, "tolerance": 0, "created": old});
    let (status, _, body) = server.post("/api/tasks", &spec.to_string(), None).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(report("ON_ERROR").await, "ERROR");
    let sent = eventually(WAIT, "the ON_ERROR report", || async {
        let sent = reports();
        (sent.len() >= 2).then_some(sent)
    })
    .await;
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[1].ends_with(": ERROR"), "{sent:?}");
}
