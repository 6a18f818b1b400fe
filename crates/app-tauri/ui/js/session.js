// The session view: header and controls, run history, and the live transcript.
import { h, replace, $ } from "./dom.js";
import { LIVE, badge, cost, duration, clock, shortPath, storedBefore } from "./format.js";
import * as api from "./api.js";
import { Transcript, visible } from "./transcript.js";
import { store, upsert } from "./dashboard.js";
import { confirmDialog } from "./dialogs.js";
import { initApproval, showApproval } from "./approval.js";

// Statuses an interrupt can stop (every live one but an interrupt already under way).
const INTERRUPTIBLE = new Set(["queued", "starting", "running", "needs_approval", "idle"]);
// Statuses whose run takes a follow-up message.
const TAKES_MESSAGES = new Set(["running", "needs_approval", "idle"]);

// The streaming box shows the latest text of the block being written, never all of a long
// one: it is laid out again with every delta.
const STREAMING_CHARS = 8000;

function streamingTail(text) {
  if (text.length <= STREAMING_CHARS) return text;
  let start = text.length - STREAMING_CHARS;
  const code = text.charCodeAt(start);
  if (code >= 0xdc00 && code <= 0xdfff) start += 1; // not half a surrogate pair
  return `…${text.slice(start)}`;
}

const view = {
  id: null,
  session: null,
  runs: [],
  runId: null,
  stream: null, // follow stream number
  following: false,
  interrupting: false,
  composing: false,
  closing: false,
  transcript: null,
};
let goBack = () => {};

export function initSession(back) {
  goBack = back;
  view.transcript = new Transcript($("#transcript"), $("#transcript-space"));
  $("#back").addEventListener("click", () => goBack());
  $("#s-interrupt").addEventListener("click", () => interrupt());
  $("#s-delete").addEventListener("click", () => remove());
  $("#s-close").addEventListener("click", () => closeKeptOpen());
  $("#compose").addEventListener("submit", (e) => { e.preventDefault(); compose(); });
  $("#compose-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.ctrlKey) { e.preventDefault(); compose(); }
  });
  initApproval((session) => sessionChanged(session));
}

export const openId = () => view.id;
export const transcriptView = () => view.transcript;

export async function openSession(id) {
  await closeSession();
  view.id = id;
  showError(null);
  $("#compose-text").value = "";
  fieldError(null);
  const details = await api.getSession(id);
  if (view.id !== id) return;
  view.session = details.session;
  view.runs = details.runs;
  renderHead();
  await showRun(details.runs.at(-1)?.id ?? null);
  if (LIVE.has(view.session.status)) follow();
}

export async function closeSession() {
  const stream = view.stream;
  view.id = null;
  view.stream = null;
  view.following = false;
  view.session = null;
  showApproval(null);
  $("#streaming").hidden = true;
  if (stream !== null) await api.unfollowSession(stream).catch(() => {});
}

async function showRun(runId) {
  view.runId = runId;
  renderRuns();
  if (!runId) { view.transcript.reset(view.id, null, -1); return; }
  const page = await api.getTranscript(view.id, runId, null, 1);
  view.transcript.reset(view.id, runId, page.last_seq ?? -1);
}

function follow() {
  if (view.following || !view.id) return;
  view.following = true;
  const id = view.id;
  const after = view.runId === view.session.active_run_id && view.transcript.lastSeq >= 0 ? view.transcript.lastSeq : null;
  api.followSession(id, after, (message) => onFollow(id, message))
    .then((stream) => { if (view.id === id) view.stream = stream; else api.unfollowSession(stream); })
    .catch((error) => { view.following = false; showError(error.message); });
}

function onFollow(id, message) {
  if (view.id !== id) return;
  if (message.type === "closed") {
    view.following = false;
    view.stream = null;
    $("#streaming").hidden = true;
    if (message.error && LIVE.has(view.session.status)) {
      showError(`Live updates stopped: ${message.error}. Reconnecting…`);
      setTimeout(() => { if (view.id === id) { showError(null); follow(); } }, 1000);
    }
    return;
  }
  const event = message.event;
  switch (event.event) {
    case "session":
    case "settled":
      sessionChanged(event.session);
      break;
    case "entries":
      $("#streaming").hidden = true;
      $("#streaming").textContent = "";
      view.transcript.addEntries(event.entries);
      break;
    case "lines_lost":
      showError(`${event.lines === 1 ? "A transcript line" : `${event.lines} transcript lines`} could not be stored: ${event.reason}`);
      break;
    case "end_not_stored":
      showError(`The run ended (${event.status}) but its end cannot be stored yet: ${event.reason}`);
      break;
    default: {
      // Streaming text deltas: shown as they come, replaced by the stored entry.
      const text = event.text ?? event.delta ?? event.text_delta;
      if (typeof text === "string") {
        const box = $("#streaming");
        box.hidden = false;
        box.textContent = streamingTail(box.textContent + visible(text));
        box.scrollTop = box.scrollHeight;
      }
    }
  }
}

// Any news of the open session (its follow stream or the dashboard's watch).
export function sessionChanged(session) {
  if (session.id !== view.id || !view.session || storedBefore(session, view.session)) return;
  const newRun = session.active_run_id && session.active_run_id !== view.session.active_run_id;
  view.session = session;
  upsert(session);
  renderHead();
  if (newRun) {
    // A resume: show its run from its first entry; the follow stream fills it.
    view.runId = session.active_run_id;
    view.transcript.reset(view.id, view.runId, -1);
  }
  if (newRun || !LIVE.has(session.status)) refreshRuns();
  if (LIVE.has(session.status)) follow();
}

async function refreshRuns() {
  const id = view.id;
  const details = await api.getSession(id).catch(() => null);
  if (!details || view.id !== id) return;
  view.runs = details.runs;
  renderRuns();
}

function renderHead() {
  const s = view.session;
  replace($("#s-badge"), badge(s.status));
  $("#s-title").textContent = s.title;
  $("#s-title").title = s.title;
  const items = [
    ["id", s.id],
    ["cwd", shortPath(s.cwd, store.home), s.cwd],
    ["cost", cost(s.totals.cost_usd)],
    ["turns", String(s.totals.num_turns)],
    ["resumes", String(s.resume_count)],
    ["model", s.options.model ?? "default"],
    ["updated", clock(s.updated_at)],
  ];
  if (s.lost_events) items.push(["lost lines", String(s.lost_events)]);
  replace($("#s-meta"), items.map(([k, v, full]) =>
    h("div", { "data-key": k }, h("dt", { text: k }), h("dd", { title: full ?? v, text: v }))));
  if (s.last_error && !view.interrupting) showError(s.last_error);
  const canInterrupt = INTERRUPTIBLE.has(s.status);
  const button = $("#s-interrupt");
  button.disabled = view.interrupting || !canInterrupt;
  button.textContent = view.interrupting || s.status === "interrupting" ? "Interrupting…" : "Interrupt";
  $("#s-close").hidden = !s.options.keep_open || !LIVE.has(s.status);
  $("#s-close").disabled = s.status !== "idle" || view.closing;
  renderComposer(s);
  showApproval(s);
}

// One box: a follow-up message while the run is live, a resume prompt once it settled.
function renderComposer(s) {
  const settled = !LIVE.has(s.status);
  const box = $("#compose-text");
  const open = settled || TAKES_MESSAGES.has(s.status);
  box.disabled = !open || view.composing;
  $("#compose-button").disabled = !open || view.composing;
  $("#compose-button").textContent = settled ? "Resume" : "Send";
  box.placeholder = settled
    ? "Follow-up prompt to resume this session (Ctrl+Enter)"
    : s.status === "idle"
      ? "Message the agent: it answers in this same run (Ctrl+Enter)"
      : TAKES_MESSAGES.has(s.status)
        ? "Message the agent: it joins the turn or waits for the next one (Ctrl+Enter)"
        : `Messages can be sent once the session runs (it is ${s.status.replace("_", " ")})`;
}

function renderRuns() {
  replace($("#s-runs"), view.runs.map((run, index) => {
    const outcome = run.outcome ? run.outcome.outcome : "live";
    const took = run.ended_at ? ` · ${duration(Date.parse(run.ended_at) - Date.parse(run.started_at))}` : "";
    return h("li", {}, h("button", {
      type: "button", "aria-current": run.id === view.runId ? "true" : "false",
      onclick: () => showRun(run.id),
    },
    h("span", { text: `#${index + 1} ${run.kind} · ${outcome}` }),
    h("span", { class: "when", text: `${clock(run.started_at)}${took}` })));
  }));
}

export async function interrupt() {
  const s = view.session;
  if (!s || view.interrupting || !INTERRUPTIBLE.has(s.status)) return;
  view.interrupting = true;
  showError(null);
  renderHead();
  try {
    const session = await api.interruptSession(s.id);
    view.interrupting = false;
    sessionChanged(session);
    renderHead();
  } catch (error) {
    view.interrupting = false;
    renderHead();
    showError(`Interrupt failed: ${error.message}`);
  }
}

// Sends the box's text to the live run, or resumes the settled session with it.
async function compose() {
  const s = view.session;
  if (!s || view.composing) return;
  const settled = !LIVE.has(s.status);
  if (!settled && !TAKES_MESSAGES.has(s.status)) return;
  fieldError(null);
  const text = $("#compose-text").value;
  view.composing = true;
  renderComposer(s);
  try {
    const session = settled ? await api.resumeSession(s.id, text) : await api.sendMessage(s.id, text);
    $("#compose-text").value = "";
    showError(null);
    view.composing = false;
    sessionChanged(session);
  } catch (error) {
    fieldError(error.message);
  } finally {
    view.composing = false;
    if (view.session) renderComposer(view.session);
    $("#compose-text").focus();
  }
}

// Ends a kept-open session idle between turns (it ends completed).
async function closeKeptOpen() {
  const s = view.session;
  if (!s || s.status !== "idle" || view.closing) return;
  view.closing = true;
  renderHead();
  try {
    sessionChanged(await api.closeSession(s.id));
  } catch (error) {
    showError(`Close failed: ${error.message}`);
  } finally {
    view.closing = false;
    if (view.session) renderHead();
  }
}

async function remove() {
  const s = view.session;
  if (!s) return;
  const live = LIVE.has(s.status);
  const question = live
    ? `“${s.title}” is ${s.status}. Delete it anyway? It is interrupted first, then its whole history is removed.`
    : `Delete “${s.title}” and its whole history (${view.runs.length} run${view.runs.length === 1 ? "" : "s"})?`;
  if (!(await confirmDialog(question, live ? "Interrupt and delete" : "Delete"))) return;
  try {
    await api.deleteSession(s.id, live);
    goBack();
  } catch (error) {
    showError(`Delete failed: ${error.message}`);
  }
}

function showError(text) {
  const line = $("#s-error");
  line.hidden = !text;
  line.textContent = text ? visible(text) : "";
}

function fieldError(text) {
  const p = document.querySelector('[data-for="compose"]');
  p.hidden = !text;
  p.textContent = text ? visible(text) : "";
}
