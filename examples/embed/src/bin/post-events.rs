//! Talking to a running trackway with `trackway-client`: post deployment events to an org, then
//! read back the ones its pipeline dead-lettered.
//!
//! Run: start a server with the custom plugin's pipelines (see `examples/custom-plugin`,
//! "Run it"), then `cargo run --bin post-events` here. `TRACKWAY_URL` (default
//! `http://127.0.0.1:8080`) and `API_KEY` (needed unless the org is open) are read as by
//! `trackway track`.

use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::json;
use trackway_client::{Client, EventInput};

/// The org the events go to: the example's open org.
const ORG: &str = "default";

/// How long the pipeline gets to dead-letter the rejected event.
const WAIT: Duration = Duration::from_secs(10);

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("TRACKWAY_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let client = Client::new(&url, std::env::var("API_KEY").ok())?;

    let events = [
        deployment(
            "d-101",
            json!({"environment": "prod", "package": "api", "version": "2.0.0"}),
        ),
        deployment("d-102", json!({"environment": "prod", "package": "api"})),
    ];
    // Answered once the events are durable; the pipeline runs after that.
    let ids = client
        .post_events(ORG, &events)
        .await
        .context("posting the events")?;
    for (event, id) in events.iter().zip(&ids) {
        println!("posted {} {} as {id}", event.kind, event.subject);
    }

    // `d-102` has no version, which the `ownership` stage rejects: poll the dead-letter queue
    // until it is there (or give up after `WAIT`).
    let started = Instant::now();
    loop {
        let letters: Vec<_> = client
            .dead_letters(ORG)
            .await
            .context("reading the dead-letter queue")?
            .into_iter()
            .filter(|letter| ids.iter().any(|id| letter.event["id"] == id.as_str()))
            .collect();
        if !letters.is_empty() {
            for letter in letters {
                println!(
                    "dead-lettered by {}/{}: {}",
                    letter.pipeline, letter.stage, letter.error
                );
            }
            return Ok(());
        }
        if started.elapsed() > WAIT {
            println!(
                "nothing dead-lettered after {WAIT:?}: is the server running the pipelines of \
                 examples/custom-plugin?"
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A `deployment.started` event of deployment `id` with `payload`.
fn deployment(id: &str, payload: serde_json::Value) -> EventInput {
    EventInput {
        payload: Some(payload),
        ..EventInput::new("deployment.started", id)
    }
}
