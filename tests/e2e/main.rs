//! End-to-end tests: the real `trackway` binary, started on a free loopback port with its own
//! data and pipelines directories, driven over HTTP.
//!
//! # Layout
//! - `harness`: starting and stopping servers, HTTP helpers, polling with a deadline, building
//!   test plugins.
//! - `services`: real Redis, PostgreSQL and a statsd (UDP) listener on free loopback ports.
//! - `deployments`: the deployment-tracker API against every real sink, pagination, errors, a
//!   Redis outage and the dead-letter queue.
//! - `auth`: API keys and orgs.
//! - `ingest`: the README flow, validation errors, idempotency.
//! - `inventory`: SVT routes, version history, the inventory API.
//! - `tasks`: scheduled-job tracking (the seed table, rolling boundaries, API errors).
//! - `openapi`: the OpenAPI document describes every route (with its method), is served the same
//!   at each of its addresses, and is valid OpenAPI 3 (operations, tags, unique ids, `$ref`s).
//! - `notify`: the `webhook` sink against a local HTTP receiver: the example task alerts, retries
//!   on 5xx, an ungranted host dead-lettered.
//! - `track`: the `trackway track` and `trackway tasks` commands (the seed's CLI) against a server.
//! - `validate`: `trackway validate`.
//! - `state`: a processor's `state` across calls (the SDK's memory of it, the host's `state-kept`),
//!   through the runtime with the bundled `semver`.
//! - `sandbox`: misbehaving plugins (deadline, memory, panic) do not take the engine down.
//! - `crash`: `kill -9` while events are posted loses nothing and duplicates nothing.
//! - `examples`: the custom plugin of `examples/custom-plugin`, built as its author would, then
//!   validated and run in a server.

mod auth;
mod crash;
mod deployments;
mod examples;
mod harness;
mod ingest;
mod inventory;
mod notify;
mod openapi;
mod sandbox;
mod services;
mod state;
mod tasks;
mod track;
mod validate;
