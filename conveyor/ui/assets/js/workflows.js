// The workflows of a namespace: a table kept live by the watch stream, with
// filters by phase and label selector (sent to the server) and a name search.

import { follow, get, post, query } from "./api.js";
import { go } from "./app.js";
import { ago, duration, esc, labels, phaseBadge, progressBar, toast } from "./util.js";
import { load as loadYaml } from "./yaml.js";

const LIST_FIELDS = ["metadata.resourceVersion", "items.metadata.name", "items.metadata.namespace",
  "items.metadata.uid", "items.metadata.labels", "items.metadata.creationTimestamp", "items.status.phase",
  "items.status.progress", "items.status.startedAt", "items.status.finishedAt", "items.status.message"];
const WATCH_FIELDS = ["result.type", ...LIST_FIELDS.slice(1).map((f) => `result.object.${f.slice(6)}`)];
const PHASES = ["", "Pending", "Running", "Succeeded", "Failed", "Error"];

export async function render(main, ctx, session) {
  const ns = session.ns;
  const filters = { phase: ctx.params.phase || "", label: ctx.params.label || "", q: ctx.params.q || "" };
  main.innerHTML = `
    <h1>Workflows <span class="muted" data-count></span></h1>
    <div class="toolbar">
      <input type="search" placeholder="search by name" data-filter="q" value="${esc(filters.q)}" aria-label="search by name">
      <select data-filter="phase" aria-label="phase">${PHASES.map((p) =>
        `<option value="${p}" ${p === filters.phase ? "selected" : ""}>${p || "every phase"}</option>`).join("")}</select>
      <input placeholder="label selector, e.g. app=etl" data-filter="label" value="${esc(filters.label)}" aria-label="label selector" size="28">
      <span style="flex:1"></span>
      ${session.canWrite ? `<button class="primary" data-action="submit-yaml">Submit YAML…</button>` : ""}
    </div>
    <div class="card"><table class="list" data-workflows>
      <thead><tr><th>Name</th><th>Namespace</th><th>Phase</th><th>Progress</th><th>Started</th><th>Duration</th><th>Labels</th></tr></thead>
      <tbody></tbody></table><div class="empty" hidden data-empty></div></div>`;

  const items = new Map();
  const tbody = main.querySelector("tbody");
  let queued = false;

  function draw() {
    queued = false;
    const q = filters.q.toLowerCase();
    const rows = [...items.values()]
      .filter((w) => !filters.phase || (w.status?.phase || "Pending") === filters.phase)
      .filter((w) => !q || w.metadata.name.toLowerCase().includes(q))
      .sort((a, b) => (b.metadata.creationTimestamp || "").localeCompare(a.metadata.creationTimestamp || "")
        || b.metadata.name.localeCompare(a.metadata.name));
    tbody.innerHTML = rows.map((w) => {
      const m = w.metadata; const s = w.status || {};
      const href = `#/workflows/${encodeURIComponent(m.namespace)}/${encodeURIComponent(m.name)}`;
      return `<tr data-name="${esc(m.name)}" data-phase="${esc(s.phase || "Pending")}">
        <td><a href="${href}">${esc(m.name)}</a>${s.message ? `<div class="muted">${esc(s.message)}</div>` : ""}</td>
        <td>${esc(m.namespace)}</td><td>${phaseBadge(s.phase)}</td><td>${progressBar(s.progress)}</td>
        <td title="${esc(s.startedAt || "")}">${esc(ago(s.startedAt))}</td><td>${esc(duration(s.startedAt, s.finishedAt))}</td>
        <td>${labels(m)}</td></tr>`;
    }).join("");
    main.querySelector("[data-count]").textContent = `${rows.length} in ${ns}`;
    const empty = main.querySelector("[data-empty]");
    empty.hidden = rows.length > 0;
    empty.textContent = items.size ? "No workflow matches these filters." : `No workflows in namespace ${ns} yet.`;
  }
  const redraw = () => { if (!queued) { queued = true; requestAnimationFrame(draw); } };

  const selector = filters.label;
  const listed = await get(`/api/v1/workflows/${encodeURIComponent(ns)}${query({
    "listOptions.labelSelector": selector, fields: LIST_FIELDS.join(",") })}`);
  for (const w of listed.items || []) items.set(w.metadata.name, w);
  draw();

  const abort = new AbortController();
  const rv = listed.metadata?.resourceVersion;
  let first = true;
  follow(() => {
    // After a reconnect the stream starts with every workflow again (ADDED), which resyncs the table.
    const opts = { "listOptions.labelSelector": selector, fields: WATCH_FIELDS.join(",") };
    if (first && rv) opts["listOptions.resourceVersion"] = rv;
    first = false;
    return `/api/v1/workflow-events/${encodeURIComponent(ns)}${query(opts)}`;
  }, (event) => {
    const w = event.object;
    if (!w?.metadata) return;
    if (event.type === "DELETED") items.delete(w.metadata.name);
    else items.set(w.metadata.name, w);
    redraw();
  }, abort.signal, (err) => toast(`live updates: ${err.message}`, "error"));
  const ticker = setInterval(redraw, 5000); // durations and "ago" move on

  const setFilter = (key, value) => {
    filters[key] = value;
    const params = new URLSearchParams(Object.entries(filters).filter(([, v]) => v));
    history.replaceState(null, "", `#/workflows${params.toString() ? `?${params}` : ""}`);
  };
  for (const input of main.querySelectorAll("[data-filter]")) {
    const key = input.dataset.filter;
    if (key === "label") {
      input.onchange = () => { setFilter(key, input.value.trim()); go(location.hash); };
    } else {
      input.oninput = () => { setFilter(key, input.value); redraw(); };
    }
  }
  main.querySelector('[data-action="submit-yaml"]')?.addEventListener("click", () => submitYaml(ns));

  return () => { abort.abort(); clearInterval(ticker); };
}

function submitYaml(ns) {
  const dialog = document.getElementById("dialog");
  dialog.innerHTML = `<form data-submit-yaml><h3>Submit a workflow to ${esc(ns)}</h3>
    <label>Argo Workflow manifest (YAML or JSON)<textarea name="manifest" rows="16" cols="70" class="mono"
      placeholder="apiVersion: argoproj.io/v1alpha1&#10;kind: Workflow&#10;metadata:&#10;  generateName: hello-&#10;spec: …"></textarea></label>
    <div class="message" data-message></div>
    <div class="buttons"><button type="button" value="cancel" data-cancel>Cancel</button><button class="primary" type="submit">Submit</button></div></form>`;
  dialog.showModal();
  const form = dialog.querySelector("form");
  form.querySelector("[data-cancel]").onclick = () => dialog.close();
  form.onsubmit = async (event) => {
    event.preventDefault();
    const message = form.querySelector("[data-message]");
    let manifest;
    try {
      manifest = loadYaml(form.manifest.value);
      if (!manifest || typeof manifest !== "object") throw new Error("the text is not a YAML mapping");
    } catch (err) {
      message.textContent = `not valid YAML: ${err.message}`;
      return;
    }
    try {
      const wf = await post(`/api/v1/workflows/${encodeURIComponent(ns)}`, { workflow: manifest });
      dialog.close();
      go(`#/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(wf.metadata.name)}`);
    } catch (err) {
      message.textContent = err.message;
    }
  };
}
