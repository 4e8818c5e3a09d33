//! The only `bindgen!` of the host: Rust bindings for the worlds of `wit/plugin.wit`.
//! `packed-processor`, `sink` and `source` reuse the interfaces generated for `processor` (a
//! `with` of the whole `trackway:plugin` package), so an event or an error is one Rust type
//! whichever world it crosses. The shared types (de)serialize
//! (serde) as in the postcard buffers of `packed-processor` (the runtime's tests encode answers). The capabilities that reach outside
//! (`redis`, `statsd`, `sql`, `http`) are async on the host: a plugin waiting on a server holds
//! no thread, and the call's deadline keeps running while it waits.

#![expect(
    missing_docs,
    reason = "generated code; the WIT file documents every item"
)]

/// Bindings of the `processor` world, and of every shared interface.
pub mod processor {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "processor",
        imports: {
            "trackway:plugin/redis": async,
            "trackway:plugin/statsd": async,
            "trackway:plugin/sql": async,
            "trackway:plugin/http": async,
        },
        exports: { default: async },
        additional_derives: [serde::Serialize, serde::Deserialize],
    });
}

/// Bindings of the `packed-processor` world.
pub mod packed_processor {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "packed-processor",
        exports: { default: async },
        with: { "trackway:plugin": super::processor::trackway::plugin },
    });
}

/// Bindings of the `sink` world.
pub mod sink {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "sink",
        exports: { default: async },
        with: { "trackway:plugin": super::processor::trackway::plugin },
    });
}

/// Bindings of the `source` world.
pub mod source {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "source",
        exports: { default: async },
        with: { "trackway:plugin": super::processor::trackway::plugin },
    });
}

pub use processor::trackway::plugin::types;
pub use processor::trackway::plugin::{
    clock, history, http, inventory, log, redis, sql, state, statsd,
};
