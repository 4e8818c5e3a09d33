//! Outbound HTTP to the hosts granted to the stage (capability `http`).
//!
//! `grants = [{ http = ["hooks.slack.com", "127.0.0.1:9000"] }]`: a host without a port allows
//! only its scheme's default port. Redirects are not followed. Any status is an answer; no
//! connection, a timeout or a reset is a retryable error.

use crate::Error;
use crate::bindings::host::trackway::plugin::http as host;
pub use crate::bindings::host::trackway::plugin::http::{Request, Response};

/// Send `request` and wait for the answer.
pub fn send(request: &Request) -> Result<Response, Error> {
    host::send(request)
}

impl Request {
    /// A `POST` of `body` to `url` with `Content-Type: content_type`.
    pub fn post(url: impl Into<String>, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            method: "POST".to_owned(),
            url: url.into(),
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            body: body.into(),
        }
    }
}

impl Response {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The value of header `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}
