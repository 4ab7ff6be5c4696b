"""One benchmark run: the measurements in order, the figures they make, what was skipped.

A measurement that fails is recorded (`failed`) and the run goes on: on a run of an hour,
one broken figure should not cost the others. The exit status still says it failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from rich.progress import Progress, TaskID

from bench import _api
from bench._container import container
from bench._figures import Figure
from bench._runs import Files, sandbox_floor, time_baseline, time_run, time_server, write
from bench._server import Server, environment
from bench.shapes import SHAPES, build

if TYPE_CHECKING:
    from bench.__main__ import Plan

__all__ = ["Bench"]

_MB = 1024  # KiB in a MiB: /proc reports KiB
#: seconds between progress lines when the output is not a terminal
_BEAT_S = 30.0


class Bench:
    def __init__(self, plan: Plan, scratch: Path, progress: Progress, bar: TaskID) -> None:
        self.plan, self.scratch, self.progress, self.bar = plan, scratch, progress, bar
        self.figures: list[Figure] = []
        self.skipped: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.executor_line = ""
        self._server: Server | None = None
        #: (shape, n) -> a workflow that Succeeded on the server, to reuse for the GET figure
        self._finished: dict[tuple[str, int], str] = {}
        self._beat = time.monotonic()

    # -- progress ---------------------------------------------------------------------

    def _doing(self, what: str) -> None:
        self.progress.update(self.bar, description=what)

    def _did(self, line: str) -> None:
        self.progress.advance(self.bar)
        self.progress.console.print(f"[dim]{line}[/dim]")

    def _ticker(self, what: str) -> Callable[[str], None]:
        def tick(status: str) -> None:
            self._doing(f"{what} [{status}]")
            # Off a terminal the bar is not redrawn: a line now and then shows a long
            # step (a 10,000-task workflow takes minutes) is moving.
            now = time.monotonic()
            if not self.progress.console.is_terminal and now - self._beat >= _BEAT_S:
                self._beat = now
                self.progress.console.print(f"[dim]{what}: {status}[/dim]")

        return tick

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:  # recorded and reported; the other figures still run
            self.failed[what] = f"{type(exc).__name__}: {exc}"
            self.progress.console.print(f"[red]{what} failed:[/red] {exc}")

    # -- the server -------------------------------------------------------------------

    def needs_server(self) -> bool:
        return any(k in self.plan.only for k in (*SHAPES, "latency", "get", "big", "throughput"))

    @property
    def server(self) -> Server:
        if self._server is None:
            self._doing("starting conveyor server")
            home = self.scratch / "server-home"
            self._server = Server(environment(home, sandbox=self.plan.sandbox), self.scratch / "server.log")
        return self._server

    def _rss_mb(self) -> float:
        return self.server.peak_rss_kb() / _MB

    # -- the shapes -------------------------------------------------------------------

    def shapes(self) -> None:
        for name in (s for s in SHAPES if s in self.plan.only):
            for n in self.plan.sizes_of(name):
                with self._guard(f"{name} N={n}"):
                    self._shape(name, n)

    def _shape(self, name: str, n: int) -> None:
        shape = build(name, n)
        files = write(shape, self.scratch)
        floor = "graphlib + 2-worker " + ("process pool" if shape.kind == "python" else "thread pool, `true`")
        run = Figure(name, "conveyor run", n, "s", floor)
        served = Figure(name, "server", n, "s", floor)
        self.figures += [run, served]
        # The same graph with each task `true` inside conveyor's own sandbox: how much of
        # the ratio is the isolation (a sandbox per task), and how much the engine. For the
        # python shape: each task in a process of its own, forked from a warm worker.
        floor_files: Files | None = None
        if shape.kind == "python":
            floor_files = write(shape, self.scratch, fork=True)
            isolated = Figure(name, "server / forked floor", n, "s", "the process pool, each task a forked child")
        else:
            argv = sandbox_floor(self.scratch) if self.plan.sandbox != "none" else None
            floor_files = write(shape, self.scratch, argv) if argv else None
            isolated = Figure(name, "server / sandboxed floor", n, "s", "the baseline, each task `true` in bubblewrap")
        if floor_files is not None:
            self.figures.append(isolated)
        for rep in range(1, self.plan.reps + 1):
            what = f"{name} N={n} rep {rep}/{self.plan.reps}"
            self._doing(f"{what}: baseline")
            b, b_tasks = time_baseline(files)
            for fig in (run, served):
                fig.baseline.append(b)
                fig.baseline_tasks.append(b_tasks)
            self._did(f"{what}: baseline {b:.2f} s, {b_tasks} tasks")
            if floor_files is not None:
                f, f_tasks = time_baseline(floor_files)
                isolated.baseline.append(f)
                isolated.baseline_tasks.append(f_tasks)
                self.progress.console.print(f"[dim]{what}: {isolated.label.removeprefix('server / ')} {f:.2f} s, {f_tasks} tasks[/dim]")
            self._doing(f"{what}: conveyor run")
            t, tasks, self.executor_line = time_run(files, self.scratch, timeout_s=self.plan.timeout_s,
                                                    sandbox=self.plan.sandbox)
            run.conveyor.append(t)
            run.conveyor_tasks.append(tasks)
            self._did(f"{what}: conveyor run {t:.2f} s, {tasks} tasks")
            self._doing(f"{what}: server")
            t, tasks, wf = time_server(self.server, shape, self._ticker(f"{what}: server"), self.plan.timeout_s)
            served.conveyor.append(t)
            served.conveyor_tasks.append(tasks)
            if floor_files is not None:
                isolated.conveyor.append(t)
                isolated.conveyor_tasks.append(tasks)
            self._finished[(name, n)] = wf
            self._did(f"{what}: server {t:.2f} s, {tasks} tasks")
        served.extra["server_peak_rss_mb"] = round(self._rss_mb(), 1)

    # -- the other server figures -------------------------------------------------------

    def server_figures(self) -> None:
        plan = self.plan
        if any(s in plan.only for s in SHAPES):
            with self._guard("server RSS"):
                self.figures.append(self._rss_figure("peak RSS after the shapes"))
        if "latency" in plan.only:
            with self._guard("latency"):
                self._doing(f"submit-to-first-task latency ({plan.latency_samples} samples)")
                fig = _api.latency(self.server, plan.latency_samples)
                self.figures.append(fig)
                for _ in fig.conveyor:
                    self.progress.advance(self.bar)
        if "get" in plan.only:
            with self._guard("get"):
                self._get()
        if "big" in plan.only and plan.big:
            with self._guard(f"big N={plan.big}"):
                self._big()
        if "throughput" in plan.only:
            with self._guard("throughput"):
                self._throughput()
        if self._server is not None:
            with self._guard("server RSS"):
                self.figures.append(self._rss_figure("peak RSS at the end"))
        self.close()

    def close(self) -> None:
        """Stop the server, if one was started; safe to call more than once."""
        if self._server is not None:
            self._server.stop()

    def _rss_figure(self, label: str) -> Figure:
        return Figure("server", label, None, "MB", "the idle server's RSS at start",
                      baseline=[self.server.rss_at_start_kb / _MB], conveyor=[self._rss_mb()])

    def _get(self) -> None:
        n = self.plan.get_nodes
        name = self._finished.get(("fan", n)) or self._finished.get(("loop", n))
        if name is None:  # no fan of that size ran on the server: run one now
            what = f"GET figure: running a fan of {n:,} on the server"
            self._doing(what)
            _, _, name = time_server(self.server, build("fan", n), self._ticker(what), self.plan.timeout_s)
        self._doing(f"GET of a finished {n:,}-task workflow")
        self.figures.append(_api.get_workflow(self.server, name, max(5, self.plan.reps)))
        self._did(f"GET of a finished {n:,}-task workflow done")

    def _big(self) -> None:
        n = self.plan.big
        shape = build("fan", n)
        files = write(shape, self.scratch)
        fig = Figure("big", "server", n, "s", "graphlib + 2-worker thread pool, `true`")
        self.figures.append(fig)  # now: a run that never finishes is reported as such
        self._doing(f"big fan N={n:,}: baseline")
        b, b_tasks = time_baseline(files)
        fig.baseline.append(b)
        fig.baseline_tasks.append(b_tasks)
        self._did(f"big fan N={n:,}: baseline {b:.2f} s")
        what = f"big fan N={n:,}: server"
        self._doing(what)
        t, tasks, name = time_server(self.server, shape, self._ticker(what), self.plan.timeout_s)
        fig.conveyor.append(t)
        fig.conveyor_tasks.append(tasks)
        start = time.perf_counter()
        wf = self.server.get(name, fields="metadata.name,status.phase,status.progress")
        fig.extra.update(phase=wf["status"]["phase"], progress=wf["status"].get("progress"),
                         get_ms=(time.perf_counter() - start) * 1000,
                         server_peak_rss_mb=round(self._rss_mb(), 1))
        fig.note = "get_ms: the GET of its phase and progress (fields=...), once finished"
        self._did(f"{what} {t:.2f} s, {tasks} tasks")

    def _throughput(self) -> None:
        plan = self.plan
        for clients, each in ((1, plan.sequential_creates), (16, plan.creates_per_client)):
            self._doing(f"create throughput, {clients} client(s), {plan.reps} rep(s)")
            fig = _api.throughput(self.server, clients, each, plan.reps)
            self.figures.append(fig)
            for _ in range(2 * plan.reps):
                self.progress.advance(self.bar)
            self.progress.console.print(f"[dim]create throughput, {clients} client(s): {fig.median():.0f} workflows/s[/dim]")

    # -- the container executor -----------------------------------------------------------

    def container(self, image: str) -> None:
        with self._guard("container"):
            k = self.plan.container_tasks
            self._doing(f"container executor: {k} tasks with podman, {self.plan.reps} rep(s)")
            self.figures += container(image, k, self.plan.reps, self.scratch)
            for _ in range(self.plan.reps):
                self.progress.advance(self.bar)
