//! The `processor` world: a stage that transforms, annotates or filters events (feature
//! `processor`).
//!
//! Implement [`Processor`] and call [`export_processor!`](crate::export_processor) once. The
//! host calls `init` once per instance, then `process` with batches; the SDK keeps the instance
//! `init` returned and answers every event of a batch with exactly one [`Processed`], in order.

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::__private::{check_batch_len, not_initialised};
use crate::{Error, Event, Processed, state};

/// A processor plugin: the state `init` builds from its config, and what it does per event.
pub trait Processor: Sized + 'static {
    /// Validate `config` (JSON text; parse it with [`crate::config::parse`]) and build the
    /// instance. Report every problem as [`Error::InvalidConfig`].
    fn init(config: &str) -> Result<Self, Error>;

    /// Handle one event: [`Processed::Keep`] it, [`Processed::Replace`] it with zero or more
    /// events (zero drops it), [`Processed::Annotate`] it (replace it by itself with these
    /// attributes set: cheaper than `Replace`, since only the pairs go back to the host), or
    /// [`Processed::Fail`] it. Malformed input is a failure, never a panic: a panic traps and
    /// the host throws the instance away.
    fn process(&mut self, event: Event) -> Processed;

    /// Handle a batch: exactly one result per event, in order. The default calls
    /// [`Processor::process`] for each event; override it to share work across a batch.
    fn process_batch(&mut self, events: Vec<Event>) -> Vec<Processed> {
        events
            .into_iter()
            .map(|event| self.process(event))
            .collect()
    }
}

/// Export `$ty` (a [`Processor`]) as this component's processor.
///
/// Call it once, at the top level of the plugin crate: `trackway_plugin_sdk::export_processor!(MyType);`.
/// The component exports the `packed-processor` world: each batch, and its results, cross the
/// boundary as one buffer (the SDK decodes and encodes it), which costs less per event than the
/// typed `processor` world, where every string crosses on its own (~15 % less for `semver`).
/// `export_processor!(MyType, typed)` exports the typed world instead, for the host's own tests of
/// that path; a plugin has no reason to.
///
/// Outside wasm32 (unit tests, an `rlib` used natively) it only type-checks, so the plugin crate
/// can still be built and tested natively.
#[macro_export]
macro_rules! export_processor {
    ($ty:ty) => {
        $crate::export_processor!(@world $ty, packed_processor, __export_packed_processor_world,
            fn process_packed(
                batch: ::std::vec::Vec<u8>,
                state_kept: bool,
            ) -> ::std::vec::Vec<u8> {
                $crate::processor::__process_packed::<$ty>(&INSTANCE, batch, state_kept)
            }
        );
    };
    ($ty:ty, typed) => {
        $crate::export_processor!(@world $ty, processor, __export_processor_world,
            fn process(
                events: ::std::vec::Vec<$crate::Event>,
            ) -> ::std::vec::Vec<$crate::Processed> {
                $crate::processor::__process::<$ty>(&INSTANCE, events)
            }
        );
    };
    // The world's `Guest` impl: `init`, and the batch export given as `$process` (it names the
    // `INSTANCE` declared here: items are not hygienic in `macro_rules!`).
    (@world $ty:ty, $world:ident, $export:ident, $($process:tt)*) => {
        const _: () = {
            ::std::thread_local! {
                static INSTANCE: ::core::cell::RefCell<::core::option::Option<$ty>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct TrackwayProcessor;

            impl $crate::bindings::$world::Guest for TrackwayProcessor {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::Error> {
                    $crate::processor::__init::<$ty>(&INSTANCE, config)
                }

                $($process)*
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::$world::$export!(
                TrackwayProcessor with_types_in $crate::bindings::$world
            );
        };
    };
}

/// The instance slot [`export_processor!`](crate::export_processor) declares.
#[doc(hidden)]
pub type Slot<T> = LocalKey<RefCell<Option<T>>>;

/// `init`: build the instance; a failed `init` leaves none, so later calls fail cleanly.
#[doc(hidden)]
pub fn __init<T: Processor>(slot: &'static Slot<T>, config: String) -> Result<(), Error> {
    slot.with_borrow_mut(|instance| {
        *instance = None;
        *instance = Some(T::init(&config)?);
        Ok(())
    })
}

/// `process`: one result per event, or a permanent error per event before `init` succeeded.
#[doc(hidden)]
pub fn __process<T: Processor>(slot: &'static Slot<T>, events: Vec<Event>) -> Vec<Processed> {
    slot.with_borrow_mut(|instance| match instance {
        Some(instance) => {
            let inputs = events.len();
            let outputs = instance.process_batch(events);
            check_batch_len("Processor::process_batch", inputs, outputs.len());
            outputs
        }
        None => events
            .iter()
            .map(|_| Processed::Fail(not_initialised()))
            .collect(),
    })
}

/// `process-packed`: [`__process`] on the events the host encoded in `batch` (see
/// [`crate::packed`]), its results and the batch's state writes (see [`crate::state`]) encoded
/// the same way.
#[doc(hidden)]
pub fn __process_packed<T: Processor>(
    slot: &'static Slot<T>,
    batch: Vec<u8>,
    state_kept: bool,
) -> Vec<u8> {
    let events = crate::packed::decode_events(&batch);
    drop(batch);
    state::begin_batch(state_kept);
    let results = __process(slot, events);
    crate::packed::encode_answer(&results, &state::end_batch())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::host::trackway::plugin::types::PackedAnswer;

    /// Keeps events of the configured kind, drops the others.
    struct OnlyKind(String);

    impl Processor for OnlyKind {
        fn init(config: &str) -> Result<Self, Error> {
            match config {
                "" => Err(Error::invalid_config("", "kind required")),
                kind => Ok(OnlyKind(kind.to_string())),
            }
        }

        fn process(&mut self, event: Event) -> Processed {
            if event.kind == self.0 {
                Processed::Keep
            } else {
                Processed::Replace(Vec::new())
            }
        }
    }

    thread_local! {
        static INSTANCE: RefCell<Option<OnlyKind>> = const { RefCell::new(None) };
    }

    fn event(kind: &str) -> Event {
        Event {
            id: "01J0000000000000000000000A".into(),
            org: "acme".into(),
            kind: kind.into(),
            source: "api".into(),
            time: 0,
            subject: "s".into(),
            attributes: Vec::new(),
            payload: "{}".into(),
            parent: None,
        }
    }

    #[test]
    fn lifecycle() {
        let before = __process(&INSTANCE, vec![event("a"), event("b")]);
        assert_eq!(before, vec![Processed::Fail(not_initialised()); 2]);

        assert!(__init(&INSTANCE, "a".into()).is_ok());
        assert_eq!(
            __process(&INSTANCE, vec![event("a"), event("b")]),
            vec![Processed::Keep, Processed::Replace(Vec::new())]
        );
        assert_eq!(__process(&INSTANCE, Vec::new()), Vec::new());

        // The packed transport: the same answers, through one buffer each way.
        let batch = postcard::to_allocvec(&vec![event("a"), event("b")]).expect("encodes");
        let answer: PackedAnswer =
            postcard::from_bytes(&__process_packed(&INSTANCE, batch, true)).expect("decodes");
        assert_eq!(
            answer.results,
            vec![Processed::Keep, Processed::Replace(Vec::new())]
        );
        assert_eq!(answer.state, Vec::new());

        // A failed re-init leaves no instance behind.
        assert!(__init(&INSTANCE, String::new()).is_err());
        assert_eq!(
            __process(&INSTANCE, vec![event("a")]),
            vec![Processed::Fail(not_initialised())]
        );
    }
}
