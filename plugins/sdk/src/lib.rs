//! Write trackway plugins in Rust.
//!
//! A trackway plugin is a WebAssembly component built for `wasm32-wasip2` that targets one of the
//! worlds of `wit/plugin.wit`: a `Processor` transforms, annotates or filters events, a
//! `Sink` delivers them somewhere, a `Source` brings them in. This crate owns the bindings to
//! that contract (the only `wit_bindgen::generate!` of the guest side) and wraps them in plain Rust:
//! implement one trait on your type, call its `export_*!` macro once, and the SDK keeps the
//! instance `init` creates and hands every later call to it.
//!
//! Enable exactly one world feature (`processor`, `sink` or `source`): a component must export
//! exactly its world, and cargo unifies features within one invocation, so build plugins one
//! `-p` at a time.
//!
//! # Example
//!
//! A complete processor that upper-cases the `name` attribute and rejects events without one:
//!
//! ```
//! # #[cfg(feature = "processor")]
//! # mod plugin {
//! use serde::Deserialize;
//! use trackway_plugin_sdk::{Error, Event, Processed, Processor, config};
//!
//! /// `config = { attribute = "name" }`
//! #[derive(Deserialize)]
//! #[serde(deny_unknown_fields)]
//! struct Config {
//!     attribute: String,
//! }
//!
//! struct Upper {
//!     attribute: String,
//! }
//!
//! impl Processor for Upper {
//!     fn init(config: &str) -> Result<Self, Error> {
//!         let config: Config = config::parse(config)?;
//!         let mut problems = config::Problems::new();
//!         if config.attribute.is_empty() {
//!             problems.push("attribute", "must not be empty");
//!         }
//!         problems.into_result()?;
//!         Ok(Upper { attribute: config.attribute })
//!     }
//!
//!     fn process(&mut self, mut event: Event) -> Processed {
//!         let Some(value) = event.attribute(&self.attribute) else {
//!             let message = format!("attribute `{}` is missing", self.attribute);
//!             return Processed::Fail(Error::permanent(message));
//!         };
//!         let upper = value.to_uppercase();
//!         event.set_attribute(&self.attribute, upper);
//!         Processed::Replace(vec![event])
//!     }
//! }
//!
//! trackway_plugin_sdk::export_processor!(Upper);
//! # }
//! ```
//!
//! # Layout
//!
//! - `processor`, `sink`, `source` (one cargo feature each): the world traits and their
//!   `export_*!` macros.
//! - [`config`]: strict parsing of the JSON `config` given to `init`, collecting every problem.
//! - [`event`]: helpers on [`Event`] (JSON payload, attributes).
//! - [`error`](mod@error): constructors for [`Error`].
//! - [`state`], [`history`], [`inventory`], [`log`](mod@log), [`clock`]: the host interfaces.
//! - [`redis`], [`statsd`], [`sql`], [`http`]: the capabilities that reach outside, to the
//!   servers the stage's `grants` name. A component imports only the host interfaces it calls,
//!   and the host loads it only into stages whose `grants` cover them.
//! - `bindings` (hidden): the generated code.
//! - `allocator` (private): the component's global allocator, free lists per size class for
//!   small blocks; a plugin must not declare a `#[global_allocator]` of its own.
//!
//! Host functions exist only inside a wasm host: natively (unit tests, benchmarks) calling one
//! panics, so keep the logic worth testing in pure functions.

// The generated `export!` macros name this crate by path, and so does the SDK's own code.
extern crate self as trackway_plugin_sdk;

#[cfg(any(test, all(target_family = "wasm", not(target_feature = "atomics"))))]
mod allocator;
#[doc(hidden)]
pub mod bindings;
pub mod clock;
pub mod config;
pub mod error;
pub mod event;
pub mod history;
pub mod http;
pub mod inventory;
pub mod log;
#[cfg(feature = "processor")]
mod packed;
#[cfg(feature = "processor")]
pub mod processor;
pub mod redis;
#[cfg(feature = "sink")]
pub mod sink;
#[cfg(feature = "source")]
pub mod source;
pub mod sql;
pub mod state;
pub mod statsd;

pub use bindings::host::trackway::plugin::types::{
    ConfigProblem, Error, Event, HttpRequest, HttpResponse, PollResult, Processed, RetryableError,
};
#[cfg(feature = "processor")]
pub use processor::Processor;
#[cfg(feature = "sink")]
pub use sink::Sink;
#[cfg(feature = "source")]
pub use source::Source;

/// Small allocations from size-class free lists (see `allocator`): a plugin built with the SDK
/// must not declare a `#[global_allocator]` of its own.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: allocator::Allocator = allocator::Allocator::new();

/// What the `export_*!` macros expand to; not part of the public API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;

    use crate::Error;

    /// The error every call gets before `init` succeeded.
    pub fn not_initialised() -> Error {
        Error::permanent("plugin called before `init` succeeded")
    }

    /// A batch export must answer exactly once per input: a plugin that does not is broken, and
    /// trapping (which the host reports with the stage and plugin id) says so loudly.
    pub fn check_batch_len(method: &str, inputs: usize, outputs: usize) {
        assert_eq!(
            inputs, outputs,
            "`{method}` returned {outputs} results for {inputs} events"
        );
    }
}
