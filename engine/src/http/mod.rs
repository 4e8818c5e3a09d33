//! The HTTP API: one router, one error shape ([`error::ApiError`]), one module per resource
//! (each starts with its `router()`).

pub mod deployments;
pub mod dlq;
pub mod error;
pub mod events;
pub mod health;
pub mod history;
pub mod hooks;
pub mod inventory;
pub mod openapi;
pub mod svt;
pub mod tasks;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use trackway_store::Store;

use crate::auth::Access;
use crate::executor::{Gates, Hooks};
use crate::metrics::Metrics;

/// What every handler can reach.
pub struct AppState {
    /// The database.
    pub store: Store,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Orgs, open orgs and API keys.
    pub access: Access,
    /// Number of pipelines running.
    pub pipelines: usize,
    /// Set once the executor runs.
    pub ready: AtomicBool,
    /// Webhook-capable sources.
    pub hooks: Hooks,
    /// Dry-run gates of the pipelines, for routes that validate before accepting.
    pub gates: Gates,
    /// Sinks, for lag metrics and replays: (org, pipeline, sink).
    pub sinks: Vec<(String, String, String)>,
    /// Processors, for replays: (org, pipeline, processor).
    pub processors: Vec<(String, String, String)>,
    /// The targets sink stages were granted, probed by `/healthcheck`.
    pub targets: Vec<health::SinkTarget>,
    /// The plugin host (its connection pools, for probes).
    pub runtime: trackway_runtime::Runtime,
    /// Turns of the SVT `/create` calls, per app and environment.
    pub svt_creates: svt::CreateLocks,
}

/// The default limit on request bodies: a batch of `MAX_EVENTS_PER_REQUEST` events of about a
/// kilobyte each.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The whole API.
pub fn router(state: Arc<AppState>, body_limit: usize) -> Router {
    Router::new()
        .merge(deployments::router())
        .merge(dlq::router())
        .merge(events::router())
        .merge(history::router())
        .merge(health::router())
        .merge(hooks::router())
        .merge(inventory::router())
        .merge(openapi::router())
        .merge(svt::router())
        .merge(tasks::router())
        // Bodies are read (and limited) by `error::RawBody`, which drains oversized ones.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::Extension(error::BodyLimit(body_limit)))
        .with_state(state)
}

/// Trailing slashes are trimmed before routing (the deployment tracker's clients post to
/// `/v1/deployments/{id}/logs/`), except below `/docs/`, the docs page, which needs its own.
pub fn trim_trailing_slash(mut request: axum::extract::Request) -> axum::extract::Request {
    let uri = request.uri();
    let path = uri.path();
    if path.len() > 1 && path.ends_with('/') && !path.starts_with("/docs") {
        let trimmed = path.trim_end_matches('/');
        let path_and_query = match uri.query() {
            Some(query) => format!("{trimmed}?{query}"),
            None => trimmed.to_owned(),
        };
        let mut parts = uri.clone().into_parts();
        if let Ok(pq) = path_and_query.parse() {
            parts.path_and_query = Some(pq);
            if let Ok(new) = axum::http::Uri::from_parts(parts) {
                *request.uri_mut() = new;
            }
        }
    }
    request
}
