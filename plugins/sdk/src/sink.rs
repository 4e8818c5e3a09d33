//! The `sink` world: a stage that delivers events somewhere (feature `sink`).
//!
//! Implement [`Sink`] and call [`export_sink!`](crate::export_sink) once. The host calls `init`
//! once per instance, then `deliver` with batches; the SDK keeps the instance `init` returned and
//! answers every event of a batch with exactly one result, in order.

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::__private::{check_batch_len, not_initialised};
use crate::{Error, Event};

/// A sink plugin: the state `init` builds from its config, and how it delivers one event.
pub trait Sink: Sized + 'static {
    /// Validate `config` (JSON text; parse it with [`crate::config::parse`]) and build the
    /// instance. Report every problem as [`Error::InvalidConfig`].
    fn init(config: &str) -> Result<Self, Error>;

    /// Deliver one event. A target that is down is [`Error::retryable`]; an event the target
    /// rejects is [`Error::permanent`]. Malformed input is an error, never a panic.
    fn deliver(&mut self, event: Event) -> Result<(), Error>;

    /// Deliver a batch: exactly one result per event, in order. The default calls
    /// [`Sink::deliver`] for each event; override it to send a batch in one request.
    fn deliver_batch(&mut self, events: Vec<Event>) -> Vec<Result<(), Error>> {
        events
            .into_iter()
            .map(|event| self.deliver(event))
            .collect()
    }
}

/// Export `$ty` (a [`Sink`]) as this component's `sink` world.
///
/// Call it once, at the top level of the plugin crate: `trackway_plugin_sdk::export_sink!(MyType);`.
/// Outside wasm32 it only type-checks, so the plugin crate can still be tested natively.
#[macro_export]
macro_rules! export_sink {
    ($ty:ty) => {
        const _: () = {
            ::std::thread_local! {
                static INSTANCE: ::core::cell::RefCell<::core::option::Option<$ty>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct TrackwaySink;

            impl $crate::bindings::sink::Guest for TrackwaySink {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::Error> {
                    $crate::sink::__init::<$ty>(&INSTANCE, config)
                }

                fn deliver(
                    events: ::std::vec::Vec<$crate::Event>,
                ) -> ::std::vec::Vec<::core::result::Result<(), $crate::Error>> {
                    $crate::sink::__deliver::<$ty>(&INSTANCE, events)
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::sink::__export_sink_world!(
                TrackwaySink with_types_in $crate::bindings::sink
            );
        };
    };
}

/// The instance slot [`export_sink!`](crate::export_sink) declares.
#[doc(hidden)]
pub type Slot<T> = LocalKey<RefCell<Option<T>>>;

/// `init`: build the instance; a failed `init` leaves none, so later calls fail cleanly.
#[doc(hidden)]
pub fn __init<T: Sink>(slot: &'static Slot<T>, config: String) -> Result<(), Error> {
    slot.with_borrow_mut(|instance| {
        *instance = None;
        *instance = Some(T::init(&config)?);
        Ok(())
    })
}

/// `deliver`: one result per event, or a permanent error per event before `init` succeeded.
#[doc(hidden)]
pub fn __deliver<T: Sink>(slot: &'static Slot<T>, events: Vec<Event>) -> Vec<Result<(), Error>> {
    slot.with_borrow_mut(|instance| match instance {
        Some(instance) => {
            let inputs = events.len();
            let outputs = instance.deliver_batch(events);
            check_batch_len("Sink::deliver_batch", inputs, outputs.len());
            outputs
        }
        None => events.iter().map(|_| Err(not_initialised())).collect(),
    })
}
