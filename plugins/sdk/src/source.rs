//! The `source` world: a stage that brings events in, by polling or by receiving webhooks
//! (feature `source`).
//!
//! Implement [`Source`] and call [`export_source!`](crate::export_source) once. A polling source
//! implements [`Source::poll`], a webhook source [`Source::handle_request`]; the other keeps its
//! default (no events; `404`).

use std::cell::RefCell;
use std::thread::LocalKey;

use crate::__private::not_initialised;
use crate::{Error, HttpRequest, HttpResponse, PollResult};

/// A source plugin: the state `init` builds from its config, and how it finds new events.
pub trait Source: Sized + 'static {
    /// Validate `config` (JSON text; parse it with [`crate::config::parse`]) and build the
    /// instance. Report every problem as [`Error::InvalidConfig`].
    fn init(config: &str) -> Result<Self, Error>;

    /// Look for new events after `cursor` (`None` on the first poll). Return the cursor to pass
    /// next time (stored only once the events are committed), or `None` to keep the current one.
    /// The default finds nothing, for sources that only receive webhooks.
    fn poll(&mut self, cursor: Option<String>) -> Result<PollResult, Error> {
        let _ = cursor;
        Ok(PollResult {
            events: Vec::new(),
            cursor: None,
        })
    }

    /// Turn an inbound HTTP request into events and the answer to send. A request the source
    /// rejects is an answer with a 4xx status, not an error; errors are for failures of the
    /// source itself. The default answers `404`, for sources that only poll.
    fn handle_request(&mut self, request: HttpRequest) -> Result<HttpResponse, Error> {
        let _ = request;
        Ok(HttpResponse {
            status: 404,
            body:
                r#"{"error":{"code":"not_found","message":"this source does not accept requests"}}"#
                    .to_string(),
            events: Vec::new(),
        })
    }
}

/// Export `$ty` (a [`Source`]) as this component's `source` world.
///
/// Call it once, at the top level of the plugin crate: `trackway_plugin_sdk::export_source!(MyType);`.
/// Outside wasm32 it only type-checks, so the plugin crate can still be tested natively.
#[macro_export]
macro_rules! export_source {
    ($ty:ty) => {
        const _: () = {
            ::std::thread_local! {
                static INSTANCE: ::core::cell::RefCell<::core::option::Option<$ty>> =
                    const { ::core::cell::RefCell::new(::core::option::Option::None) };
            }

            struct TrackwaySource;

            impl $crate::bindings::source::Guest for TrackwaySource {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<(), $crate::Error> {
                    $crate::source::__init::<$ty>(&INSTANCE, config)
                }

                fn poll(
                    cursor: ::core::option::Option<::std::string::String>,
                ) -> ::core::result::Result<$crate::PollResult, $crate::Error> {
                    $crate::source::__poll::<$ty>(&INSTANCE, cursor)
                }

                fn handle_request(
                    request: $crate::HttpRequest,
                ) -> ::core::result::Result<$crate::HttpResponse, $crate::Error> {
                    $crate::source::__handle_request::<$ty>(&INSTANCE, request)
                }
            }

            #[cfg(target_arch = "wasm32")]
            $crate::bindings::source::__export_source_world!(
                TrackwaySource with_types_in $crate::bindings::source
            );
        };
    };
}

/// The instance slot [`export_source!`](crate::export_source) declares.
#[doc(hidden)]
pub type Slot<T> = LocalKey<RefCell<Option<T>>>;

/// `init`: build the instance; a failed `init` leaves none, so later calls fail cleanly.
#[doc(hidden)]
pub fn __init<T: Source>(slot: &'static Slot<T>, config: String) -> Result<(), Error> {
    slot.with_borrow_mut(|instance| {
        *instance = None;
        *instance = Some(T::init(&config)?);
        Ok(())
    })
}

/// `poll`, or a permanent error before `init` succeeded.
#[doc(hidden)]
pub fn __poll<T: Source>(
    slot: &'static Slot<T>,
    cursor: Option<String>,
) -> Result<PollResult, Error> {
    slot.with_borrow_mut(|instance| match instance {
        Some(instance) => instance.poll(cursor),
        None => Err(not_initialised()),
    })
}

/// `handle-request`, or a permanent error before `init` succeeded.
#[doc(hidden)]
pub fn __handle_request<T: Source>(
    slot: &'static Slot<T>,
    request: HttpRequest,
) -> Result<HttpResponse, Error> {
    slot.with_borrow_mut(|instance| match instance {
        Some(instance) => instance.handle_request(request),
        None => Err(not_initialised()),
    })
}
