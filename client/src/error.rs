//! [`Error`]: why a request to trackway failed, with a one-line message a program can show to
//! people as it is (`trackway answered 401 unauthorized: invalid API key`).
//!
//! Parsing trackway's error body (`{"error": {"code", "message"}}`) lives here too; sending
//! requests does not (see [`crate::client`]).

use serde::Deserialize;

/// Why a request to trackway failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL given to [`Client::new`](crate::Client::new) is not an `http://` or
    /// `https://` URL with a host.
    #[error("invalid trackway URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The API key cannot be sent in an HTTP header. The key is not repeated in the message.
    #[error(
        "invalid API key: it holds characters an HTTP header cannot carry (only visible ASCII)"
    )]
    InvalidApiKey,
    /// trackway answered with an error status. `code` and `message` come from its error body
    /// (`{"error": {"code", "message"}}`); for an answer without one (from a proxy in front of
    /// trackway, say), `code` is the status's reason (`bad_gateway`) and `message` the raw text.
    #[error("trackway answered {status} {code}: {message}")]
    Http {
        /// The HTTP status, e.g. `404`.
        status: u16,
        /// trackway's stable, machine-readable code, e.g. `not_found`, `unauthorized`.
        code: String,
        /// The explanation for people, e.g. ``no task with id 42``.
        message: String,
    },
    /// No answer: the connection was refused, the name did not resolve, the request timed out
    /// or the connection broke. The message names the server and the innermost cause; the
    /// [`reqwest::Error`] keeps the rest.
    #[error("{}", transport_message(.0))]
    Transport(reqwest::Error),
    /// trackway answered with a success status but with a body this client cannot read:
    /// another service at that URL, or an incompatible trackway version.
    #[error("unexpected answer from trackway to {request}: {error}")]
    Decode {
        /// The request, e.g. `GET /api/tasks`.
        request: String,
        /// Why the body does not fit.
        error: serde_json::Error,
    },
}

impl Error {
    /// The HTTP status of an [`Error::Http`]; `None` when trackway did not answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error for an answer with the non-success `status` and body `text`.
    pub(crate) fn from_answer(status: u16, text: &str) -> Self {
        #[derive(Deserialize)]
        struct Body {
            error: Detail,
        }
        #[derive(Deserialize)]
        struct Detail {
            code: String,
            message: String,
        }
        if let Ok(Body { error }) = serde_json::from_str::<Body>(text) {
            return Self::Http {
                status,
                code: error.code,
                message: error.message,
            };
        }
        let reason = reqwest::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("error");
        let code = reason.to_ascii_lowercase().replace([' ', '-'], "_");
        let raw = one_line(text);
        Self::Http {
            status,
            code,
            message: if raw.is_empty() {
                "(empty body)".into()
            } else {
                raw
            },
        }
    }
}

/// How much of a raw (non-trackway) error body a message repeats: enough to recognise a proxy's
/// error page, short enough to stay one readable line.
const RAW_BODY_CHARS: usize = 200;

/// `text` on one line (whitespace runs collapsed), cut at [`RAW_BODY_CHARS`].
fn one_line(text: &str) -> String {
    let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if let Some((cut, _)) = line.char_indices().nth(RAW_BODY_CHARS) {
        line.truncate(cut);
        line.push_str("...");
    }
    line
}

/// `cannot reach trackway at http://host:port: <innermost cause>`. reqwest's own message is
/// the outermost layer (`error sending request for url (...)`), which says least; the
/// innermost (`Connection refused (os error 111)`, `operation timed out`) says what happened.
fn transport_message(error: &reqwest::Error) -> String {
    let url = error.url();
    let at = url.map_or_else(
        || "its URL".to_owned(),
        |u| u.origin().ascii_serialization(),
    );
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let cause = cause.to_string();
    // Without a TLS backend, reqwest's connector refuses https URLs with this message.
    if url.is_some_and(|u| u.scheme() == "https") && cause.contains("scheme is not http") {
        return format!(
            "cannot reach trackway at {at}: https is not supported by this build (no TLS \
             backend); use an http:// URL, or see the trackway-client docs to enable TLS"
        );
    }
    format!("cannot reach trackway at {at}: {cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_trackway_are_parsed() {
        let error = Error::from_answer(
            401,
            r#"{"error": {"code": "unauthorized", "message": "invalid API key"}}"#,
        );
        assert_eq!(error.status(), Some(401));
        assert_eq!(
            error.to_string(),
            "trackway answered 401 unauthorized: invalid API key"
        );
        // JSON syntax errors carry their position too; extra fields are ignored.
        let error = Error::from_answer(
            400,
            r#"{"error": {"code": "invalid_json", "message": "invalid JSON at line 1, column 2: x", "line": 1, "column": 2}}"#,
        );
        assert!(
            matches!(&error, Error::Http { status: 400, code, message }
                if code == "invalid_json" && message.starts_with("invalid JSON at line 1")),
            "{error:?}"
        );
    }

    #[test]
    fn other_error_bodies_fall_back_to_the_raw_text() {
        let error = Error::from_answer(502, "<html>\n  <h1>Bad Gateway</h1>\n</html>\n");
        assert_eq!(
            error.to_string(),
            "trackway answered 502 bad_gateway: <html> <h1>Bad Gateway</h1> </html>"
        );
        // JSON, but not trackway's shape.
        let error = Error::from_answer(404, r#"{"error": "nope"}"#);
        assert_eq!(
            error.to_string(),
            r#"trackway answered 404 not_found: {"error": "nope"}"#
        );
        assert_eq!(
            Error::from_answer(503, "").to_string(),
            "trackway answered 503 service_unavailable: (empty body)"
        );
        assert_eq!(
            Error::from_answer(599, "x").to_string(),
            "trackway answered 599 error: x"
        );
        let long = "é".repeat(1000);
        let Error::Http { message, .. } = Error::from_answer(500, &long) else {
            unreachable!()
        };
        assert_eq!(message.chars().count(), RAW_BODY_CHARS + 3);
    }
}
