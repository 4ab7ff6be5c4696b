"""One task run as host processes: its containers, in pod order, sharing one scratch root.

Init containers run first, one by one; sidecars start next and are stopped once
every main container has ended; main containers (one, or a containerSet graph) run
as soon as their dependencies succeeded. Outputs are collected after the main
containers end, also when they failed, as Argo's wait container does.
https://argo-workflows.readthedocs.io/en/latest/container-set-template/
https://argo-workflows.readthedocs.io/en/latest/walk-through/sidecars/
"""

from __future__ import annotations

import asyncio
import logging
import posixpath
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from conveyor.executors._container import (
    Running,
    container_argv,
    exit_message,
    find_executable,
    missing_executable,
)
from conveyor.executors._files import copy_out, place_input, read_parameter
from conveyor.executors._paths import RemapSandbox
from conveyor.executors._sandbox import Sandbox
from conveyor.executors._streams import RESULT_LIMIT_BYTES, ResultTail
from conveyor.executors._warm import WarmRunning, Zygote, interpreter
from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec

__all__ = ["SCRIPT_PATH", "PodTask", "ProcessTask"]

#: where Argo stages a script template's source; the same path inside the sandbox
SCRIPT_PATH = "/argo/staging/script"
#: sidecars get SIGTERM when the main containers end, SIGKILL this much later
SIDECAR_GRACE_S = 5.0
_HINT = (
    "(the process executor runs tasks as host processes; install it or use a container executor)"
)


_logger = logging.getLogger(__name__)
#: a started container: a process of its own, or a child of a warm interpreter
Started = Running | WarmRunning


class _SetupError(Exception):
    """The task's files could not be laid out: the task ends in phase Error."""


@dataclass
class _Outcome:
    code: int | None = None  # None: never ran
    error: str = ""  # why it could not start


class PodTask:
    """What every executor's TaskHandle shares: the pod's order (init, sidecars, mains
    by their dependencies), termination, and the shape of the result.

    Subclasses say how one container starts (`_start`), how the task's files are laid
    out (`_prepare`) and read back (`_collect`), and what is left to clean (`_cleanup`).
    """

    executor_name = "executor"

    def __init__(self, spec: TaskSpec) -> None:
        self.spec = spec
        self._codes: dict[str, int | None] = {c.name: None for c in spec.containers}
        self._running: dict[str, Started] = {}
        self._stopping = False
        self._kill_timer: asyncio.TimerHandle | None = None
        mains = [c.name for c in spec.containers if c.role == "main"]
        # Argo's outputs.result: the main container's stdout; a containerSet's "main".
        self._result_from = mains[0] if len(mains) == 1 else ("main" if "main" in mains else None)
        self._tail: ResultTail | None = None
        self._task = asyncio.create_task(self._run(), name=f"task {spec.key}")

    async def _prepare(self) -> None:
        raise NotImplementedError

    async def _start(self, c: ContainerSpec) -> Started | str:
        raise NotImplementedError

    async def _collect(self, result: TaskResult) -> None:
        raise NotImplementedError

    async def _cleanup(self) -> None:
        raise NotImplementedError

    def _collect_result(self, result: TaskResult) -> None:
        """outputs.result from the main container's stdout tail."""
        if self._tail is not None:
            result.result, cut = self._tail.text()
            if cut:
                note = (
                    f"outputs.result keeps only the last {RESULT_LIMIT_BYTES // 1024} KiB of "
                    f"{self._tail.total} bytes of stdout (as Argo does)"
                )
                result.message = f"{result.message}; {note}" if result.message else note

    def on_done(self, callback: Callable[[], None]) -> None:
        self._task.add_done_callback(lambda _: callback())

    async def wait(self) -> TaskResult:
        return await asyncio.shield(self._task)

    async def terminate(self, grace_s: float = 5.0) -> None:
        if self._task.done():
            return
        if not self._stopping:
            self._stopping = True
            self._signal_all(signal.SIGTERM)
            # A timer, not a sleep here: SIGKILL follows even if our caller stops waiting.
            loop = asyncio.get_running_loop()
            self._kill_timer = loop.call_later(max(grace_s, 0.0), self._signal_all, signal.SIGKILL)
        await asyncio.wait({self._task})

    def _signal_all(self, sig: int) -> None:
        for running in list(self._running.values()):
            running.signal(sig)

    async def _run(self) -> TaskResult:
        started_at = time.time()
        try:
            result = await self._run_pod()
        except _SetupError as e:
            result = TaskResult("Error", message=str(e))
        except Exception as e:  # wait() must report, never raise
            result = TaskResult(
                "Error", message=f"{self.executor_name} executor failed: {type(e).__name__}: {e}"
            )
        finally:
            if self._kill_timer is not None:
                self._kill_timer.cancel()
            self._signal_all(signal.SIGKILL)  # nothing outlives its task
            await asyncio.shield(self._cleanup())
        if self._stopping:
            codes = [self._codes[c.name] for c in self.spec.containers if c.role == "main"]
            code = next((c for c in codes if c is not None), None)
            result = TaskResult("Failed", exit_code=code, message="terminated")
        result.started_at, result.finished_at = started_at, time.time()
        result.containers = dict(self._codes)
        return result

    async def _run_pod(self) -> TaskResult:
        await self._prepare()
        by_role = {
            role: [c for c in self.spec.containers if c.role == role]
            for role in ("init", "sidecar", "main")
        }
        for c in by_role["init"]:
            if self._stopping:
                return TaskResult("Failed", message="terminated")
            out = await self._run_one(c)
            if out.error:
                return TaskResult("Error", message=out.error)
            if out.code != 0:
                assert out.code is not None
                return TaskResult(
                    "Failed",
                    exit_code=out.code,
                    message=f'init container "{c.name}" failed: {exit_message(out.code)}',
                )
        if self._stopping:
            return TaskResult("Failed", message="terminated")
        sidecars: dict[str, Started] = {}
        try:
            for c in by_role["sidecar"]:
                started = await self._start(c)
                if isinstance(started, str):
                    return TaskResult("Error", message=started)
                sidecars[c.name] = started
            failure = await self._run_mains(by_role["main"])
        finally:
            await self._stop_sidecars(sidecars)
        if self._stopping:
            return TaskResult("Failed", message="terminated")
        result = failure or TaskResult("Succeeded", exit_code=0)
        await self._collect(result)
        return result

    async def _finish(self, name: str, running: Started) -> int:
        try:
            code = await running.wait()
        finally:
            self._running.pop(name, None)
        self._codes[name] = code
        return code

    async def _run_one(self, c: ContainerSpec) -> _Outcome:
        started = await self._start(c)
        if isinstance(started, str):
            return _Outcome(error=started)
        return _Outcome(code=await self._finish(c.name, started))

    async def _run_mains(self, mains: list[ContainerSpec]) -> TaskResult | None:
        """Run the main containers as their dependency graph allows; the first failure, if any."""
        if len(mains) == 1 and not mains[0].dependencies and not self._stopping:
            # the usual pod: one main container, awaited directly (no scheduling needed)
            out = await self._run_one(mains[0])
            if out.error:
                return TaskResult("Error", message=out.error)
            assert out.code is not None
            return None if out.code == 0 else TaskResult("Failed", exit_code=out.code, message=exit_message(out.code))
        waiting = list(mains)
        ok: dict[str, bool] = {}
        blocked: set[str] = set()
        running: dict[asyncio.Task[_Outcome], str] = {}
        failure: TaskResult | None = None
        while True:
            changed = True
            while changed and not self._stopping:
                changed = False
                for c in list(waiting):
                    if any(d in blocked or ok.get(d) is False for d in c.dependencies):
                        waiting.remove(c)  # a dependency failed: this one never runs
                        blocked.add(c.name)
                        changed = True
                    elif all(ok.get(d) for d in c.dependencies):
                        waiting.remove(c)
                        running[asyncio.create_task(self._run_one(c))] = c.name
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                name, out = running.pop(t), t.result()
                ok[name] = not out.error and out.code == 0
                if ok[name] or failure is not None:
                    continue
                if out.error:
                    failure = TaskResult("Error", message=out.error)
                else:
                    assert out.code is not None
                    message = exit_message(out.code)
                    failure = TaskResult(
                        "Failed",
                        exit_code=out.code,
                        message=message if len(mains) == 1 else f"{name}: {message}",
                    )
        if waiting and failure is None and not self._stopping:
            names = ", ".join(sorted(c.name for c in waiting))
            failure = TaskResult(
                "Error",
                message=f"containers {names} never started: their dependencies name no container of this task or form a cycle",
            )
        return failure

    async def _stop_sidecars(self, sidecars: dict[str, Started]) -> None:
        if not sidecars:
            return
        waiters = {asyncio.create_task(self._finish(n, r)): r for n, r in sidecars.items()}
        for r in sidecars.values():
            r.signal(signal.SIGTERM)
        _, late = await asyncio.wait(waiters, timeout=SIDECAR_GRACE_S)
        for t in late:
            waiters[t].signal(signal.SIGKILL)
        await asyncio.gather(*waiters)


class ProcessTask(PodTask):
    """The TaskHandle of the process executor."""

    executor_name = "process"

    def __init__(
        self,
        spec: TaskSpec,
        sandbox: Sandbox,
        *,
        base_env: dict[str, str],
        entrypoints: dict[str, tuple[str, ...]],
        release: Callable[[], None],
        warm: Callable[[str], Zygote] | None = None,
        launcher: Callable[[], Zygote | None] | None = None,
    ) -> None:
        self._sb = sandbox
        self._base_env = {**base_env, **sandbox.env}
        self._entrypoints = entrypoints
        self._release = release
        #: python interpreter path -> the warm interpreter of this task's root (`_warm.py`)
        self._warm = warm
        #: the root's kept sandbox to fork plain commands in, when one is up (`_warm.py`)
        self._launcher = launcher
        super().__init__(spec)

    async def _cleanup(self) -> None:
        # The root is emptied after the task has reported (or kept, with
        # CONVEYOR_KEEP_SCRATCH), so the next task need not wait for the disk (`_roots.py`).
        if isinstance(self._sb, RemapSandbox):  # no pid namespace: end children that left the group
            await asyncio.to_thread(self._sb.reap)
        self._release()

    async def _prepare(self) -> None:
        sb, spec = self._sb, self.spec
        try:
            sb.prepare()
            spec.log_dir.mkdir(parents=True, exist_ok=True)
            for c in spec.containers:
                for mount in c.volume_mounts:
                    # Every volume is a folder of the task's root, shared by its
                    # containers as an emptyDir is shared by a pod's.
                    place = sb.host_path(str(mount.get("mountPath", "")))
                    if self._inside(place):
                        place.mkdir(parents=True, exist_ok=True)
            for f in spec.inputs:
                place = sb.host_path(f.path)
                if not self._inside(place):
                    raise _SetupError(
                        f"cannot place input artifact at {f.path}: that folder is the host's, shown read-only"
                    )
                if not f.source.exists():
                    raise _SetupError(
                        f"input artifact for {f.path} is missing: {f.source} does not exist"
                    )
                await asyncio.to_thread(place_input, f.source, place, f.mode)
        except OSError as e:
            raise _SetupError(f"could not prepare the task's files: {e}") from e

    def _inside(self, place: Path) -> bool:
        return place == self._sb.root or self._sb.root in place.parents

    async def _start(self, c: ContainerSpec) -> Started | str:
        """Start one container; a string says why it could not start."""
        sb = self._sb
        argv = container_argv(c, self._entrypoints)
        if c.script_source is not None:
            script = sb.host_path(SCRIPT_PATH)
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(sb.rewrite(c.script_source))
            # `command: [sh, -c]` runs the script by its path, so it must be executable.
            script.chmod(0o755)
            argv.append(SCRIPT_PATH)
        if not argv:
            return (
                f'container "{c.name}" has nothing to run: it sets no command or args and image '
                f"{c.image!r} has no entrypoint in Settings.image_entrypoints"
            )
        argv = [sb.rewrite(a) for a in argv]
        env = {**self._base_env, **{k: sb.rewrite(v) for k, v in c.env.items()}}
        cwd = posixpath.normpath(posixpath.join("/", c.working_dir or "/"))
        host_cwd = sb.host_path(cwd)
        if self._inside(host_cwd):
            host_cwd.mkdir(parents=True, exist_ok=True)  # as container runtimes create workingDir
        if argv[0].startswith("/") and not sb.visible(argv[0]).exists():
            # An image's own binary named by absolute path (`/argosay`): with no image,
            # the same tool on the host's PATH stands in for it.
            base = posixpath.basename(argv[0])
            if base and missing_executable(base, env.get("PATH", ""), host_cwd, sb.visible) is None:
                argv[0] = base
        why = missing_executable(argv[0], env.get("PATH", ""), host_cwd, sb.visible)
        if why:
            return f'failed to start container "{c.name}": {why} {_HINT}'
        full, proc_cwd = sb.wrap(argv, cwd)
        capture = c.role == "main" and c.name == self._result_from
        log_path = self.spec.log_dir / f"{c.name}.log"
        running: Running | WarmRunning | None = None
        if self._warm is not None and c.script_source is not None and interpreter(argv, c.env, sb.rewrite(SCRIPT_PATH)):
            python = argv[0] if "/" in argv[0] else find_executable(argv[0], env.get("PATH", ""), sb.visible)
            # inside a sandbox the interpreter works in the task's own path; without one, the host's
            inner_cwd = cwd if full != argv else str(proc_cwd)
            try:
                running = await self._warm(python or argv[0]).start(argv, env, inner_cwd, log_path, capture,
                                                                     self.spec.max_log_bytes)
            except OSError as e:  # ConnectionError too: a fresh interpreter then, as without it
                _logger.warning("warm python interpreter unusable (%s); starting a fresh one", e)
        elif self._launcher is not None and full != argv and (kept := self._launcher()) is not None:
            try:
                running = await kept.start(argv, env, cwd, log_path, capture, self.spec.max_log_bytes, exec_=True)
            except OSError as e:
                _logger.warning("the kept sandbox did not start the task (%s); starting it in a new sandbox", e)
        try:
            if running is None:
                running = await Running.spawn(full, env=env, cwd=proc_cwd, log_path=log_path, capture=capture,
                                              max_log_bytes=self.spec.max_log_bytes)
        except OSError as e:
            return f'failed to start container "{c.name}": {e.strerror or e}'
        if capture:
            self._tail = running.tail
        self._running[c.name] = running
        if self._stopping:
            running.signal(signal.SIGTERM)  # terminate() came while it was starting
        return running

    async def _collect(self, result: TaskResult) -> None:
        """Fill in Argo's outputs: result (stdout), parameters and artifacts."""
        spec, sb = self.spec, self._sb
        self._collect_result(result)
        for name, path in spec.output_parameters.items():
            place = sb.find_output(path)
            if place is not None and place.is_file():
                result.parameters[name] = await asyncio.to_thread(read_parameter, place)
        for name, path in spec.output_artifacts.items():
            place = sb.find_output(path)
            if place is not None and (place.is_file() or place.is_dir()):
                dest = spec.collect_dir / name
                await asyncio.to_thread(copy_out, place, dest)
                result.artifacts[name] = dest
