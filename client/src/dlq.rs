//! [`DeadLetter`]: an event that failed for good at a stage, as `GET /v1/orgs/{org}/dlq` lists
//! it.

use serde::Deserialize;

/// One dead letter.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DeadLetter {
    /// Its id, for `replay`.
    pub id: String,
    /// The pipeline of the failing stage.
    pub pipeline: String,
    /// The failing stage.
    pub stage: String,
    /// The last error.
    pub error: String,
    /// How many attempts were made.
    pub attempts: u32,
    /// When the first attempt failed (RFC 3339).
    pub first_failed: String,
    /// When the last attempt failed (RFC 3339).
    pub last_failed: String,
    /// The event, as the read routes show events.
    pub event: serde_json::Value,
}
