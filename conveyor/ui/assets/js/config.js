// The server's configuration: every environment variable conveyor reads,
// as `conveyor config` prints it (tokens masked by the server).

import { get } from "./api.js";
import { esc } from "./util.js";

export async function render(main) {
  const { variables } = await get("/api/v1/conveyor/config");
  main.innerHTML = `<h1>Configuration <span class="muted">the server's environment</span></h1>
    <p class="muted">The same table as <code>conveyor config</code>: set these variables before
      <code>conveyor server</code> starts to change them.</p>
    <div class="card"><table class="list" data-config><thead><tr><th>Variable</th><th>Value</th><th>Default</th><th>Meaning</th></tr></thead>
    <tbody>${variables.map((v) => `<tr data-name="${esc(v.name)}"><td class="mono">${esc(v.name)}</td>
      <td class="mono">${esc(v.value)}</td><td class="mono">${esc(v.default)}</td><td>${esc(v.meaning)}</td></tr>`).join("")}</tbody></table></div>`;
}
