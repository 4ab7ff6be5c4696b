// A workflow's nodes as a graph: layout, SVG drawing, pan and zoom, live updates.
//
// Written here rather than taken from dagre or elkjs: their rank assignment
// (network simplex) and crossing reduction are superlinear, and at a few
// thousand nodes they take seconds, which is what Argo's own UI users report
// (argo-workflows #2367, #13843). Argo's node graph is a DAG given by each
// node's `children`, so a longest-path layering plus one barycentre sweep,
// both linear after a sort, lays out 10,000 nodes in tens of milliseconds.
// Past COLLAPSE_ABOVE nodes, wide fan-outs (loops) are collapsed to their
// first children and one group node that expands on click.

import { esc } from "./util.js";

export const COLLAPSE_ABOVE = 3000;
const GROUP_MIN = 40; // children a node needs before it is collapsed
const GROUP_SHOW = 12; // children shown at first; each click on the group shows EXPAND_STEP more
const EXPAND_STEP = 500;
const W = 200, H = 34;
const SVG_NS = "http://www.w3.org/2000/svg";

const BOUNDARY_TYPES = new Set(["DAG", "Steps", "StepGroup", "TaskGroup", "Retry"]);

const isExit = (n) => (n.name || "").endsWith(".onExit");

function label(n) {
  const text = isExit(n) ? "onExit" : n.displayName || n.name || n.id;
  return text.length > 26 ? `${text.slice(0, 25)}…` : text;
}

function phaseOf(n) {
  return n.type === "Suspend" && n.phase === "Running" ? "Suspended" : (n.phase || "Pending");
}

// Which nodes and edges are drawn: every node, unless the workflow is large,
// then wide fan-outs show their first children and a group node for the rest.
export function visibleGraph(nodes, wfName, shown) {
  const ids = Object.keys(nodes);
  const collapse = ids.length > COLLAPSE_ABOVE;
  const hasParent = new Set();
  for (const id of ids) for (const c of nodes[id].children || []) if (nodes[c]) hasParent.add(c);
  const started = (id) => nodes[id].startedAt || "~";
  const roots = ids.filter((id) => !hasParent.has(id)).sort((a, b) =>
    (a === wfName ? -1 : b === wfName ? 1 : 0) || (isExit(nodes[a]) - isExit(nodes[b]))
    || started(a).localeCompare(started(b)));

  const vis = new Map(); // id -> {id, node?, group?: {parent, hidden: [ids]}}
  const edges = []; // [from, to, exit?]
  const queue = [];
  const visit = (id) => { if (!vis.has(id)) { vis.set(id, { id, node: nodes[id] }); queue.push(id); } };
  roots.forEach(visit);
  for (let qi = 0; qi < queue.length; qi++) {
    const id = queue[qi];
    const kids = (nodes[id].children || []).filter((c) => nodes[c]);
    const limit = collapse && kids.length > GROUP_MIN ? (shown.get(id) ?? GROUP_SHOW) : kids.length;
    for (const c of kids.slice(0, limit)) { visit(c); edges.push([id, c, false]); }
    if (limit < kids.length) { // after the children shown, so it is drawn below them
      const gid = `${id}::group`;
      vis.set(gid, { id: gid, group: { parent: id, hidden: kids.slice(limit) } });
      edges.push([id, gid, false]);
    }
  }
  // The exit handler runs after everything else: draw it after the root's last nodes.
  const root = nodes[wfName] ? wfName : roots[0];
  for (const id of roots) {
    if (id === root || !isExit(nodes[id])) continue;
    const leaves = [...vis.values()].filter((v) => v.node && !(v.node.children || []).length && !isExit(v.node));
    for (const leaf of leaves.slice(0, 50)) edges.push([leaf.id, id, true]);
  }
  return { vis, edges, collapsed: collapse };
}

// Longest-path ranks, then positions within a rank from the mean of the
// parents' positions (sorted, then pushed apart and re-centred).
export function layout(vis, edges, direction = "LR") {
  const parents = new Map(), kids = new Map(), indeg = new Map();
  for (const id of vis.keys()) { parents.set(id, []); kids.set(id, []); indeg.set(id, 0); }
  for (const [a, b] of edges) {
    if (!vis.has(a) || !vis.has(b)) continue;
    kids.get(a).push(b); parents.get(b).push(a); indeg.set(b, indeg.get(b) + 1);
  }
  const rank = new Map();
  const order = [];
  const ready = [...vis.keys()].filter((id) => indeg.get(id) === 0);
  for (const id of ready) rank.set(id, 0);
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i];
    order.push(id);
    for (const k of kids.get(id)) {
      rank.set(k, Math.max(rank.get(k) ?? 0, rank.get(id) + 1));
      indeg.set(k, indeg.get(k) - 1);
      if (indeg.get(k) === 0) ready.push(k);
    }
  }
  for (const id of vis.keys()) if (!rank.has(id)) { rank.set(id, 0); order.push(id); } // a cycle: never in Argo
  const byRank = [];
  for (const id of order) (byRank[rank.get(id)] ||= []).push(id);

  const lr = direction === "LR";
  const along = lr ? H + 16 : W + 24; // spacing of nodes within a rank
  const across = lr ? W + 70 : H + 60; // spacing of ranks
  const pos = new Map();
  byRank.forEach((ids) => {
    const want = ids.map((id, i) => {
      const ps = parents.get(id).filter((p) => pos.has(p));
      return [id, ps.length ? ps.reduce((s, p) => s + pos.get(p), 0) / ps.length : i * along, i];
    });
    want.sort((a, b) => a[1] - b[1] || a[2] - b[2]);
    let prev = -Infinity, drift = 0;
    const placed = want.map(([id, w]) => { const p = Math.max(w, prev + along); prev = p; drift += p - w; return [id, p]; });
    const shift = want.length ? drift / want.length : 0;
    for (const [id, p] of placed) pos.set(id, p - shift);
  });
  let min = Infinity;
  for (const p of pos.values()) min = Math.min(min, p);
  const xy = new Map();
  for (const id of vis.keys()) {
    const a = pos.get(id) - min, r = rank.get(id) * across;
    xy.set(id, lr ? [r, a] : [a, r]);
  }
  return xy;
}

function groupLabel(group, nodes) {
  const counts = {};
  for (const id of group.hidden) { const p = phaseOf(nodes[id]); counts[p] = (counts[p] || 0) + 1; }
  const parts = Object.entries(counts).map(([p, n]) => `${n} ${p}`).join(", ");
  return { text: `+${group.hidden.length.toLocaleString()} more`, title: `${parts}; click to show ${EXPAND_STEP} more` };
}

// The graph view inside `container`; onSelect(id) when a node is clicked.
export class Graph {
  constructor(container, { onSelect, wfName }) {
    this.container = container;
    this.onSelect = onSelect;
    this.wfName = wfName;
    this.direction = "LR";
    this.shown = new Map(); // collapsed parent -> how many children are shown
    this.view = null; // {x, y, k}
    this.selected = null;
    this.signature = "";
    this.elements = new Map();
    container.innerHTML = `<svg xmlns="${SVG_NS}" role="img" aria-label="workflow graph"><g data-viewport></g></svg>
      <div class="controls"><button type="button" data-zoom="in" title="zoom in">+</button>
      <button type="button" data-zoom="out" title="zoom out">−</button><button type="button" data-zoom="fit" title="fit to view">fit</button>
      <button type="button" data-direction title="left-to-right or top-down">${this.direction === "LR" ? "↓" : "→"}</button></div>
      <div class="legend" data-legend></div>`;
    this.svg = container.querySelector("svg");
    this.viewport = container.querySelector("[data-viewport]");
    this.bindEvents();
  }

  bindEvents() {
    let drag = null;
    this.svg.addEventListener("pointerdown", (e) => {
      if (e.target.closest("g.node")) return;
      drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y };
      this.svg.setPointerCapture(e.pointerId);
    });
    this.svg.addEventListener("pointermove", (e) => {
      if (!drag) return;
      this.view.x = drag.vx + e.clientX - drag.x;
      this.view.y = drag.vy + e.clientY - drag.y;
      this.apply();
    });
    this.svg.addEventListener("pointerup", () => { drag = null; });
    this.svg.addEventListener("wheel", (e) => {
      e.preventDefault();
      const r = this.svg.getBoundingClientRect();
      this.zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY / 400));
    }, { passive: false });
    this.svg.addEventListener("click", (e) => {
      const g = e.target.closest("g.node");
      if (!g) return;
      if (g.dataset.group) {
        const parent = g.dataset.group;
        this.shown.set(parent, (this.shown.get(parent) ?? GROUP_SHOW) + EXPAND_STEP);
        this.draw(this.nodes, true);
      } else {
        this.select(g.dataset.id);
        this.onSelect(g.dataset.id);
      }
    });
    this.container.querySelector(".controls").addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.direction !== undefined) {
        this.direction = this.direction === "LR" ? "TB" : "LR";
        b.textContent = this.direction === "LR" ? "↓" : "→";
        this.view = null;
        this.draw(this.nodes, true);
      } else if (b.dataset.zoom === "fit") this.fit();
      else {
        const r = this.svg.getBoundingClientRect();
        this.zoomAt(r.width / 2, r.height / 2, b.dataset.zoom === "in" ? 1.25 : 0.8);
      }
    });
  }

  zoomAt(px, py, factor) {
    const k = Math.min(3, Math.max(0.05, this.view.k * factor));
    const f = k / this.view.k;
    this.view = { k, x: px - (px - this.view.x) * f, y: py - (py - this.view.y) * f };
    this.apply();
  }

  apply() {
    const { x, y, k } = this.view;
    this.viewport.setAttribute("transform", `translate(${x.toFixed(1)},${y.toFixed(1)}) scale(${k.toFixed(4)})`);
  }

  fit() {
    const r = this.svg.getBoundingClientRect();
    const k = Math.min(1.2, (r.width - 40) / Math.max(1, this.size[0]), (r.height - 40) / Math.max(1, this.size[1]));
    this.view = { k, x: (r.width - this.size[0] * k) / 2, y: (r.height - this.size[1] * k) / 2 };
    this.apply();
  }

  // First view: everything if it fits legibly, else the start of the graph at a readable size.
  home() {
    const r = this.svg.getBoundingClientRect();
    const k = Math.min(1, (r.width - 40) / Math.max(1, this.size[0]), (r.height - 40) / Math.max(1, this.size[1]));
    if (k >= 0.45) { this.fit(); return; }
    const root = this.xy.get(this.wfName) || [...this.xy.values()][0] || [0, 0];
    const kk = 0.7;
    this.view = this.direction === "LR"
      ? { k: kk, x: 20 - root[0] * kk, y: r.height / 2 - (root[1] + H / 2) * kk }
      : { k: kk, x: r.width / 2 - (root[0] + W / 2) * kk, y: 20 - root[1] * kk };
    this.apply();
  }

  // Draw `nodes` (status.nodes); a change of phases only repaints, a change of shape lays out again.
  draw(nodes, force = false) {
    this.nodes = nodes;
    const ids = Object.keys(nodes);
    let edgeCount = 0;
    for (const id of ids) edgeCount += (nodes[id].children || []).length;
    const signature = `${ids.length}/${edgeCount}/${this.direction}/${[...this.shown.entries()].join(";")}`;
    if (!force && signature === this.signature) { this.repaint(); return; }
    this.signature = signature;
    const { vis, edges, collapsed } = visibleGraph(nodes, this.wfName, this.shown);
    const xy = layout(vis, edges, this.direction);
    this.vis = vis; this.xy = xy;
    let maxX = 0, maxY = 0;
    const parts = [];
    for (const v of vis.values()) {
      const [x, y] = xy.get(v.id);
      maxX = Math.max(maxX, x + W); maxY = Math.max(maxY, y + H);
      if (v.group) {
        const g = groupLabel(v.group, nodes);
        parts.push(`<g class="node group" data-group="${esc(v.group.parent)}" data-id="${esc(v.id)}" transform="translate(${x},${y})">`
          + `<title>${esc(g.title)}</title><rect width="${W}" height="${H}" rx="6"/><text x="12" y="${H / 2 + 4}">${esc(g.text)}</text></g>`);
        continue;
      }
      const n = v.node, p = phaseOf(n);
      const cls = `node p-${p}${BOUNDARY_TYPES.has(n.type) ? " boundary" : ""}${v.id === this.selected ? " selected" : ""}`;
      parts.push(`<g class="${cls}" data-id="${esc(v.id)}" data-name="${esc(n.displayName || n.name)}" data-phase="${esc(p)}" transform="translate(${x},${y})">`
        + `<title>${esc(n.displayName || n.name)} (${esc(n.type)}, ${esc(p)})</title><rect width="${W}" height="${H}" rx="6"/>`
        + `<circle cx="15" cy="${H / 2}" r="6" class="p-${p}"/><text x="28" y="${H / 2 + 4}">${esc(label(n))}</text></g>`);
    }
    const path = (exit) => edges.filter((e) => e[2] === exit && xy.has(e[0]) && xy.has(e[1])).map(([a, b]) => {
      const [ax, ay] = xy.get(a), [bx, by] = xy.get(b);
      if (this.direction === "LR") {
        const sx = ax + W, sy = ay + H / 2, tx = bx, ty = by + H / 2, mx = (sx + tx) / 2;
        return `M${sx},${sy}C${mx},${sy} ${mx},${ty} ${tx},${ty}`;
      }
      const sx = ax + W / 2, sy = ay + H, tx = bx + W / 2, ty = by, my = (sy + ty) / 2;
      return `M${sx},${sy}C${sx},${my} ${tx},${my} ${tx},${ty}`;
    }).join("");
    this.viewport.innerHTML = `<path class="edges" d="${path(false)}"/><path class="edges exit" d="${path(true)}"/>${parts.join("")}`;
    this.elements = new Map([...this.viewport.querySelectorAll("g.node")].map((g) => [g.dataset.id, g]));
    this.size = [maxX, maxY];
    this.container.querySelector("[data-legend]").textContent = collapsed
      ? `${ids.length.toLocaleString()} nodes; wide loops are collapsed (click a “+N more” node, or use the Nodes tab)`
      : `${ids.length.toLocaleString()} nodes`;
    if (!this.view) this.home();
  }

  repaint() {
    for (const [id, g] of this.elements) {
      const n = this.nodes[id];
      if (!n) {
        if (g.dataset.group) {
          const v = this.vis.get(id);
          if (v) g.querySelector("title").textContent = groupLabel(v.group, this.nodes).title;
        }
        continue;
      }
      const p = phaseOf(n);
      if (g.dataset.phase === p) continue;
      g.dataset.phase = p;
      g.setAttribute("class", `node p-${p}${BOUNDARY_TYPES.has(n.type) ? " boundary" : ""}${id === this.selected ? " selected" : ""}`);
      g.querySelector("circle").setAttribute("class", `p-${p}`);
      g.querySelector("title").textContent = `${n.displayName || n.name} (${n.type}, ${p})`;
    }
  }

  select(id) {
    this.elements.get(this.selected)?.classList.remove("selected");
    this.selected = id;
    this.elements.get(id)?.classList.add("selected");
  }

  // Bring a node into view (from the Nodes list), expanding its group if it is hidden.
  reveal(id) {
    if (!this.elements.has(id)) {
      for (const v of this.vis.values()) {
        if (v.group && v.group.hidden.includes(id)) {
          const all = (this.nodes[v.group.parent].children || []);
          this.shown.set(v.group.parent, Math.max(all.indexOf(id) + 1, this.shown.get(v.group.parent) ?? GROUP_SHOW));
          this.draw(this.nodes, true);
          break;
        }
      }
    }
    this.select(id);
    const at = this.xy.get(id);
    if (!at) return;
    const r = this.svg.getBoundingClientRect();
    const k = Math.max(this.view.k, 0.6);
    this.view = { k, x: r.width / 2 - (at[0] + W / 2) * k, y: r.height / 2 - (at[1] + H / 2) * k };
    this.apply();
  }
}
