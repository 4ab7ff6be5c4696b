// One workflow: its graph (or a virtualised list of nodes, or the manifest),
// a side panel for the selected node with its logs, and the actions a user
// may take (only shown to a token that may write). Kept live by the watch stream.

import { del, follow, get, put, query, stream } from "./api.js";
import { go, session } from "./app.js";
import { Graph } from "./graph.js";
import { NodeList } from "./nodelist.js";
import { confirmAction, DONE, duration, esc, labels, phaseBadge, toast, when } from "./util.js";
import { dump } from "./yaml.js";

const REDRAW_MS = 250;

function base(ns, name) {
  return `/api/v1/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(name)}`;
}

function workflowActions(wf) {
  const phase = wf.status?.phase || "Pending";
  const done = DONE.has(phase);
  const waiting = Object.values(wf.status?.nodes || {}).some((n) => n.type === "Suspend" && n.phase === "Running");
  const list = [];
  if (!done) {
    list.push(["stop", "Stop", true], ["terminate", "Terminate", true]);
    if (wf.spec?.suspend) list.push(["resume", "Resume", false]);
    else list.push(["suspend", "Suspend", false]);
    if (waiting && !wf.spec?.suspend) list.push(["resume", "Resume", false]);
  } else {
    if (phase !== "Succeeded") list.push(["retry", "Retry", false]);
    list.push(["resubmit", "Resubmit", false]);
  }
  list.push(["delete", "Delete", true]);
  return list;
}

const CONFIRM = {
  stop: "Stop kills the running tasks, then runs the exit handlers.",
  terminate: "Terminate kills the running tasks and runs no exit handler.",
  delete: "Delete removes this workflow, its node history and its logs.",
};

export async function render(main, ctx) {
  const [, ns, name] = ctx.parts;
  let wf = await get(base(ns, name));
  let selected = ctx.params.node || null;
  let tab = ctx.params.tab || "graph";
  main.innerHTML = `
    <h1><span data-name>${esc(name)}</span> <span data-phase></span> <span class="muted" data-summary></span>
      <span style="flex:1"></span><span class="actions" data-actions></span></h1>
    <div class="muted" data-meta></div>
    <div class="message" data-message></div>
    <div class="tabs"><button data-tab="graph">Graph</button><button data-tab="nodes">Nodes</button><button data-tab="yaml">YAML</button></div>
    <div class="wf-layout"><div class="card" data-view></div><div class="card panel" data-panel hidden></div></div>`;
  const view = main.querySelector("[data-view]");
  const panel = main.querySelector("[data-panel]");
  const layoutBox = main.querySelector(".wf-layout");
  let graph = null, list = null, logAbort = null, logNode = null;
  // Watch events received. An action's reply describes the workflow when the request was
  // handled; an event that came after the request was sent may be newer (a stop can end the
  // workflow before its reply arrives), and drawing the reply then would go back in time.
  let seen = 0;

  function header() {
    const s = wf.status || {};
    main.querySelector("[data-phase]").innerHTML = phaseBadge(s.phase);
    main.querySelector("[data-summary]").textContent =
      [s.progress && `progress ${s.progress}`, s.startedAt && `ran ${duration(s.startedAt, s.finishedAt)}`].filter(Boolean).join(" · ");
    const params = (wf.spec?.arguments?.parameters || []).map((p) => `<span class="chip">${esc(p.name)}=${esc(p.value ?? "")}</span>`).join("");
    main.querySelector("[data-meta]").innerHTML = `namespace ${esc(ns)} · started ${when(s.startedAt) || "—"}`
      + `${s.finishedAt ? ` · finished ${when(s.finishedAt)}` : ""} ${labels(wf.metadata)} ${params}`;
    main.querySelector("[data-message]").textContent = s.message || "";
    const box = main.querySelector("[data-actions]");
    box.innerHTML = session.canWrite ? workflowActions(wf).map(([action, text, danger]) =>
      `<button type="button" data-action="${action}" class="${danger ? "danger" : ""}">${text}</button>`).join("") : "";
  }

  async function act(action) {
    if (CONFIRM[action] && !(await confirmAction(`${action[0].toUpperCase()}${action.slice(1)} ${name}?`, CONFIRM[action]))) return;
    try {
      if (action === "delete") {
        await del(base(ns, name));
        toast(`deleted ${name}`);
        go("#/workflows");
        return;
      }
      const body = { namespace: ns, name };
      const before = seen;
      const out = await put(`${base(ns, name)}/${action}`, body);
      if (action === "resubmit" && out?.metadata?.name) {
        toast(`resubmitted as ${out.metadata.name}`);
        go(`#/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(out.metadata.name)}`);
        return;
      }
      if (seen === before) { wf = out; refresh(); } // else the stream has shown something newer
      toast(`${action}: done`);
    } catch (err) {
      toast(`${action} failed: ${err.message}`, "error");
    }
  }

  async function retryFrom(id) {
    const n = wf.status.nodes[id];
    if (!(await confirmAction(`Retry from ${n.displayName || n.name}?`,
      "This node and every node after it run again; the others keep their results.", false))) return;
    try {
      const before = seen;
      const out = await put(`${base(ns, name)}/retry`, { namespace: ns, name, restartSuccessful: true, nodeFieldSelector: `id=${id}` });
      if (seen === before) { wf = out; refresh(); }
      toast(`retrying from ${n.displayName || n.name}`);
    } catch (err) {
      toast(`retry failed: ${err.message}`, "error");
    }
  }

  async function resumeNode(id) {
    try {
      await put(`${base(ns, name)}/resume`, { namespace: ns, name, nodeFieldSelector: `id=${id}` });
      toast("resumed");
    } catch (err) {
      toast(`resume failed: ${err.message}`, "error");
    }
  }

  main.querySelector("[data-actions]").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-action]");
    if (b) act(b.dataset.action);
  });

  function setUrl() {
    const q = new URLSearchParams();
    if (selected) q.set("node", selected);
    if (tab !== "graph") q.set("tab", tab);
    history.replaceState(null, "", `#/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(name)}${q.toString() ? `?${q}` : ""}`);
  }

  function showTab(next) {
    tab = next;
    for (const b of main.querySelectorAll("[data-tab]")) b.classList.toggle("active", b.dataset.tab === tab);
    graph = null; list = null;
    view.className = "card";
    if (tab === "graph") {
      view.classList.add("graph");
      graph = new Graph(view, { wfName: name, onSelect: selectNode });
      graph.draw(wf.status?.nodes || {});
      if (selected) graph.select(selected);
    } else if (tab === "nodes") {
      list = new NodeList(view, { onSelect: selectNode });
      list.draw(wf.status?.nodes || {}, selected);
    } else {
      const manifest = { ...wf };
      delete manifest.status;
      view.innerHTML = `<pre class="yaml" data-yaml>${esc(dump(manifest))}</pre>`;
    }
    setUrl();
  }
  for (const b of main.querySelectorAll("[data-tab]")) b.onclick = () => showTab(b.dataset.tab);

  function selectNode(id) {
    selected = id;
    graph?.select(id);
    setUrl();
    drawPanel(true);
  }

  function drawPanel(fresh = false) {
    const n = selected && wf.status?.nodes?.[selected];
    layoutBox.classList.toggle("with-panel", Boolean(n));
    panel.hidden = !n;
    if (!n) { stopLogs(); return; }
    const outputs = n.outputs || {};
    const rows = (items, value) => (items || []).map((p) => `<tr><td>${esc(p.name)}</td><td class="mono">${esc(value(p))}</td></tr>`).join("");
    const ins = rows(n.inputs?.parameters, (p) => p.value ?? "") + rows(n.inputs?.artifacts, (a) => a.path || a.key || "");
    const outs = rows(outputs.parameters, (p) => p.value ?? "") + rows(outputs.artifacts, (a) => a.key || a.path || "")
      + (outputs.result !== undefined ? `<tr><td>result</td><td class="mono" data-output="result">${esc(outputs.result)}</td></tr>` : "")
      + (outputs.exitCode !== undefined ? `<tr><td>exit code</td><td class="mono">${esc(outputs.exitCode)}</td></tr>` : "");
    const done = DONE.has(wf.status?.phase);
    const buttons = [];
    if (session.canWrite && done) buttons.push(`<button type="button" data-node-action="retry">Retry from here</button>`);
    if (session.canWrite && n.type === "Suspend" && n.phase === "Running") buttons.push(`<button type="button" data-node-action="resume">Resume</button>`);
    if (tab !== "graph") buttons.push(`<button type="button" data-node-action="show">Show in graph</button>`);
    const keepLogs = !fresh && logNode === selected ? panel.querySelector("[data-logs]")?.textContent : null;
    panel.innerHTML = `<h3><span data-node-name>${esc(n.displayName || n.name)}</span>
        <button type="button" data-node-action="close" title="close">✕</button></h3>
      <div>${phaseBadge(n.type === "Suspend" && n.phase === "Running" ? "Running" : n.phase)}</div>
      <dl>
        <dt>name</dt><dd class="mono">${esc(n.name)}</dd><dt>ID</dt><dd class="mono">${esc(n.id)}</dd>
        <dt>type</dt><dd>${esc(n.type)}</dd><dt>template</dt><dd>${esc(n.templateName || n.templateRef?.template || "")}</dd>
        <dt>started</dt><dd>${when(n.startedAt) || "—"}</dd><dt>finished</dt><dd>${when(n.finishedAt) || "—"}</dd>
        <dt>duration</dt><dd>${esc(duration(n.startedAt, n.finishedAt))}</dd>
        ${n.image ? `<dt>image</dt><dd class="mono" data-image>${esc(n.image)}</dd>` : ""}
        ${n.imageID ? `<dt>image ID</dt><dd class="mono">${esc(n.imageID)}</dd>` : ""}
        ${n.hostNodeName ? `<dt>host</dt><dd>${esc(n.hostNodeName)}</dd>` : ""}
        ${n.message ? `<dt>message</dt><dd class="message" data-node-message>${esc(n.message)}</dd>` : ""}
      </dl>
      <div class="actions">${buttons.join("")}</div>
      ${ins ? `<h2>Inputs</h2><table class="kv">${ins}</table>` : ""}
      ${outs ? `<h2>Outputs</h2><table class="kv">${outs}</table>` : ""}
      ${n.type === "Pod" ? `<h2>Logs</h2><pre class="logs" data-logs>${keepLogs === null ? "" : esc(keepLogs)}</pre>` : ""}`;
    panel.querySelector("[data-node-action=close]").onclick = () => { selected = null; graph?.select(null); setUrl(); drawPanel(); };
    panel.querySelector("[data-node-action=retry]")?.addEventListener("click", () => retryFrom(n.id));
    panel.querySelector("[data-node-action=resume]")?.addEventListener("click", () => resumeNode(n.id));
    panel.querySelector("[data-node-action=show]")?.addEventListener("click", () => { showTab("graph"); graph.reveal(n.id); });
    if (n.type === "Pod" && (fresh || logNode !== selected)) startLogs(n);
    else if (n.type !== "Pod") stopLogs();
  }

  function stopLogs() {
    logAbort?.abort();
    logAbort = null; logNode = null;
  }

  function startLogs(n) {
    stopLogs();
    logNode = n.id;
    const abort = new AbortController();
    logAbort = abort;
    const running = !DONE.has(n.phase) && n.phase !== "Skipped" && n.phase !== "Omitted";
    const path = `${base(ns, name)}/log${query({ podName: n.id, "logOptions.container": "main",
      "logOptions.follow": running ? "true" : "" })}`;
    let count = 0;
    stream(path, (entry) => {
      const box = panel.querySelector("[data-logs]");
      if (!box || abort.signal.aborted) return;
      count += 1;
      const atEnd = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
      box.append(`${entry.content}\n`);
      if (atEnd) box.scrollTop = box.scrollHeight;
    }, abort.signal).then(() => {
      const box = panel.querySelector("[data-logs]");
      if (box && !count && !abort.signal.aborted && !box.textContent) box.innerHTML = `<span class="muted">(no log lines)</span>`;
    }).catch((err) => {
      const box = panel.querySelector("[data-logs]");
      if (box) box.append(`[could not read the logs: ${err.message}]\n`);
    });
  }

  let pending = null;
  function refresh() {
    header();
    const nodes = wf.status?.nodes || {};
    graph?.draw(nodes);
    list?.draw(nodes, selected);
    if (tab === "yaml") showTab("yaml");
    drawPanel(false);
  }

  header();
  showTab(tab);
  if (selected) drawPanel(true);

  const abort = new AbortController();
  follow(() => `/api/v1/workflow-events/${encodeURIComponent(ns)}${query({ "listOptions.fieldSelector": `metadata.name=${name}` })}`,
    (event) => {
      if (event.type === "DELETED") {
        main.querySelector("[data-message]").textContent = "This workflow was deleted.";
        return;
      }
      if (!event.object?.metadata) return;
      seen += 1;
      const before = wf.status?.nodes?.[selected]?.phase;
      wf = event.object;
      // The selected node runs again (a retry): its logs are read afresh on the next draw.
      if (selected && before && DONE.has(before) && !DONE.has(wf.status?.nodes?.[selected]?.phase)) {
        stopLogs();
      }
      if (!pending) pending = setTimeout(() => { pending = null; refresh(); }, REDRAW_MS);
    }, abort.signal, (err) => toast(`live updates: ${err.message}`, "error"));
  const ticker = setInterval(header, 5000);

  return () => { abort.abort(); stopLogs(); clearInterval(ticker); clearTimeout(pending); };
}
