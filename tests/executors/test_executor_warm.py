"""Python script tasks forked from a warm interpreter (`_warm.py`) behave as a fresh `python3`.

Each behaviour is checked with the warm interpreter on and off, in both isolation modes,
and the two must agree: that is the promise (only start-up is skipped).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from executor_helpers import processes_with

from conveyor.executors._pod import SCRIPT_PATH
from conveyor.executors._warm import interpreter
from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec
from conveyor.executors.process import ProcessExecutor

MakeExecutor = Callable[..., ProcessExecutor]
MakeSpec = Callable[..., TaskSpec]

SCRIPT = """\
import os, sys
print("argv", sys.argv == ["/argo/staging/script"], __name__, file=sys.stderr)
print(os.environ["GREETING"], os.getcwd(), sys.path[0], end="|")
open("out.txt", "w").write("written")
print("done")
"""


def _python(source: str, **kw: object) -> ContainerSpec:
    # This interpreter's own folder first on PATH: the fresh and the warm run use the same python3.
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", **kw.pop("env", {})}  # type: ignore[dict-item]
    return ContainerSpec(name="main", command=("python3",), script_source=source, env=env, **kw)  # type: ignore[arg-type]


async def _run_all(executor: ProcessExecutor, *specs: TaskSpec) -> list[TaskResult]:
    try:
        return [await (await executor.launch(s)).wait() for s in specs]
    finally:
        await executor.close()


@pytest.fixture(params=[True, False], ids=["warm", "fresh"])
def warm(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_what_the_task_sees_and_leaves(mode: str, warm: bool, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    spec = make_spec(_python(SCRIPT, env={"GREETING": "hi"}, working_dir="/work"),
                     output_parameters={"out": "/work/out.txt"})
    ex = make_executor(mode, warm_python=warm)
    (result,) = asyncio.run(_run_all(ex, spec))
    assert result.phase == "Succeeded", result.message
    said, last = result.result.split("|")  # type: ignore[union-attr]
    greeting, cwd, path0 = said.split(" ")
    assert (greeting, last) == ("hi", "done")
    assert cwd.endswith("/work") and path0.endswith("/argo/staging")  # remapped under the root without bwrap
    if mode == "bwrap":
        assert (cwd, path0) == ("/work", "/argo/staging")
    assert result.parameters == {"out": "written"}
    assert (spec.log_dir / "main.log").read_text().splitlines()[0] == "argv True __main__"
    assert (ex._warm.started if ex._warm else 0) == (1 if warm else 0)


@pytest.mark.parametrize(("source", "code", "said"), [
    ("import sys\nsys.exit(3)\n", 3, None),
    ("import sys\nsys.exit('bad input')\n", 1, "bad input"),
    ("def f():\n    raise ValueError('boom')\nf()\n", 1, "ValueError: boom"),
    ("print('unclosed\n", 1, "SyntaxError"),
])
def test_exit_codes_and_tracebacks(source: str, code: int, said: str | None, warm: bool,
                                   make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    spec = make_spec(_python(source))
    (result,) = asyncio.run(_run_all(make_executor("auto", warm_python=warm), spec))
    assert (result.phase, result.exit_code) == ("Failed", code)
    log = (spec.log_dir / "main.log").read_text()
    if said:
        assert said in log
    # A traceback starts at the script, as a fresh interpreter prints it: no frames of the warm one.
    assert "_zygote" not in log and "<string>" not in log and "runpy" not in log


def test_many_tasks_share_one_interpreter_per_root_and_stay_apart(make_executor: MakeExecutor,
                                                                  make_spec: MakeSpec) -> None:
    # Module state a task leaves behind never reaches the next task: each is a fresh fork.
    source = "import sys\nprint(hasattr(sys, 'left_behind'))\nsys.left_behind = True\n"
    ex = make_executor("auto", warm_python=True)
    specs = [make_spec(_python(source)) for _ in range(4)]
    results = asyncio.run(_run_all_keep_many(ex, specs))
    assert [r.result for r in results] == ["False"] * 4
    assert ex._warm is not None and ex._warm.started == 1  # sequential tasks reuse the one root, and its interpreter


async def _run_all_keep_many(executor: ProcessExecutor, specs: list[TaskSpec]) -> list[TaskResult]:
    out = []
    try:
        for s in specs:
            out.append(await (await executor.launch(s)).wait())
            await asyncio.sleep(0.2)  # the root is emptied and back in the pool
        return out
    finally:
        await executor.close()


def test_another_workflow_gets_another_interpreter(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    ex = make_executor("auto", warm_python=True)
    a1, a2 = make_spec(_python("print(1)\n")), make_spec(_python("print(2)\n"))
    b = dataclasses.replace(make_spec(_python("print(3)\n")), workflow="other")
    assert ex._warm is not None
    pids: list[int] = []

    async def go() -> list[TaskResult]:
        out = []
        try:
            for s in (a1, a2, b):
                out.append(await (await ex.launch(s)).wait())
                pids.extend(z._proc.pid for z in ex._warm._by_root.values())  # type: ignore[union-attr]
                await asyncio.sleep(0.2)
            return out
        finally:
            await ex.close()

    results = asyncio.run(go())
    assert [r.result for r in results] == ["1", "2", "3"]
    assert ex._warm.started == 2  # the root went to another workflow: a new interpreter
    assert pids[0] == pids[1] != pids[2]
    assert not Path(f"/proc/{pids[0]}").exists() or "zombie" in Path(f"/proc/{pids[0]}/status").read_text()


def test_setting_python_variables_or_options_starts_a_fresh_interpreter() -> None:
    assert interpreter(["python3", SCRIPT_PATH], {}, SCRIPT_PATH)
    assert interpreter(["/usr/bin/python3.11", SCRIPT_PATH], {"X": "1"}, SCRIPT_PATH)
    assert not interpreter(["python3", "-u", SCRIPT_PATH], {}, SCRIPT_PATH)
    assert not interpreter(["python3", SCRIPT_PATH], {"PYTHONPATH": "/x"}, SCRIPT_PATH)
    assert not interpreter(["bash", SCRIPT_PATH], {}, SCRIPT_PATH)
    assert not interpreter(["python3", SCRIPT_PATH, "arg"], {}, SCRIPT_PATH)


def test_terminate_ends_the_task_and_what_it_started(warm: bool, make_executor: MakeExecutor,
                                                     make_spec: MakeSpec) -> None:
    marker = f"conveyor-warm-test-{os.getpid()}-{warm}"
    source = (f"import subprocess, time\nsubprocess.Popen(['sh', '-c', 'sleep 300; : {marker}'])\n"
              "time.sleep(300)\n")
    spec = make_spec(_python(source))
    ex = make_executor("auto", warm_python=warm)

    async def go() -> TaskResult:
        try:
            handle = await ex.launch(spec)
            for _ in range(100):
                if processes_with(marker):
                    break
                await asyncio.sleep(0.1)
            assert processes_with(marker), "the task's child never started"
            await handle.terminate(grace_s=1)
            return await handle.wait()
        finally:
            await ex.close()

    result = asyncio.run(go())
    assert (result.phase, result.message) == ("Failed", "terminated")
    assert not processes_with(marker)



def test_a_dead_interpreter_is_replaced(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    ex = make_executor("auto", warm_python=True)

    async def go() -> list[TaskResult]:
        try:
            first = await (await ex.launch(make_spec(_python("print(1)\n")))).wait()
            assert ex._warm is not None
            for z in ex._warm._by_root.values():
                os.killpg(z._proc.pid, signal.SIGKILL)
                z._proc.wait()
            await asyncio.sleep(0.2)
            second = await (await ex.launch(make_spec(_python("print(2)\n")))).wait()
            return [first, second]
        finally:
            await ex.close()

    first, second = asyncio.run(go())
    assert (first.result, second.phase, second.result) == ("1", "Succeeded", "2")
