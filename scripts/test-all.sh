#!/usr/bin/env bash
# Runs every check and test of the workspace: what CI runs, and what to run before you push.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export CARGO_PROFILE_DEV_DEBUG=0
# insta must never write snapshots in CI: a changed snapshot is a failure to review.
export INSTA_UPDATE=no

step() { printf '\n==> %s\n' "$*"; }

step "formatting"
cargo fmt --all --check

step "domain purity (no I/O crates, no fs/process/env in lulu-domain)"
forbidden_crates=$(cargo tree -p lulu-domain -e normal --prefix none --no-dedupe \
  | grep -E '^(rusqlite|tauri|clap|tokio-process|libsqlite3-sys) ' || true)
if [ -n "$forbidden_crates" ]; then
  echo "lulu-domain depends on forbidden crates:"; echo "$forbidden_crates"; exit 1
fi
tokio_features=$(cargo tree -p lulu-domain -e normal,features -i tokio --prefix none 2>/dev/null \
  | grep -oE 'tokio feature "[a-z-]+"' | sort -u | grep -vE '"(default|sync|time|macros|rt|tokio-macros)"' || true)
if [ -n "$tokio_features" ]; then
  echo "lulu-domain enables tokio features beyond sync/time/macros/rt:"; echo "$tokio_features"; exit 1
fi
if grep -rnE 'std::(fs|process|env)\b' crates/domain/src | grep -vE '^[^:]+:[0-9]+:\s*//'; then
  echo "lulu-domain must not use std::fs, std::process or std::env"; exit 1
fi

step "front ends reach adapters only through lulu-runtime (lulu-app-cli depends on no adapter crate)"
adapter_deps=$(cargo tree -p lulu-app-cli -e normal --depth 1 --prefix none \
  | grep -E '^lulu-adapters-' || true)
if [ -n "$adapter_deps" ]; then
  echo "lulu-app-cli depends directly on adapter crates:"; echo "$adapter_deps"; exit 1
fi

step "system packages the desktop app builds and is tested with (WebKitGTK, Xvfb, WebKitWebDriver)"
desktop_packages=(libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev xvfb xauth webkit2gtk-driver imagemagick x11-utils)
missing_desktop=()
for package in "${desktop_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' \
    || missing_desktop+=("$package")
done
if [ ${#missing_desktop[@]} -gt 0 ]; then
  sudo=(); [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing_desktop[@]}"
fi

step "clippy (every package, the desktop app and its end-to-end tests included)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "build the binaries the whole-system tests run (lulu, fake-claude)"
# The default members: the desktop app is built in its own step below.
cargo build --bins

step "install the real Claude Code CLI from npm (the fault suite kills its owners too)"
bash tests/conformance/install-real-cli.sh

step "tests (outside readers of the database: python3's sqlite3 module and the sqlite3 program)"
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"
fi
cargo test --all-features

step "conformance with the real Claude Code CLI (npm package, loopback stand-in API)"
bash tests/conformance/real-cli.sh

step "desktop app: build, command tests (no window), end-to-end tests through the window (Xvfb)"
cargo build -p lulu-app-tauri
cargo test -p lulu-app-tauri
# tauri-driver bridges WebDriver to WebKitWebDriver; installed under target/ so CI caches it.
if [ ! -x target/tauri-driver/bin/tauri-driver ]; then
  cargo install tauri-driver --locked --root target/tauri-driver
fi
xvfb-run -a cargo test -p lulu-desktop-e2e -- --test-threads=1
