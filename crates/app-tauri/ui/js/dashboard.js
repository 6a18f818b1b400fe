// The dashboard: one row per session, live from the daemon's watch stream.
import { h, replace, $ } from "./dom.js";
import { STATUSES, LIVE, badge, cost, duration, ago, shortPath, requestSummary, storedBefore } from "./format.js";

export const store = {
  sessions: new Map(),
  activity: new Map(),
  home: null,
  order: [], // ids as shown, for Ctrl+1…9 and arrow keys
};

const filter = { status: "", text: "" };
let scheduled = false;
let onOpen = () => {};

export function initDashboard(open) {
  onOpen = open;
  const select = $("#filter-status");
  for (const [value, meta] of Object.entries(STATUSES)) {
    select.append(h("option", { value, text: meta.label }));
  }
  select.addEventListener("change", () => { filter.status = select.value; render(); });
  $("#filter-text").addEventListener("input", (e) => { filter.text = e.target.value.trim().toLowerCase(); render(); });
  $("#rows").addEventListener("keydown", onRowKey);
  setInterval(() => { if ([...store.sessions.values()].some((s) => LIVE.has(s.status))) render(); }, 1000);
}

// Every change the watch applies gets the next number, remembered per session: a list
// read while changes arrive is older than they are, and must not undo them.
let changes = 0;
const changedAt = new Map();

// The number a list read begun now passes to `setSessions`.
export function changesSoFar() {
  return changes;
}

// Shows `list`, read after `since` changes: a session changed or removed after that
// keeps what its change said (the list may hold an older value, or miss a new session).
export function setSessions(list, since) {
  const next = new Map(list.map((s) => [s.id, s]));
  for (const [id, at] of changedAt) {
    if (at <= since) continue;
    const known = store.sessions.get(id);
    const listed = next.get(id);
    if (!known) next.delete(id);
    else if (!listed || storedBefore(listed, known)) next.set(id, known);
  }
  store.sessions = next;
  schedule();
}

export function upsert(session) {
  const known = store.sessions.get(session.id);
  if (known && storedBefore(session, known)) return;
  store.sessions.set(session.id, session);
  changedAt.set(session.id, ++changes);
  if (!LIVE.has(session.status)) store.activity.delete(session.id);
  schedule();
}

export function remove(id) {
  store.sessions.delete(id);
  changedAt.set(id, ++changes);
  store.activity.delete(id);
  schedule();
}

export function setActivity(id, text) {
  if (text) store.activity.set(id, text); else store.activity.delete(id);
  schedule();
}

// Changes arriving together are drawn once, at once: in a microtask, never on an
// animation frame or timer, which WebKit holds back (up to a second) in a window it
// thinks hidden.
export function schedule() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => { scheduled = false; render(); });
}

function needsUser(s) {
  return s.status === "failed" || (s.status === "interrupted" && s.last_error);
}

// Waiting for an approval first (nothing happens until someone answers), then what else
// needs the user, then live sessions, then the rest.
function rank(s) {
  if (s.status === "needs_approval") return 0;
  if (needsUser(s)) return 1;
  if (LIVE.has(s.status)) return 2;
  return 3;
}

// What a live session's row says it does.
function activityText(s) {
  const asked = s.pending_approvals?.[0];
  if (s.status === "needs_approval" && asked) {
    const more = s.pending_approvals.length > 1 ? ` (+${s.pending_approvals.length - 1})` : "";
    return `asks ${requestSummary(asked)}${more}`;
  }
  if (s.status === "idle") return "waiting for your message";
  return store.activity.get(s.id) ?? (s.status === "running" ? "working" : "");
}

export function sorted(sessions) {
  return [...sessions].sort((a, b) =>
    rank(a) - rank(b) || Date.parse(b.updated_at) - Date.parse(a.updated_at) || a.id.localeCompare(b.id));
}

function matches(s) {
  if (filter.status && s.status !== filter.status) return false;
  if (!filter.text) return true;
  return [s.title, s.cwd, s.id].some((field) => field.toLowerCase().includes(filter.text));
}

function timeText(s, now) {
  if (LIVE.has(s.status)) return duration(now - Date.parse(s.last_resume_at ?? s.created_at));
  return ago(s.updated_at, now);
}

function row(s, now) {
  const live = LIVE.has(s.status);
  const activity = live ? activityText(s) : "";
  return h("div", {
    class: "row", role: "row", tabindex: "0", "data-id": s.id,
    onclick: () => onOpen(s.id),
  },
  h("span", {}, badge(s.status)),
  h("span", { class: "cell-main" },
    h("div", { class: "title", title: s.title, text: s.title }),
    h("div", { class: "sub" },
      h("span", { class: "id", text: s.id.slice(0, 8) }), " · ",
      h("span", { title: s.cwd, text: shortPath(s.cwd, store.home) })),
    s.last_error ? h("div", { class: "row-error", title: s.last_error, text: s.last_error }) : null),
  h("span", { class: `activity${live ? " live" : ""}${s.status === "needs_approval" ? " asks" : ""}`, title: activity, text: activity }),
  h("span", { class: "num time", title: LIVE.has(s.status) ? "running for" : `last update ${s.updated_at}`, text: timeText(s, now) }),
  h("span", { class: "num", text: cost(s.totals.cost_usd) }),
  h("span", { class: "num", text: String(s.totals.num_turns) }),
  h("span", { class: "num", text: String(s.resume_count) }));
}

// Rows are kept per session and rebuilt only when what they show changed (the clock
// ticks in place), so focus and references to them survive live updates.
const rowCache = new Map(); // id -> { el, sig }

function rowFor(s, now) {
  const sig = JSON.stringify([s.status, s.title, s.cwd, s.last_error, s.totals, s.resume_count, s.updated_at, store.activity.get(s.id), s.pending_approvals?.map((r) => r.request_id)]);
  let cached = rowCache.get(s.id);
  if (!cached || cached.sig !== sig) {
    cached = { el: row(s, now), sig };
    rowCache.set(s.id, cached);
  } else {
    cached.el.querySelector(".time").textContent = timeText(s, now);
  }
  return cached.el;
}

function render() {
  const now = Date.now();
  const all = [...store.sessions.values()];
  const shown = sorted(all.filter(matches));
  store.order = shown.map((s) => s.id);
  for (const id of rowCache.keys()) if (!store.sessions.has(id)) rowCache.delete(id);
  const focused = document.activeElement?.closest?.(".rows .row")?.dataset.id;
  const rows = $("#rows");
  const wanted = shown.map((s) => rowFor(s, now));
  const current = [...rows.children];
  if (wanted.length !== current.length || wanted.some((el, i) => el !== current[i])) {
    rows.replaceChildren(...wanted);
    if (focused) rows.querySelector(`[data-id="${CSS.escape(focused)}"]`)?.focus();
  }
  $("#empty").hidden = all.length > 0;
  renderCounts(all);
}

function renderCounts(all) {
  const counts = Object.fromEntries(Object.keys(STATUSES).map((k) => [k, 0]));
  let today = 0;
  const midnight = new Date(); midnight.setHours(0, 0, 0, 0);
  for (const s of all) {
    counts[s.status] = (counts[s.status] ?? 0) + 1;
    if (Date.parse(s.updated_at) >= midnight.getTime()) today += s.totals.cost_usd;
  }
  const present = Object.entries(STATUSES).filter(([status]) => counts[status] > 0 || filter.status === status);
  replace($("#counts"), present.map(([status, meta]) =>
    h("button", {
      type: "button", class: `st-${status}`, "data-status": status,
      "aria-pressed": filter.status === status ? "true" : "false",
      title: `Show only ${meta.label.toLowerCase()} sessions`,
      onclick: () => {
        filter.status = filter.status === status ? "" : status;
        $("#filter-status").value = filter.status;
        render();
      },
    }, `${meta.icon} ${meta.label} ${counts[status]}`)));
  $("#spend").textContent = `Today ${cost(today) === "—" ? "$0.00" : cost(today)}`;
}

function onRowKey(event) {
  const current = event.target.closest(".row");
  if (!current) return;
  if (event.key === "Enter") { onOpen(current.dataset.id); event.preventDefault(); }
  if (event.key === "ArrowDown") { current.nextElementSibling?.focus(); event.preventDefault(); }
  if (event.key === "ArrowUp") { current.previousElementSibling?.focus(); event.preventDefault(); }
}

export function focusFirstRow() {
  $("#rows .row")?.focus();
}
