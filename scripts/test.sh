#!/usr/bin/env bash
# The whole test suite, from a fresh machine that has the Rust toolchain and Debian's apt:
# installs what is missing (the wasm32-wasip2 target; the Debian packages of the real servers
# the tests start on free loopback ports), then checks formatting and lints of the host and the
# plugins, and runs every test. Starts nothing by hand: tests start their own servers.
set -euo pipefail
cd "$(dirname "$0")/.."

locked=()
if [ -n "${CI:-}" ]; then locked=(--locked); fi

echo "== setup"
rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
packages=(redis-server postgresql docker-registry sqlite3)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  # Packaged services must not be started by the install (the tests start their own on free
  # ports): a policy-rc.d that says "no" for the duration of the install.
  policy=/usr/sbin/policy-rc.d
  own_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  if [ -n "$own_policy" ]; then $sudo rm -f "$policy"; fi
fi

echo "== format"
cargo fmt --all --check
(cd plugins && cargo fmt --all --check)
(cd tests/plugins/misbehave && cargo fmt --all --check)
(cd examples/custom-plugin && cargo fmt --all --check)
(cd examples/embed && cargo fmt --check)

echo "== lints (host)"
cargo clippy "${locked[@]}" --workspace --all-targets -- -D warnings
# The embedding example (its own workspace and Cargo.lock, built into target/: see
# examples/embed/README.md): it depends on the engine's crates by path, so an API change that
# breaks it fails here.
(cd examples/embed && cargo clippy "${locked[@]}" --all-targets -- -D warnings)

# Every plugin directory but the SDK is a plugin `plugin-<dir>`.
plugins=()
for dir in plugins/*/; do
  id=$(basename "$dir")
  [ "$id" != sdk ] && [ -f "$dir/Cargo.toml" ] && plugins+=("plugin-$id")
done

echo "== lints (plugins, wasm32-wasip2; one plugin per invocation, see plugins/README.md)"
for p in "${plugins[@]}"; do
  (cd plugins && cargo clippy "${locked[@]}" -p "$p" --all-targets -- -D warnings)
done
(cd tests/plugins/misbehave && cargo clippy "${locked[@]}" --all-targets -- -D warnings)
(cd examples/custom-plugin && cargo clippy "${locked[@]}" --all-targets -- -D warnings)

echo "== plugin unit tests (native)"
host=$(rustc -vV | sed -n 's/^host: //p')
# The SDK with every world, natively: each world's module has its own tests.
(cd plugins && cargo test "${locked[@]}" -p trackway-plugin-sdk --all-features --target "$host")
for p in "${plugins[@]}"; do
  (cd plugins && cargo test "${locked[@]}" -p "$p" --target "$host")
done
(cd examples/custom-plugin && cargo test "${locked[@]}" --target "$host")

echo "== host tests (unit, UI, end-to-end)"
cargo test "${locked[@]}" --workspace
