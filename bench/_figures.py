"""One measured figure: conveyor's samples beside a baseline's, taken in the same run.

These machines are shared and noisy, so a figure is never an absolute time alone: it is
the ratio of conveyor to a floor measured minutes apart at most, under the same load.
Repetitions are paired (baseline, then conveyor), so each repetition gives a ratio;
the median of those is the figure, with their min and max beside it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Figure", "spread"]


def spread(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


@dataclass
class Figure:
    """`conveyor` and `baseline` hold one sample per repetition, in `unit`."""

    group: str  # what is measured: a shape ("fan"), or "latency", "throughput", ...
    label: str  # how: "conveyor run", "server", "16 clients", ...
    n: int | None  # the shape's size, when it has one
    unit: str  # "s", "ms", "MB", "workflows/s"
    baseline_name: str  # what the floor is, in a few words
    baseline: list[float] = field(default_factory=list)
    conveyor: list[float] = field(default_factory=list)
    #: tasks each side ran, one count per repetition (shapes only)
    conveyor_tasks: list[int] = field(default_factory=list)
    baseline_tasks: list[int] = field(default_factory=list)
    note: str = ""
    #: further facts for the JSON (the server's RSS after the run, a final phase, ...)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.group}:{self.label}:{self.n}"

    def ratios(self) -> list[float]:
        """conveyor / baseline per repetition (of the medians when the counts differ)."""
        if not self.conveyor or not self.baseline:
            return []
        if len(self.conveyor) == len(self.baseline):
            return [c / b for c, b in zip(self.conveyor, self.baseline, strict=True) if b > 0]
        b = statistics.median(self.baseline)
        return [statistics.median(self.conveyor) / b] if b > 0 else []

    def ratio(self) -> float | None:
        r = self.ratios()
        return statistics.median(r) if r else None

    def median(self) -> float | None:
        return statistics.median(self.conveyor) if self.conveyor else None

    @property
    def tasks_match(self) -> bool | None:
        if not self.conveyor_tasks:
            return None
        return self.conveyor_tasks == self.baseline_tasks

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "group": self.group, "label": self.label, "n": self.n, "unit": self.unit,
            "baseline": {"what": self.baseline_name, "samples": self.baseline,
                         **(spread(self.baseline) if self.baseline else {})},
            "conveyor": {"samples": self.conveyor, **(spread(self.conveyor) if self.conveyor else {})},
            "ratio": spread(self.ratios()) if self.ratios() else None,
        }
        if self.conveyor_tasks:
            out["tasks"] = {"conveyor": self.conveyor_tasks, "baseline": self.baseline_tasks,
                            "match": self.tasks_match}
        if self.note:
            out["note"] = self.note
        return {**out, **self.extra}
