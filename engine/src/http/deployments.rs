//! The deployment-tracker API, compatible with the seed's routes so existing CI scripts keep
//! working: under `/v1/...` for the org of the caller's key (or the open `default` org), and
//! under `/v1/orgs/{org}/...` for an org named in the path.
//!
//! Every write appends its events and the projection's new state in one commit and answers once
//! it is durable; a retried request (the same body again) is answered like the first and
//! appends nothing. Where the seed was buggy, this does what its users expected:
//! - an unknown deployment is a `404` (the seed answered `500`);
//! - `Location` names the created resource (the seed's was `/v1/deployments/undefined`);
//! - the README's second call posts a log message to `POST /v1/deployments/{id}`: a body with a
//!   `message` and no deployment field is recorded as a log message of that deployment;
//! - `PUT .../servers` for a server that never started records it (the seed silently did
//!   nothing);
//! - trailing slashes (`/logs/`, as the seed's tests post) are accepted everywhere.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use trackway_store::deployments::{Deployment, Server};
use trackway_store::{NewEvent, Store, WriteBatch};

use super::AppState;
use super::error::{ApiError, RawBody, parse};
use super::events::idempotency_key;
use crate::auth::{Caller, Read, Write};
use crate::deployments::{
    DeploymentBody, LogBody, ServerBody, check_id, deployment_event, deployment_json, digest,
    is_log_message, log_event, server_event, server_json,
};
use crate::ingest::MAX_EVENTS_PER_REQUEST;

/// The OpenAPI description of this resource.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(start, finish, logs, server_start, server_finish, list, show, server_show, hostnames, servers_by_host),
    components(schemas(DeploymentBody, ServerBody, LogBody, crate::deployments::Outcome)),
    tags((name = "deployments", description = "The deployment-tracker API. Every route also exists under `/v1/orgs/{org}/...` for an org named in the path; under `/v1/...` it acts on the org of the API key (or the open `default` org)."))
)]
pub struct Api;

/// Routes of this resource.
pub fn router() -> Router<Arc<AppState>> {
    let routes = Router::new()
        .route("/deployments", get(list))
        .route("/deployments/{id}", post(start).put(finish).get(show))
        .route("/deployments/{id}/logs", post(logs))
        .route(
            "/deployments/{id}/servers",
            post(server_start).put(server_finish),
        )
        .route("/deployments/{id}/servers/{hostname}", get(server_show))
        .route("/servers", get(hostnames))
        .route("/servers/{hostname}", get(servers_by_host));
    Router::new()
        .nest("/v1", routes.clone())
        .nest("/v1/orgs/{org}", routes)
}

/// Page size when `limit` is not given (the seed's).
const DEFAULT_LIMIT: usize = 25;
/// Largest page size (the seed's).
const MAX_LIMIT: usize = 1000;

#[derive(Debug, Deserialize)]
struct Ids {
    id: String,
    #[serde(default)]
    hostname: Option<String>,
}

#[derive(Debug, Deserialize)]
struct HostPath {
    hostname: String,
}

/// `?offset=&limit=`, as the seed's list routes take them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items to skip, newest first. Default 0.
    offset: Option<usize>,
    /// Items per page, 1 to 1000. Default 25.
    limit: Option<usize>,
}

impl PageQuery {
    fn parse(query: Result<Query<PageQuery>, QueryRejection>) -> Result<(usize, usize), ApiError> {
        let Query(page) = query.map_err(|e| {
            ApiError::invalid(format!(
                "query parameters `offset` and `limit` must be non-negative integers: {}",
                e.body_text()
            ))
        })?;
        let limit = page.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid(format!(
                "query parameter `limit`: must be between 1 and {MAX_LIMIT}, found {limit}"
            )));
        }
        Ok((page.offset.unwrap_or(0), limit))
    }
}

/// The seed's `Link` header: `next` always, `prev` when `offset > 0`, absolute URLs of this
/// route with `offset` and `limit`.
fn links(headers: &HeaderMap, uri: &axum::http::Uri, offset: usize, limit: usize) -> HeaderValue {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("http");
    let base = format!("{scheme}://{host}{}", uri.path());
    let mut links = vec![format!(
        "<{base}?offset={}&limit={limit}>; rel=\"next\"",
        offset + limit
    )];
    if offset > 0 {
        links.push(format!(
            "<{base}?offset={}&limit={limit}>; rel=\"prev\"",
            offset.saturating_sub(limit)
        ));
    }
    HeaderValue::from_str(&links.join(", ")).unwrap_or(HeaderValue::from_static(""))
}

/// Run a read on a blocking thread.
async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Store) -> trackway_store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let store = state.store.clone();
    Ok(tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(ApiError::internal)??)
}

/// Deployment `id` of `org` with its servers, or the 404 that says so.
async fn existing(
    state: &AppState,
    org: &str,
    id: &str,
) -> Result<(Deployment, Vec<Server>), ApiError> {
    check_id("deployment id", id)?;
    let (o, i) = (org.to_owned(), id.to_owned());
    read(state, move |store| store.deployment(&o, &i))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no deployment `{id}`")))
}

/// The key that makes a retry of a call harmless: the request's `Idempotency-Key`, or one
/// derived from the call (`None` for calls that may legitimately repeat, such as log messages).
struct Key {
    key: Option<String>,
    /// Whether the key is derived: reusing it with another body is then a conflict of the
    /// resource (`409`), where a client's own key reused is its mistake (`422`, as on
    /// `/v1/orgs/{org}/events`).
    derived: bool,
}

fn key(headers: &HeaderMap, derived: Option<String>) -> Result<Key, ApiError> {
    Ok(match idempotency_key(headers)? {
        Some(key) => Key {
            key: Some(key),
            derived: false,
        },
        None => Key {
            derived: derived.is_some(),
            key: derived,
        },
    })
}

/// Commit `events` with the projection writes of `write` under `key`; `conflict` is the message
/// when a derived key was used with another body.
async fn commit(
    state: &AppState,
    org: &str,
    key: Key,
    body: &[u8],
    events: Vec<NewEvent>,
    mut write: WriteBatch,
    conflict: impl FnOnce() -> String,
) -> Result<trackway_store::Appended, ApiError> {
    let n = events.len() as u64;
    write.append(org, key.key.as_deref(), body, events);
    let mut outcome = state
        .store
        .commit(write)
        .await
        .map_err(|_| ApiError::internal("the store writer has stopped"))?
        .map_err(|e| match e {
            trackway_store::Error::IdempotencyMismatch(_) if key.derived => {
                ApiError::new(StatusCode::CONFLICT, "conflict", conflict())
            }
            other => other.into(),
        })?;
    let appended = outcome.appended.pop().expect("one append in the batch");
    if !appended.replayed {
        state
            .metrics
            .add(crate::metrics::INGESTED, vec![("org", org.to_owned())], n);
    }
    Ok(appended)
}

/// The ids of appended log events, as `POST .../logs` answers them.
fn logged(appended: &trackway_store::Appended) -> Response {
    let ids: Vec<String> = appended.ids.iter().map(ToString::to_string).collect();
    (StatusCode::CREATED, Json(json!({ "ids": ids }))).into_response()
}

fn now() -> u64 {
    crate::executor::pipeline::now_ms()
}

fn created(location: &str, body: Value) -> Response {
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Record the start of a deployment.
#[utoipa::path(
    post, path = "/v1/deployments/{id}", tag = "deployments",
    params(("id" = String, Path, description = "The deployment id (also under `/v1/orgs/{org}/deployments/{id}`)")),
    request_body = DeploymentBody,
    responses(
        (status = 201, description = "Recorded; `Location` names the deployment"),
        (status = 400, description = "Invalid JSON (with its position), or the body's id disagrees with the path's"),
        (status = 409, description = "The deployment was already started with other fields"),
        (status = 422, description = "A field has the wrong type or value; the message names it"),
    )
)]
async fn start(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    Path(Ids { id, .. }): Path<Ids>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    check_id("deployment id", &id)?;
    if let Ok(map) = serde_json::from_slice::<Map<String, Value>>(&body)
        && is_log_message(&map)
    {
        existing(&state, &org, &id).await?;
        let log: LogBody = parse(&body)?;
        let events = vec![log_event(&org, &id, now(), log)];
        let key = key(&headers, None)?;
        let appended = commit(
            &state,
            &org,
            key,
            &body,
            events,
            WriteBatch::new(),
            String::new,
        );
        return Ok(logged(&appended.await?));
    }
    let input: DeploymentBody = parse(&body)?;
    input.check(&id)?;
    let now = now();
    let mut deployment = Deployment {
        deployment_id: id.clone(),
        created_ms: now,
        updated_ms: now,
        ..Deployment::default()
    };
    input.apply(&mut deployment);
    let mut write = WriteBatch::new();
    let mut events = vec![deployment_event(&org, "deployment.started", &deployment)];
    write.put_deployment(&org, deployment.clone());
    for server in input.servers.iter().flatten() {
        let hostname = server.check(&id, "")?;
        let mut record = new_server(&id, hostname, now);
        server.apply(&mut record);
        events.push(server_event(&org, "server.started", &record));
        write.put_server(&org, record);
    }
    let key = key(&headers, Some(format!("deployment/{id}/start")))?;
    commit(&state, &org, key, &body, events, write, || {
        format!("deployment `{id}` was already started with other fields; update it with `PUT`")
    })
    .await?;
    Ok(created(uri.path(), deployment_json(&deployment, None)))
}

fn new_server(id: &str, hostname: &str, now: u64) -> Server {
    Server {
        deployment_id: id.to_owned(),
        hostname: hostname.to_owned(),
        created_ms: now,
        updated_ms: now,
        ..Server::default()
    }
}

/// Record the completion of a deployment (or any change of its fields).
#[utoipa::path(
    put, path = "/v1/deployments/{id}", tag = "deployments",
    params(("id" = String, Path, description = "The deployment id")),
    request_body = DeploymentBody,
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "Invalid JSON, or the body's id disagrees with the path's"),
        (status = 404, description = "No such deployment"),
        (status = 422, description = "A field has the wrong type or value"),
    )
)]
async fn finish(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    Path(Ids { id, .. }): Path<Ids>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<StatusCode, ApiError> {
    let (mut deployment, servers) = existing(&state, &org, &id).await?;
    let input: DeploymentBody = parse(&body)?;
    input.check(&id)?;
    let now = now();
    input.apply(&mut deployment);
    deployment.updated_ms = now;
    let mut write = WriteBatch::new();
    let mut events = vec![deployment_event(&org, "deployment.finished", &deployment)];
    write.put_deployment(&org, deployment.clone());
    let mut changed: Vec<Server> = Vec::new();
    for server in input.servers.iter().flatten() {
        let hostname = server.check(&id, "")?;
        let mut record = servers
            .iter()
            .find(|s| s.hostname == hostname)
            .cloned()
            .unwrap_or_else(|| new_server(&id, hostname, now));
        server.apply(&mut record);
        changed.push(record);
    }
    if input.assert_empty_server_result == Some(true)
        && let Some(result) = &deployment.result
    {
        for server in &servers {
            if server.result.is_none() && !changed.iter().any(|c| c.hostname == server.hostname) {
                let mut record = server.clone();
                record.result = Some(result.clone());
                changed.push(record);
            }
        }
    }
    for mut server in changed {
        server.updated_ms = now;
        events.push(server_event(&org, "server.finished", &server));
        write.put_server(&org, server);
    }
    let key = key(
        &headers,
        Some(format!("deployment/{id}/update/{}", digest(&body))),
    )?;
    commit(&state, &org, key, &body, events, write, String::new).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Record log messages of a deployment: an array of them, or one.
#[utoipa::path(
    post, path = "/v1/deployments/{id}/logs", tag = "deployments",
    params(("id" = String, Path, description = "The deployment id")),
    request_body(content = Vec<LogBody>, description = "One message object, or an array of them"),
    responses(
        (status = 201, description = "Recorded, with the ids of the log events"),
        (status = 404, description = "No such deployment"),
        (status = 422, description = "A message lacks `message`, or has a field of the wrong type"),
    )
)]
async fn logs(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    Path(Ids { id, .. }): Path<Ids>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    existing(&state, &org, &id).await?;
    let is_array = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let messages: Vec<LogBody> = if is_array {
        parse(&body)?
    } else {
        vec![parse(&body)?]
    };
    if messages.is_empty() {
        return Err(ApiError::invalid("the array holds no log message"));
    }
    if messages.len() > MAX_EVENTS_PER_REQUEST {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "{} log messages in one request; the limit is {MAX_EVENTS_PER_REQUEST}",
                messages.len()
            ),
        ));
    }
    let now = now();
    let events = messages
        .into_iter()
        .map(|log| log_event(&org, &id, now, log))
        .collect();
    let key = key(&headers, None)?;
    let appended = commit(
        &state,
        &org,
        key,
        &body,
        events,
        WriteBatch::new(),
        String::new,
    );
    Ok(logged(&appended.await?))
}

/// Record the start of a deployment on one server.
#[utoipa::path(
    post, path = "/v1/deployments/{id}/servers", tag = "deployments",
    params(("id" = String, Path, description = "The deployment id")),
    request_body = ServerBody,
    responses(
        (status = 201, description = "Recorded; `Location` names the server of the deployment"),
        (status = 404, description = "No such deployment"),
        (status = 409, description = "The server was already started with other fields"),
        (status = 422, description = "`hostname` is missing, or a field is wrong"),
    )
)]
async fn server_start(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    Path(Ids { id, .. }): Path<Ids>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    existing(&state, &org, &id).await?;
    let input: ServerBody = parse(&body)?;
    let hostname = input.check(&id, "")?.to_owned();
    let mut server = new_server(&id, &hostname, now());
    input.apply(&mut server);
    let mut write = WriteBatch::new();
    write.put_server(&org, server.clone());
    let events = vec![server_event(&org, "server.started", &server)];
    let key = key(
        &headers,
        Some(format!("deployment/{id}/server/{hostname}/start")),
    )?;
    commit(&state, &org, key, &body, events, write, || {
        format!("server `{hostname}` of deployment `{id}` was already started with other fields")
    })
    .await?;
    let location = format!("{}/{hostname}", uri.path().trim_end_matches('/'));
    Ok(created(&location, server_json(&server)))
}

/// Record the completion of a deployment on one server.
#[utoipa::path(
    put, path = "/v1/deployments/{id}/servers", tag = "deployments",
    params(("id" = String, Path, description = "The deployment id")),
    request_body = ServerBody,
    responses(
        (status = 204, description = "Recorded (a server that never started is recorded too)"),
        (status = 404, description = "No such deployment"),
        (status = 422, description = "`hostname` is missing, or a field is wrong"),
    )
)]
async fn server_finish(
    State(state): State<Arc<AppState>>,
    Write(Caller { org }): Write,
    Path(Ids { id, .. }): Path<Ids>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<StatusCode, ApiError> {
    let (_, servers) = existing(&state, &org, &id).await?;
    let input: ServerBody = parse(&body)?;
    let hostname = input.check(&id, "")?.to_owned();
    let now = now();
    let mut server = servers
        .into_iter()
        .find(|s| s.hostname == hostname)
        .unwrap_or_else(|| new_server(&id, &hostname, now));
    input.apply(&mut server);
    server.updated_ms = now;
    let mut write = WriteBatch::new();
    write.put_server(&org, server.clone());
    let events = vec![server_event(&org, "server.finished", &server)];
    let derived = format!("deployment/{id}/server/{hostname}/update/{}", digest(&body));
    let key = key(&headers, Some(derived))?;
    commit(&state, &org, key, &body, events, write, String::new).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deployments, newest first, each with its servers.
#[utoipa::path(
    get, path = "/v1/deployments", tag = "deployments",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of deployments; `Link` has `next` (always) and `prev` (when `offset > 0`)"),
        (status = 422, description = "`offset` or `limit` out of range"),
    )
)]
async fn list(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (offset, limit) = PageQuery::parse(query)?;
    let page = read(&state, move |store| store.deployments(&org, offset, limit)).await?;
    let items: Vec<Value> = page
        .iter()
        .map(|(d, servers)| deployment_json(d, Some(servers)))
        .collect();
    Ok((
        [(header::LINK, links(&headers, &uri, offset, limit))],
        Json(items),
    )
        .into_response())
}

/// One deployment, with its servers.
#[utoipa::path(
    get, path = "/v1/deployments/{id}", tag = "deployments",
    params(("id" = String, Path, description = "The deployment id")),
    responses((status = 200, description = "The deployment"), (status = 404, description = "No such deployment"))
)]
async fn show(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Path(Ids { id, .. }): Path<Ids>,
) -> Result<Json<Value>, ApiError> {
    let (deployment, servers) = existing(&state, &org, &id).await?;
    Ok(Json(deployment_json(&deployment, Some(&servers))))
}

/// One server of a deployment.
#[utoipa::path(
    get, path = "/v1/deployments/{id}/servers/{hostname}", tag = "deployments",
    params(("id" = String, Path), ("hostname" = String, Path)),
    responses((status = 200, description = "The server"), (status = 404, description = "No such deployment or server"))
)]
async fn server_show(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Path(Ids { id, hostname }): Path<Ids>,
) -> Result<Json<Value>, ApiError> {
    let hostname = hostname.unwrap_or_default();
    let (_, servers) = existing(&state, &org, &id).await?;
    servers
        .iter()
        .find(|s| s.hostname == hostname)
        .map(|s| Json(server_json(s)))
        .ok_or_else(|| ApiError::not_found(format!("no server `{hostname}` in deployment `{id}`")))
}

/// Host names of every server deployed to, in descending order.
#[utoipa::path(
    get, path = "/v1/servers", tag = "deployments",
    params(PageQuery),
    responses((status = 200, description = "Host names (strings); `Link` as for deployments"))
)]
async fn hostnames(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let (offset, limit) = PageQuery::parse(query)?;
    let names = read(&state, move |store| store.hostnames(&org, offset, limit)).await?;
    Ok((
        [(header::LINK, links(&headers, &uri, offset, limit))],
        Json(names),
    )
        .into_response())
}

/// The deployments that ran on one server, as that server's rows, newest first.
#[utoipa::path(
    get, path = "/v1/servers/{hostname}", tag = "deployments",
    params(("hostname" = String, Path), PageQuery),
    responses(
        (status = 200, description = "The server's rows; `Link` as for deployments"),
        (status = 404, description = "No deployment ever ran on this server"),
    )
)]
async fn servers_by_host(
    State(state): State<Arc<AppState>>,
    Read(Caller { org }): Read,
    Path(HostPath { hostname }): Path<HostPath>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    check_id("host name", &hostname)?;
    let (offset, limit) = PageQuery::parse(query)?;
    let (o, h) = (org.clone(), hostname.clone());
    let (known, rows) = read(&state, move |store| {
        let known = !store.servers_by_host(&o, &h, 0, 1)?.is_empty();
        Ok((known, store.servers_by_host(&o, &h, offset, limit)?))
    })
    .await?;
    if !known {
        return Err(ApiError::not_found(format!(
            "no deployment ran on server `{hostname}`"
        )));
    }
    let rows: Vec<Value> = rows.iter().map(server_json).collect();
    Ok((
        [(header::LINK, links(&headers, &uri, offset, limit))],
        Json(rows),
    )
        .into_response())
}
