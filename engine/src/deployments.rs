//! The deployment tracker: what the deployment-tracker API accepts, and how each call becomes
//! events (`deployment.started`, `deployment.log`, `deployment.finished`, `server.started`,
//! `server.finished`) plus the new state of the projection, committed together. The HTTP shapes
//! are in `http::deployments`; the projection's storage in `trackway_store::deployments`.
//!
//! Every event's payload is the whole record after the call (the deployment with its result, the
//! server with its own), so a sink never has to look anything up: the statsd sink counts results
//! per environment and package from the `deployment.finished` payload alone.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use trackway_store::NewEvent;
use trackway_store::deployments::{Deployment, Server};
use utoipa::ToSchema;

use crate::http::error::ApiError;
use crate::http::inventory::rfc3339;
use crate::ingest::api_event;

/// The longest accepted text field: the seed widened `package_url` and `arguments` to 2048.
const MAX_TEXT: usize = 2048;
/// The longest accepted deployment id or host name (they are path segments).
const MAX_ID: usize = 128;

/// How a deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// It worked.
    Success,
    /// It did not.
    Failure,
}

impl Outcome {
    /// `success` or `failure`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// A deployment as `POST` and `PUT /v1/deployments/{id}` accept it: every field optional, the
/// seed's model. On `POST` it starts the deployment; on `PUT` the fields given replace the
/// recorded ones (the completion: `result`, `elapsed_seconds`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentBody {
    /// Must equal the id of the path when given.
    #[schema(example = "84e803f7-9562-4d95-b828-25b167aea34b")]
    pub deployment_id: Option<String>,
    /// The deployment engine, e.g. `vagrant_orchestrate`.
    pub engine: Option<String>,
    /// Its version.
    pub engine_version: Option<String>,
    /// The host the deployment runs from.
    pub host: Option<String>,
    /// Who runs it.
    pub user: Option<String>,
    /// Target environment, e.g. `prod`.
    pub environment: Option<String>,
    /// What is deployed.
    pub package: Option<String>,
    /// Where the package comes from.
    pub package_url: Option<String>,
    /// Which version of it.
    pub version: Option<String>,
    /// The engine's arguments.
    pub arguments: Option<String>,
    /// How it ended (on completion).
    pub result: Option<Outcome>,
    /// How long it took, in seconds (on completion).
    pub elapsed_seconds: Option<f64>,
    /// On completion: give servers that reported no result of their own the deployment's.
    pub assert_empty_server_result: Option<bool>,
    /// Servers, recorded as if each was posted to `/servers`.
    pub servers: Option<Vec<ServerBody>>,
}

/// A server of a deployment, as `POST` and `PUT /v1/deployments/{id}/servers` accept it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerBody {
    /// Must equal the id of the path when given.
    pub deployment_id: Option<String>,
    /// The server. Required.
    #[schema(example = "web-1.example.com")]
    pub hostname: Option<String>,
    /// Its address.
    pub ip_address: Option<String>,
    /// How it ended there (on completion).
    pub result: Option<Outcome>,
    /// How long it took there, in seconds (on completion).
    pub elapsed_seconds: Option<f64>,
}

/// One log message of a deployment: `message` is required, `severity` and any other field are
/// kept as sent.
#[derive(Debug, Deserialize, ToSchema)]
pub struct LogBody {
    /// The message.
    #[schema(example = "Starting deployment phase 1")]
    pub message: String,
    /// E.g. `info`, `warn`, `error`.
    pub severity: Option<String>,
    /// Any other field (the Vagrant client sends `type`, `timestamp`, `level`).
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Map<String, Value>,
}

/// A deployment id or host name from a path: 1-128 visible characters, no `/`.
pub fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    if id.is_empty() || id.len() > MAX_ID || id.chars().any(|c| c.is_control() || c == '/') {
        return Err(ApiError::bad_request(format!(
            "{what} `{id}` must be 1-{MAX_ID} visible characters without `/`"
        )));
    }
    Ok(())
}

/// The body's id must be the path's (or absent).
fn same_id(path_id: &str, body_id: Option<&str>) -> Result<(), ApiError> {
    match body_id {
        Some(body_id) if body_id != path_id => Err(ApiError::bad_request(format!(
            "field `deployment_id` is `{body_id}` but the path names deployment `{path_id}`: they must agree (or leave the field out)"
        ))),
        _ => Ok(()),
    }
}

fn text(field: &str, value: &Option<String>) -> Result<(), ApiError> {
    match value {
        Some(v) if v.len() > MAX_TEXT => Err(ApiError::invalid(format!(
            "field `{field}`: at most {MAX_TEXT} bytes, found {}",
            v.len()
        ))),
        _ => Ok(()),
    }
}

fn elapsed(field: &str, value: Option<f64>) -> Result<(), ApiError> {
    match value {
        Some(v) if !(v.is_finite() && v >= 0.0) => Err(ApiError::invalid(format!(
            "field `{field}`: must be a number of seconds, at least 0"
        ))),
        _ => Ok(()),
    }
}

impl DeploymentBody {
    /// Check the body against the deployment of the path.
    pub fn check(&self, path_id: &str) -> Result<(), ApiError> {
        same_id(path_id, self.deployment_id.as_deref())?;
        for (field, value) in [
            ("engine", &self.engine),
            ("engine_version", &self.engine_version),
            ("host", &self.host),
            ("user", &self.user),
            ("environment", &self.environment),
            ("package", &self.package),
            ("package_url", &self.package_url),
            ("version", &self.version),
            ("arguments", &self.arguments),
        ] {
            text(field, value)?;
        }
        elapsed("elapsed_seconds", self.elapsed_seconds)?;
        for (i, server) in self.servers.iter().flatten().enumerate() {
            server.check(path_id, &format!("servers[{i}]."))?;
        }
        Ok(())
    }

    /// `deployment` with every field this body gives replaced.
    pub fn apply(&self, deployment: &mut Deployment) {
        let set = |target: &mut Option<String>, value: &Option<String>| {
            if value.is_some() {
                target.clone_from(value);
            }
        };
        set(&mut deployment.engine, &self.engine);
        set(&mut deployment.engine_version, &self.engine_version);
        set(&mut deployment.host, &self.host);
        set(&mut deployment.user, &self.user);
        set(&mut deployment.environment, &self.environment);
        set(&mut deployment.package, &self.package);
        set(&mut deployment.package_url, &self.package_url);
        set(&mut deployment.version, &self.version);
        set(&mut deployment.arguments, &self.arguments);
        if let Some(result) = self.result {
            deployment.result = Some(result.as_str().to_owned());
        }
        if self.elapsed_seconds.is_some() {
            deployment.elapsed_seconds = self.elapsed_seconds;
        }
    }
}

impl ServerBody {
    /// Check the body against the deployment of the path; `at` prefixes field names.
    pub fn check(&self, path_id: &str, at: &str) -> Result<&str, ApiError> {
        same_id(path_id, self.deployment_id.as_deref())?;
        let hostname = self
            .hostname
            .as_deref()
            .ok_or_else(|| ApiError::invalid(format!("field `{at}hostname` is required")))?;
        check_id(&format!("field `{at}hostname`"), hostname)
            .map_err(|e| ApiError::invalid(e.message().to_owned()))?;
        text(&format!("{at}ip_address"), &self.ip_address)?;
        elapsed(&format!("{at}elapsed_seconds"), self.elapsed_seconds)?;
        Ok(hostname)
    }

    /// `server` with every field this body gives replaced.
    pub fn apply(&self, server: &mut Server) {
        if self.ip_address.is_some() {
            server.ip_address.clone_from(&self.ip_address);
        }
        if let Some(result) = self.result {
            server.result = Some(result.as_str().to_owned());
        }
        if self.elapsed_seconds.is_some() {
            server.elapsed_seconds = self.elapsed_seconds;
        }
    }
}

/// The JSON of a deployment as the read routes show it (the seed's shape: no null fields,
/// `createdAt` and `updatedAt`), with its servers when given.
pub fn deployment_json(deployment: &Deployment, servers: Option<&[Server]>) -> Value {
    let mut out = Map::new();
    out.insert(
        "deployment_id".into(),
        deployment.deployment_id.clone().into(),
    );
    for (key, value) in [
        ("engine", &deployment.engine),
        ("engine_version", &deployment.engine_version),
        ("host", &deployment.host),
        ("user", &deployment.user),
        ("environment", &deployment.environment),
        ("package", &deployment.package),
        ("package_url", &deployment.package_url),
        ("version", &deployment.version),
        ("arguments", &deployment.arguments),
        ("result", &deployment.result),
    ] {
        if let Some(value) = value {
            out.insert(key.into(), value.clone().into());
        }
    }
    if let Some(elapsed) = deployment.elapsed_seconds {
        out.insert("elapsed_seconds".into(), seconds(elapsed));
    }
    out.insert("createdAt".into(), rfc3339(deployment.created_ms).into());
    out.insert("updatedAt".into(), rfc3339(deployment.updated_ms).into());
    if let Some(servers) = servers {
        out.insert(
            "servers".into(),
            servers.iter().map(server_json).collect::<Vec<_>>().into(),
        );
    }
    Value::Object(out)
}

/// Seconds as JSON: a whole number as an integer (`234`, as the seed answered), else a float.
fn seconds(value: f64) -> Value {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        Value::from(value as i64)
    } else {
        Value::from(value)
    }
}

/// The JSON of a server, as the read routes show it.
pub fn server_json(server: &Server) -> Value {
    let mut out = Map::new();
    out.insert("deployment_id".into(), server.deployment_id.clone().into());
    out.insert("hostname".into(), server.hostname.clone().into());
    for (key, value) in [
        ("ip_address", &server.ip_address),
        ("result", &server.result),
    ] {
        if let Some(value) = value {
            out.insert(key.into(), value.clone().into());
        }
    }
    if let Some(elapsed) = server.elapsed_seconds {
        out.insert("elapsed_seconds".into(), seconds(elapsed));
    }
    out.insert("createdAt".into(), rfc3339(server.created_ms).into());
    out.insert("updatedAt".into(), rfc3339(server.updated_ms).into());
    Value::Object(out)
}

/// The payload of an event: the record's JSON with `created`/`updated` in place of the read
/// routes' `createdAt`/`updatedAt` (event payloads use the API's snake case throughout).
fn payload(mut record: Value) -> String {
    if let Some(object) = record.as_object_mut() {
        for (from, to) in [("createdAt", "created"), ("updatedAt", "updated")] {
            if let Some(value) = object.remove(from) {
                object.insert(to.into(), value);
            }
        }
    }
    record.to_string()
}

/// The `deployment.started` or `deployment.finished` event of `deployment`'s new state.
pub fn deployment_event(org: &str, kind: &str, deployment: &Deployment) -> NewEvent {
    let mut new = api_event(
        org,
        kind,
        &deployment.deployment_id,
        deployment.updated_ms,
        payload(deployment_json(deployment, None)),
    );
    for (name, value) in [
        ("environment", &deployment.environment),
        ("package", &deployment.package),
    ] {
        if let Some(value) = value {
            new.event.attributes.push((name.into(), value.clone()));
        }
    }
    new
}

/// The `server.started` or `server.finished` event of `server`'s new state.
pub fn server_event(org: &str, kind: &str, server: &Server) -> NewEvent {
    let mut new = api_event(
        org,
        kind,
        &server.deployment_id,
        server.updated_ms,
        payload(server_json(server)),
    );
    new.event
        .attributes
        .push(("hostname".into(), server.hostname.clone()));
    new
}

/// The `deployment.log` event of one message.
pub fn log_event(org: &str, deployment_id: &str, time_ms: u64, log: LogBody) -> NewEvent {
    let mut fields = log.extra;
    fields.insert("deployment_id".into(), deployment_id.into());
    fields.insert("message".into(), log.message.into());
    if let Some(severity) = log.severity {
        fields.insert("severity".into(), severity.into());
    }
    api_event(
        org,
        "deployment.log",
        deployment_id,
        time_ms,
        Value::Object(fields).to_string(),
    )
}

/// Whether a body posted to the start route is really a log message: the seed's README posts
/// `{"message": ..., "severity": ...}` to `POST /v1/deployments/{id}`, and people copy it. A
/// body with a `message` and none of the deployment's own fields is taken as one.
pub fn is_log_message(body: &Map<String, Value>) -> bool {
    const DEPLOYMENT_FIELDS: [&str; 13] = [
        "deployment_id",
        "engine",
        "engine_version",
        "host",
        "user",
        "environment",
        "package",
        "package_url",
        "version",
        "arguments",
        "result",
        "elapsed_seconds",
        "servers",
    ];
    body.get("message").is_some_and(Value::is_string)
        && !DEPLOYMENT_FIELDS.iter().any(|f| body.contains_key(*f))
}

/// A stable short digest of a request body, to derive idempotency keys from.
pub fn digest(body: &[u8]) -> String {
    use sha2::Digest as _;
    let hash = sha2::Sha256::digest(body);
    hash[..12].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn bodies_apply_only_what_they_give() {
        let mut deployment = Deployment {
            deployment_id: "d".into(),
            environment: Some("dev".into()),
            version: Some("1.0".into()),
            ..Deployment::default()
        };
        let body = DeploymentBody {
            version: Some("1.1".into()),
            result: Some(Outcome::Success),
            elapsed_seconds: Some(12.5),
            ..DeploymentBody::default()
        };
        body.check("d").unwrap();
        body.apply(&mut deployment);
        assert_eq!(deployment.environment.as_deref(), Some("dev"));
        assert_eq!(deployment.version.as_deref(), Some("1.1"));
        assert_eq!(deployment.result.as_deref(), Some("success"));
        assert_eq!(deployment.elapsed_seconds, Some(12.5));
    }

    #[test]
    fn checks_name_the_field() {
        let other = DeploymentBody {
            deployment_id: Some("x".into()),
            ..DeploymentBody::default()
        };
        let error = other.check("d").unwrap_err();
        assert_eq!(error.status(), 400);
        assert!(error.message().contains("`deployment_id`"));
        let negative = DeploymentBody {
            elapsed_seconds: Some(-1.0),
            ..DeploymentBody::default()
        };
        assert!(
            negative
                .check("d")
                .unwrap_err()
                .message()
                .contains("elapsed_seconds")
        );
        let no_host = ServerBody::default();
        assert!(
            no_host
                .check("d", "")
                .unwrap_err()
                .message()
                .contains("`hostname`")
        );
        assert!(check_id("deployment id", "a/b").is_err());
        assert!(check_id("deployment id", "84e803f7-9562-4d95").is_ok());
    }

    #[test]
    fn the_readme_log_message_is_recognised() {
        let as_map = |v: Value| v.as_object().cloned().unwrap();
        assert!(is_log_message(&as_map(
            json!({ "message": "Starting deployment phase 1", "severity": "info" })
        )));
        assert!(!is_log_message(&as_map(
            json!({"deployment_id": "d", "message": "x"})
        )));
        assert!(!is_log_message(&as_map(json!({"engine": "e"}))));
    }

    #[test]
    fn events_carry_the_whole_record() {
        let deployment = Deployment {
            deployment_id: "d".into(),
            environment: Some("prod".into()),
            package: Some("api".into()),
            result: Some("success".into()),
            created_ms: 1_000,
            updated_ms: 2_000,
            ..Deployment::default()
        };
        let new = deployment_event("acme", "deployment.finished", &deployment);
        let payload: Value = serde_json::from_str(&new.event.payload).unwrap();
        assert_eq!(payload["result"], "success");
        assert_eq!(payload["environment"], "prod");
        assert_eq!(payload["created"], "1970-01-01T00:00:01.000Z");
        assert!(payload.get("createdAt").is_none() && payload.get("engine").is_none());
        assert_eq!(new.event.subject, "d");
        assert_eq!(new.event.time_ms, 2_000);
    }
}
