"""The task graphs the benchmark runs: one Argo Workflow manifest and one plain graph each.

The manifest is what conveyor runs; the graph (task name -> the names it waits for, and
the kind of task) is what `bench/baseline.py` runs. Both come from the same function, so
the two always run the same tasks in the same order constraints.
https://argo-workflows.readthedocs.io/en/latest/walk-through/dag/
https://argo-workflows.readthedocs.io/en/latest/walk-through/loops/
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SHAPES", "Shape", "build", "container_chain", "latency_probe", "small_workflow"]

#: every shape the harness knows, in the order it runs them
SHAPES = ("fan", "chain", "python", "loop")
#: the image is only a label for the process executor (it runs `command` on the host);
#: container executors need it pulled beforehand
IMAGE = "busybox"
PYTHON_IMAGE = "python:3.11-alpine"
#: the trivial Python function both sides run for the `python` shape
PYTHON_SOURCE = "def task():\n    return 1\n\ntask()\n"


@dataclass(frozen=True)
class Shape:
    name: str
    n: int
    manifest: dict[str, Any]
    #: task -> the tasks it waits for; what the baseline runs
    graph: dict[str, list[str]]
    #: "process" (each task `true`) or "python" (each task the trivial function)
    kind: str

    @property
    def tasks(self) -> int:
        return len(self.graph)


def _workflow(name: str, templates: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"generateName": f"bench-{name}-"},
        "spec": {"entrypoint": "main", "parallelism": 2, "templates": templates},
    }


def _true_template(name: str = "true") -> dict[str, Any]:
    return {"name": name, "container": {"image": IMAGE, "command": ["true"]}}


def _dag(tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": "main", "dag": {"tasks": tasks}}


def _fan_graph(n: int) -> dict[str, list[str]]:
    middle = [f"t{i}" for i in range(1, n - 1)]
    return {"root": [], **{t: ["root"] for t in middle}, "join": middle}


def _fan(n: int, template: dict[str, Any], shape: str) -> dict[str, Any]:
    graph = _fan_graph(n)
    tasks = [
        {"name": t, "template": template["name"], **({"dependencies": deps} if deps else {})}
        for t, deps in graph.items()
    ]
    return _workflow(shape, [_dag(tasks), template])


def _chain(n: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
    graph = {f"t{i}": ([f"t{i - 1}"] if i else []) for i in range(n)}
    tasks = [{"name": t, "template": "true", **({"dependencies": d} if d else {})} for t, d in graph.items()]
    return _workflow("chain", [_dag(tasks), _true_template()]), graph


def _loop(n: int) -> tuple[dict[str, Any], dict[str, list[str]]]:
    # n items and one aggregating task: n + 1 tasks, the graph of a fan with no root.
    items = [str(i) for i in range(n)]
    tasks = [
        {"name": "work", "template": "echo", "withItems": items, "arguments": {"parameters": [{"name": "item", "value": "{{item}}"}]}},
        {"name": "sum", "template": "collect", "dependencies": ["work"],
         "arguments": {"parameters": [{"name": "results", "value": "{{tasks.work.outputs.result}}"}]}},
    ]
    echo = {"name": "echo", "inputs": {"parameters": [{"name": "item"}]},
            "container": {"image": IMAGE, "command": ["echo", "{{inputs.parameters.item}}"]}}
    # The aggregate goes in through the environment, not argv: one argument is capped at
    # 128 KiB on Linux, and this JSON list grows with n.
    collect = {"name": "collect", "inputs": {"parameters": [{"name": "results"}]},
               "container": {"image": IMAGE, "command": ["true"],
                             "env": [{"name": "RESULTS", "value": "{{inputs.parameters.results}}"}]}}
    graph = {**{f"work{i}": [] for i in range(n)}, "sum": [f"work{i}" for i in range(n)]}
    return _workflow("loop", [_dag(tasks), echo, collect]), graph


def build(name: str, n: int) -> Shape:
    """The shape `name` with `n` tasks (the loop has n items and one more, aggregating, task)."""
    if name == "fan":
        return Shape(name, n, _fan(n, _true_template(), "fan"), _fan_graph(n), "process")
    if name == "python":
        script = {"name": "py", "script": {"image": PYTHON_IMAGE, "command": ["python3"], "source": PYTHON_SOURCE}}
        return Shape(name, n, _fan(n, script, "python"), _fan_graph(n), "python")
    if name == "chain":
        manifest, graph = _chain(n)
        return Shape(name, n, manifest, graph, "process")
    if name == "loop":
        manifest, graph = _loop(n)
        return Shape(name, n, manifest, graph, "process")
    raise ValueError(f"unknown shape {name!r}; choose from {', '.join(SHAPES)}")


def latency_probe() -> dict[str, Any]:
    """One task that prints the wall clock the moment its process runs (nanoseconds)."""
    probe = {"name": "stamp", "container": {"image": IMAGE, "command": ["date", "+%s.%N"]}}
    return _workflow("latency", [{"name": "main", "steps": [[{"name": "s", "template": "stamp"}]]}, probe])


def small_workflow(*, suspend: bool = True) -> dict[str, Any]:
    """One task (`true`). The create-throughput clients send it suspended, so their figure
    is the API's (validate, persist, start a runner), not the task load that would follow;
    the load clients (bench/load.py) send it to run."""
    wf = _workflow("small", [{"name": "main", "steps": [[{"name": "s", "template": "true"}]]}, _true_template()])
    if suspend:
        wf["spec"]["suspend"] = True
    return wf


def container_chain(n: int, image: str) -> Shape:
    """The chain shape with `image`, for the container executor: sequential, so its time
    per task compares with a loop of `podman run` one after another."""
    shape = build("chain", n)
    for t in shape.manifest["spec"]["templates"]:
        if "container" in t:
            t["container"].update(image=image, imagePullPolicy="IfNotPresent")
    return Shape("container", n, shape.manifest, shape.graph, "process")
