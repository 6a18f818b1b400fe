// Small modal helpers: a confirmation and the Ctrl+K jump list.
import { h, replace, $ } from "./dom.js";
import { badge } from "./format.js";

export function confirmDialog(question, okLabel) {
  const dialog = $("#confirm-dialog");
  $("#confirm-text").textContent = question;
  $("#confirm-ok").textContent = okLabel;
  return new Promise((resolve) => {
    const done = (answer) => {
      $("#confirm-ok").removeEventListener("click", ok);
      $("#confirm-cancel").removeEventListener("click", cancel);
      dialog.removeEventListener("close", cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const ok = () => done(true);
    const cancel = () => done(false);
    $("#confirm-ok").addEventListener("click", ok);
    $("#confirm-cancel").addEventListener("click", cancel);
    dialog.addEventListener("close", cancel);
    dialog.showModal();
    $("#confirm-cancel").focus();
  });
}

export function jumpDialog(sessions, open) {
  const dialog = $("#jump-dialog");
  const input = $("#jump-input");
  let selected = 0;
  let shown = [];
  const render = () => {
    const query = input.value.trim().toLowerCase();
    shown = sessions.filter((s) => s.title.toLowerCase().includes(query) || s.id.startsWith(query)).slice(0, 12);
    selected = Math.min(selected, Math.max(0, shown.length - 1));
    replace($("#jump-list"), shown.map((s, i) => h("li", {
      role: "option", "aria-selected": i === selected ? "true" : "false",
      onclick: () => choose(i),
    }, badge(s.status), h("span", { text: s.title }))));
  };
  const choose = (i) => {
    const s = shown[i];
    dialog.close();
    if (s) open(s.id);
  };
  input.oninput = () => { selected = 0; render(); };
  input.onkeydown = (e) => {
    if (e.key === "ArrowDown") { selected = Math.min(selected + 1, shown.length - 1); render(); e.preventDefault(); }
    if (e.key === "ArrowUp") { selected = Math.max(selected - 1, 0); render(); e.preventDefault(); }
    if (e.key === "Enter") { choose(selected); e.preventDefault(); }
  };
  input.value = "";
  render();
  dialog.showModal();
  input.focus();
}
