//! Ingest: validated submissions become log entries. The answer to the client is sent only once
//! the store has committed them (the store merges concurrent submissions into one transaction).

use std::collections::BTreeMap;

use serde::Deserialize;
use trackway_store::{Appended, Event, NewEvent, Store, Ulid, WriteBatch};

use crate::http::error::ApiError;
use crate::metrics::{self, Metrics};

/// The most events one request may carry: bounds the memory of one request and the size of
/// one commit.
pub const MAX_EVENTS_PER_REQUEST: usize = 1000;

/// The longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// One event as a client submits it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Dotted kind, e.g. `version.reported`: dot-separated segments of `a-z 0-9 _ -`, at most
    /// 128 characters. Required.
    pub kind: String,
    /// What it is about. Default empty.
    #[serde(default)]
    pub subject: String,
    /// String pairs to route on. Default none.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Any JSON, kept as sent. Default `{}`.
    #[serde(default)]
    #[schema(value_type = Option<serde_json::Value>)]
    pub payload: Option<Box<serde_json::value::RawValue>>,
    /// A ULID chosen by the client; retrying with the same id never appends twice.
    #[serde(default)]
    pub id: Option<String>,
    /// Milliseconds since the epoch; default now.
    #[serde(default)]
    pub time: Option<u64>,
}

/// Whether `kind` is 1-128 characters of dot-separated `a-z 0-9 _ -` segments.
pub fn valid_kind(kind: &str) -> bool {
    kind.len() <= 128
        && kind.split('.').all(|segment| {
            !segment.is_empty()
                && segment
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        })
}

impl EventInput {
    /// Check the fields and turn the input into an event of `org`. `at` prefixes field names in
    /// messages (`[2].kind`).
    pub fn into_new_event(self, org: &str, at: &str, now_ms: u64) -> Result<NewEvent, ApiError> {
        let field = |name: &str| {
            if at.is_empty() {
                name.to_owned()
            } else {
                format!("{at}.{name}")
            }
        };
        if !valid_kind(&self.kind) {
            return Err(ApiError::invalid(format!(
                "field `{}`: `{}` is not a valid kind (dot-separated segments of a-z, 0-9, `_`, `-`; at most 128 characters)",
                field("kind"),
                self.kind
            )));
        }
        let id = match self.id {
            None => None,
            Some(id) => Some(Ulid::from_string(&id).map_err(|_| {
                ApiError::invalid(format!("field `{}`: `{id}` is not a ULID", field("id")))
            })?),
        };
        let payload = self
            .payload
            .map_or_else(|| "{}".to_owned(), |raw| raw.get().to_owned());
        Ok(NewEvent {
            id,
            event: Event {
                id: Ulid::nil(),
                org: org.to_owned(),
                kind: self.kind,
                source: "api".into(),
                time_ms: self.time.unwrap_or(now_ms),
                subject: self.subject,
                attributes: self.attributes.into_iter().collect(),
                payload,
                parent: None,
            },
        })
    }
}

/// An event the API itself records for `org` (a task ack, a deployment start), from `api`, with
/// its id assigned at commit.
pub fn api_event(org: &str, kind: &str, subject: &str, time_ms: u64, payload: String) -> NewEvent {
    NewEvent {
        id: None,
        event: Event {
            id: Ulid::nil(),
            org: org.to_owned(),
            kind: kind.to_owned(),
            source: "api".into(),
            time_ms,
            subject: subject.to_owned(),
            attributes: Vec::new(),
            payload,
            parent: None,
        },
    }
}

/// Append `events` to the log of `org` and wait for the commit.
pub async fn submit(
    store: &Store,
    metrics: &Metrics,
    org: &str,
    idempotency_key: Option<&str>,
    fingerprint: &[u8],
    events: Vec<NewEvent>,
) -> Result<Appended, ApiError> {
    let n = events.len() as u64;
    let mut write = WriteBatch::new();
    write.append(org, idempotency_key, fingerprint, events);
    let mut outcome = store
        .commit(write)
        .await
        .map_err(|_| ApiError::internal("the store writer has stopped"))??;
    let appended = outcome.appended.pop().expect("one append in the batch");
    if !appended.replayed {
        metrics.add(metrics::INGESTED, vec![("org", org.to_owned())], n);
    }
    Ok(appended)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for ok in ["a", "deployment.started", "version.reported", "x_y-z.1"] {
            assert!(valid_kind(ok), "{ok}");
        }
        for bad in [
            "",
            ".a",
            "a.",
            "a..b",
            "A.b",
            "a b",
            "a/b",
            &"a".repeat(129),
        ] {
            assert!(!valid_kind(bad), "{bad}");
        }
    }
}
