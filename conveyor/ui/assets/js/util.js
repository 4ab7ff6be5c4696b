// Small helpers shared by the pages: escaping, phases, times, DOM.

const ICONS = {
  Pending: "◷", Running: "▶", Succeeded: "✓", Failed: "✕", Error: "!", Skipped: "↷", Omitted: "○",
};

export const DONE = new Set(["Succeeded", "Failed", "Error"]);

export function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({
    "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;",
  })[c]);
}

export function phaseBadge(phase) {
  const p = phase || "Pending";
  return `<span class="phase phase-${esc(p)}" data-phase="${esc(p)}"><span class="icon">${ICONS[p] || "?"}</span>${esc(p)}</span>`;
}

export function seconds(iso) {
  return iso ? Date.parse(iso) / 1000 : null;
}

export function duration(startedAt, finishedAt) {
  const start = seconds(startedAt);
  if (start === null) return "";
  const end = seconds(finishedAt) ?? Date.now() / 1000;
  return human(Math.max(0, end - start));
}

export function human(s) {
  s = Math.round(s);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export function ago(iso) {
  const t = seconds(iso);
  if (t === null) return "";
  const d = Date.now() / 1000 - t;
  return d < 5 ? "just now" : d >= 0 ? `${human(d)} ago` : `in ${human(-d)}`;
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return `<time datetime="${esc(iso)}" title="${esc(d.toString())}">${esc(d.toLocaleString())}</time>`;
}

export function labels(meta) {
  return Object.entries(meta?.labels || {})
    .filter(([k]) => !k.startsWith("workflows.argoproj.io/"))
    .map(([k, v]) => `<span class="chip">${esc(k)}=${esc(v)}</span>`).join("");
}

export function progressBar(progress) {
  const [done, total] = String(progress || "0/0").split("/").map(Number);
  const pct = total ? Math.round((100 * done) / total) : 0;
  return `<span class="bar" title="${esc(progress || "")}"><span style="width:${pct}%"></span></span>${esc(progress || "")}`;
}

export function html(strings, ...values) {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? values[i] : ""), "");
}

export function node(markup) {
  const t = document.createElement("template");
  t.innerHTML = markup.trim();
  return t.content.firstElementChild;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const el = node(`<div class="toast ${kind === "error" ? "error" : ""}">${esc(message)}</div>`);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 9000 : 4000);
}

// A modal confirmation; resolves true when the user confirms.
export function confirmAction(title, text, danger = true) {
  const dialog = document.getElementById("dialog");
  dialog.innerHTML = `<form method="dialog"><h3>${esc(title)}</h3><p>${esc(text)}</p>
    <div class="buttons"><button value="cancel">Cancel</button>
    <button value="ok" class="${danger ? "danger" : "primary"}" data-confirm>${esc(title)}</button></div></form>`;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}
