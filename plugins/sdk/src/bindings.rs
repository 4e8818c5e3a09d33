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

/// A module binding the exports of one world, its imports pointed at [`host`]'s interfaces
/// (wit-bindgen's `with` names interfaces one by one, so the list lives here once).
macro_rules! world {
    ($(#[$attr:meta])* $module:ident, $world:tt, $export_macro:tt, $path:tt) => {
        $(#[$attr])*
        pub mod $module {
            wit_bindgen::generate!({
                world: $world,
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
                export_macro_name: $export_macro,
                default_bindings_module: $path,
                runtime_path: "trackway_plugin_sdk::__private::wit_bindgen::rt",
            });
        }
    };
}

world!(
    /// Bindings of the `processor` world's exports (`export_processor!(T, typed)`).
    #[cfg(feature = "processor")]
    processor,
    "processor",
    "__export_processor_world",
    "trackway_plugin_sdk::bindings::processor"
);

world!(
    /// Bindings of the `packed-processor` world's exports (what `export_processor!` exports).
    #[cfg(feature = "processor")]
    packed_processor,
    "packed-processor",
    "__export_packed_processor_world",
    "trackway_plugin_sdk::bindings::packed_processor"
);

world!(
    /// Bindings of the `sink` world's exports.
    #[cfg(feature = "sink")]
    sink,
    "sink",
    "__export_sink_world",
    "trackway_plugin_sdk::bindings::sink"
);

world!(
    /// Bindings of the `source` world's exports.
    #[cfg(feature = "source")]
    #[expect(
        clippy::too_many_arguments,
        reason = "the generated lowering of `http-request` passes its fields flat"
    )]
    source,
    "source",
    "__export_source_world",
    "trackway_plugin_sdk::bindings::source"
);
