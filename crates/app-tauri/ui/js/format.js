// How statuses, times, money and paths read.
import { h } from "./dom.js";

export const STATUSES = {
  queued: { label: "Queued", icon: "◷" },
  starting: { label: "Starting", icon: "◌" },
  running: { label: "Running", icon: "●" },
  needs_approval: { label: "Needs approval", icon: "?" },
  idle: { label: "Idle", icon: "○" },
  interrupting: { label: "Interrupting", icon: "◐" },
  interrupted: { label: "Interrupted", icon: "‖" },
  completed: { label: "Completed", icon: "✓" },
  failed: { label: "Failed", icon: "✕" },
};

export const LIVE = new Set(["queued", "starting", "running", "needs_approval", "idle", "interrupting"]);

export function badge(status) {
  const meta = STATUSES[status] ?? { label: status, icon: "?" };
  return h("span", { class: `badge st-${status}`, "data-status": status },
    h("span", { class: "icon", "aria-hidden": "true", text: meta.icon }),
    h("span", { class: "label", text: meta.label }));
}

// What a permission request asks, in one line: `Bash: touch notes.md`.
export function requestSummary(request) {
  try {
    const input = JSON.parse(request.input_json);
    const main = ["command", "file_path", "path", "url", "pattern"].map((key) => input?.[key]).find((v) => typeof v === "string");
    return main ? `${request.tool_name}: ${main}` : request.tool_name;
  } catch {
    return request.tool_name;
  }
}

// Whether session value `a` was stored before `b` (by `updated_at`, to the nanosecond):
// an answer that arrives after newer news of the same session must not undo that news.
export function storedBefore(a, b) {
  const [msA, fracA] = stamp(a.updated_at);
  const [msB, fracB] = stamp(b.updated_at);
  return msA < msB || (msA === msB && fracA < fracB);
}

function stamp(iso) {
  const match = /^([^.]*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(iso ?? "");
  if (!match) return [Date.parse(iso), ""];
  return [Date.parse(match[1] + match[3]), (match[2] ?? "").padEnd(9, "0")];
}

export function cost(usd) {
  if (!usd) return "—";
  return usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d`;
}

export function ago(iso, now = Date.now()) {
  return `${duration(now - Date.parse(iso))} ago`;
}

export function clock(iso) {
  const d = new Date(iso);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function shortPath(path, home) {
  let p = path;
  if (home && (p === home || p.startsWith(home + "/"))) p = "~" + p.slice(home.length);
  const parts = p.split("/");
  return parts.length > 4 ? `${parts[0] || "/"}/…/${parts.slice(-2).join("/")}` : p;
}
