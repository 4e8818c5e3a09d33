//! Builds the first-party plugins under `plugins/` for `wasm32-wasip2` and generates
//! `bundled.rs`, which embeds them in the binary (so `trackway serve` needs no other file).
//!
//! Each plugin is built with its own `cargo build -p` because the SDK selects its world with a
//! cargo feature, and features unify within one invocation. The nested build uses its own target
//! directory (`target/plugins`), so it never waits on the outer build's lock.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("engine/ is inside the workspace");
    let plugins_dir = root.join("plugins");
    let target_dir = std::env::var_os("TRACKWAY_PLUGIN_TARGET_DIR")
        .map_or_else(|| root.join("target").join("plugins"), PathBuf::from);
    println!("cargo:rerun-if-env-changed=TRACKWAY_PLUGIN_TARGET_DIR");
    for path in ["Cargo.toml", "Cargo.lock", ".cargo/config.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            plugins_dir.join(path).display()
        );
    }
    println!("cargo:rerun-if-changed={}", root.join("wit").display());

    let mut ids = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&plugins_dir)
        .expect("plugins/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    entries.sort();
    for dir in entries {
        let id = dir
            .file_name()
            .expect("a directory name")
            .to_string_lossy()
            .into_owned();
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("Cargo.toml").display()
        );
        println!("cargo:rerun-if-changed={}", dir.join("src").display());
        if id != "sdk" {
            ids.push(id);
        }
    }

    let mut bundled = String::from(
        "/// Plugins bundled in the binary: (id, component bytes).\npub const BUNDLED: &[(&str, &[u8])] = &[\n",
    );
    for id in &ids {
        build(&plugins_dir, &target_dir, id);
        let artifact = target_dir
            .join("wasm32-wasip2/release")
            .join(format!("plugin_{}.wasm", id.replace('-', "_")));
        bundled.push_str(&format!(
            "    ({id:?}, include_bytes!({:?})),\n",
            artifact.display().to_string()
        ));
    }
    bundled.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("bundled.rs");
    std::fs::write(out, bundled).expect("writing bundled.rs");
}

fn build(plugins_dir: &Path, target_dir: &Path, id: &str) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(plugins_dir)
        .args(["build", "--release", "--target", "wasm32-wasip2", "-p"])
        .arg(format!("plugin-{id}"))
        .arg("--target-dir")
        .arg(target_dir);
    if std::env::var_os("CI").is_some() {
        cmd.arg("--locked");
    }
    // The outer build's settings (flags for the host target, its target dir) must not leak
    // into the guest build.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if (key.starts_with("CARGO_") && key != "CARGO_HOME")
            || key == "RUSTFLAGS"
            || key == "RUSTC_WRAPPER"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    let status = cmd.status().expect("running cargo for the plugins");
    assert!(
        status.success(),
        "building plugin `{id}` for wasm32-wasip2 failed (is the target installed? `rustup target add wasm32-wasip2`)"
    );
}
