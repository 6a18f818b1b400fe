// The Agent SDK baseline: a Node host of `@anthropic-ai/claude-agent-sdk` driven line by line
// on stdin by lulu-bench, answering one JSON line per command on stdout.
//   query PROMPT          -> {"ms": query() to the end of its messages (result, agent exited)}
//   interrupt DELAY PROMPT -> {"ms": interrupt() to the result message}, DELAY ms after init
//   hold N PROMPT         -> starts N queries at once; {"live": N} once all have their init
//                            message; then on "release" interrupts them all -> {"done": true}
// Environment: LULU_BENCH_SDK (the SDK's install folder), LULU_BENCH_CLI (the CLI binary),
// and the CLI's own environment (stand-in API, config dir) inherited as is.
import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";
import { pathToFileURL } from "node:url";

const sdkDir = process.env.LULU_BENCH_SDK;
const cli = process.env.LULU_BENCH_CLI;
const require = createRequire(path.join(sdkDir, "package.json"));
const sdk = await import(pathToFileURL(require.resolve("@anthropic-ai/claude-agent-sdk")).href);

/// A streaming-input query (interrupt() needs one) whose input stays open until its result.
function start(prompt) {
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  async function* input() {
    yield { type: "user", message: { role: "user", content: prompt }, parent_tool_use_id: null, session_id: "" };
    await done;
  }
  const q = sdk.query({
    prompt: input(),
    options: { pathToClaudeCodeExecutable: cli, cwd: process.cwd(), env: process.env },
  });
  return { q, finish };
}

async function timedQuery(prompt) {
  const began = performance.now();
  const { q, finish } = start(prompt);
  let result = false;
  for await (const message of q) {
    if (message.type === "result") { result = true; finish(); }
  }
  if (!result) throw new Error("no result message");
  return performance.now() - began;
}

async function timedInterrupt(delay, prompt) {
  const { q, finish } = start(prompt);
  let asked = null;
  let took = null;
  try {
    for await (const message of q) {
      if (message.type === "system" && message.subtype === "init") {
        setTimeout(() => { asked = performance.now(); q.interrupt().catch(() => {}); }, delay);
      }
      if (message.type === "result") {
        if (asked !== null) took = performance.now() - asked;
        finish();
      }
    }
  } catch (error) {
    // The SDK throws the interrupted turn's error result (after yielding it, or instead).
    if (asked === null) throw error;
    if (took === null) took = performance.now() - asked;
    finish();
  }
  if (took === null) throw new Error("the result came before the interrupt");
  return took;
}

const held = [];
async function hold(count, prompt) {
  let live = 0;
  let ready;
  const allLive = new Promise((resolve) => { ready = resolve; });
  for (let n = 0; n < count; n++) {
    const { q, finish } = start(prompt);
    const drained = (async () => {
      for await (const message of q) {
        if (message.type === "system" && message.subtype === "init" && ++live === count) ready();
        if (message.type === "result") finish();
      }
    })().catch(() => {}); // An interrupted turn's error result: handled here, not a crash.
    held.push({ q, drained });
  }
  await allLive;
  return live;
}

async function release() {
  await Promise.all(held.map(({ q }) => q.interrupt().catch(() => {})));
  await Promise.all(held.map(({ drained }) => drained));
  held.length = 0;
}

const say = (value) => process.stdout.write(JSON.stringify(value) + "\n");
for await (const line of readline.createInterface({ input: process.stdin })) {
  const [command, ...rest] = line.split(" ");
  try {
    if (command === "query") say({ ms: await timedQuery(rest.join(" ")) });
    else if (command === "interrupt") say({ ms: await timedInterrupt(Number(rest[0]), rest.slice(1).join(" ")) });
    else if (command === "hold") say({ live: await hold(Number(rest[0]), rest.slice(1).join(" ")) });
    else if (command === "release") { await release(); say({ done: true }); }
    else say({ error: `unknown command ${command}` });
  } catch (error) {
    say({ error: String(error && error.message || error) });
  }
}
