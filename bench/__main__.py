"""`python -m bench`: parse the options, run the measurements in order, report.

Order matters on a shared 2-core machine: the shapes run first, each repetition as
baseline, `conveyor run`, server back to back so drifting load hits all three alike;
the create-throughput clients run last on the server, since the workflows they leave
(suspended) would weigh on everything after them.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from bench._container import podman_problem
from bench._report import machine, print_report, write_json
from bench._run import Bench
from bench._targets import check_all
from bench.shapes import SHAPES

EXTRAS = ("latency", "get", "big", "throughput", "container")
DEFAULT_OUT = Path(__file__).parent / "results" / "latest.json"


@dataclass(frozen=True)
class Plan:
    sizes: list[int]
    reps: int
    only: list[str]
    big: int
    get_nodes: int
    container_tasks: int
    latency_samples: int
    timeout_s: float
    sequential_creates: int
    creates_per_client: int
    quick: bool
    sandbox: str = "auto"

    def steps(self) -> int:
        """Units of the progress bar: one per timed run."""
        shapes = sum(1 for s in SHAPES if s in self.only) * len(self.sizes) * self.reps * 3
        extra = {"latency": self.latency_samples, "get": 1, "big": 2 if self.big else 0,
                 "throughput": 4 * self.reps, "container": self.reps}
        return shapes + sum(v for k, v in extra.items() if k in self.only)


def _ints(text: str) -> list[int]:
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of whole numbers") from None
    if not values or min(values) < 3:
        raise argparse.ArgumentTypeError("every size must be at least 3 (a fan needs a root, a task and a join)")
    return values


def _names(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    unknown = sorted(set(names) - set(SHAPES) - set(EXTRAS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown {', '.join(unknown)}; choose from {', '.join(SHAPES + EXTRAS)}")
    return names


def parse(argv: list[str] | None) -> tuple[Plan, Path]:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run conveyor and a bare baseline on the same task graphs; print the ratios "
        "as a table and write them as JSON (issue 7).",
    )
    p.add_argument("--quick", action="store_true", help="a small run for CI: N=20, 1 repetition, no 50,000-node run")
    p.add_argument("--sizes", type=_ints, help="task counts for the shapes (default 100,1000,10000)")
    p.add_argument("--reps", type=int, help="repetitions of each figure (default 3)")
    p.add_argument("--only", type=_names, help=f"measure only these: {','.join(SHAPES + EXTRAS)}")
    p.add_argument("--big", type=int, help="nodes of the big workflow (default 50000; 0 skips it)")
    p.add_argument("--get-nodes", type=int, help="tasks of the workflow whose GET is timed (default 10000)")
    p.add_argument("--container-tasks", type=int, help="tasks of the container-executor chain (default 10)")
    p.add_argument("--timeout-s", type=float, default=3600,
                   help="give up on a workflow still running after this long (default 3600)")
    p.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                   help="CONVEYOR_SANDBOX for conveyor's tasks (default auto: bubblewrap when it works)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes (default bench/results/latest.json)")
    a = p.parse_args(argv)
    q = a.quick
    sizes = a.sizes or ([20] if q else [100, 1000, 10_000])
    reps = a.reps if a.reps is not None else (1 if q else 3)
    if reps < 1:
        p.error("--reps must be at least 1")
    plan = Plan(
        sizes=sizes, reps=reps, only=a.only or [*SHAPES, *EXTRAS],
        big=a.big if a.big is not None else (0 if q else 50_000),
        get_nodes=a.get_nodes or (max(sizes) if q else 10_000),
        container_tasks=a.container_tasks or (3 if q else 10),
        timeout_s=a.timeout_s,
        latency_samples=3 if q else max(10, reps), sequential_creates=10 if q else 100,
        creates_per_client=2 if q else 25, quick=q, sandbox=a.sandbox,
    )
    return plan, a.out


def main(argv: list[str] | None = None) -> int:
    plan, out = parse(argv)
    started, wall = datetime.now(UTC), time.perf_counter()
    about = machine("")
    # Piped to a file or a CI log, rich would wrap the tables at 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=180)
    err = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with tempfile.TemporaryDirectory(prefix="conveyor-bench-", ignore_cleanup_errors=True) as tmp, Progress(*columns, console=err) as progress:
        bench = Bench(plan, Path(tmp), progress, progress.add_task("starting", total=plan.steps()))
        try:
            bench.shapes()
            if bench.needs_server():
                bench.server_figures()
            if "container" in plan.only:
                image, why = podman_problem()
                if why:
                    bench.skipped["container"] = why
                else:
                    bench.container(image)
        finally:  # also on Ctrl-C: no server outlives the run
            bench.close()
    about["executor"] = bench.executor_line
    checks = check_all(bench.figures, bench.skipped)
    print_report(console, bench.figures, checks, bench.skipped)
    for what, why in bench.failed.items():
        err.print(f"[red]failed[/red] {what}: {why}")
    write_json(out, {
        "started_at": started.isoformat(timespec="seconds"),
        "duration_s": round(time.perf_counter() - wall, 1),
        "settings": {k: v for k, v in vars(plan).items()},
        "machine": about,
        "figures": [f.to_json() for f in bench.figures],
        "targets": [c.to_json() for c in checks],
        "skipped": bench.skipped,
        "failed": bench.failed,
    })
    console.print(f"wrote {out}")
    return 1 if bench.failed or not all(f.tasks_match is not False for f in bench.figures) else 0


if __name__ == "__main__":
    sys.exit(main())
