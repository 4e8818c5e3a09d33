//! The only `wit_bindgen::generate!` on trackway's guest side.
//!
//! `host` binds the host interfaces every world imports (types, log, clock, state, history,
//! inventory, redis, statsd, sql, http); each world module (`processor` and `packed_processor`,
//! `sink`, `source`: one cargo feature per kind of stage) binds only that world's exports and
//! points its imports back at `host` through `with`, so every world shares one `Event`, one
//! `Error`, one `state::get`. Paths start with `trackway_plugin_sdk::` (not `crate::`) because
//! the generated `export!` macros expand inside plugin crates.
//!
//! Not part of the public API: plugins use the re-exports and wrappers at the crate root.

/// Bindings of the `host` world: the shared types and the host interfaces.
pub mod host {
    wit_bindgen::generate!({
        world: "host",
        path: "../../wit",
        // `processed`, `http-request`, ... appear only in world exports; generate them here so
        // the world modules below can share them.
        generate_unused_types: true,
        // serde: the batches of `packed-processor` are these types, postcard-encoded.
        additional_derives: [PartialEq, serde::Serialize, serde::Deserialize],
        runtime_path: "trackway_plugin_sdk::__private::wit_bindgen::rt",
    });
}

/// Bindings of the `processor` world's exports (`export_processor!(T, typed)`).
#[cfg(feature = "processor")]
pub mod processor {
    wit_bindgen::generate!({
        world: "processor",
        path: "../../wit",
        with: {
            "trackway:plugin/types@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::types,
            "trackway:plugin/log@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::log,
            "trackway:plugin/clock@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::clock,
            "trackway:plugin/state@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::state,
            "trackway:plugin/history@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::history,
            "trackway:plugin/inventory@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::inventory,
            "trackway:plugin/redis@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::redis,
            "trackway:plugin/statsd@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::statsd,
            "trackway:plugin/sql@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::sql,
            "trackway:plugin/http@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::http,
        },
        pub_export_macro: true,
        export_macro_name: "__export_processor_world",
        default_bindings_module: "trackway_plugin_sdk::bindings::processor",
        runtime_path: "trackway_plugin_sdk::__private::wit_bindgen::rt",
    });
}

/// Bindings of the `packed-processor` world's exports (what `export_processor!` exports).
#[cfg(feature = "processor")]
pub mod packed_processor {
    wit_bindgen::generate!({
        world: "packed-processor",
        path: "../../wit",
        with: {
            "trackway:plugin/types@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::types,
            "trackway:plugin/log@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::log,
            "trackway:plugin/clock@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::clock,
            "trackway:plugin/state@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::state,
            "trackway:plugin/history@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::history,
            "trackway:plugin/inventory@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::inventory,
            "trackway:plugin/redis@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::redis,
            "trackway:plugin/statsd@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::statsd,
            "trackway:plugin/sql@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::sql,
            "trackway:plugin/http@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::http,
        },
        pub_export_macro: true,
        export_macro_name: "__export_packed_processor_world",
        default_bindings_module: "trackway_plugin_sdk::bindings::packed_processor",
        runtime_path: "trackway_plugin_sdk::__private::wit_bindgen::rt",
    });
}

/// Bindings of the `sink` world's exports.
#[cfg(feature = "sink")]
pub mod sink {
    wit_bindgen::generate!({
        world: "sink",
        path: "../../wit",
        with: {
            "trackway:plugin/types@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::types,
            "trackway:plugin/log@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::log,
            "trackway:plugin/clock@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::clock,
            "trackway:plugin/state@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::state,
            "trackway:plugin/history@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::history,
            "trackway:plugin/inventory@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::inventory,
            "trackway:plugin/redis@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::redis,
            "trackway:plugin/statsd@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::statsd,
            "trackway:plugin/sql@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::sql,
            "trackway:plugin/http@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::http,
        },
        pub_export_macro: true,
        export_macro_name: "__export_sink_world",
        default_bindings_module: "trackway_plugin_sdk::bindings::sink",
        runtime_path: "trackway_plugin_sdk::__private::wit_bindgen::rt",
    });
}

/// Bindings of the `source` world's exports.
#[cfg(feature = "source")]
#[expect(
    clippy::too_many_arguments,
    reason = "the generated lowering of `http-request` passes its fields flat"
)]
pub mod source {
    wit_bindgen::generate!({
        world: "source",
        path: "../../wit",
        with: {
            "trackway:plugin/types@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::types,
            "trackway:plugin/log@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::log,
            "trackway:plugin/clock@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::clock,
            "trackway:plugin/state@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::state,
            "trackway:plugin/history@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::history,
            "trackway:plugin/inventory@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::inventory,
            "trackway:plugin/redis@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::redis,
            "trackway:plugin/statsd@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::statsd,
            "trackway:plugin/sql@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::sql,
            "trackway:plugin/http@0.1.0": trackway_plugin_sdk::bindings::host::trackway::plugin::http,
        },
        pub_export_macro: true,
        export_macro_name: "__export_source_world",
        default_bindings_module: "trackway_plugin_sdk::bindings::source",
        runtime_path: "trackway_plugin_sdk::__private::wit_bindgen::rt",
    });
}
