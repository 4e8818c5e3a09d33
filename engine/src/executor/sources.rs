//! Sources that append to the log themselves: schedule timers and plugin sources (polled on an
//! interval, or called by the webhook route). The pipeline task then reads their events from the
//! log like any other, so they are durable before anything processes them.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use trackway_runtime::Instance;
use trackway_store::{Event, NewEvent, Ulid, WriteBatch};

use super::pipeline::now_ms;
use super::{FAULT_BACKOFF, Shared, apply_pending, pause};

/// The state key under which a polled source's cursor is kept (in the host's part of the
/// source's state scope, which the plugin cannot write: plugin keys live under the stage scope).
const POLL_CURSOR_SCOPE_SUFFIX: &str = "#poll";

/// Append a `schedule.tick` event every `interval`.
pub async fn schedule(
    shared: Arc<Shared>,
    org: String,
    pipeline: String,
    source: String,
    interval: Duration,
) {
    let mut shutdown = shared.shutdown.clone();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let now = now_ms();
        let event = Event {
            id: Ulid::nil(),
            org: org.clone(),
            kind: "schedule.tick".into(),
            source: format!("{pipeline}/{source}"),
            time_ms: now,
            subject: source.clone(),
            attributes: Vec::new(),
            payload: format!("{{\"scheduled_ms\":{now}}}"),
            parent: None,
        };
        let mut write = WriteBatch::new();
        write.append(&org, None, b"", vec![NewEvent { id: None, event }]);
        if let Ok(Err(error)) = shared.store.commit(write).await {
            tracing::error!(org, pipeline, source, "cannot append tick: {error}");
        }
    }
}

/// Turn events a source produced into log entries: org, source and time are the host's to set;
/// a ULID id chosen by the plugin is kept (so a re-polled item is not appended twice).
pub fn own_events(events: Vec<Event>, org: &str, source: &str) -> Vec<NewEvent> {
    let now = now_ms();
    events
        .into_iter()
        .map(|mut event| {
            let id = (!event.id.is_nil()).then_some(event.id);
            event.org = org.to_owned();
            event.source = source.to_owned();
            if event.time_ms == 0 {
                event.time_ms = now;
            }
            NewEvent { id, event }
        })
        .collect()
}

/// Poll a plugin source every `interval`.
pub async fn poll(shared: Arc<Shared>, instance: Arc<Mutex<Instance>>, interval: Duration) {
    let mut shutdown = shared.shutdown.clone();
    let context = instance.lock().await.context().clone();
    let scope = context.scope();
    let cursor_scope = format!("{scope}{POLL_CURSOR_SCOPE_SUFFIX}");
    let source = format!("{}/{}", context.pipeline, context.stage);
    loop {
        let cursor = match shared.store.state(&cursor_scope, "cursor") {
            Ok(cursor) => cursor.map(|c| String::from_utf8_lossy(&c).into_owned()),
            Err(error) => {
                tracing::error!(source = %scope, "cannot read poll cursor: {error}");
                pause(&mut shutdown, FAULT_BACKOFF).await;
                continue;
            }
        };
        let result = instance.lock().await.poll(cursor.as_deref()).await;
        match result {
            Ok((Ok(polled), pending)) => {
                let mut write = WriteBatch::new();
                apply_pending(pending, &context, &mut write);
                let events = own_events(polled.events, &context.org, &source);
                if !events.is_empty() {
                    write.append(&context.org, None, b"", events);
                }
                if let Some(next) = polled.cursor {
                    write.set_state(&cursor_scope, "cursor", Some(next.into_bytes()));
                }
                if let Ok(Err(error)) = shared.store.commit(write).await {
                    instance.lock().await.forget_cached_state();
                    tracing::error!(source = %scope, "cannot commit poll results: {error}");
                }
            }
            Ok((Err(error), _)) => tracing::warn!(source = %scope, "poll failed: {error}"),
            Err(error) => tracing::warn!(source = %scope, "poll call failed: {error}"),
        }
        if !pause(&mut shutdown, interval).await {
            return;
        }
    }
}
