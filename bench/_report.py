"""What a run prints and writes: the figures table, the targets table, and the JSON.

Every row shows the baseline beside conveyor, both as medians with [min–max] over the
repetitions, and their ratio (conveyor ÷ baseline, per repetition, then the median).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench._figures import Figure, spread
from bench._targets import Check

__all__ = ["figures_table", "machine", "targets_table", "write_json"]

_STATUS = {"met": "[green]met[/green]", "not met": "[red]not met[/red]", "not measured": "[yellow]not measured[/yellow]"}


def _fmt(samples: list[float], unit: str) -> str:
    if not samples:
        return "-"
    s = spread(samples)
    digits = 2 if unit in ("s", "x") else 1 if unit in ("ms", "MB") else 0
    med = f"{s['median']:.{digits}f}"
    if len(samples) == 1:
        return f"{med} {unit}"
    return f"{med} {unit} [{s['min']:.{digits}f}–{s['max']:.{digits}f}]"


def figures_table(figures: list[Figure]) -> Table:
    table = Table(title="conveyor against its baseline (medians, \\[min–max] over repetitions)")
    for col in ("figure", "N", "baseline", "conveyor", "ratio", "tasks c/b", "the baseline is"):
        table.add_column(col, justify="left" if col in ("figure", "the baseline is") else "right")
    for f in figures:
        tasks = ""
        if f.conveyor_tasks:
            c, b = f.conveyor_tasks[-1], f.baseline_tasks[-1]
            tasks = f"{c}/{b}" if f.tasks_match else f"[red]{c}/{b} differ[/red]"
        table.add_row(
            f"{f.group} · {f.label}",
            f"{f.n:,}" if f.n is not None else "",
            _fmt(f.baseline, f.unit),
            _fmt(f.conveyor, f.unit),
            _fmt(f.ratios(), "x"),
            tasks,
            f"[dim]{escape(f.baseline_name)}[/dim]",
        )
    return table


def targets_table(checks: list[Check]) -> Table:
    table = Table(title="targets (issue 7; process executor unless said)")
    for col in ("figure", "target", "measured", "status"):
        table.add_column(col)
    for c in checks:
        table.add_row(c.figure, c.target, c.measured, _STATUS[c.status])
    return table


def _first_line(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def machine(executor_line: str) -> dict[str, Any]:
    """What the figures were measured on: enough to tell two runs' machines apart."""
    from conveyor import __version__

    podman = ""
    if shutil.which("podman"):
        done = subprocess.run(["podman", "--version"], capture_output=True, text=True)
        podman = done.stdout.strip()
    return {
        "platform": platform.platform(),
        "cpu": _first_line("/proc/cpuinfo", "model name"),
        "cpus": os.cpu_count(),
        "memory": _first_line("/proc/meminfo", "MemTotal"),
        "load_average_at_start": os.getloadavg(),
        "python": sys.version.split()[0],
        "conveyor": __version__,
        "executor": executor_line,
        "podman": podman,
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def print_report(console: Console, figures: list[Figure], checks: list[Check], skipped: dict[str, str]) -> None:
    console.print(figures_table(figures))
    console.print(targets_table(checks))
    for what, why in skipped.items():
        console.print(f"[yellow]skipped[/yellow] {what}: {why}")
