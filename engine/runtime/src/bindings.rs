//! The only `bindgen!` of the host: Rust bindings for the three worlds of `wit/plugin.wit`.
//! `sink` and `source` reuse the interfaces generated for `processor`, so an event or an error
//! is one Rust type whichever world it crosses.

#![expect(
    missing_docs,
    reason = "generated code; the WIT file documents every item"
)]

/// Bindings of the `processor` world, and of every shared interface.
pub mod processor {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "processor",
        exports: { default: async },
    });
}

/// Bindings of the `sink` world.
pub mod sink {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "sink",
        exports: { default: async },
        with: {
            "trackway:plugin/types": super::processor::trackway::plugin::types,
            "trackway:plugin/log": super::processor::trackway::plugin::log,
            "trackway:plugin/clock": super::processor::trackway::plugin::clock,
            "trackway:plugin/state": super::processor::trackway::plugin::state,
            "trackway:plugin/history": super::processor::trackway::plugin::history,
            "trackway:plugin/inventory": super::processor::trackway::plugin::inventory,
        },
    });
}

/// Bindings of the `source` world.
pub mod source {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "source",
        exports: { default: async },
        with: {
            "trackway:plugin/types": super::processor::trackway::plugin::types,
            "trackway:plugin/log": super::processor::trackway::plugin::log,
            "trackway:plugin/clock": super::processor::trackway::plugin::clock,
            "trackway:plugin/state": super::processor::trackway::plugin::state,
            "trackway:plugin/history": super::processor::trackway::plugin::history,
            "trackway:plugin/inventory": super::processor::trackway::plugin::inventory,
        },
    });
}

pub use processor::trackway::plugin::types;
pub use processor::trackway::plugin::{clock, history, inventory, log, state};
