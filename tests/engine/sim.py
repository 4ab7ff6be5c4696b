"""A deterministic, I/O-free driver for the machine: simulated clock, scripted tasks."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from conveyor.engine import Finished, Kill, Launch, Machine, SetTimer

#: decides how a launched pod ends: plan -> result dict (phase, exitCode, result, parameters, ...)
Script = Callable[[dict[str, Any]], dict[str, Any]]


def ok(plan: dict[str, Any]) -> dict[str, Any]:
    return {"phase": "Succeeded", "exitCode": 0}


@dataclass
class Sim:
    machine: Machine
    script: Script = ok
    task_seconds: float = 1.0
    now: float = 1_000.0
    launches: list[Launch] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    #: most pods running at once
    peak_running: int = 0
    _timers: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)
    _seq: int = 0
    _running: dict[str, dict[str, Any]] = field(default_factory=dict)
    hold: set[str] = field(default_factory=set)  # display names of pods left running

    def send(self, event: dict[str, Any]) -> None:
        self.events.append((self.now, event))
        for action in self.machine.apply(event, self.now):
            if isinstance(action, Launch):
                self.launches.append(action)
                self._running[action.node_id] = action.plan
                self.peak_running = max(self.peak_running, len(self._running))
                display = self.machine.nodes[action.node_id].display_name
                if display in self.hold:
                    continue
                result = {**self.script(action.plan)}
                self._at(self.now + self.task_seconds, {"type": "task_finished", "node": action.node_id, "result": result})
            elif isinstance(action, Kill):
                self.kills.append(action)
                self._running.pop(action.node_id, None)
            elif isinstance(action, SetTimer):
                self._at(action.at, {"type": "timer", "id": action.timer_id})
            elif isinstance(action, Finished):
                pass

    def _at(self, at: float, event: dict[str, Any]) -> None:
        self._seq += 1
        heapq.heappush(self._timers, (at, self._seq, event))

    def run(self, *, until: float | None = None, max_events: int = 100_000) -> Machine:
        if self.machine.phase == "Pending":
            self.send({"type": "start"})
        for _ in range(max_events):
            if self.machine.done or not self._timers:
                break
            at, _, event = heapq.heappop(self._timers)
            if until is not None and at > until:
                heapq.heappush(self._timers, (at, 0, event))
                break
            self.now = max(self.now, at)
            if event["type"] == "task_finished":
                if event["node"] not in self._running:
                    continue  # killed meanwhile
                self._running.pop(event["node"])
            self.send(event)
        return self.machine

    def node(self, display: str) -> Any:
        found = [n for n in self.machine.nodes.values() if n.display_name == display]
        assert found, f"no node {display!r}: {[n.display_name for n in self.machine.nodes.values()]}"
        return found[0]

    def launched(self) -> list[str]:
        return [self.machine.nodes[a.node_id].display_name for a in self.launches]


def workflow(text: str, name: str = "wf") -> dict[str, Any]:
    wf = yaml.safe_load(text)
    wf.setdefault("apiVersion", "argoproj.io/v1alpha1")
    wf.setdefault("kind", "Workflow")
    wf.setdefault("metadata", {})["name"] = name
    wf["metadata"].setdefault("namespace", "default")
    wf["metadata"].setdefault("uid", "uid-1")
    return wf


def sim(text: str, script: Script = ok, **kw: Any) -> Sim:
    return Sim(Machine(workflow(text)), script=script, **kw)


def argv(plan: dict[str, Any]) -> list[str]:
    t = plan["template"]
    c = t.get("container") or t.get("script") or {}
    return [*c.get("command", []), *c.get("args", [])]
