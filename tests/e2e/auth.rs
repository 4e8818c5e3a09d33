//! API keys and organisations: every org-scoped route checks the key's org and scope; seed-style
//! routes act on the key's org; keys are never stored in clear.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::harness::{Scratch, Server, eventually, root};

fn trackway(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_trackway"))
        .args(args)
        .output()
        .expect("running trackway");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[tokio::test]
async fn keys_are_checked_per_org_and_scope_and_stored_hashed() {
    let scratch = Scratch::new();
    scratch.examples();
    let pipelines = scratch.pipelines();
    let data = scratch.data();
    let (p, d) = (pipelines.to_str().unwrap(), data.to_str().unwrap());
    for org in ["acme", "umbrella"] {
        trackway(&["orgs", "create", org, "--pipelines", p]);
        std::fs::copy(
            root().join("pipelines/default/versions.toml"),
            pipelines.join(org).join("versions.toml"),
        )
        .unwrap();
    }
    let acme_write = trackway(&[
        "keys",
        "create",
        "--org",
        "acme",
        "--scope",
        "write",
        "--data-dir",
        d,
    ]);
    let acme_read = trackway(&[
        "keys",
        "create",
        "--org",
        "acme",
        "--scope",
        "read",
        "--data-dir",
        d,
    ]);
    let umbrella_admin = trackway(&[
        "keys",
        "create",
        "--org",
        "umbrella",
        "--scope",
        "admin",
        "--data-dir",
        d,
    ]);
    assert!(acme_write.starts_with("tw_") && acme_write.len() > 40);

    let server = Server::start(&pipelines, &data);
    let event =
        json!({"kind": "version.reported", "subject": "prod/api", "payload": {"version": "1.0.0"}})
            .to_string();
    let post = |key: Option<&str>, bearer: bool| {
        let mut request = server
            .client
            .post(format!("{}/v1/orgs/acme/events", server.url))
            .body(event.clone());
        if let Some(key) = key {
            request = if bearer {
                request.bearer_auth(key)
            } else {
                request.header("x-api-key", key)
            };
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, body) = post(None, false).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    assert_eq!(post(Some("tw_not-a-key"), false).await.0, 401);
    let (status, body) = post(Some(&umbrella_admin), false).await;
    assert_eq!(
        status, 404,
        "another org's key must not learn that acme exists: {body}"
    );
    assert_eq!(body["error"]["message"], "unknown org `acme`");
    assert_eq!(post(Some(&acme_read), false).await.0, 403);
    assert_eq!(post(Some(&acme_write), false).await.0, 202);
    assert_eq!(post(Some(&acme_write), true).await.0, 202);

    // Reads: the read key works, the other org's key gets a 404, no key a 401.
    let get = |path: String, key: Option<&str>| {
        let mut request = server.client.get(format!("{}{path}", server.url));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let history = "/v1/orgs/acme/history/versions".to_owned();
    assert_eq!(get(history.clone(), Some(&acme_read)).await, 200);
    assert_eq!(get(history.clone(), Some(&umbrella_admin)).await, 404);
    assert_eq!(get(history, None).await, 401);

    // Seed-style routes act on the key's org; without a key, on the open `default` org.
    let create = server
        .client
        .post(format!("{}/create", server.url))
        .header("x-api-key", &acme_write)
        .json(&json!({"env": "dev", "name": "acme-only", "version": "1.0.0"}))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), 200);
    let list = |key: Option<String>| {
        let mut request = server.client.get(format!("{}/list/dev", server.url));
        if let Some(key) = key {
            request = request.header("x-api-key", key);
        }
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(list(Some(acme_read.clone())).await[0]["name"], "acme-only");
    assert_eq!(list(None).await, json!([]));

    eventually(Duration::from_secs(30), "acme's history", || async {
        let response = server
            .client
            .get(format!("{}/v1/orgs/acme/history/versions", server.url))
            .header("x-api-key", &acme_read)
            .send()
            .await
            .ok()?;
        let body: serde_json::Value = response.json().await.ok()?;
        (body["items"].as_array()?.len() >= 2).then_some(())
    })
    .await;

    // The deployment tracker's routes act on the key's org too, under `/v1/...` and under
    // `/v1/orgs/{org}/...`; replaying dead letters needs an admin key.
    let status = |method: reqwest::Method, path: &str, key: &str| {
        let request = server
            .client
            .request(method, format!("{}{path}", server.url))
            .header("x-api-key", key)
            .body("{}");
        async move { request.send().await.unwrap().status().as_u16() }
    };
    use reqwest::Method;
    assert_eq!(
        status(Method::POST, "/v1/deployments/d1", &acme_write).await,
        201
    );
    assert_eq!(
        status(Method::POST, "/v1/deployments/d2", &acme_read).await,
        403
    );
    assert_eq!(
        status(Method::GET, "/v1/orgs/acme/deployments/d1", &acme_read).await,
        200
    );
    assert_eq!(
        status(Method::GET, "/v1/deployments/d1", &acme_read).await,
        200
    );
    assert_eq!(
        status(Method::GET, "/v1/deployments/d1", &umbrella_admin).await,
        404
    );
    assert_eq!(
        status(Method::GET, "/v1/orgs/acme/deployments/d1", &umbrella_admin).await,
        404
    );
    assert_eq!(
        status(Method::GET, "/v1/orgs/acme/dlq", &acme_read).await,
        200
    );
    assert_eq!(
        status(Method::POST, "/v1/orgs/acme/dlq/replay", &acme_write).await,
        403
    );
    assert_eq!(
        status(
            Method::POST,
            "/v1/orgs/umbrella/dlq/replay",
            &umbrella_admin
        )
        .await,
        202
    );
    server.stop();

    // No key in clear text anywhere in the data directory (database, key file, cache).
    for entry in walk(&data) {
        let bytes = std::fs::read(&entry).unwrap();
        for key in [&acme_write, &acme_read, &umbrella_admin] {
            assert!(
                !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                "{} holds a key in clear",
                entry.display()
            );
        }
    }
    assert!(walk(&data).iter().any(|p| p.ends_with("trackway.redb")));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
