"""How the client commands print workflows, templates and cron workflows: `argo`'s layouts.

Tables are plain text padded like Go's tabwriter (what `argo` uses), so they
read the same in a terminal, a pipe and a test. `-o json|yaml|name` print the
objects as the server sent them.
https://argo-workflows.readthedocs.io/en/latest/cli/argo_get/
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import click
import yaml

from conveyor.cli._tree import ICONS, children_of, duration_s, human, timestamp
from conveyor.errors import ConveyorError

__all__ = ["age", "emit", "table", "workflow_view", "workflow_rows", "header", "cron_rows", "cron_header",
           "template_header", "status_of"]

Json = dict[str, Any]
_GROUPS = ("StepGroup", "TaskGroup")  # argo draws no row for these: their children hang off the parent
_COLORS = {"green": "green", "red": "red", "cyan": "cyan", "yellow": "yellow", "dim": "bright_black"}


def emit(objs: Sequence[Mapping[str, Any]], output: str, *, single: bool = False) -> bool:
    """Print for `-o json|yaml|name`; False for the other outputs, which the caller lays out."""
    if output == "name":
        for obj in objs:
            click.echo((obj.get("metadata") or {}).get("name", ""))
    elif output == "json":
        click.echo(json.dumps(objs[0] if single else list(objs), indent=2))
    elif output == "yaml":
        click.echo(yaml.safe_dump(objs[0] if single else list(objs), sort_keys=False, allow_unicode=True), nl=False)
    else:
        return False
    return True


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(headers), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(headers))]
    return "\n".join("   ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def _short(seconds: float) -> str:
    """`argo`'s short duration: 5s, 3m, 2h, 4d."""
    s = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def age(value: str | None, now: float) -> str:
    ts = timestamp(value)
    return "" if ts is None else _short(now - ts)


def _when(value: str | None, now: float) -> str:
    ts = timestamp(value)
    if ts is None:
        return ""
    relative = f"{_short(now - ts)} ago" if now >= ts else f"in {_short(ts - now)}"
    return f"{time.strftime('%a %b %d %H:%M:%S %z', time.localtime(ts))} ({relative})"


def header(pairs: Iterable[tuple[str, Any]]) -> str:
    """`Label:` padded to 20, then the value; a value starting on its own line (a list) follows the label."""
    return "\n".join(f"{label}:{value}" if str(value).startswith("\n") else f"{label + ':':<20} {value}"
                     for label, value in pairs if value not in (None, ""))


def _parameters(spec: Mapping[str, Any]) -> str:
    params = (spec.get("arguments") or {}).get("parameters") or []
    if not params:
        return ""
    return "\n" + "\n".join(f"  {p.get('name', '') + ':':<18} {p.get('value', '')}" for p in params)


def status_of(wf: Mapping[str, Any]) -> str:
    phase = (wf.get("status") or {}).get("phase") or "Pending"
    return f"{phase} (Suspended)" if phase == "Running" and (wf.get("spec") or {}).get("suspend") else phase


def _workflow_header(wf: Mapping[str, Any], now: float) -> str:
    meta, spec, status = wf.get("metadata") or {}, wf.get("spec") or {}, wf.get("status") or {}
    account = spec.get("serviceAccountName") or "unset (will run with the default ServiceAccount)"
    return header([
        ("Name", meta.get("name")), ("Namespace", meta.get("namespace")), ("ServiceAccount", account),
        ("Status", status_of(wf)), ("Message", status.get("message")),
        ("Created", _when(meta.get("creationTimestamp"), now)), ("Started", _when(status.get("startedAt"), now)),
        ("Finished", _when(status.get("finishedAt"), now)), ("Duration", human(duration_s(status, now))),
        ("Progress", status.get("progress")), ("Parameters", _parameters(spec)),
    ])


def _template_of(node: Mapping[str, Any]) -> str:
    ref = node.get("templateRef") or {}
    return f"{ref.get('name')}/{ref.get('template')}" if ref else node.get("templateName", "")


def _node_order(nodes: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(tree prefix, node ID) in display order, group nodes left out as `argo get` does."""
    kids = children_of(nodes)

    def shown(parent: str | None) -> list[str]:
        out: list[str] = []
        for child in kids.get(parent, []):
            out += shown(child) if nodes[child].get("type") in _GROUPS else [child]
        return out

    order: list[tuple[str, str]] = []
    stack = [("", "", nid) for nid in reversed(shown(None))]
    while stack:
        lead, branch, nid = stack.pop()
        order.append((lead + branch, nid))
        below = lead + {"├─": "│ ", "└─": "  "}.get(branch, "")
        children = shown(nid)
        for i, child in reversed(list(enumerate(children))):
            stack.append((below, "└─" if i == len(children) - 1 else "├─", child))
    return order


def workflow_view(wf: Mapping[str, Any], now: float, *, wide: bool = False, color: bool = False) -> str:
    """`argo get`: the header, then one row per node under its parent."""
    nodes: dict[str, dict[str, Any]] = (wf.get("status") or {}).get("nodes") or {}
    headers = ["STEP", "TEMPLATE", "PODNAME", "DURATION", "MESSAGE"] + (["ARTIFACTS", "ID"] if wide else [])
    rows, icons = [], []
    for prefix, nid in _node_order(nodes):
        node = nodes[nid]
        icon, style = ICONS.get(node.get("phase", ""), ("?", ""))
        pod = node.get("type") == "Pod"
        row = [f" {prefix}{icon} {node.get('displayName') or node.get('name', '')}", _template_of(node),
               node.get("podName", "") if pod else "", human(duration_s(node, now)) if pod else "",
               node.get("message", "")]
        if wide:
            arts = (node.get("outputs") or {}).get("artifacts") or []
            row += [",".join(a.get("name", "") for a in arts), nid]
        rows.append(row)
        icons.append((icon, style))
    text = _workflow_header(wf, now)
    if not rows:
        return text
    lines = table(headers, rows).splitlines()
    if color:  # colour only the icon, after padding, so the columns stay aligned
        lines[1:] = [line.replace(icon, click.style(icon, fg=_COLORS.get(style)), 1)
                     for line, (icon, style) in zip(lines[1:], icons, strict=True)]
    return text + "\n\n" + "\n".join(lines)


def workflow_rows(items: Sequence[Mapping[str, Any]], now: float, *, wide: bool = False) -> str:
    """`argo list`."""
    headers = ["NAME", "STATUS", "AGE", "DURATION", "PRIORITY", "MESSAGE"] + (["PARAMETERS"] if wide else [])
    rows = []
    for wf in items:
        meta, spec, status = wf.get("metadata") or {}, wf.get("spec") or {}, wf.get("status") or {}
        row = [meta.get("name", ""), status_of(wf), age(meta.get("creationTimestamp"), now),
               human(duration_s(status, now)), str(spec.get("priority") or 0), status.get("message", "")]
        if wide:
            params = (spec.get("arguments") or {}).get("parameters") or []
            row.append(",".join(f"{p.get('name')}={p.get('value', '')}" for p in params))
        rows.append(row)
    return table(headers, rows)


def template_header(doc: Mapping[str, Any], now: float) -> str:
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    names = ", ".join(t.get("name", "") for t in spec.get("templates") or [])
    return header([("Name", meta.get("name")), ("Kind", doc.get("kind")), ("Namespace", meta.get("namespace")),
                   ("Created", _when(meta.get("creationTimestamp"), now)), ("Entrypoint", spec.get("entrypoint")),
                   ("Templates", names), ("Parameters", _parameters(spec))])


def _schedules(spec: Mapping[str, Any]) -> list[str]:
    return list(spec.get("schedules") or ([spec["schedule"]] if spec.get("schedule") else []))


def _next_run(spec: Mapping[str, Any]) -> float | None:
    # Imported here: the runtime loads Hera's models, which only the cron views need.
    from conveyor.runtime.cron import next_fire

    try:
        return next_fire(_schedules(spec), spec.get("timezone") or None, datetime.now(UTC)).timestamp()
    except ConveyorError:  # no or a bad schedule: the server reports that in the cron's conditions
        return None


def cron_rows(items: Sequence[Mapping[str, Any]], now: float) -> str:
    """`argo cron list`."""
    rows = []
    for cron in items:
        meta, spec, status = cron.get("metadata") or {}, cron.get("spec") or {}, cron.get("status") or {}
        nxt = _next_run(spec)
        rows.append([meta.get("name", ""), age(meta.get("creationTimestamp"), now),
                     age(status.get("lastScheduledTime"), now) or "N/A",
                     "N/A" if nxt is None or spec.get("suspend") else _short(nxt - now),
                     ",".join(_schedules(spec)), spec.get("timezone", ""), str(bool(spec.get("suspend"))).lower()])
    return table(["NAME", "AGE", "LAST RUN", "NEXT RUN", "SCHEDULE", "TIMEZONE", "SUSPENDED"], rows)


def cron_header(cron: Mapping[str, Any], now: float) -> str:
    meta, spec, status = cron.get("metadata") or {}, cron.get("spec") or {}, cron.get("status") or {}
    nxt = _next_run(spec)
    upcoming = None if nxt is None else datetime.fromtimestamp(nxt, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    active = ", ".join(ref.get("name", "") for ref in status.get("active") or [])
    return header([
        ("Name", meta.get("name")), ("Namespace", meta.get("namespace")),
        ("Created", _when(meta.get("creationTimestamp"), now)), ("Schedule", ",".join(_schedules(spec))),
        ("Timezone", spec.get("timezone")), ("Suspended", str(bool(spec.get("suspend"))).lower()),
        ("ConcurrencyPolicy", spec.get("concurrencyPolicy") or "Allow"),
        ("LastScheduledTime", _when(status.get("lastScheduledTime"), now)),
        ("NextScheduledTime", "" if spec.get("suspend") else _when(upcoming, now)),
        ("Active Workflows", active),
    ])
