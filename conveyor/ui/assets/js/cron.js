// CronWorkflows of the namespace: schedules, state, last and next runs
// (from the server's schedule functions), suspend and resume.

import { get, put } from "./api.js";
import { go } from "./app.js";
import { ago, esc, toast, when } from "./util.js";

export async function render(main, ctx, session) {
  const ns = session.ns;
  const base = `/api/v1/cron-workflows/${encodeURIComponent(ns)}`;
  const list = (await get(base)).items || [];
  const next = await Promise.all(list.map((c) =>
    get(`/api/v1/conveyor/cron-workflows/${encodeURIComponent(ns)}/${encodeURIComponent(c.metadata.name)}/next-runs?count=3`)
      .then((r) => r.times).catch((err) => [`(${err.message})`])));
  main.innerHTML = `<div data-page><h1>Cron workflows <span class="muted">in ${esc(ns)}</span></h1>
    <div class="card"><table class="list" data-crons><thead><tr><th>Name</th><th>Schedule</th><th>State</th>
      <th>Last run</th><th>Next runs</th><th>Active</th><th></th></tr></thead><tbody>
    ${list.length ? list.map((c, i) => {
      const s = c.spec || {}, st = c.status || {};
      const schedules = s.schedules || (s.schedule ? [s.schedule] : []);
      const active = (st.active || []).map((a) =>
        `<a href="#/workflows/${encodeURIComponent(ns)}/${encodeURIComponent(a.name)}">${esc(a.name)}</a>`).join(" ");
      const button = !session.canWrite ? ""
        : `<button type="button" data-cron="${esc(c.metadata.name)}" data-do="${s.suspend ? "resume" : "suspend"}">${s.suspend ? "Resume" : "Suspend"}</button>`;
      return `<tr data-name="${esc(c.metadata.name)}"><td>${esc(c.metadata.name)}</td>
        <td class="mono">${schedules.map(esc).join("<br>")}${s.timezone ? `<div class="muted">${esc(s.timezone)}</div>` : ""}</td>
        <td data-state>${s.suspend ? "suspended" : "active"}</td>
        <td>${st.lastScheduledTime ? `${when(st.lastScheduledTime)} <span class="muted">(${esc(ago(st.lastScheduledTime))})</span>` : "—"}</td>
        <td data-next>${s.suspend ? `<span class="muted">suspended; would run </span>` : ""}${next[i].map((t) => t.startsWith("(") ? esc(t) : when(t)).join("<br>")}</td>
        <td>${active || "—"}</td><td>${button}</td></tr>`;
    }).join("") : `<tr><td colspan="7" class="empty">No cron workflows in ${esc(ns)}.</td></tr>`}
    </tbody></table></div></div>`;
  main.querySelector("[data-page]").addEventListener("click", async (e) => {
    const b = e.target.closest("button[data-cron]");
    if (!b) return;
    try {
      await put(`${base}/${encodeURIComponent(b.dataset.cron)}/${b.dataset.do}`, { namespace: ns, name: b.dataset.cron });
      toast(`${b.dataset.cron}: ${b.dataset.do === "suspend" ? "suspended" : "resumed"}`);
      go("#/cron");
    } catch (err) {
      toast(`${b.dataset.do} failed: ${err.message}`, "error");
    }
  });
}
