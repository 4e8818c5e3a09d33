//! The one error type of the HTTP API, and the JSON body extractor that reports syntax errors
//! with their position and shape errors with the path of the offending field.
//!
//! Every error answers `{"error": {"code": "...", "message": "..."}}` (plus `line`/`column` for
//! JSON syntax errors). Internal errors are logged with their cause and answered with a generic
//! message: nothing about the host leaks to the client.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// An error answered to an HTTP client.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    position: Option<(usize, usize)>,
}

impl ApiError {
    /// An error with `status`, a stable machine-readable `code` and a message for people.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            position: None,
        }
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `422 invalid_field`: the body is JSON but a field is wrong; the message names it.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message)
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `500 internal`: logs `error` and answers a generic message.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {error}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error",
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let Some((line, column)) = self.position {
            error["line"] = line.into();
            error["column"] = column.into();
        }
        (self.status, axum::Json(json!({ "error": error }))).into_response()
    }
}

impl From<trackway_store::Error> for ApiError {
    fn from(error: trackway_store::Error) -> Self {
        match error {
            trackway_store::Error::IdConflict(id) => Self::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("event id `{id}` is already in use"),
            ),
            trackway_store::Error::IdempotencyMismatch(key) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency_mismatch",
                format!("Idempotency-Key `{key}` was already used with a different request body"),
            ),
            other => Self::internal(other),
        }
    }
}

/// A path parameter of the wrong form (`/api/tasks/abc`), in the API's error shape.
impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        Self::bad_request(rejection.body_text())
    }
}

/// A query string that does not fit the route's parameters, in the API's error shape: `422`
/// with serde's message, which names the parameter.
impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Self::invalid(rejection.body_text())
    }
}

/// The largest request body accepted, in bytes; set once for the router as an extension.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// How much of an oversized body is read and thrown away before answering 413. Answering
/// while the client is still sending makes the server close a socket with unread data, which
/// resets the connection and can destroy the answer before the client reads it; draining a
/// bounded amount lets ordinary clients (curl, CI scripts) see the 413.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// The raw body of a request, read within the [`BodyLimit`] (413 beyond it).
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        use http_body_util::BodyExt as _;
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(usize::MAX, |l| l.0);
        let mut body = req.into_body();
        let mut bytes = Vec::new();
        let mut read = 0usize;
        while let Some(frame) = body.frame().await {
            let frame = frame
                .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
            let Ok(data) = frame.into_data() else {
                continue;
            };
            read += data.len();
            if read > DRAIN_LIMIT {
                break;
            }
            if read <= limit {
                bytes.extend_from_slice(&data);
            }
        }
        if read > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request body is larger than the limit of {limit} bytes"),
            ));
        }
        Ok(Self(Bytes::from(bytes)))
    }
}

/// Parse `bytes` as JSON straight into `T` (no intermediate tree): a syntax error is a `400`
/// with its line and column, a value of the wrong shape a `422` naming the field's path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "request body is empty; expected JSON",
        ));
    }
    // Tracking the path costs an allocation per key on every request and matters only for the
    // message: parse plainly, and again with the path once that failed.
    if let Ok(value) = serde_json::from_slice(bytes) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            syntax_error(&inner)
        } else if path == "." || path.is_empty() {
            ApiError::invalid(strip_position(&inner))
        } else {
            ApiError::invalid(format!("field `{path}`: {}", strip_position(&inner)))
        }
    })?;
    deserializer.end().map_err(|e| syntax_error(&e))?;
    Ok(value)
}

/// serde_json ends its messages with the position, which the API gives separately.
fn strip_position(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    message.strip_suffix(&suffix).unwrap_or(&message).to_owned()
}

fn syntax_error(e: &serde_json::Error) -> ApiError {
    let mut error = ApiError::bad_request(format!(
        "invalid JSON at line {}, column {}: {}",
        e.line(),
        e.column(),
        strip_position(e)
    ));
    error.code = "invalid_json";
    error.position = Some((e.line(), e.column()));
    error
}
