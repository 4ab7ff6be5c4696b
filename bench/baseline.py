"""The floor: a task graph run with graphlib and a 2-worker pool, and nothing else.

`python bench/baseline.py GRAPH.json` runs the graph bench wrote there ({"kind": "process" |
"python", "graph": {task: [tasks it waits for]}}) and prints {"tasks": how many it ran}.
No persistence, no templating, no isolation: what conveyor is measured against. With
"argv" in the file each process task runs that command instead of `true` (the harness's
isolation floor: `true` inside the same bubblewrap sandbox conveyor uses). With "fork"
each python task runs in a child forked from its pool worker (the floor of a process per
task, which conveyor keeps and the plain process pool does not).
"""

import json
import os
import subprocess
import sys
from concurrent.futures import (
    FIRST_COMPLETED,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
    wait,
)
from graphlib import TopologicalSorter

ARGV = ["true"]


def run_true(_: str) -> None:
    subprocess.run(ARGV, check=True)


def run_python(_: str) -> int:
    return 1


def run_forked(name: str) -> int:
    pid = os.fork()
    if pid == 0:
        os._exit(run_python(name) - 1)
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"task {name} exited {status}")
    return 1


def main(path: str) -> None:
    with open(path) as f:
        spec = json.load(f)
    ARGV[:] = spec.get("argv") or ARGV
    sorter = TopologicalSorter(spec["graph"])
    sorter.prepare()
    python = spec["kind"] == "python"
    pool = ProcessPoolExecutor(max_workers=2) if python else ThreadPoolExecutor(max_workers=2)
    task = (run_forked if spec.get("fork") else run_python) if python else run_true
    running: dict[Future[object], str] = {}
    ran = 0
    with pool:
        while sorter.is_active():
            for name in sorter.get_ready():
                running[pool.submit(task, name)] = name
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # a failed task fails the baseline
                sorter.done(running.pop(future))
                ran += 1
    print(json.dumps({"tasks": ran}))


if __name__ == "__main__":
    main(sys.argv[1])
