//! [`EventInput`]: an event as a client submits it to `POST /v1/orgs/{org}/events`.

use std::collections::BTreeMap;

use serde::Serialize;

/// One event to submit. Start from [`EventInput::new`] and set what differs:
/// `EventInput { payload: Some(json!({"version": "1.4.0"})), ..EventInput::new("version.reported", "prod/api") }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventInput {
    /// Dotted kind of `a-z 0-9 _ -` segments, e.g. `version.reported`.
    pub kind: String,
    /// What it is about, e.g. `prod/api`; may be empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// String pairs pipelines route on.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
    /// Any JSON, kept as sent; default `{}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    /// A ULID chosen by the client: sending the same id again never appends twice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When it happened, in milliseconds since the Unix epoch; default when received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
}

impl EventInput {
    /// An event of `kind` about `subject`, with no attributes or payload.
    pub fn new(kind: impl Into<String>, subject: impl Into<String>) -> EventInput {
        EventInput {
            kind: kind.into(),
            subject: subject.into(),
            attributes: BTreeMap::new(),
            payload: None,
            id: None,
            time: None,
        }
    }
}
