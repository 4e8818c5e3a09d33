//! A typed client of trackway's HTTP API, for programs that record their scheduled jobs or
//! submit events: the Rust counterpart of the seed's Go package (`tracker.New(apiKey)`,
//! `TrackJob(taskID)`), and what `trackway track` itself uses.
//!
//! It covers the scheduled-job routes (`/api/tasks`, `/api/backups`, `/api/reports`) and event
//! ingest (`/v1/orgs/{org}/events`). Every error, whether trackway refused the request or could
//! not be reached, is an [`Error`] whose message reads as one line for people.
//!
//! # Example
//!
//! Record a run of the nightly backup, as its last step (`API_KEY` holds a key with the `write`
//! scope, from `trackway keys create`):
//!
//! ```no_run
//! use trackway_client::{Client, TaskRef};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), trackway_client::Error> {
//! let client = Client::new("http://127.0.0.1:8080", std::env::var("API_KEY").ok())?;
//! // A name acks by name (creating the task on its first run); digits only would be an id.
//! let ack = client.track(&TaskRef::parse("nightly-backup")).await?;
//! println!("recorded run {ack}");
//!
//! for task in client.tasks(None).await? {
//!     println!("{} {}: {}/{}", task.name, task.status, task.count, task.expected);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A failure prints as, e.g., `trackway answered 401 unauthorized: invalid API key` or
//! `cannot reach trackway at http://127.0.0.1:8080: Connection refused (os error 111)`.
//!
//! # HTTPS
//!
//! The crate enables no TLS backend (it keeps the dependency tree small, and trackway is usually
//! reached on a private network or through a local proxy), so it speaks plain `http://`; an
//! `https://` URL fails with an error saying so. A program that needs https enables a TLS
//! feature of reqwest 0.12 in its own `Cargo.toml`; Cargo unifies features, so this client's
//! requests then support https:
//!
//! ```toml
//! reqwest = { version = "0.12", default-features = false, features = ["rustls-tls"] }
//! ```
//!
//! The `trackway` binary does exactly that (its `http` capability reaches https webhooks), so
//! `trackway track` speaks https.
//!
//! # Layout
//! - [`client`]: [`Client`], one method per route.
//! - [`task`]: tasks, acks, evaluations and reports ([`TaskRef`], [`NewTask`], [`TaskStatus`],
//!   [`TaskDetail`], [`Report`]).
//! - [`event`]: [`EventInput`], an event to submit.
//! - [`dlq`]: [`DeadLetter`], an event that failed for good.
//! - [`error`]: [`Error`], and the parsing of trackway's error body.

pub mod client;
pub mod dlq;
pub mod error;
pub mod event;
pub mod task;

pub use client::Client;
pub use dlq::DeadLetter;
pub use error::Error;
pub use event::EventInput;
pub use task::{
    Ack, AckId, CloudWatch, Heartbeat, Mode, NewTask, Notify, Report, ReportedTask, Status,
    TaskDetail, TaskId, TaskRef, TaskStatus, TreatMissingData,
};
