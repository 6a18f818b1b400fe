// The open session's pending permission requests, oldest first, one at a time: what is
// asked (tool, input, description, blocked path) and Allow / Always / Deny / Stop, by
// button or key (Y, A, N, S as `lulu run` asks on a terminal). The panel follows the
// session as the daemon stores it, so an answer from anywhere else clears it here too.
import { $ } from "./dom.js";
import { requestSummary } from "./format.js";
import * as api from "./api.js";
import { visible } from "./transcript.js";

const KEYS = { y: "allow", a: "always", n: "deny", s: "stop" };
const NOTE_MS = 12000;

const panel = {
  sessionId: null,
  shown: null, // the request on screen
  answering: false,
  answeredHere: new Set(), // request ids this window answered (not "elsewhere")
  noteTimer: null,
};
let onAnswered = () => {};

export function initApproval(answered) {
  onAnswered = answered;
  for (const word of Object.values(KEYS)) {
    $(`#a-${word}`).addEventListener("click", () => answer(word));
  }
  $("#a-message").addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); answer("deny"); }
  });
}

// A key of the open session view: answers the request on screen; true if it did.
export function approvalKey(event) {
  if ($("#approval").hidden || panel.answering) return false;
  if (event.ctrlKey || event.metaKey || event.altKey) return false;
  if (event.target?.closest?.("input, textarea, select, [contenteditable], dialog")) return false;
  const word = KEYS[event.key.toLowerCase()];
  if (!word) return false;
  event.preventDefault();
  answer(word);
  return true;
}

// Shows what `session` (null: none open) asks now.
export function showApproval(session) {
  if (session?.id !== panel.sessionId) {
    panel.sessionId = session?.id ?? null;
    panel.shown = null;
    panel.answeredHere.clear();
    note(null);
  }
  const requests = session?.pending_approvals ?? [];
  const previous = panel.shown;
  if (previous && !requests.some((r) => r.request_id === previous.request_id)
      && !panel.answeredHere.has(previous.request_id)) {
    note(`“${requestSummary(previous)}” was answered or cancelled elsewhere.`);
  }
  const request = requests[0] ?? null;
  $("#approval").hidden = !request;
  panel.shown = request;
  if (!request) return;
  if (previous?.request_id !== request.request_id) {
    $("#a-message").value = "";
    fill(request, requests.length);
  } else {
    $("#a-count").textContent = countText(requests.length);
  }
  busy(panel.answering);
}

function fill(request, count) {
  $("#a-tool").textContent = visible(requestSummary(request));
  $("#a-tool").title = request.tool_name;
  $("#a-count").textContent = countText(count);
  $("#a-description").textContent = visible(request.description ?? "");
  $("#a-description").hidden = !request.description;
  $("#a-input").textContent = visible(pretty(request.input_json));
  $("#a-path").hidden = !request.blocked_path;
  $("#a-path-value").textContent = visible(request.blocked_path ?? "");
}

function countText(count) {
  return count > 1 ? `1 of ${count} pending: answered one by one, oldest first` : "";
}

function pretty(json) {
  try { return JSON.stringify(JSON.parse(json), null, 2); } catch { return json; }
}

async function answer(word) {
  const request = panel.shown;
  const id = panel.sessionId;
  if (!request || !id || panel.answering) return;
  const message = word === "deny" || word === "stop" ? $("#a-message").value : null;
  panel.answering = true;
  panel.answeredHere.add(request.request_id);
  busy(true);
  note(null);
  try {
    onAnswered(await api.answerApproval(id, request.request_id, word, message));
  } catch (error) {
    const refused = error.code === "no_pending_approval";
    if (!refused) panel.answeredHere.delete(request.request_id);
    note(refused ? `Your answer was not taken: ${error.message}.` : `The answer failed: ${error.message}`, true);
    // What is pending now (the refusal means the view is behind).
    api.getSession(id).then((details) => { if (panel.sessionId === id) onAnswered(details.session); }).catch(() => {});
  } finally {
    panel.answering = false;
    busy(false);
  }
}

function busy(on) {
  for (const word of Object.values(KEYS)) $(`#a-${word}`).disabled = on;
}

function note(text, sticky = false) {
  clearTimeout(panel.noteTimer);
  const line = $("#a-note");
  line.hidden = !text;
  line.textContent = text ? visible(text) : "";
  if (text && !sticky) panel.noteTimer = setTimeout(() => note(null), NOTE_MS);
}
