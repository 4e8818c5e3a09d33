//! The version inventory: the SVT-compatible routes, history, one inventory fed by several
//! event kinds, and the org-scoped inventory API.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Scratch, Server, eventually};

fn server() -> (Scratch, Server) {
    let scratch = Scratch::new();
    scratch.examples();
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    (scratch, server)
}

async fn create(server: &Server, body: Value) -> (u16, Value) {
    let (status, _, body) = server.post("/create", &body.to_string(), None).await;
    (status, body)
}

fn versions(list: &Value) -> Vec<(String, String)> {
    let mut out: Vec<_> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_owned(),
                e["version"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn concurrent_first_reports_of_an_app_create_it_once() {
    let (_scratch, server) = server();
    let answers = futures::future::join_all((0..8).map(|i| {
        create(
            &server,
            json!({"env": "dev", "name": "racy", "version": format!("1.0.{i}")}),
        )
    }))
    .await;
    let created = answers
        .iter()
        .filter(|a| **a == (200, json!("Creation successful")))
        .count();
    let updated = answers
        .iter()
        .filter(|a| **a == (200, json!("Update successful")))
        .count();
    assert_eq!((created, updated), (1, 7), "{answers:?}");
}

#[tokio::test]
async fn svt_create_update_list_and_validation() {
    let (_scratch, server) = server();
    let url = "http://ci.example.com/job/api/42";
    assert_eq!(
        create(
            &server,
            json!({"env": "dev", "name": "api", "version": "1.0.0", "url": url})
        )
        .await,
        (200, json!("Creation successful"))
    );
    assert_eq!(
        create(
            &server,
            json!({"env": "dev", "name": "api", "version": "1.1.0"})
        )
        .await,
        (200, json!("Update successful"))
    );
    // The same name in another environment is independent.
    assert_eq!(
        create(
            &server,
            json!({"env": "prod", "name": "api", "version": "0.9.0"})
        )
        .await,
        (200, json!("Creation successful"))
    );
    // Names are matched exactly, never as patterns.
    for name in ["a+b", "a("] {
        assert_eq!(
            create(
                &server,
                json!({"env": "dev", "name": name, "version": "2.0.0"})
            )
            .await
            .1,
            json!("Creation successful")
        );
        assert_eq!(
            create(
                &server,
                json!({"env": "dev", "name": name, "version": "2.0.1"})
            )
            .await
            .1,
            json!("Update successful")
        );
    }

    let (status, dev) = server.get("/list/dev").await;
    assert_eq!(status, 200);
    assert_eq!(
        versions(&dev),
        [
            ("a(".into(), "2.0.1".into()),
            ("a+b".into(), "2.0.1".into()),
            ("api".into(), "1.1.0".into())
        ]
    );
    let api = dev
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "api")
        .unwrap();
    assert_eq!(api["env"], "dev");
    assert!(api["date"].as_str().unwrap().ends_with('Z'), "{api}");
    let (_, prod) = server.get("/list?env=prod").await;
    assert_eq!(versions(&prod), [("api".into(), "0.9.0".into())]);
    assert_eq!(server.get("/list/nowhere").await, (200, json!([])));

    // Each validation failure is a 400 naming the field and the rule.
    let many: serde_json::Map<String, Value> =
        (0..25).map(|i| (format!("f{i}"), json!("x"))).collect();
    let cases = [
        ("", "empty body"),
        (
            r#"{"name": "api", "version": "1.0.0"}"#,
            "field `env` is required",
        ),
        (
            r#"{"env": "dev", "name": "", "version": "1.0.0"}"#,
            "field `name` must not be empty",
        ),
        (
            r#"{"env": "dev", "name": "api"}"#,
            "field `version` is required",
        ),
        (
            r#"{"env": "dev", "name": "api", "version": 3}"#,
            "field `version` must be a string",
        ),
        (
            r#"{"env": "dev", "name": "api", "version": "1.0.0", "build": {"n": 1}}"#,
            "field `build` must be a string",
        ),
        (&Value::Object(many).to_string(), "too many fields"),
        (
            r#"{"env": "dev", "name": "api", "version": "01.2.3"}"#,
            "field `version`",
        ),
        (
            r#"{"env": "dev", "name": "api", "version": "v1.2"}"#,
            "not a valid SemVer",
        ),
    ];
    for (body, expected) in cases {
        let (status, _, answer) = server.post("/create", body, None).await;
        assert_eq!(status, 400, "{body} -> {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(expected),
            "{body}: `{message}` does not say `{expected}`"
        );
    }
    // Nothing rejected reached the inventory.
    assert_eq!(versions(&server.get("/list/dev").await.1).len(), 3);
}

#[tokio::test]
async fn history_is_never_overwritten() {
    let (_scratch, server) = server();
    for version in ["1.0.0", "1.1.0", "2.0.0", "1.9.0", "1.9.0"] {
        assert_eq!(
            create(
                &server,
                json!({"env": "prod", "name": "web", "version": version})
            )
            .await
            .0,
            200
        );
    }
    let (status, history) = server
        .get("/v1/orgs/default/environments/prod/apps/web/history")
        .await;
    assert_eq!(status, 200);
    let items = history["items"].as_array().unwrap();
    let seen: Vec<_> = items
        .iter()
        .map(|e| {
            (
                e["version"].as_str().unwrap(),
                e["bump"].as_str().unwrap(),
                e["redeploy"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("1.9.0", "same", true),
            ("1.9.0", "downgrade", false),
            ("2.0.0", "major", false),
            ("1.1.0", "minor", false),
            ("1.0.0", "initial", false)
        ]
    );
    let times: Vec<_> = items
        .iter()
        .map(|e| e["time"].as_str().unwrap().to_owned())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    // Paging.
    let (_, page) = server
        .get("/v1/orgs/default/environments/prod/apps/web/history?limit=2")
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let next = page["next"].as_str().unwrap();
    let (_, rest) = server
        .get(&format!(
            "/v1/orgs/default/environments/prod/apps/web/history?limit=10&before={next}"
        ))
        .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 3);
    // Bad paging parameters: the same 422 here and on a history stream, naming the parameter.
    for base in [
        "/v1/orgs/default/environments/prod/apps/web/history",
        "/v1/orgs/default/history/versions",
    ] {
        for (query, named) in [
            ("limit=0", "`limit`"),
            ("limit=1001", "`limit`"),
            ("limit=many", "limit"),
            ("before=yesterday", "`before`"),
        ] {
            let (status, body) = server.get(&format!("{base}?{query}")).await;
            assert_eq!(status, 422, "{base}?{query}: {body}");
            let message = body["error"]["message"].as_str().unwrap_or_default();
            assert!(message.contains(named), "{base}?{query}: {body}");
        }
    }
}

/// Versions from the generic event route and from finished deployments land in the same
/// inventory; one app is seen across environments, and two environments can be compared.
#[tokio::test]
async fn one_inventory_many_inputs() {
    let (_scratch, server) = server();
    assert_eq!(
        create(
            &server,
            json!({"env": "staging", "name": "billing", "version": "3.1.0"})
        )
        .await
        .0,
        200
    );
    let reported = json!({"kind": "version.reported", "subject": "prod/billing", "payload": {"version": "3.0.0", "url": "http://x"}});
    assert_eq!(
        server
            .post("/v1/orgs/default/events", &reported.to_string(), None)
            .await
            .0,
        202
    );
    let finished = json!([
        {"kind": "deployment.finished", "subject": "d-1", "payload": {"deployment_id": "d-1", "result": "success", "environment": "qa", "package": "billing", "version": "3.2.0-rc.1"}},
        {"kind": "deployment.finished", "subject": "d-2", "payload": {"deployment_id": "d-2", "result": "failure", "environment": "qa", "package": "billing", "version": "9.9.9"}},
        {"kind": "deployment.finished", "subject": "d-3", "payload": {"deployment_id": "d-3", "result": "success", "environment": "qa", "package": "search", "version": "1.0.0"}}
    ]);
    assert_eq!(
        server
            .post("/v1/orgs/default/events", &finished.to_string(), None)
            .await
            .0,
        202
    );

    let everywhere = eventually(
        Duration::from_secs(30),
        "billing in three environments",
        || async {
            let (status, body) = server.get("/v1/orgs/default/apps/billing").await;
            (status == 200 && body["environments"].as_array().unwrap().len() == 3).then_some(body)
        },
    )
    .await;
    let envs: Vec<_> = everywhere["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["environment"].as_str().unwrap(),
                e["version"].as_str().unwrap(),
                e["reporter"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        envs,
        [
            ("prod", "3.0.0", "api"),
            ("qa", "3.2.0-rc.1", "deployments"),
            ("staging", "3.1.0", "svt")
        ]
    );
    eventually(Duration::from_secs(30), "search in qa", || async {
        let (_, body) = server.get("/v1/orgs/default/environments/qa/apps").await;
        (body["apps"].as_array().unwrap().len() == 2).then_some(())
    })
    .await;

    let (_, environments) = server.get("/v1/orgs/default/environments").await;
    assert_eq!(
        environments["environments"],
        json!([{"name": "prod", "apps": 1}, {"name": "qa", "apps": 2}, {"name": "staging", "apps": 1}])
    );
    let (_, diff) = server.get("/v1/orgs/default/diff?from=qa&to=prod").await;
    assert_eq!(
        diff["different"],
        json!([{"app": "billing", "from": "3.2.0-rc.1", "to": "3.0.0"}])
    );
    assert_eq!(
        diff["only_in_from"],
        json!([{"app": "search", "version": "1.0.0"}])
    );
    assert_eq!(diff["only_in_to"], json!([]));
    assert_eq!(server.get("/v1/orgs/default/apps/nothing").await.0, 404);
    assert_eq!(server.get("/v1/orgs/nobody/environments").await.0, 401);
}
