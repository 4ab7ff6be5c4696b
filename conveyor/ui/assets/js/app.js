// The page shell: who is signed in, the namespace picker, and a hash router
// (#/workflows, #/workflows/NS/NAME, #/templates, #/cron, #/config, #/login).
// Each page's render(main, ctx) returns a function that stops its streams.

import { ApiError, get, setToken, token } from "./api.js";
import { esc, toast } from "./util.js";
import * as workflows from "./workflows.js";
import * as workflow from "./workflow.js";
import * as templates from "./templates.js";
import * as cron from "./cron.js";
import * as config from "./config.js";
import * as login from "./login.js";

const NS_KEY = "conveyor.namespace";

export const session = {
  user: {}, // /api/v1/userinfo: {} in server auth mode; name, namespaces, role with a token
  canWrite: true,
  namespaces: [],
  ns: "default",
};

const routes = { workflows, workflow, templates, cron, config, login };
let stop = () => {};

function parse() {
  const [path, q] = (location.hash.replace(/^#/, "") || "/workflows").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(q || ""));
  if (parts[0] === "workflows" && parts.length >= 3) return { page: "workflow", parts, params };
  return { page: routes[parts[0]] ? parts[0] : "workflows", parts, params };
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function setNamespace(ns) {
  session.ns = ns;
  sessionStorage.setItem(NS_KEY, ns);
  const select = document.getElementById("namespace");
  if (![...select.options].some((o) => o.value === ns)) select.append(new Option(ns, ns));
  select.value = ns;
}

export function showError(main, err) {
  const message = err instanceof ApiError ? err.message : `unexpected error: ${err?.message || err}`;
  const hint = err?.status === 401 ? ' <a href="#/login">Sign in with a token</a>.'
    : err?.status === 403 ? " Ask for a token that covers this namespace, or pick another one above." : "";
  main.innerHTML = `<div class="error-box" data-error><strong>Could not load this page.</strong> ${esc(message)}${hint}</div>`;
}

async function route() {
  stop();
  stop = () => {};
  const ctx = parse();
  if (ctx.params.namespace && ctx.params.namespace !== session.ns) setNamespace(ctx.params.namespace);
  for (const a of document.querySelectorAll("header nav a")) {
    a.classList.toggle("active", a.dataset.nav === (ctx.page === "workflow" ? "workflows" : ctx.page));
  }
  const main = document.getElementById("main");
  main.innerHTML = "";
  try {
    stop = (await routes[ctx.page].render(main, ctx, session)) || (() => {});
  } catch (err) {
    if (err instanceof ApiError && err.status === 401 && ctx.page !== "login") {
      go("#/login");
      return;
    }
    showError(main, err);
  }
}

function renderUser() {
  const box = document.getElementById("user");
  const u = session.user;
  if (u.name) {
    box.innerHTML = `<span data-user>${esc(u.name)} · ${esc(u.role)}</span><button type="button" data-signout>Sign out</button>`;
    box.querySelector("[data-signout]").onclick = () => { setToken(""); location.hash = "#/login"; location.reload(); };
  } else {
    box.innerHTML = token() ? "" : `<span class="muted" title="the server runs with --auth-mode server">no sign-in needed</span>`;
  }
}

async function boot() {
  try {
    session.user = await get("/api/v1/userinfo");
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      if (token()) toast(err.message, "error");
      setToken("");
      session.user = null;
    } else {
      showError(document.getElementById("main"), err);
      return;
    }
  }
  if (session.user === null) {
    session.user = {};
    renderUser();
    if (!location.hash.startsWith("#/login")) location.hash = "#/login";
    window.addEventListener("hashchange", route);
    await route();
    return;
  }
  session.canWrite = !session.user.role || session.user.role !== "read";
  document.body.classList.toggle("read-only", !session.canWrite);
  renderUser();
  try {
    session.namespaces = (await get("/api/v1/conveyor/namespaces")).namespaces || [];
  } catch {
    session.namespaces = session.user.namespaces?.filter((n) => n !== "*") || [];
  }
  const select = document.getElementById("namespace");
  select.innerHTML = session.namespaces.map((n) => `<option>${esc(n)}</option>`).join("");
  const saved = sessionStorage.getItem(NS_KEY);
  const pick = saved && session.namespaces.includes(saved) ? saved
    : session.namespaces.includes("default") ? "default" : session.namespaces[0] || "default";
  setNamespace(pick);
  select.onchange = () => {
    setNamespace(select.value);
    const { page } = parse();
    go(page === "workflow" || page === "login" ? "#/workflows" : `#/${page}`);
  };
  window.addEventListener("hashchange", route);
  await route();
}

boot();
