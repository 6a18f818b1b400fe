// The new-session form: errors shown inline next to the field they are about.
import { h, replace, $ } from "./dom.js";
import { visible } from "./transcript.js";
import * as api from "./api.js";

let onStarted = () => {};
let settings = null;

export function initForm(started) {
  onStarted = started;
  $("#new-form").addEventListener("submit", (e) => { e.preventDefault(); submit(); });
  $("#new-form").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.ctrlKey) { e.preventDefault(); submit(); }
  });
  $("#f-cancel").addEventListener("click", () => $("#new-dialog").close());
  $("#f-browse").addEventListener("click", async () => {
    const dir = await api.pickDirectory().catch(() => null);
    if (dir) $("#f-cwd").value = dir;
  });
}

export async function openForm() {
  clearErrors();
  settings = await api.getSettings().catch(() => settings);
  const recent = settings?.recent_dirs ?? [];
  replace($("#recent-dirs"), recent.map((dir) => h("option", { value: dir })));
  replace($("#recent-chips"), recent.slice(0, 5).map((dir) => h("button", {
    type: "button", title: dir, text: dir, onclick: () => { $("#f-cwd").value = dir; },
  })));
  if (!$("#f-cwd").value) $("#f-cwd").value = recent[0] ?? settings?.home ?? "";
  $("#new-dialog").showModal();
  $("#f-prompt").focus();
}

function clearErrors() {
  for (const p of document.querySelectorAll("#new-form .field-error")) { p.hidden = true; p.textContent = ""; }
  for (const el of document.querySelectorAll("#new-form .invalid")) el.classList.remove("invalid");
}

const FIELDS = { prompt: "#f-prompt", cwd: "#f-cwd", title: "#f-title", model: "#f-model", permission_mode: "#f-permission", allowed_tools: "#f-tools" };

function showError(error) {
  const field = error.field && document.querySelector(`#new-form [data-for="${error.field}"]`) ? error.field : "form";
  const p = document.querySelector(`#new-form [data-for="${field}"]`);
  p.textContent = visible(error.message);
  p.hidden = false;
  const input = FIELDS[field] && $(FIELDS[field]);
  if (input) { input.classList.add("invalid"); input.focus(); }
}

async function submit() {
  clearErrors();
  const input = {
    prompt: $("#f-prompt").value,
    cwd: $("#f-cwd").value,
    title: $("#f-title").value,
    model: $("#f-model").value,
    permission_mode: $("#f-permission").value,
    allowed_tools: $("#f-tools").value.split(",").map((t) => t.trim()).filter(Boolean),
  };
  const button = $("#f-submit");
  button.disabled = true;
  try {
    const session = await api.startSession(input);
    $("#new-dialog").close();
    $("#f-prompt").value = "";
    $("#f-title").value = "";
    onStarted(session);
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}
