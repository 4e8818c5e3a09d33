//! `kill -9` while clients post events: after a restart, every event that was answered 202
//! reaches the history sink exactly once; none is lost, none duplicated.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::harness::{Scratch, Server, eventually};

#[tokio::test]
async fn sigkill_during_ingest_loses_and_duplicates_nothing() {
    let scratch = Scratch::new();
    scratch.examples();
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    let accepted: Arc<Mutex<Vec<String>>> = Arc::default();

    // Eight clients post sequences of versions until the server goes away.
    let url = server.url.clone();
    let mut clients = Vec::new();
    for c in 0..8 {
        let (url, accepted) = (url.clone(), accepted.clone());
        clients.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            for i in 0.. {
                let body = format!(r#"{{"kind": "version.reported", "subject": "app-{c}", "payload": {{"version": "1.{i}.0"}}}}"#);
                let Ok(response) = client.post(format!("{url}/v1/orgs/default/events")).body(body).send().await else {
                    return;
                };
                if response.status() != 202 {
                    return;
                }
                let Ok(json) = response.json::<serde_json::Value>().await else { return };
                accepted.lock().unwrap().push(json["ids"][0].as_str().unwrap().to_owned());
            }
        }));
    }
    eventually(Duration::from_secs(60), "400 accepted events", || async {
        (accepted.lock().unwrap().len() >= 400).then_some(())
    })
    .await;
    server.kill9();
    for client in clients {
        client.await.expect("client task");
    }
    let before_crash = accepted.lock().unwrap().len();

    // Restart on the same data and send a few more.
    let server = Server::start(&scratch.pipelines(), &scratch.data());
    for i in 0..20 {
        let body = format!(
            r#"{{"kind": "version.reported", "subject": "after", "payload": {{"version": "2.{i}.0"}}}}"#
        );
        let (status, _, json) = server.post("/v1/orgs/default/events", &body, None).await;
        assert_eq!(status, 202);
        accepted
            .lock()
            .unwrap()
            .push(json["ids"][0].as_str().unwrap().to_owned());
    }
    let accepted: HashSet<String> = accepted.lock().unwrap().iter().cloned().collect();
    assert_eq!(accepted.len(), before_crash + 20);

    let history = eventually(
        Duration::from_secs(120),
        "every accepted event in history",
        || async {
            let items = server.history("default", "versions").await;
            let parents: HashSet<&str> =
                items.iter().filter_map(|e| e["parent"].as_str()).collect();
            accepted
                .iter()
                .all(|id| parents.contains(id.as_str()))
                .then_some(items)
        },
    )
    .await;
    let mut per_parent: HashMap<&str, usize> = HashMap::new();
    for item in &history {
        *per_parent
            .entry(item["parent"].as_str().unwrap())
            .or_default() += 1;
    }
    let duplicated: Vec<_> = per_parent.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicated.is_empty(),
        "duplicated in history: {duplicated:?}"
    );
    let ids: HashSet<&str> = history.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), history.len());
    server.stop();
}
