"""Plain-command tasks forked in a kept sandbox (`WarmPython.launcher`) behave as in a new one.

From a workflow's third task in a row in a task root on, the process executor under
bubblewrap forks the task's command from an interpreter kept in that root's sandbox
instead of building a sandbox per task. Each check runs the same tasks with the kept
sandbox on and off, and what the tasks see must agree.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from executor_helpers import bwrap_unusable, processes_with

from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec
from conveyor.executors.process import ProcessExecutor

MakeExecutor = Callable[..., ProcessExecutor]
MakeSpec = Callable[..., TaskSpec]

# What a task can tell about the process it is: its signal dispositions and mask, its
# environment, working folder, umask and open descriptors; PPID tells the two ways apart.
REPORT = (
    'echo "$GREETING $(pwd) $(umask)"; grep -E "^Sig(Ign|Blk)" /proc/self/status; '
    "ls /proc/self/fd | wc -l; ls -A /tmp; echo made > /tmp/left; echo hi > /work/out.txt; "
    'echo "ppid $PPID"'
)


@pytest.fixture(autouse=True)
def needs_bwrap(tmp_path_factory: pytest.TempPathFactory) -> None:
    problem = bwrap_unusable(tmp_path_factory.mktemp("probe"))
    if problem:
        pytest.skip(f"a kept sandbox is a bubblewrap sandbox, and bubblewrap is not usable here: {problem}")


@pytest.fixture(params=[True, False], ids=["kept", "new"])
def kept(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def _sh(script: str, **kw: object) -> ContainerSpec:
    return ContainerSpec(name="main", command=("sh", "-c", script), **kw)  # type: ignore[arg-type]


async def _settle(ex: ProcessExecutor) -> None:
    """Until the last task's root is back in the pool and any kept sandbox started is up
    (so which task is forked where does not depend on timing)."""
    for _ in range(250):
        await asyncio.sleep(0.02)
        starting = [z for z in (ex._warm._by_root.values() if ex._warm else ()) if not z.ready()]
        if not starting and ex._roots is not None and not ex._roots._pending:
            return


async def _run_keeping(ex: ProcessExecutor, specs: list[TaskSpec]) -> list[TaskResult]:
    """Each task after the one before, settled in between; the executor stays open."""
    out = []
    for s in specs:
        out.append(await (await ex.launch(s)).wait())
        await _settle(ex)
    return out


async def _one_by_one(ex: ProcessExecutor, specs: list[TaskSpec]) -> list[TaskResult]:
    try:
        return await _run_keeping(ex, specs)
    finally:
        await ex.close()


def test_what_a_task_sees_is_the_same_in_a_kept_sandbox(kept: bool, make_executor: MakeExecutor,
                                                        make_spec: MakeSpec) -> None:
    ex = make_executor("bwrap", keep_sandbox=kept)
    specs = [make_spec(_sh(REPORT, env={"GREETING": "hi"}, working_dir="/work"),
                       output_parameters={"out": "/work/out.txt"}) for _ in range(5)]
    results = asyncio.run(_one_by_one(ex, specs))
    assert [r.phase for r in results] == ["Succeeded"] * 5, [r.message for r in results]
    assert all(r.parameters == {"out": "hi"} for r in results)
    reports = [r.result.rsplit("\n", 1) for r in results]  # type: ignore[union-attr]
    seen = {what for what, _ in reports}
    assert len(seen) == 1, seen  # no task sees another's /tmp/left, nor other signals, fds or umask
    (what,) = seen
    assert what.startswith("hi /work "), what
    # What the warm interpreter's Python ignores is not passed on (other ignored signals
    # come from whoever started the executor, and a new sandbox inherits them too).
    ignored = int(next(line for line in what.splitlines() if line.startswith("SigIgn:")).split()[1], 16)
    assert not ignored & (1 << (signal.SIGPIPE - 1) | 1 << (signal.SIGXFSZ - 1)), what
    forked = [ppid != "ppid 1" for _, ppid in reports]  # bubblewrap's init is the parent in a new sandbox
    assert forked == ([False, False, True, True, True] if kept else [False] * 5)
    assert ex._warm is not None and ex._warm.started == (1 if kept else 0)


@pytest.mark.parametrize(("script", "code", "said"), [
    ("echo oops >&2; exit 3", 3, "oops"),
    ("kill -TERM $$", 143, None),
    ("echo x > /tmp/f; /tmp/f", 126, "Permission denied"),
])
def test_exit_codes_agree(script: str, code: int, said: str | None, kept: bool,
                          make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    ex = make_executor("bwrap", keep_sandbox=kept)
    specs = [make_spec(_sh("true")), make_spec(_sh("true")), make_spec(_sh(f"echo $PPID; {script}"))]
    *_, last = asyncio.run(_one_by_one(ex, specs))
    assert (last.phase, last.exit_code) == ("Failed", code), last.message
    assert (last.result != "1") is kept  # forked in the kept sandbox, or bubblewrap's init's child
    if said:
        assert said in (specs[-1].log_dir / "main.log").read_text()


def test_a_command_the_kept_sandbox_cannot_start_runs_in_a_new_one(
        kept: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_executor: MakeExecutor,
        make_spec: MakeSpec) -> None:
    # An executable text file with no #! line: exec refuses it (ENOEXEC), a shell runs it
    # as a script. The kept sandbox answers that it cannot start it; the executor then
    # starts the task in a new sandbox, where bubblewrap's execvp hands it to /bin/sh.
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "no-shebang").write_text("echo ran as a script\n")
    (tools / "no-shebang").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    ex = make_executor("bwrap", keep_sandbox=kept)
    specs = [make_spec(_sh("true")), make_spec(_sh("true")),
             make_spec(ContainerSpec(name="main", command=("no-shebang",)))]
    *_, last = asyncio.run(_one_by_one(ex, specs))
    assert (last.phase, last.result) == ("Succeeded", "ran as a script"), last.message
    assert ex._warm is not None and ex._warm.started == (1 if kept else 0)


def test_terminate_ends_a_kept_task_and_what_it_left(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    marker = f"conveyor-kept-test-{os.getpid()}"
    ex = make_executor("bwrap")

    async def go() -> tuple[TaskResult, list[int]]:
        try:
            await _run_keeping(ex, [make_spec(_sh("true")), make_spec(_sh("true"))])
            assert ex._warm is not None and len(ex._warm._by_root) == 1
            # a stray outside the task's session, then a task that waits for ever
            handle = await ex.launch(make_spec(_sh(f"setsid sh -c 'sleep 300; : {marker}' & sleep 300")))
            for _ in range(100):
                if processes_with(marker):
                    break
                await asyncio.sleep(0.05)
            assert processes_with(marker), "the task's child never started"
            (z,) = ex._warm._by_root.values()
            assert z.served == 1
            await handle.terminate(grace_s=1)
            result = await handle.wait()
            await asyncio.sleep(0.1)
            return result, processes_with(marker)
        finally:
            await ex.close()

    result, left = asyncio.run(go())
    assert (result.phase, result.message) == ("Failed", "terminated")
    assert not left


def test_another_workflows_task_ends_the_kept_sandbox(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    ex = make_executor("bwrap")
    mine = [make_spec(_sh("echo $PPID")) for _ in range(3)]
    other = dataclasses.replace(make_spec(_sh("echo $PPID")), workflow="other")
    pids: list[int] = []

    async def go() -> list[TaskResult]:
        try:
            await _run_keeping(ex, mine[:2])
            assert ex._warm is not None
            pids.extend(z._proc.pid for z in ex._warm._by_root.values())
            return [await (await ex.launch(mine[2])).wait(), await (await ex.launch(other)).wait()]
        finally:
            await ex.close()

    third, theirs = asyncio.run(go())
    assert third.result != "1" and theirs.result == "1"  # forked in the kept sandbox; then a new one
    (pid,) = pids
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
