// WorkflowTemplates of the namespace and ClusterWorkflowTemplates, each
// submitted from a form built from its `spec.arguments.parameters`.

import { get, post } from "./api.js";
import { go } from "./app.js";
import { ago, esc, labels } from "./util.js";

function params(t) {
  return t.spec?.arguments?.parameters || [];
}

function rows(list, kind, canWrite) {
  if (!list.length) return `<tr><td colspan="5" class="empty">none</td></tr>`;
  return list.map((t) => `<tr data-name="${esc(t.metadata.name)}">
    <td>${esc(t.metadata.name)}</td><td>${esc(t.spec?.entrypoint || "")}</td>
    <td>${params(t).map((p) => `<span class="chip">${esc(p.name)}</span>`).join("")}</td>
    <td>${esc(ago(t.metadata.creationTimestamp))} ${labels(t.metadata)}</td>
    <td>${canWrite ? `<button type="button" data-submit="${esc(t.metadata.name)}" data-kind="${kind}">Submit…</button>` : ""}</td></tr>`).join("");
}

export async function render(main, ctx, session) {
  const ns = session.ns;
  const [own, cluster] = await Promise.all([
    get(`/api/v1/workflow-templates/${encodeURIComponent(ns)}`),
    get("/api/v1/cluster-workflow-templates").catch(() => ({ items: [] })),
  ]);
  const byKind = { WorkflowTemplate: own.items || [], ClusterWorkflowTemplate: cluster.items || [] };
  const head = `<thead><tr><th>Name</th><th>Entrypoint</th><th>Parameters</th><th>Created</th><th></th></tr></thead>`;
  main.innerHTML = `<div data-page><h1>Workflow templates <span class="muted">in ${esc(ns)}</span></h1>
    <div class="card"><table class="list" data-templates>${head}<tbody>${rows(byKind.WorkflowTemplate, "WorkflowTemplate", session.canWrite)}</tbody></table></div>
    <h2>Cluster workflow templates</h2>
    <div class="card"><table class="list" data-cluster-templates>${head}<tbody>${rows(byKind.ClusterWorkflowTemplate, "ClusterWorkflowTemplate", session.canWrite)}</tbody></table></div></div>`;
  main.querySelector("[data-page]").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-submit]");
    if (!b) return;
    const t = byKind[b.dataset.kind].find((x) => x.metadata.name === b.dataset.submit);
    submitForm(ns, b.dataset.kind, t);
  });
}

function field(p) {
  const id = `param-${p.name}`;
  const value = p.value ?? p.default ?? "";
  const input = p.enum?.length
    ? `<select name="${esc(p.name)}" id="${esc(id)}">${p.enum.map((v) => `<option ${String(v) === String(value) ? "selected" : ""}>${esc(v)}</option>`).join("")}</select>`
    : `<input name="${esc(p.name)}" id="${esc(id)}" value="${esc(value)}">`;
  return `<label>${esc(p.name)}${p.description ? ` <span class="muted">${esc(p.description)}</span>` : ""}${input}</label>`;
}

function submitForm(ns, kind, t) {
  const dialog = document.getElementById("dialog");
  const ps = params(t);
  dialog.innerHTML = `<form data-submit-form><h3>Submit ${esc(t.metadata.name)} to ${esc(ns)}</h3>
    ${ps.length ? ps.map(field).join("") : `<p class="muted">This template takes no parameters.</p>`}
    <div class="message" data-message></div>
    <div class="buttons"><button type="button" data-cancel>Cancel</button><button class="primary" type="submit">Submit</button></div></form>`;
  dialog.showModal();
  const form = dialog.querySelector("form");
  form.querySelector("[data-cancel]").onclick = () => dialog.close();
  form.onsubmit = async (event) => {
    event.preventDefault();
    const parameters = ps.map((p) => `${p.name}=${form.elements[p.name].value}`);
    try {
      const wf = await post(`/api/v1/workflows/${encodeURIComponent(ns)}/submit`, {
        namespace: ns, resourceKind: kind, resourceName: t.metadata.name, submitOptions: { parameters },
      });
      dialog.close();
      go(`#/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(wf.metadata.name)}`);
    } catch (err) {
      form.querySelector("[data-message]").textContent = err.message;
    }
  };
}
