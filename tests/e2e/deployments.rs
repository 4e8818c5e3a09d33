//! The deployment-tracker API end to end, against real sinks: a real `redis-server` holding the
//! Logstash documents, a UDP listener receiving the statsd lines, a SQLite file and a real
//! PostgreSQL holding the summary rows; plus pagination, errors, an outage of Redis and the
//! dead-letter queue.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Scratch, Server, eventually};
use crate::services::{Postgres, Redis, StatsdListener, sqlite};

const ID: &str = "84e803f7-9562-4d95-b828-25b167aea34b";
const WAIT: Duration = Duration::from_secs(60);

fn every_sink(redis: &Redis, statsd: &StatsdListener, postgres: &Postgres) -> String {
    format!(
        r#"# Every sink of the deployment tracker, each against its own server.
[sources.api]
type = "events"
kinds = ["deployment.*", "server.*"]

[sinks.logstash]
plugin = "redis-logstash"
inputs = ["api"]
config = {{ port = {redis_port}, additional_fields = {{ team = "platform", index = "deploys" }} }}
grants = [{{ redis = "{redis}" }}]
limits = {{ timeout_ms = 5000 }}

[sinks.statsd]
plugin = "statsd"
inputs = ["api"]
config = {{ port = {statsd_port} }}
grants = [{{ statsd = "{statsd}" }}]

[sinks.sqlite]
plugin = "sql"
inputs = ["api"]
grants = [{{ sql = "sqlite://deployments.db" }}]
limits = {{ timeout_ms = 5000 }}

[sinks.postgres]
plugin = "sql"
inputs = ["api"]
grants = [{{ sql = "{postgres}" }}]
limits = {{ timeout_ms = 5000 }}

[sinks.history]
plugin = "history"
inputs = ["api"]
config = {{ stream = "deployments" }}
grants = ["history"]
"#,
        redis_port = redis.port,
        redis = redis.url(),
        statsd_port = statsd.port,
        statsd = statsd.address(),
        postgres = postgres.url(),
    )
}

async fn send(server: &Server, method: &str, path: &str, body: &str) -> (u16, Value, String) {
    let response = server
        .client
        .request(method.parse().unwrap(), format!("{}{path}", server.url))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::Null),
        location,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_calls_reach_redis_statsd_sqlite_and_postgres() {
    let redis = Redis::start();
    let statsd = StatsdListener::start();
    let postgres = Postgres::start();
    let scratch = Scratch::new();
    scratch.open_org("default").pipeline(
        "default",
        "deployments",
        &every_sink(&redis, &statsd, &postgres),
    );
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let path = format!("/v1/deployments/{ID}");

    // The seed README's three calls, with its JSON fixed (the first has an unquoted id).
    let start = format!(
        r#"{{"deployment_id": "{ID}", "engine": "vagrant_orchestrate", "engine_version": "0.6.3", "host": "localhost", "user": "cbaldauf", "environment": "dev", "package": "test", "package_url": "http://mypackage.mydomain.com", "version": "4.5.6", "arguments": "--strategy parallel" }}"#
    );
    let (status, _, location) = send(&server, "POST", &path, &start).await;
    assert_eq!(status, 201);
    assert_eq!(location, path);
    // The README posts its log message to the start route: it is recorded as a log message.
    let (status, body, _) = send(
        &server,
        "POST",
        &path,
        r#"{"message": "Starting deployment phase 1", "severity": "info"}"#,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    // The log route takes an array (and the seed's tests post to `/logs/`).
    let logs = r#"[{"message": "phase 2", "severity": "info", "type": "vagrant"}, {"message": "phase 3"}]"#;
    let (status, body, _) = send(&server, "POST", &format!("{path}/logs/"), logs).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["ids"].as_array().unwrap().len(), 2);
    let (status, _, location) = send(
        &server,
        "POST",
        &format!("{path}/servers"),
        r#"{"hostname": "web-1.example.com", "ip_address": "10.0.0.1"}"#,
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(location, format!("{path}/servers/web-1.example.com"));
    let (status, _, _) = send(
        &server,
        "PUT",
        &format!("{path}/servers"),
        r#"{"hostname": "web-1.example.com", "result": "success", "elapsed_seconds": 30}"#,
    )
    .await;
    assert_eq!(status, 204);
    let finish =
        format!(r#"{{"deployment_id": "{ID}", "result": "success", "elapsed_seconds": 234}}"#);
    let (status, _, _) = send(&server, "PUT", &path, &finish).await;
    assert_eq!(status, 204);

    // The deployment reads back with its server and result.
    let (status, deployment) = server.get(&path).await;
    assert_eq!(status, 200);
    assert_eq!(deployment["result"], "success");
    assert_eq!(deployment["elapsed_seconds"], 234);
    assert_eq!(deployment["package_url"], "http://mypackage.mydomain.com");
    assert_eq!(deployment["arguments"], "--strategy parallel");
    assert_eq!(deployment["servers"][0]["hostname"], "web-1.example.com");
    assert_eq!(deployment["servers"][0]["result"], "success");
    let (_, servers) = server.get("/v1/servers").await;
    assert_eq!(servers, json!(["web-1.example.com"]));
    let (_, rows) = server.get("/v1/servers/web-1.example.com").await;
    assert_eq!(rows[0]["deployment_id"], ID);

    // Redis: one Logstash document per event, in order, with the index and extra fields.
    let documents = eventually(WAIT, "7 documents in redis", || async {
        let docs = redis.list("logstash");
        (docs.len() >= 7).then_some(docs)
    })
    .await;
    let kinds: Vec<&str> = documents
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "deployment.started",
            "deployment.log",
            "deployment.log",
            "deployment.log",
            "server.started",
            "server.finished",
            "deployment.finished"
        ]
    );
    for doc in &documents {
        assert_eq!(doc["index"], "deploys", "additional_fields win: {doc}");
        assert_eq!(doc["team"], "platform");
        assert_eq!(doc["deployment_id"], ID);
        assert!(doc["@timestamp"].as_str().unwrap().ends_with('Z'), "{doc}");
    }
    assert_eq!(
        documents[0]["message"],
        format!("Deployment Tracker recording deployment start for deployment {ID}")
    );
    assert_eq!(documents[1]["message"], "Starting deployment phase 1");
    assert_eq!(documents[2]["type"], "vagrant");
    assert_eq!(documents[6]["result"], "success");
    assert_eq!(documents.len(), 7);

    // statsd: exactly the expected lines, every dot inside a segment escaped.
    let expected = [
        "deployment-tracker.deployments.started:1|c",
        "deployment-tracker.deployments.engines.vagrant_orchestrate.started:1|c",
        "deployment-tracker.deployments.environments.dev.packages.test.started:1|c",
        "deployment-tracker.logs.message:1|c",
        "deployment-tracker.logs.message:1|c",
        "deployment-tracker.logs.message:1|c",
        "deployment-tracker.servers.hostname.web-1_example_com.started:1|c",
        "deployment-tracker.servers.hostname.web-1_example_com.success:1|c",
        "deployment-tracker.servers.hostname.web-1_example_com.elapsed:30000|ms",
        "deployment-tracker.deployments.success:1|c",
        "deployment-tracker.deployments.engines.vagrant_orchestrate.success:1|c",
        "deployment-tracker.deployments.environments.dev.packages.test.success:1|c",
        "deployment-tracker.deployments.elapsed:234000|ms",
        "deployment-tracker.deployments.environments.dev.packages.test.elapsed:234000|ms",
    ];
    let lines = eventually(WAIT, "the statsd lines", || async {
        let lines = statsd.lines();
        (lines.len() >= expected.len()).then_some(lines)
    })
    .await;
    assert_eq!(lines, expected);

    // SQL: one row per deployment and per server, in SQLite and in PostgreSQL.
    let db = scratch.data().join("deployments.db");
    let row = eventually(WAIT, "the sqlite rows", || async {
        let rows = if db.exists() {
            sqlite(
                &db,
                "SELECT deployment_id, environment, version, result, elapsed_seconds FROM deployments",
            )
        } else {
            String::new()
        };
        rows.contains("success").then_some(rows)
    })
    .await;
    assert_eq!(row.trim(), format!("{ID}|dev|4.5.6|success|234.0"));
    assert_eq!(
        sqlite(&db, "SELECT hostname, ip_address, result FROM servers").trim(),
        "web-1.example.com|10.0.0.1|success"
    );
    let row = eventually(WAIT, "the postgres rows", || async {
        postgres
            .psql("SELECT deployment_id, \"user\", result, elapsed_seconds FROM deployments")
            .ok()
            .filter(|rows| rows.contains("success"))
    })
    .await;
    assert_eq!(row.trim(), format!("{ID}|cbaldauf|success|234"));
    assert_eq!(
        postgres
            .psql("SELECT count(*) FROM servers")
            .unwrap()
            .trim(),
        "1"
    );

    // The healthcheck probes every target.
    let (status, health) = server.get("/healthcheck").await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["result"], "passed");
    let tests = health["tests"].as_object().unwrap();
    assert!(
        tests.contains_key(&format!("redis {}", redis.url())),
        "{health}"
    );
    assert!(
        tests.contains_key(&format!("statsd {}", statsd.address())),
        "{health}"
    );
    assert!(
        tests.contains_key("sql sqlite://deployments.db"),
        "{health}"
    );
    assert!(tests.values().all(|t| t["result"] == "passed"), "{health}");
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_link_like_the_seed_and_bad_calls_are_refused_with_reasons() {
    let scratch = Scratch::new();
    scratch.open_org("default").pipeline(
        "default",
        "deployments",
        "# History only.\n[sources.api]\ntype = \"events\"\nkinds = [\"deployment.*\"]\n\n[sinks.history]\nplugin = \"history\"\ninputs = [\"api\"]\nconfig = { stream = \"deployments\" }\ngrants = [\"history\"]\n",
    );
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    for i in 0..30 {
        let (status, _, _) =
            send(&server, "POST", &format!("/v1/deployments/d-{i:02}"), "{}").await;
        assert_eq!(status, 201);
    }
    let page = |query: &'static str| {
        let url = format!("{}/v1/deployments{query}", server.url);
        let client = server.client.clone();
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), 200);
            let link = response.headers()["link"].to_str().unwrap().to_owned();
            let body: Value = response.json().await.unwrap();
            (link, body)
        }
    };
    let (link, body) = page("").await;
    assert_eq!(body.as_array().unwrap().len(), 25);
    assert_eq!(body[0]["deployment_id"], "d-29", "newest first");
    assert!(
        link.contains("/v1/deployments?offset=25&limit=25>; rel=\"next\""),
        "{link}"
    );
    assert!(!link.contains("rel=\"prev\""), "{link}");
    let (link, body) = page("?offset=25&limit=25").await;
    assert_eq!(body.as_array().unwrap().len(), 5);
    assert_eq!(body[4]["deployment_id"], "d-00");
    assert!(link.contains("?offset=0&limit=25>; rel=\"prev\""), "{link}");
    let (link, _) = page("?offset=3&limit=25").await;
    assert!(link.contains("?offset=28&limit=25") && link.contains("?offset=0&limit=25"));
    let (link, body) = page("?offset=0&limit=1").await;
    assert!(link.contains("?offset=1&limit=1"));
    assert_eq!(body.as_array().unwrap().len(), 1);

    let error = |body: &Value| {
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let (status, body) = server.get("/v1/deployments?limit=0").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("invalid_field"))
    );
    assert!(error(&body).contains("`limit`"));
    let (status, body) = server.get("/v1/deployments/nope").await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = server.get("/v1/servers/nowhere").await;
    assert_eq!(status, 404);
    let (status, _, _) = send(
        &server,
        "PUT",
        "/v1/deployments/nope",
        r#"{"result": "success"}"#,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, _) = send(
        &server,
        "POST",
        "/v1/deployments/nope/logs",
        r#"[{"message": "x"}]"#,
    )
    .await;
    assert_eq!(status, 404);

    // The seed README's first call as written: the unquoted id is a 400 with its position.
    let (status, body, _) = send(
        &server,
        "POST",
        &format!("/v1/deployments/{ID}"),
        &format!(r#"{{"deployment_id": {ID}, "engine": "vagrant_orchestrate"}}"#),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_json"))
    );
    assert_eq!(
        (
            body["error"]["line"].as_u64(),
            body["error"]["column"].as_u64()
        ),
        (Some(1), Some(24))
    );
    let (status, body, _) = send(
        &server,
        "POST",
        "/v1/deployments/d-x",
        r#"{"deployment_id": "other"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(error(&body).contains("`deployment_id`"), "{body}");
    let (status, body, _) = send(
        &server,
        "PUT",
        "/v1/deployments/d-01",
        r#"{"result": "maybe"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(error(&body).contains("`result`"), "{body}");
    let (status, body, _) = send(
        &server,
        "PUT",
        "/v1/deployments/d-01",
        r#"{"elapsed_seconds": "long"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(error(&body).contains("`elapsed_seconds`"), "{body}");
    let (status, body, _) = send(
        &server,
        "POST",
        "/v1/deployments/d-x",
        r#"{"enviroment": "dev"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(error(&body).contains("enviroment"), "{body}");
    let (status, body, _) = send(
        &server,
        "POST",
        "/v1/deployments/d-01/logs",
        r#"[{"severity": "info"}]"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(error(&body).contains("message"), "{body}");
    let (status, body, _) = send(
        &server,
        "POST",
        "/v1/deployments/d-01/servers",
        r#"{"ip_address": "10.0.0.1"}"#,
    )
    .await;
    assert_eq!(status, 422);
    assert!(error(&body).contains("`hostname`"), "{body}");

    // A retried start is answered again and appends nothing; a different one conflicts.
    let (status, _, _) = send(&server, "POST", "/v1/deployments/d-05", "{}").await;
    assert_eq!(status, 201);
    let (status, body, _) = send(
        &server,
        "POST",
        "/v1/deployments/d-05",
        r#"{"engine": "x"}"#,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let history = eventually(WAIT, "30 deployment starts in history", || async {
        let items = server.history("default", "deployments").await;
        (items.len() >= 30).then_some(items)
    })
    .await;
    assert_eq!(history.len(), 30, "a retried start appends nothing");

    // Completion can give the servers that reported no result of their own the deployment's.
    let path = "/v1/deployments/with-servers";
    assert_eq!(send(&server, "POST", path, "{}").await.0, 201);
    for host in ["web-a", "web-b"] {
        let body = format!(r#"{{"hostname": "{host}"}}"#);
        assert_eq!(
            send(&server, "POST", &format!("{path}/servers"), &body)
                .await
                .0,
            201
        );
    }
    let failed = r#"{"hostname": "web-b", "result": "failure"}"#;
    assert_eq!(
        send(&server, "PUT", &format!("{path}/servers"), failed)
            .await
            .0,
        204
    );
    let finish = r#"{"result": "success", "assert_empty_server_result": true}"#;
    assert_eq!(send(&server, "PUT", path, finish).await.0, 204);
    let (_, deployment) = server.get(path).await;
    let results: Vec<(&str, &str)> = deployment["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["hostname"].as_str().unwrap(),
                s["result"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(results, [("web-a", "success"), ("web-b", "failure")]);

    // The OpenAPI document, where old and new clients look for it.
    for path in ["/openapi.json", "/swagger.json", "/swagger"] {
        let (status, spec) = server.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(
            spec["paths"]["/v1/deployments/{id}"]["post"].is_object(),
            "{path}"
        );
        assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    }
    let docs = server
        .client
        .get(format!("{}/docs/", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_outage_delays_documents_but_loses_none_and_keeps_their_order() {
    let mut redis = Redis::start_persistent();
    let scratch = Scratch::new();
    scratch.open_org("default").pipeline(
        "default",
        "deployments",
        &format!(
            "# Starts to Logstash.\n[sources.api]\ntype = \"events\"\nkinds = [\"deployment.started\"]\n\n[sinks.logstash]\nplugin = \"redis-logstash\"\ninputs = [\"api\"]\nconfig = {{ port = {} }}\ngrants = [{{ redis = \"{}\" }}]\nretry = {{ max_attempts = 100, initial_backoff_ms = 50, max_backoff_ms = 1000 }}\nlimits = {{ timeout_ms = 5000 }}\n",
            redis.port,
            redis.url()
        ),
    );
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let lag =
        "trackway_outbox_lag_events{org=\"default\",pipeline=\"deployments\",stage=\"logstash\"}";
    let post = |i: usize| {
        let (client, url) = (server.client.clone(), server.url.clone());
        async move {
            client
                .post(format!("{url}/v1/deployments/d-{i:04}"))
                .body("{}")
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    for i in 0..200 {
        assert_eq!(post(i).await, 201);
    }
    redis.stop();
    let stopped = std::time::Instant::now();
    let mut max_lag = 0.0f64;
    for i in 200..1000 {
        assert_eq!(post(i).await, 201, "ingest answers do not depend on Redis");
        if i % 100 == 0 {
            max_lag = max_lag.max(server.metric(lag).await);
        }
    }
    max_lag = max_lag.max(server.metric(lag).await);
    assert!(max_lag > 0.0, "the outbox filled while Redis was down");
    tokio::time::sleep(Duration::from_secs(10).saturating_sub(stopped.elapsed())).await;
    redis.restart();
    let documents = eventually(
        Duration::from_secs(120),
        "1000 documents after the outage",
        || async {
            let docs = redis.list("logstash");
            (docs.len() >= 1000).then_some(docs)
        },
    )
    .await;
    let ids: Vec<String> = documents
        .iter()
        .map(|d| d["deployment_id"].as_str().unwrap().to_owned())
        .collect();
    let expected: Vec<String> = (0..1000).map(|i| format!("d-{i:04}")).collect();
    assert_eq!(ids, expected, "every document once, in order");
    eventually(WAIT, "the outbox lag back to zero", || async {
        (server.metric(lag).await == 0.0).then_some(())
    })
    .await;
}

/// A push whose answer is lost did happen: Redis paused for writes (5 s) past the capability's
/// 2 s answer timeout runs every push once the pause ends, after trackway gave up on them and
/// retried. The retries must not append the document again; with `dedupe_seconds = 0` (a plain
/// RPUSH, at least once) they do, which shows the scenario is real.
#[tokio::test(flavor = "multi_thread")]
async fn a_push_whose_answer_was_lost_is_not_appended_twice() {
    for (dedupe, once) in [("", true), (", dedupe_seconds = 0", false)] {
        let redis = Redis::start();
        let scratch = Scratch::new();
        scratch.open_org("default").pipeline(
            "default",
            "deployments",
            &format!(
                "# Starts to Logstash.\n[sources.api]\ntype = \"events\"\nkinds = [\"deployment.started\"]\n\n[sinks.logstash]\nplugin = \"redis-logstash\"\ninputs = [\"api\"]\nconfig = {{ port = {}{dedupe} }}\ngrants = [{{ redis = \"{}\" }}]\nretry = {{ initial_backoff_ms = 50 }}\nlimits = {{ timeout_ms = 5000 }}\n",
                redis.port,
                redis.url()
            ),
        );
        let server = Server::start(&scratch.pipelines(), &scratch.data());
        let lag = "trackway_outbox_lag_events{org=\"default\",pipeline=\"deployments\",stage=\"logstash\"}";
        // The first one connects (and loads the script).
        let (status, _, _) = send(&server, "POST", "/v1/deployments/d-0", "{}").await;
        assert_eq!(status, 201);
        eventually(WAIT, "the first document", || async {
            (redis.list("logstash").len() == 1).then_some(())
        })
        .await;
        redis
            .command(&["CLIENT", "PAUSE", "5000", "WRITE"])
            .unwrap();
        let (status, _, _) = send(&server, "POST", "/v1/deployments/d-1", "{}").await;
        assert_eq!(status, 201);
        eventually(WAIT, "the retried delivery", || async {
            let failed = server
                .metric("trackway_events_failed_total{org=\"default\",pipeline=\"deployments\",stage=\"logstash\",reason=\"retryable\"}")
                .await;
            (failed >= 1.0 && server.metric(lag).await == 0.0).then_some(())
        })
        .await;
        let ids: Vec<String> = redis
            .list("logstash")
            .iter()
            .map(|d| d["deployment_id"].as_str().unwrap().to_owned())
            .collect();
        let copies = ids.iter().filter(|id| *id == "d-1").count();
        assert_eq!(ids.len(), 1 + copies, "config `{dedupe}`: {ids:?}");
        assert_eq!(ids[0], "d-0");
        if once {
            assert_eq!(copies, 1, "config `{dedupe}`: {ids:?}");
        } else {
            assert!(copies >= 2, "config `{dedupe}`: {ids:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn permanent_failures_are_dead_lettered_and_replayed_once_the_target_is_fixed() {
    let redis = Redis::start();
    // A key of the wrong type: every RPUSH is refused (WRONGTYPE), which retrying cannot fix.
    redis.command(&["SET", "logstash", "not a list"]).unwrap();
    let scratch = Scratch::new();
    scratch.open_org("default").pipeline(
        "default",
        "deployments",
        &format!(
            "# Starts to Logstash.\n[sources.api]\ntype = \"events\"\nkinds = [\"deployment.started\"]\n\n[sinks.logstash]\nplugin = \"redis-logstash\"\ninputs = [\"api\"]\nconfig = {{ port = {} }}\ngrants = [{{ redis = \"{}\" }}]\n",
            redis.port,
            redis.url()
        ),
    );
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    for i in 0..3 {
        let (status, _, _) = send(&server, "POST", &format!("/v1/deployments/d-{i}"), "{}").await;
        assert_eq!(status, 201);
    }
    let letters = eventually(WAIT, "3 dead letters", || async {
        let (_, body) = server.get("/v1/orgs/default/dlq").await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= 3).then_some(items)
    })
    .await;
    assert!(
        letters[0]["error"].as_str().unwrap().contains("WRONGTYPE"),
        "{}",
        letters[0]
    );
    assert_eq!(letters[0]["stage"], "logstash");
    assert_eq!(letters[0]["event"]["kind"], "deployment.started");
    assert_eq!(server.metric("trackway_dlq_depth").await, 3.0);

    // `trackway dlq list` shows them; `trackway dlq replay` (the route, through the client)
    // sends one back, then the rest.
    let cli = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_trackway"))
            .args(args)
            .env("TRACKWAY_URL", &server.url)
            .env_remove("API_KEY")
            .output()
            .expect("running trackway");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let listed = cli(&["dlq", "list"]);
    assert_eq!(
        listed.lines().count(),
        4,
        "a header and 3 letters:\n{listed}"
    );
    assert!(listed.contains("deployments/logstash") && listed.contains("deployment.started d-1"));

    redis.command(&["DEL", "logstash"]).unwrap();
    let first = letters[0]["id"].as_str().unwrap();
    assert_eq!(cli(&["dlq", "replay", first]).trim(), first);
    eventually(WAIT, "the first replayed document", || async {
        (redis.list("logstash").len() == 1).then_some(())
    })
    .await;
    assert_eq!(cli(&["dlq", "replay"]).lines().count(), 2);
    let documents = eventually(WAIT, "the replayed documents", || async {
        let docs = redis.list("logstash");
        (docs.len() >= 3).then_some(docs)
    })
    .await;
    let ids: Vec<&str> = documents
        .iter()
        .map(|d| d["deployment_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["d-0", "d-1", "d-2"]);
    let (status, body, _) = send(&server, "POST", "/v1/orgs/default/dlq/replay", "").await;
    assert_eq!(
        (status, body["replayed"].clone()),
        (202, json!([])),
        "nothing left"
    );
    let (_, body) = server.get("/v1/orgs/default/dlq").await;
    assert_eq!(body["items"], json!([]));
    assert_eq!(server.metric("trackway_dlq_depth").await, 0.0);
}

/// A processor's dead letter is replayed through that processor and on to the sinks: a version
/// refused by the range in force is dead-lettered; once the pipeline is fixed (and the server
/// restarted with it), the replay annotates it and records it in history.
#[tokio::test(flavor = "multi_thread")]
async fn a_processors_dead_letters_replay_through_the_fixed_pipeline() {
    let scratch = Scratch::new();
    let pipeline = |range: &str| {
        format!(
            "# Versions through semver.\n[sources.api]\ntype = \"events\"\nkinds = [\"version.reported\"]\n\n[processors.semver]\nplugin = \"semver\"\ninputs = [\"api\"]\nconfig = {{ field = \"version\"{range} }}\ngrants = [\"state\"]\n\n[sinks.history]\nplugin = \"history\"\ninputs = [\"semver\"]\nconfig = {{ stream = \"versions\" }}\ngrants = [\"history\"]\n"
        )
    };
    scratch.open_org("default").pipeline(
        "default",
        "versions",
        &pipeline(", range = \">=2.0.0\", on_reject = \"fail\""),
    );
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let event =
        json!({"kind": "version.reported", "subject": "prod/api", "payload": {"version": "1.4.0"}});
    let (status, _, _) = server
        .post("/v1/orgs/default/events", &event.to_string(), None)
        .await;
    assert_eq!(status, 202);
    let letters = eventually(WAIT, "the refused version dead-lettered", || async {
        let (_, body) = server.get("/v1/orgs/default/dlq").await;
        let items = body["items"].as_array().cloned().unwrap_or_default();
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(letters[0]["stage"], "semver");
    assert!(
        letters[0]["error"].as_str().unwrap().contains(">=2.0.0"),
        "{}",
        letters[0]
    );
    server.stop();

    // The range was wrong: fix the pipeline, restart, replay.
    scratch.pipeline("default", "versions", &pipeline(""));
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let id = letters[0]["id"].as_str().unwrap();
    let (status, body, _) = send(
        &server,
        "POST",
        &format!("/v1/orgs/default/dlq/{id}/replay"),
        "",
    )
    .await;
    assert_eq!((status, body["replayed"].clone()), (202, json!([id])));
    let history = eventually(WAIT, "the replayed version in history", || async {
        let items = server.history("default", "versions").await;
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["payload"]["version"], "1.4.0");
    // Through `semver` again: annotated (its state kept 1.4.0 from the refused report, as the
    // plugin documents: a report says what ran, accepted or not).
    assert_eq!(history[0]["attributes"]["semver.major"], "1");
    assert_eq!(history[0]["attributes"]["semver.bump"], "same");
    let (_, body) = server.get("/v1/orgs/default/dlq").await;
    assert_eq!(body["items"], json!([]));
}
