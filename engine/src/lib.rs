//! The trackway daemon: the CLI, the HTTP API, ingest, the pipeline executor and the wiring
//! between the store and the plugin runtime.
//!
//! # Layout
//! - [`auth`]: orgs, API keys and the extractors that authorise requests.
//! - [`cli`]: the `trackway` command line and its subcommands.
//! - [`serve`]: start-up and shutdown of the server.
//! - [`pipelines`]: loading `pipelines/<org>/*.toml`, with plugin configs checked by the plugins.
//! - [`executor`]: one task per pipeline (sources and processors) and per sink (outbox delivery).
//! - [`ingest`]: turning submitted events into durable log entries.
//! - [`deployments`]: the deployment tracker: API bodies, events and projection records.
//! - [`http`]: the axum router, its error shape and its resources.
//! - [`metrics`]: every counter and histogram, and their Prometheus rendering.
//! - [`bundled`]: the first-party plugins embedded in the binary.
//! - [`tasks`]: task evaluation through the `tasks` pipeline, and the scheduler.
//! - [`bench`]: `trackway bench`, the reproducible benchmarks behind `BENCHMARKS.md`.
//! - [`remote`]: `trackway track`, `trackway tasks` and `trackway dlq`, the commands that talk to
//!   a running trackway through `trackway-client`.

pub mod auth;
pub mod bench;
pub mod bundled;
pub mod cli;
pub mod deployments;
pub mod executor;
pub mod http;
pub mod ingest;
pub mod metrics;
pub mod pipelines;
pub mod remote;
pub mod serve;
pub mod tasks;
