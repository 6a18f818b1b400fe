// Lulu desktop: wiring the views, the live watch stream and the keyboard.
import { $ } from "./dom.js";
import { LIVE } from "./format.js";
import * as api from "./api.js";
import * as dashboard from "./dashboard.js";
import { initSession, openSession, closeSession, openId, sessionChanged, interrupt } from "./session.js";
import { initForm, openForm } from "./form.js";
import { confirmDialog, jumpDialog } from "./dialogs.js";
import { approvalKey } from "./approval.js";

const store = dashboard.store;

function showDashboard() {
  closeSession();
  $("#session").hidden = true;
  $("#dashboard").hidden = false;
  dashboard.schedule();
  requestAnimationFrame(() => dashboard.focusFirstRow());
}

async function showSession(id) {
  $("#dashboard").hidden = true;
  $("#session").hidden = false;
  try {
    await openSession(id);
  } catch (error) {
    banner(`Cannot open the session: ${error.message}`);
    showDashboard();
  }
}

function banner(text) {
  const el = $("#banner");
  el.hidden = !text;
  el.textContent = text ?? "";
}

async function reload() {
  try {
    const since = dashboard.changesSoFar();
    dashboard.setSessions(await api.listSessions(), since);
  } catch (error) {
    banner(`Cannot read the sessions: ${error.message}`);
  }
}

function onWatch(message) {
  switch (message.type) {
    case "connected":
      banner(null);
      reload();
      break;
    case "disconnected":
      banner(`Reconnecting to the Lulu daemon… (${message.message})`);
      break;
    case "activity":
      dashboard.setActivity(message.session_id, message.activity);
      break;
    case "open":
      showSession(message.session_id);
      break;
    case "change":
      onChange(message.change);
      break;
    case "changes": // a burst, drawn once
      message.changes.forEach(onChange);
      break;
  }
}

function onChange(change) {
  if (change.change === "session") {
    dashboard.upsert(change.session);
    sessionChanged(change.session);
  } else if (change.change === "deleted") {
    dashboard.remove(change.id);
    if (openId() === change.id) showDashboard();
  } else if (change.change === "resync") {
    reload();
  }
}

async function stopAll() {
  const live = [...store.sessions.values()].filter((s) => LIVE.has(s.status));
  if (live.length === 0) { banner("No session is running."); setTimeout(() => banner(null), 3000); return; }
  const n = live.length;
  if (!(await confirmDialog(`Interrupt all ${n} running session${n === 1 ? "" : "s"}? They stay resumable.`, `Stop ${n} session${n === 1 ? "" : "s"}`))) return;
  const outcome = await api.stopAllSessions().catch((error) => ({ interrupted: [], failed: [{ message: error.message }] }));
  if (outcome.failed.length) banner(`Could not stop ${outcome.failed.length}: ${outcome.failed.map((f) => f.message).join("; ")}`);
}

async function showSettings() {
  const s = await api.getSettings().catch((error) => { banner(error.message); return null; });
  if (!s) return;
  const rows = [
    ["Database", s.db_path], ["Agent binary", s.claude_bin], ["Live runs at once", String(s.max_running)],
    ["Daemon", s.daemon_pid ? `running, pid ${s.daemon_pid}` : "not running"], ["Socket", s.daemon_socket], ["Log", s.daemon_log], ["Build", s.build],
  ];
  const list = $("#settings-list");
  list.replaceChildren(...rows.map(([k, v]) => {
    const div = document.createElement("div");
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v;
    div.append(dt, dd);
    return div;
  }));
  $("#settings-dialog").showModal();
}

function anyDialogOpen() {
  return [...document.querySelectorAll("dialog")].some((d) => d.open);
}

function onKey(event) {
  const ctrl = event.ctrlKey || event.metaKey;
  if (ctrl && event.key.toLowerCase() === "n") { event.preventDefault(); if (!anyDialogOpen()) openForm(); return; }
  if (ctrl && event.key.toLowerCase() === "k") {
    event.preventDefault();
    if (!anyDialogOpen()) jumpDialog(dashboard.sorted(store.sessions.values()), showSession);
    return;
  }
  if (ctrl && event.key === ".") { event.preventDefault(); if (openId()) interrupt(); return; }
  if (ctrl && /^[1-9]$/.test(event.key)) {
    const id = store.order[Number(event.key) - 1];
    event.preventDefault();
    if (id && !anyDialogOpen()) showSession(id);
    return;
  }
  if (!$("#session").hidden && !anyDialogOpen() && approvalKey(event)) return;
  if (event.key === "Escape" && !anyDialogOpen() && !$("#session").hidden) {
    event.preventDefault();
    showDashboard();
  }
}

async function main() {
  const settings = await api.getSettings().catch(() => null);
  store.home = settings?.home ?? null;
  dashboard.initDashboard(showSession);
  initSession(showDashboard);
  initForm((session) => { dashboard.upsert(session); showSession(session.id); });
  $("#new-session").addEventListener("click", () => openForm());
  $("#stop-all").addEventListener("click", () => stopAll());
  $("#open-settings").addEventListener("click", () => showSettings());
  $("#settings-close").addEventListener("click", () => $("#settings-dialog").close());
  document.addEventListener("keydown", onKey);
  await reload();
  document.body.dataset.ready = "true";
  api.watchSessions(onWatch).catch((error) => banner(`Cannot watch the sessions: ${error.message}`));
}

main();
