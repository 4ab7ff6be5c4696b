"""The targets of issue 7, each checked against this run's figures: met, not met, or not
measured (with why: a size left out of --sizes, a measurement left out of --only, ...)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench._figures import Figure

__all__ = ["Check", "check_all"]

Figures = dict[str, Figure]


@dataclass(frozen=True)
class Check:
    figure: str
    target: str
    measured: str
    status: str  # "met" | "not met" | "not measured"

    def to_json(self) -> dict[str, str]:
        return {"figure": self.figure, "target": self.target, "measured": self.measured, "status": self.status}


def _verdict(ok: bool) -> str:
    return "met" if ok else "not met"


def _shape(shape: str, n: int, limit: float) -> Callable[[Figures], tuple[str, str]]:
    def check(figs: Figures) -> tuple[str, str]:
        pair = [figs.get(f"{shape}:{how}:{n}") for how in ("conveyor run", "server")]
        if all(f is None for f in pair):
            return f"{shape} at N={n} was not run (--sizes / --only)", "not measured"
        found = [f for f in pair if f is not None and f.ratio() is not None]
        if len(found) < 2:
            return f"{shape} at N={n} did not finish (see failed)", "not met"
        parts = [f"{f.label} {f.ratio():.2f}x" for f in found]
        ok = all((f.ratio() or 0) <= limit and f.tasks_match for f in found)
        if not all(f.tasks_match for f in found):
            parts.append("task counts differ")
        return " · ".join(parts), _verdict(ok)

    return check


def _loop(figs: Figures) -> tuple[str, str]:
    measured, status = _shape("loop", 10_000, 2.0)(figs)
    server = figs.get("loop:server:10000")
    if status == "not measured" or server is None:
        return measured, status
    rss = float(server.extra.get("server_peak_rss_mb", 0))
    ok = status == "met" and rss <= 300
    return f"{measured} · server RSS {rss:.0f} MB", _verdict(ok)


def _big(figs: Figures) -> tuple[str, str]:
    big = next((f for f in figs.values() if f.group == "big"), None)
    if big is None:
        return "not run (--big 0 or --only)", "not measured"
    if not big.conveyor:
        return f"{big.n:,} tasks did not finish (see failed)", "not met"
    phase, get_ms = big.extra.get("phase"), big.extra.get("get_ms")
    ok = phase == "Succeeded" and bool(big.tasks_match) and get_ms is not None
    return f"{big.n:,} tasks {phase}, GET {get_ms:.0f} ms, {big.ratio():.2f}x the baseline", _verdict(ok)


def _absolute(key: str, unit: str, ok: Callable[[float], bool]) -> Callable[[Figures], tuple[str, str]]:
    def check(figs: Figures) -> tuple[str, str]:
        fig = figs.get(key)
        value = fig.median() if fig else None
        if fig is None or value is None:
            return "not run (--only)", "not measured"
        return f"median {value:.1f} {unit} ({fig.ratio():.2f}x the floor)", _verdict(ok(value))

    return check


def _get(figs: Figures) -> tuple[str, str]:
    fig = next((f for f in figs.values() if f.group == "get"), None)
    if fig is None or fig.median() is None:
        return "not run (--only)", "not measured"
    measured = f"median {fig.median():.0f} ms for {fig.n:,} nodes"
    if (fig.n or 0) < 10_000:
        return f"{measured} (too small to judge: --get-nodes 10000)", "not measured"
    return measured, _verdict((fig.median() or 0) <= 300)


def _container(skipped: dict[str, str]) -> Callable[[Figures], tuple[str, str]]:
    def check(figs: Figures) -> tuple[str, str]:
        fig = next((f for f in figs.values() if f.group == "container"), None)
        if fig is None or fig.ratio() is None:
            return skipped.get("container", "not run (--only)"), "not measured"
        return f"{fig.ratio():.2f}x ({fig.median():.2f} s a task)", _verdict((fig.ratio() or 0) <= 1.3)

    return check


def check_all(figures: list[Figure], skipped: dict[str, str]) -> list[Check]:
    figs = {f.key: f for f in figures}
    table: list[tuple[str, str, Callable[[Figures], tuple[str, str]]]] = [
        ("fan, N=1,000", "at most 1.5x the baseline's wall time", _shape("fan", 1000, 1.5)),
        ("chain, N=1,000", "at most 2x the baseline", _shape("chain", 1000, 2.0)),
        ("python, N=1,000", "at most 3x the baseline's process pool", _shape("python", 1000, 3.0)),
        ("loop, N=10,000", "completes, at most 2x the baseline fan of the same N; server RSS at most 300 MB", _loop),
        ("a 50,000-node workflow", "completes; its status stays queryable", _big),
        ("submit to first task started", "median at most 20 ms",
         _absolute("latency:submit to first task started:None", "ms", lambda v: v <= 20)),
        ("create throughput", "at least 300 small workflows/s with 16 concurrent clients",
         _absolute("throughput:16 concurrent clients:None", "workflows/s", lambda v: v >= 300)),
        ("get of a finished 10,000-node workflow", "at most 300 ms", _get),
        ("container executor", "per-task time at most 1.3x the raw `podman run` loop", _container(skipped)),
    ]
    return [Check(name, target, *check(figs)) for name, target, check in table]
