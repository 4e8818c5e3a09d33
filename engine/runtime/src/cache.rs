//! Compiled components cached on disk, keyed by the sha256 of the `.wasm` bytes and the engine's
//! compatibility hash, so start-up deserialises (milliseconds) instead of compiling (about a
//! second per plugin in a debug build, 60 ms in release).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The on-disk cache of one engine configuration.
#[derive(Debug, Clone)]
pub(crate) struct ComponentCache {
    dir: Option<PathBuf>,
    engine_tag: String,
}

impl ComponentCache {
    /// A cache in `dir` (created on first write), or no caching with `None`.
    pub(crate) fn new(dir: Option<&Path>, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self {
            dir: dir.map(Path::to_path_buf),
            engine_tag: format!("{:016x}", hasher.finish()),
        }
    }

    /// The hex sha256 of `wasm`.
    pub(crate) fn digest(wasm: &[u8]) -> String {
        hex::encode(Sha256::digest(wasm))
    }

    /// Load the component for `wasm` from the cache, or compile it and store it.
    pub(crate) fn load(&self, engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Component> {
        let Some(dir) = &self.dir else {
            return Component::new(engine, wasm);
        };
        let path = dir.join(format!("{}-{}.cwasm", Self::digest(wasm), self.engine_tag));
        if path.exists() {
            // SAFETY-relevant: deserialising trusts the file. It is written only by this
            // function, named by the sha256 of its source and the engine's compatibility hash,
            // and wasmtime re-checks the header; a stale or foreign file fails to load and is
            // recompiled below.
            match deserialize(engine, &path) {
                Ok(component) => return Ok(component),
                Err(error) => {
                    tracing::warn!(path = %path.display(), "ignoring unusable cached component: {error:#}")
                }
            }
        }
        let component = Component::new(engine, wasm)?;
        if let Err(error) = store(&component, dir, &path) {
            tracing::warn!(path = %path.display(), "cannot cache compiled component: {error:#}");
        }
        Ok(component)
    }
}

#[expect(
    unsafe_code,
    reason = "wasmtime requires unsafe to load precompiled code"
)]
fn deserialize(engine: &Engine, path: &Path) -> wasmtime::Result<Component> {
    // SAFETY: the file was produced by `Component::serialize` of this crate (see `load`).
    unsafe { Component::deserialize_file(engine, path) }
}

fn store(component: &Component, dir: &Path, path: &Path) -> wasmtime::Result<()> {
    std::fs::create_dir_all(dir)?;
    // Write then rename, so a crash never leaves a truncated file under the final name.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, component.serialize()?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
