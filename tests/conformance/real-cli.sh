#!/usr/bin/env bash
# Conformance of Lulu with the real Claude Code CLI (2.1.197, from npm), against a loopback
# stand-in for the API: run, resume, interrupt mid-stream, interrupt mid-tool (the CLI's
# setsid'd Bash tool must die), and recovery after the daemon that owns a run is SIGKILLed
# mid-tool; a tool call that needs permission approved (it runs) and another denied (the agent
# carries on); a follow-up to a kept-open session answered in the same run with the earlier turn
# in the API request.
# Needs: node + npm (the npm registry for the install), python3, the built `lulu`.
set -uo pipefail
cd "$(dirname "$0")/../.."
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
lulu="$target_dir/debug/lulu"
[ -x "$lulu" ] || { echo "build lulu first: cargo build --bins"; exit 1; }

cli_dir="$target_dir/real-cli"
if [ ! -x "$cli_dir/node_modules/.bin/claude" ]; then
  mkdir -p "$cli_dir"
  (cd "$cli_dir" && npm install --no-audit --no-fund --silent @anthropic-ai/claude-code@2.1.197) \
    || { echo "npm install of @anthropic-ai/claude-code failed"; exit 1; }
fi

world=$(mktemp -d -t lulu-real-cli-XXXXXX)
python3 tests/conformance/standin_api.py > "$world/port" 2> "$world/standin.log" &
standin=$!
cleanup() {
  kill "$standin" 2>/dev/null
  # Everything Lulu started here carries this database in its environment.
  for pid in $(grep -lsz "LULU_DB=$world/lulu.db" /proc/[0-9]*/environ | cut -d/ -f3); do
    kill -KILL -- "-$pid" 2>/dev/null; kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$world"
}
trap cleanup EXIT
for _ in $(seq 50); do [ -s "$world/port" ] && break; sleep 0.1; done
mkdir -p "$world/home" "$world/work"
export HOME="$world/home" TMPDIR="$world/home" CLAUDE_CONFIG_DIR="$world/home/.claude"
export ANTHROPIC_BASE_URL="http://127.0.0.1:$(cat "$world/port")" ANTHROPIC_API_KEY=sk-ant-conformance-not-a-key
export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 DISABLE_ERROR_REPORTING=1 DISABLE_AUTOUPDATER=1
export CLAUDE_CODE_MAX_RETRIES=0 NO_COLOR=1
export LULU_DB="$world/lulu.db" LULU_CLAUDE_BIN="$cli_dir/node_modules/.bin/claude"
cd "$world/work"

passed=0; failed=0
check() { # check NAME CONDITION...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "ok   $name"; else failed=$((failed + 1)); echo "FAIL $name"; fi
}
field() { "$lulu" show "$1" --json | python3 -c "import json,sys; s=json.load(sys.stdin); print(eval(sys.argv[1]))" "$2"; }
wait_for() { # wait_for SECONDS COMMAND...
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do [ $SECONDS -ge $deadline ] && return 1; sleep 0.2; done
}
is_status() { [ "$(field "$1" 's["status"]')" = "$2" ]; }
tool_runs() { pgrep -f "eval 'sleep 300'" > /dev/null; }
no_tool() { ! tool_runs; }

out=$("$lulu" run "say hi"); code=$?
id=$(echo "$out" | head -1)
check "run completes (exit 0)" [ $code -eq 0 ]
check "the reply streams through" grep -q "hello from the stand-in" <<< "$out"
"$lulu" resume "${id:0:8}" "and again" > /dev/null; code=$?
check "resume continues the conversation (exit 0)" [ $code -eq 0 ]
check "same row, resume_count 1, two runs" [ "$(field "$id" '(s["resume_count"], len(s["runs"]), s["runs"][1]["kind"])')" = "(1, 2, 'resume')" ]

slow=$("$lulu" run --detach "SLOWAPI count slowly")
check "a detached run streams" wait_for 20 is_status "$slow" running
sleep 1.5
start=$(date +%s%N); "$lulu" interrupt "$slow" > /dev/null; code=$?; took=$(( ($(date +%s%N) - start) / 1000000 ))
check "interrupt mid-stream exits 0 in under 1 s (${took} ms)" [ $code -eq 0 ] && [ $took -lt 1000 ]
check "the session is interrupted" is_status "$slow" interrupted
check "the partial text and the marker were kept" bash -c "'$lulu' logs '$slow' | grep -q 'Request interrupted by user'"

tool=$("$lulu" run --detach --allowed-tools Bash "TOOLAPI run the tool")
check "the agent runs its setsid'd Bash tool" wait_for 30 tool_runs
"$lulu" interrupt "$tool" > /dev/null; code=$?
check "interrupt mid-tool exits 0" [ $code -eq 0 ]
check "the tool is gone" wait_for 5 no_tool

allowed=$("$lulu" run --detach "PERMITAPI allowed")
check "a tool that needs permission makes the session need approval" wait_for 30 is_status "$allowed" needs_approval
check "what it asks is shown" bash -c "'$lulu' show '$allowed' | grep 'Asks .*Bash: touch allowed.md' > /dev/null"
check "list puts it first" bash -c "'$lulu' list | head -n 1 | grep -P '^$allowed\tneeds_approval\t' > /dev/null"
"$lulu" approve "$allowed" > /dev/null; code=$?
check "approve exits 0" [ $code -eq 0 ]
check "the approved session completes" wait_for 30 is_status "$allowed" completed
check "the approved tool ran" [ -f allowed.md ]
denied=$("$lulu" run --detach "PERMITAPI denied")
wait_for 30 is_status "$denied" needs_approval
"$lulu" deny "$denied" --message "not today" > /dev/null; code=$?
check "deny exits 0" [ $code -eq 0 ]
check "the denied session carries on and completes" wait_for 30 is_status "$denied" completed
check "the denied tool never ran" [ ! -e denied.md ]
check "the agent got the denial" bash -c "'$lulu' logs '$denied' | grep 'not today' > /dev/null"
stopped=$("$lulu" run --detach "PERMITAPI stopped")
wait_for 30 is_status "$stopped" needs_approval
"$lulu" deny --stop "$stopped" > /dev/null
check "deny --stop ends the turn interrupted" wait_for 30 is_status "$stopped" interrupted
cancelled=$("$lulu" run --detach "PERMITAPI cancelled")
wait_for 30 is_status "$cancelled" needs_approval
"$lulu" interrupt "$cancelled" > /dev/null; code=$?
check "interrupting a session that needs approval exits 0" [ $code -eq 0 ]
check "it ends interrupted with nothing pending" [ "$(field "$cancelled" '(s["status"], s["pending_approvals"])')" = "('interrupted', [])" ]
check "the agent withdrew its request" bash -c "'$lulu' logs '$cancelled' --json | grep permission_cancelled > /dev/null"

kept=$("$lulu" run --detach --keep-open "KEEPOPENFIRST say hi")
check "a kept-open session is idle after its turn" wait_for 30 is_status "$kept" idle
"$lulu" send "$kept" "RECALLAPI what came before" > /dev/null; code=$?
check "a follow-up is taken (exit 0)" [ $code -eq 0 ]
check "it is answered with the earlier turn in the API request" wait_for 30 bash -c "'$lulu' logs '$kept' | grep 'earlier turn in the request: yes' > /dev/null"
idle_in_one_run() { [ "$(field "$kept" '(s["status"], len(s["runs"]))')" = "('idle', 1)" ]; }
check "the session is idle again, in the same run" wait_for 30 idle_in_one_run
"$lulu" close "$kept" > /dev/null
check "close ends it completed" wait_for 30 is_status "$kept" completed

crash=$("$lulu" run --detach --allowed-tools Bash "TOOLAPI crash the owner")
wait_for 30 tool_runs
# The daemon owns the run: SIGKILL it mid-tool.
owner=$("$lulu" daemon status --json | python3 -c "import json,sys; print(json.load(sys.stdin)['pid'])")
kill -KILL "$owner"
wait_for 5 bash -c "! ps -o stat= -p $owner | grep -qv Z"
"$lulu" list > /dev/null 2>&1
check "the next command recovers the dead owner's session" is_status "$crash" interrupted
check "the reason names the dead owner" bash -c "'$lulu' show '$crash' --json | grep -q 'died'"
check "nothing of its tree survives" wait_for 5 no_tool
"$lulu" daemon stop > /dev/null 2>&1

echo "real-cli: $passed passed, $failed failed"
[ $failed -eq 0 ]
