"""Workflows of mixed shapes for the fault suites, each with the phase and output it must end with.

Every task reports when it starts and when its work is done, a side effect outside
conveyor's sandbox and store, so the suites can count how often each task really ran and
when: to a `HitCounter` over HTTP (`curl $HIT/start/<pod>`, timed on arrival), or, with an
empty `$HIT` (containers, whose network cannot be relied on to reach the host while the
server that runs them is killed), as `conveyor-hit start <pod> <epoch seconds>` lines in
each launch's own log file, read back by `LogHits`. Both carry times on this machine's
clock: a container reads the host kernel's clock, and the server stamps its events with it.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["Hit", "HitCounter", "LogHits", "Shape", "SHAPES", "shape_for"]


@dataclass(frozen=True)
class Hit:
    #: epoch seconds, on this machine's clock (the server stamps its events with the same)
    at: float
    kind: str  # "start" | "done"
    pod: str


class HitCounter:
    """A tiny HTTP server on 127.0.0.1 recording `GET /<kind>/<pod>` with the time it came."""

    def __init__(self) -> None:
        self.hits: list[Hit] = []
        lock = threading.Lock()
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                _, kind, pod = (self.path.split("/", 2) + ["", ""])[:3]
                with lock:
                    hits.append(Hit(time.time(), kind, pod))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def count(self, kind: str) -> Counter[str]:
        return Counter(h.pod for h in list(self.hits) if h.kind == kind)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


#: `hit KIND POD`: to the counter at $HIT, or with no $HIT as a timed line on stderr (the
#: task's log, not its result); busybox's and GNU's `date` both know %N
_HIT = ('hit() { if [ -n "$HIT" ]; then curl -sf "$HIT/$1/$2" >/dev/null; '
        'else echo "conveyor-hit $1 $2 $(date +%s.%N)" >&2; fi; }; ')


class LogHits:
    """The hits tasks wrote to their logs: one log folder per launch under `<logs>/<namespace>/<workflow>/`."""

    def __init__(self, logs: Path) -> None:
        self.hits: list[Hit] = []
        for log in sorted(logs.glob("*/*/*/main.log")):
            for line in log.read_text(errors="replace").splitlines():
                words = line.split()
                # a launch killed mid-line leaves a torn last line: not a hit
                if len(words) == 4 and words[0] == "conveyor-hit" and _is_time(words[3]):
                    self.hits.append(Hit(float(words[3]), words[1], words[2]))

    def count(self, kind: str) -> Counter[str]:
        return Counter(h.pod for h in self.hits if h.kind == kind)


def _is_time(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def _work(hit: str, name: str = "work") -> dict[str, Any]:
    """Report start, sleep, print $((value)), report done."""
    return {
        "name": name,
        "inputs": {"parameters": [{"name": "value"}, {"name": "sleep", "value": "0.3"}]},
        "container": {
            "image": "busybox",
            "command": ["sh", "-c"],
            "args": [
                _HIT + 'hit start {{pod.name}} && sleep {{inputs.parameters.sleep}} '
                '&& v=$(( {{inputs.parameters.value}} )) && hit done {{pod.name}} && echo $v'
            ],
            "env": [{"name": "HIT", "value": hit}],
        },
    }


def _args(**params: object) -> dict[str, Any]:
    return {"parameters": [{"name": k, "value": str(v)} for k, v in params.items()]}


def _wf(name: str, entry: dict[str, Any], *templates: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name},
        "spec": {"entrypoint": "main", "templates": [{"name": "main", **entry}, *templates]},
    }


@dataclass(frozen=True)
class Shape:
    manifest: dict[str, Any]
    phase: str
    #: displayName of the node whose outputs.result is checked, and the value it must hold
    node: str
    result: str | None
    #: how many Pod nodes the workflow ends with
    pods: int


def dag(i: int, hit: str, s: float) -> Shape:
    """a=i; b=a+1, c=2a in parallel; d=b+c = 3i+1."""
    tasks = [
        {"name": "a", "template": "work", "arguments": _args(value=i, sleep=s)},
        {"name": "b", "template": "work", "depends": "a",
         "arguments": _args(value="{{tasks.a.outputs.result}} + 1", sleep=s)},
        {"name": "c", "template": "work", "depends": "a",
         "arguments": _args(value="{{tasks.a.outputs.result}} * 2", sleep=s)},
        {"name": "d", "template": "work", "depends": "b && c",
         "arguments": _args(value="{{tasks.b.outputs.result}} + {{tasks.c.outputs.result}}", sleep=s)},
    ]
    return Shape(_wf(f"dag-{i}", {"dag": {"tasks": tasks}}, _work(hit)), "Succeeded", "d", str(3 * i + 1), 4)


def steps(i: int, hit: str, s: float) -> Shape:
    """gen=i; x=gen+10, y=gen+20 in parallel; z=x+y = 2i+30."""
    groups = [
        [{"name": "gen", "template": "work", "arguments": _args(value=i, sleep=s)}],
        [{"name": "x", "template": "work", "arguments": _args(value="{{steps.gen.outputs.result}} + 10", sleep=s)},
         {"name": "y", "template": "work", "arguments": _args(value="{{steps.gen.outputs.result}} + 20", sleep=s)}],
        [{"name": "z", "template": "work",
          "arguments": _args(value="{{steps.x.outputs.result}} + {{steps.y.outputs.result}}", sleep=s)}],
    ]
    return Shape(_wf(f"steps-{i}", {"steps": groups}, _work(hit)), "Succeeded", "z", str(2 * i + 30), 4)


def loop(i: int, hit: str, s: float) -> Shape:
    """item*i for items 1..4 (parallelism 2), then their sum = 10i."""
    tasks = [
        {"name": "part", "template": "work", "withItems": [1, 2, 3, 4],
         "arguments": _args(value=f"{{{{item}}}} * {i}", sleep=s)},
        # the aggregated results are a JSON list, ["1","2",...]: made a sum for $(( ))
        {"name": "sum", "template": "work", "depends": "part",
         "arguments": _args(value="$(echo '{{tasks.part.outputs.result}}' | tr -d '[]\"' | tr , +)", sleep=s)},
    ]
    return Shape(_wf(f"loop-{i}", {"parallelism": 2, "dag": {"tasks": tasks}}, _work(hit)),
                 "Succeeded", "sum", str(10 * i), 5)


def retry(i: int, hit: str, s: float) -> Shape:
    """Fails on attempts 0 and 1, succeeds on attempt 2 of retryStrategy.limit 3."""
    flaky = _work(hit, "flaky")
    flaky["retryStrategy"] = {"limit": 3}
    flaky["container"]["args"] = [
        _HIT + 'hit start {{pod.name}} && sleep {{inputs.parameters.sleep}} '
        '&& if [ {{retries}} -lt 2 ]; then exit 1; fi; hit done {{pod.name}} && echo ok-{{retries}}-'
        + str(i)
    ]
    tasks = [{"name": "r", "template": "flaky", "arguments": _args(value=0, sleep=s)}]
    return Shape(_wf(f"retry-{i}", {"dag": {"tasks": tasks}}, flaky), "Succeeded", "r", f"ok-2-{i}", 3)


def doomed(i: int, hit: str, s: float) -> Shape:
    """Always exits 3: retryStrategy.limit 1 gives two failed attempts and a Failed workflow."""
    bad = _work(hit, "bad")
    bad["retryStrategy"] = {"limit": 1}
    bad["container"]["args"] = [_HIT + 'hit start {{pod.name}} && sleep {{inputs.parameters.sleep}}; exit 3']
    groups = [[{"name": "first", "template": "work", "arguments": _args(value=i, sleep=s)}],
              [{"name": "bad", "template": "bad", "arguments": _args(value=0, sleep=s)}]]
    return Shape(_wf(f"doomed-{i}", {"steps": groups}, _work(hit), bad), "Failed", "first", str(i), 3)


SHAPES: tuple[Callable[[int, str, float], Shape], ...] = (dag, steps, loop, retry, doomed)


def shape_for(i: int, hit: str, sleep_s: float) -> Shape:
    """The i-th workflow of a suite: the shapes in turn."""
    return SHAPES[i % len(SHAPES)](i, hit, sleep_s)
