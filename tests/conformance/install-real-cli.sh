#!/usr/bin/env bash
# Installs the real Claude Code CLI (2.1.197, from npm) into <target dir>/real-cli, once.
# The conformance run and the fault suite's real-CLI variant use it from there.
set -euo pipefail
cd "$(dirname "$0")/../.."
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
cli_dir="$target_dir/real-cli"
if [ ! -x "$cli_dir/node_modules/.bin/claude" ]; then
  mkdir -p "$cli_dir"
  (cd "$cli_dir" && npm install --no-audit --no-fund --silent @anthropic-ai/claude-code@2.1.197) \
    || { echo "npm install of @anthropic-ai/claude-code failed"; exit 1; }
fi
echo "$cli_dir/node_modules/.bin/claude"
