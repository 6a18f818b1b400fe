// A windowed transcript: only the entries on screen exist in the DOM, fetched by page
// (seq ranges) as they scroll into view, so a run of any length stays light.
import { h, replace } from "./dom.js";
import { cost, duration, requestSummary } from "./format.js";
import { getTranscript } from "./api.js";

const PAGE = 200;
const OVERSCAN = 8;
const KEEP_PAGES = 3; // pages kept cached on each side of the visible one
// A collapsed entry shows two lines, an expanded one its text up to a bound: the page lays
// out all of an element's text even where it is clipped, and a result repeats the whole
// reply (a megabyte of text froze the page for a second as it opened).
const COLLAPSED_CHARS = 1000; // more than two lines of the widest window
const EXPANDED_CHARS = 100_000;

// Control characters (ANSI escapes, bidi overrides) made visible instead of obeyed.
export function visible(text) {
  return String(text ?? "")
    .replace(/[\u0000-\u0008\u000b-\u001f]/g, (c) => String.fromCharCode(0x2400 + c.charCodeAt(0)))
    .replace(/\u007f/g, "\u2421")
    .replace(/[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/g, (c) => `⟨U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}⟩`);
}

// At most `max` characters of `text` (never half a surrogate pair), and what was left out.
export function clip(text, max, saying = false) {
  const whole = String(text ?? "");
  if (whole.length <= max) return whole;
  const code = whole.charCodeAt(max - 1);
  const end = code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
  const rest = whole.length - end;
  return `${whole.slice(0, end)}…${saying ? `\n(${rest.toLocaleString("en")} more characters not shown)` : ""}`;
}

function pretty(json) {
  try { return JSON.stringify(JSON.parse(json), null, 2); } catch { return json; }
}

function summary(json) {
  try {
    const value = JSON.parse(json);
    const first = value.command ?? value.file_path ?? value.pattern ?? value.url ?? value.description;
    return typeof first === "string" ? first : JSON.stringify(value);
  } catch { return json; }
}

// [kind label, collapsed text, expanded text or null, classes]
export function describe(event) {
  switch (event.kind) {
    case "init": return ["session", `model ${event.model} · ${event.tools.length} tools · ${event.cwd}`, null, ""];
    case "assistant_text": return ["assistant", event.text, event.text, ""];
    case "thinking": return ["thinking", event.text, event.text, ""];
    case "tool_use": return [`tool · ${event.name}`, summary(event.input_json), pretty(event.input_json), "code"];
    case "tool_result": return [event.is_error ? "tool error" : "tool result", event.content, event.content, event.is_error ? "code is-error" : "code"];
    case "user_text": return ["user", event.text, event.text, ""];
    case "user_message": return ["you", event.text, event.text, ""];
    case "permission_request": {
      const asked = requestSummary(event);
      const text = event.description ? `${asked} — ${event.description}` : asked;
      return ["asks permission", text, `${text}\n${pretty(event.input_json)}${event.blocked_path ? `\nblocked path: ${event.blocked_path}` : ""}`, "code"];
    }
    case "permission_cancelled": return ["request withdrawn", `the agent withdrew permission request ${event.request_id}`, null, ""];
    case "permission_denied": return [`denied · ${event.tool_name}`, event.message, event.message, "is-error"];
    case "api_retry": return ["api retry", `attempt ${event.attempt}/${event.max_retries} · ${event.error_status ?? ""} ${event.error} · retry in ${event.retry_delay_ms} ms`, null, ""];
    case "result": {
      const u = event.usage;
      const tail = `${cost(u.cost_usd)} · ${duration(u.duration_ms)} · ${u.num_turns} turns`;
      const text = event.is_error ? `${event.subtype}: ${event.errors.join("; ")} · ${tail}` : `${event.text ?? "done"} · ${tail}`;
      return ["result", text, text, event.is_error ? "is-error" : ""];
    }
    case "other": return [event.type_name || "other", event.raw_json, pretty(event.raw_json), "code"];
    case "diagnostic": return ["diagnostic", event.message, event.message, ""];
    default: return [event.kind ?? "?", JSON.stringify(event), null, "code"];
  }
}

export class Transcript {
  constructor(scroller, space) {
    this.scroller = scroller;
    this.space = space;
    this.row = parseFloat(getComputedStyle(document.documentElement).getPropertyValue("--row")) || 44;
    scroller.addEventListener("scroll", () => {
      this.stick = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 4;
      this.update();
    });
    scroller.addEventListener("click", (e) => this.toggle(e.target.closest(".entry")));
    scroller.addEventListener("keydown", (e) => {
      if (e.key === "End") { this.scrollToEnd(); e.preventDefault(); }
      if (e.key === "Home") { scroller.scrollTop = 0; e.preventDefault(); }
    });
    this.reset(null, null, -1);
  }

  reset(sessionId, runId, lastSeq) {
    this.sessionId = sessionId;
    this.runId = runId;
    this.count = lastSeq + 1;
    this.cache = new Map();
    this.loading = new Set();
    this.expanded = new Map(); // seq -> extra height in px
    this.rendered = new Map(); // seq -> element
    this.stick = true;
    this.generation = (this.generation ?? 0) + 1;
    replace(this.space);
    this.layout();
    this.scrollToEnd();
  }

  get lastSeq() { return this.count - 1; }

  addEntries(entries) {
    for (const entry of entries) {
      if (entry.run_id !== this.runId) continue;
      this.cache.set(entry.seq, entry);
      this.count = Math.max(this.count, entry.seq + 1);
      this.rendered.get(entry.seq)?.remove();
      this.rendered.delete(entry.seq);
    }
    this.layout();
    if (this.stick) this.scrollToEnd(); else this.update();
  }

  offset(seq) {
    let extra = 0;
    for (const [s, px] of this.expanded) if (s < seq) extra += px;
    return seq * this.row + extra;
  }

  indexAt(y) {
    let extra = 0;
    const sorted = [...this.expanded].sort((a, b) => a[0] - b[0]);
    for (const [seq, px] of sorted) {
      const start = seq * this.row + extra;
      if (y < start) break;
      if (y < start + this.row + px) return seq;
      extra += px;
    }
    return Math.max(0, Math.floor((y - extra) / this.row));
  }

  layout() {
    let extra = 0;
    for (const px of this.expanded.values()) extra += px;
    this.space.style.height = `${this.count * this.row + extra}px`;
    for (const [seq, el] of this.rendered) el.style.top = `${this.offset(seq)}px`;
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.stick = true;
    this.update();
  }

  update() {
    if (this.count <= 0 || !this.runId) return;
    const top = this.scroller.scrollTop;
    const first = Math.max(0, this.indexAt(top) - OVERSCAN);
    const last = Math.min(this.count - 1, this.indexAt(top + this.scroller.clientHeight) + OVERSCAN);
    for (const [seq, el] of this.rendered) {
      if (seq < first || seq > last) { el.remove(); this.rendered.delete(seq); }
    }
    for (let seq = first; seq <= last; seq++) {
      const entry = this.cache.get(seq);
      const existing = this.rendered.get(seq);
      if (existing && (existing.dataset.pending !== "true" || !entry)) continue;
      existing?.remove();
      const el = this.entryElement(seq, entry);
      this.rendered.set(seq, el);
      this.space.append(el);
      if (!entry) this.load(Math.floor(seq / PAGE));
    }
    this.evict(Math.floor(first / PAGE));
  }

  entryElement(seq, entry) {
    const el = entry ? this.describeEntry(entry) : h("div", {
      class: "entry missing", "data-pending": "true",
    }, h("span", { class: "kind", text: `#${seq}` }), h("span", { class: "body", text: "…" }));
    el.dataset.seq = String(seq);
    el.style.top = `${this.offset(seq)}px`;
    if (this.expanded.has(seq)) el.classList.add("expanded");
    return el;
  }

  describeEntry(entry) {
    const [kind, text, full, classes] = describe(entry.event);
    const short = visible(clip(text, COLLAPSED_CHARS));
    const el = h("div", {
      class: `entry k-${entry.event.kind} ${classes.includes("is-error") ? "is-error" : ""} ${full ? "expandable" : ""}`,
      title: entry.at,
    },
    h("span", { class: "kind", text: kind }),
    h("span", { class: `body ${classes.includes("code") ? "code" : ""}`, text: short }));
    el.fullText = full === null ? null : visible(clip(full, EXPANDED_CHARS, true));
    el.shortText = short;
    return el;
  }

  toggle(el) {
    if (!el || !el.fullText) return;
    const seq = Number(el.dataset.seq);
    const body = el.querySelector(".body");
    if (this.expanded.has(seq)) {
      this.expanded.delete(seq);
      el.classList.remove("expanded");
      body.textContent = el.shortText;
    } else {
      el.classList.add("expanded");
      body.textContent = el.fullText;
      this.expanded.set(seq, Math.max(0, el.offsetHeight - this.row));
    }
    this.layout();
    this.update();
  }

  async load(page) {
    if (this.loading.has(page)) return;
    this.loading.add(page);
    const generation = this.generation;
    try {
      const after = page === 0 ? null : page * PAGE - 1;
      const result = await getTranscript(this.sessionId, this.runId, after, PAGE);
      if (generation !== this.generation) return;
      for (const entry of result.entries) this.cache.set(entry.seq, entry);
      // Seqs of this page no entry was stored for (lines lost to a full disk).
      const end = Math.min((page + 1) * PAGE, this.count);
      for (let seq = page * PAGE; seq < end; seq++) {
        if (!this.cache.has(seq) && (result.entries.length < PAGE || seq < result.entries.at(-1).seq)) {
          this.cache.set(seq, { seq, run_id: this.runId, at: "", event: { kind: "diagnostic", message: "(no entry stored at this position)" } });
        }
      }
      if (result.last_seq !== null && result.last_seq + 1 > this.count) {
        this.count = result.last_seq + 1;
        this.layout();
      }
      this.update();
    } catch (error) {
      console.error("transcript page", page, error);
    } finally {
      if (generation === this.generation) this.loading.delete(page);
    }
  }

  evict(visiblePage) {
    if (this.cache.size <= PAGE * (2 * KEEP_PAGES + 2)) return;
    const lastPage = Math.floor(this.lastSeq / PAGE);
    for (const seq of this.cache.keys()) {
      const page = Math.floor(seq / PAGE);
      if (Math.abs(page - visiblePage) > KEEP_PAGES && page !== lastPage) this.cache.delete(seq);
    }
  }

  renderedCount() { return this.rendered.size; }
}
