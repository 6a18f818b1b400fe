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

step "clippy"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "build the binaries the whole-system tests run (lulu, fake-claude)"
cargo build --workspace --bins

step "install the real Claude Code CLI from npm (the fault suite kills its owners too)"
bash tests/conformance/install-real-cli.sh

step "tests (outside readers of the database: python3's sqlite3 module and the sqlite3 program)"
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"
fi
cargo test --workspace --all-features

step "conformance with the real Claude Code CLI (npm package, loopback stand-in API)"
bash tests/conformance/real-cli.sh
