//! The WebAssembly host of trackway: loads plugin components (bundled or from files), caches
//! their compiled form on disk, checks that each fits its stage, and runs one reused instance per
//! stage under that stage's limits.
//!
//! This is the only crate that depends on wasmtime, so edits elsewhere never recompile it.
//!
//! # Layout
//! - [`bindings`]: the only `bindgen!`, for the worlds of `wit/plugin.wit`.
//! - [`loader`]: [`Runtime`] (engines, linker, epoch ticker) and [`Plugin`] loading and checks.
//! - [`instance`]: [`Instance`], the per-stage instance with limits and trap recovery.
//! - [`host`]: the store data and the host interfaces (`log`, `clock`, `state`, `history`,
//!   `inventory`).
//! - [`capability`]: the capabilities that reach outside (`redis`, `statsd`, `sql`, `http`),
//!   their grants and connection pools.
//! - [`convert`]: event conversions between the store and WIT.
//! - `packed`: the packed transport of processors (a batch and its answer, one buffer each).
//! - `cache`: the on-disk component cache.
//! - [`error`]: [`LoadError`], [`CallError`], [`PluginError`].

pub mod bindings;
mod cache;
pub mod capability;
pub mod convert;
pub mod error;
pub mod host;
pub mod instance;
pub mod loader;
mod packed;

pub use capability::{Connections, Grants};
pub use error::{CallError, LoadError, PluginError};
pub use host::{Clock, Pending, StageContext, SystemClock};
pub use instance::{HookResponse, Instance, Limits, Output, Polled};
pub use loader::{CAPABILITIES, Plugin, PluginSource, Runtime, RuntimeOptions, World};
