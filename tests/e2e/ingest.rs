//! The generic event route: the README flow, errors, idempotency.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Scratch, Server, eventually};

/// The README's curl example, through the example pipeline: 202, then the annotated event in
/// the `versions` history stream.
#[tokio::test]
async fn readme_example_reaches_history_through_semver() {
    let scratch = Scratch::new();
    scratch.examples();
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let (status, _, body) = server
        .post(
            "/v1/orgs/default/events",
            r#"{"kind": "version.reported", "subject": "prod/api", "attributes": {"team": "platform"}, "payload": {"version": "1.4.0"}}"#,
            None,
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let id = body["ids"][0].as_str().expect("an id").to_owned();
    let (status, _, _) = server
        .post(
            "/v1/orgs/default/events",
            r#"{"kind": "version.reported", "subject": "prod/api", "attributes": {"semver.redeploy": "true"}, "payload": {"version": "1.3.9"}}"#,
            None,
        )
        .await;
    assert_eq!(status, 202);
    let items = eventually(Duration::from_secs(30), "two history entries", || async {
        let items = server.history("default", "versions").await;
        (items.len() == 2).then_some(items)
    })
    .await;
    // Newest first: the downgrade, then the first report.
    assert_eq!(items[1]["parent"], json!(id));
    assert_eq!(items[1]["attributes"]["semver.bump"], "initial");
    assert_eq!(items[1]["attributes"]["semver.minor"], "4");
    assert_eq!(items[0]["attributes"]["semver.bump"], "downgrade");
    assert_eq!(items[0]["attributes"]["semver.previous"], "1.4.0");
    assert_eq!(items[0]["payload"]["version"], "1.3.9");
    assert_eq!(items[0]["source"], "versions/semver");
    // The first came back as `annotate` (it had no `semver.*` attribute): its own attributes
    // stay beside the stage's. The second carried a stale flag, which the stage removed.
    assert_eq!(items[1]["attributes"]["team"], "platform");
    assert_eq!(items[1]["attributes"]["semver.prerelease"], "");
    assert_eq!(
        items[0]["attributes"].get("semver.redeploy"),
        None,
        "{}",
        items[0]
    );
    assert_eq!(items[0]["attributes"]["semver.downgrade"], "true");

    let (status, ready) = server.get("/readyz").await;
    assert_eq!(status, 200, "{ready}");
    assert_eq!(server.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn bad_requests_get_one_json_error_shape() {
    let scratch = Scratch::new();
    scratch.examples();
    let server = Server::start(&scratch.pipelines(), &scratch.data());

    let (status, _, body) = server
        .post(
            "/v1/orgs/default/events",
            "{\"kind\": \"a\",\n \"subject\": }",
            None,
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_json");
    assert_eq!(
        (
            body["error"]["line"].as_u64(),
            body["error"]["column"].as_u64()
        ),
        (Some(2), Some(13))
    );

    let (status, _, body) = server
        .post(
            "/v1/orgs/default/events",
            r#"[{"kind": "a"}, {"subject": "x"}]"#,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["message"].as_str().unwrap().contains("[1]"),
        "{body}"
    );
    assert!(
        body["error"]["message"].as_str().unwrap().contains("kind"),
        "{body}"
    );

    let (status, _, body) = server
        .post("/v1/orgs/default/events", r#"{"kind": "Bad Kind"}"#, None)
        .await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`kind`"),
        "{body}"
    );

    let (status, _, body) = server
        .post(
            "/v1/orgs/default/events",
            r#"{"kind": "a", "colour": 1}"#,
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );

    // Without a key, an org that does not exist looks like one that needs a key (no hint
    // about which orgs exist); with a key, it is a 404 (see `auth`).
    let (status, _, body) = server
        .post("/v1/orgs/nobody/events", r#"{"kind": "a"}"#, None)
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");

    let big = format!(
        r#"{{"kind": "a", "payload": "{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    let (status, _, body) = server.post("/v1/orgs/default/events", &big, None).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");

    // Nothing above was accepted.
    let (status, _, body) = server
        .post("/v1/orgs/default/events", r#"{"kind": "ok"}"#, None)
        .await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(
        server
            .metric("trackway_events_ingested_total{org=\"default\"}")
            .await,
        1.0
    );
}

/// The same Idempotency-Key sent concurrently yields one event; a client-supplied id too.
#[tokio::test]
async fn idempotency_key_sent_twice_concurrently_yields_one_event() {
    let scratch = Scratch::new();
    scratch.examples();
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let body =
        r#"{"kind": "version.reported", "subject": "prod/web", "payload": {"version": "2.0.0"}}"#;
    let requests = (0..16).map(|_| server.post("/v1/orgs/default/events", body, Some("deploy-42")));
    let answers = futures::future::join_all(requests).await;
    let ids: Vec<_> = answers
        .iter()
        .map(|(status, _, body)| {
            assert_eq!(*status, 202, "{body}");
            body["ids"][0].as_str().unwrap().to_owned()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(
        answers
            .iter()
            .filter(|(_, h, _)| h.get("idempotent-replayed").is_none())
            .count(),
        1
    );
    assert_eq!(
        server
            .metric("trackway_events_ingested_total{org=\"default\"}")
            .await,
        1.0
    );

    // A different body under the same key is refused, not silently merged.
    let (status, _, body) = server
        .post(
            "/v1/orgs/default/events",
            r#"{"kind": "version.reported"}"#,
            Some("deploy-42"),
        )
        .await;
    assert_eq!(status, 422, "{body}");

    // A client-supplied id is idempotent too.
    let with_id = json!({"kind": "version.reported", "subject": "prod/db", "id": "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C", "payload": {"version": "1.0.0"}}).to_string();
    for _ in 0..3 {
        let (status, _, body) = server.post("/v1/orgs/default/events", &with_id, None).await;
        assert_eq!(status, 202, "{body}");
        assert_eq!(body["ids"][0], "01J9ZQ4C5R8V6W7X8Y9Z0A1B2C");
    }
    let items = eventually(Duration::from_secs(30), "two history entries", || async {
        let items = server.history("default", "versions").await;
        (items.len() >= 2).then_some(items)
    })
    .await;
    assert_eq!(items.len(), 2, "{items:?}");
}
