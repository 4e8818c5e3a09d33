//! The first-party plugins under `plugins/`, compiled for `wasm32-wasip2` by `build.rs` and
//! embedded in the binary, so a plain `trackway serve` needs no other file.

use std::collections::HashMap;

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The bundled plugins as the runtime wants them: id -> component bytes.
pub fn plugins() -> HashMap<String, &'static [u8]> {
    BUNDLED
        .iter()
        .map(|(id, bytes)| ((*id).to_owned(), *bytes))
        .collect()
}

/// The example pipelines, used when no pipelines directory is given or found:
/// (path below the pipelines directory, text).
pub const EXAMPLE_PIPELINES: &[(&str, &str)] = &[
    ("orgs.toml", include_str!("../../pipelines/orgs.toml")),
    (
        "default/versions.toml",
        include_str!("../../pipelines/default/versions.toml"),
    ),
];
