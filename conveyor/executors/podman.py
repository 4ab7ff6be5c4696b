"""The podman executor: each task in its own container, from the image the template names.

Driven through podman's CLI (the well-kept interface podman documents; its Docker-
compatible socket is the docker executor's business). A task with one container
runs it alone; a task with sidecars, init containers or a containerSet runs them in
one podman pod, so they share the network namespace as a Kubernetes pod's do, and
share its volumes through bind-mounted folders of the task's scratch space.

Every container carries labels naming the task and the process that drives it, so
a restarted server removes what a killed one left behind (`sweep`).
https://argo-workflows.readthedocs.io/en/latest/workflow-executors/
https://docs.podman.io/en/latest/markdown/podman-run.1.html
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conveyor.config import Settings
from conveyor.errors import ConveyorError, ExecutorError
from conveyor.executors._container import Running, exit_message
from conveyor.executors._ctr import (
    OWNER_LABEL,
    TASK_LABEL,
    ContainerTask,
    check_key,
    fresh_scratch,
    owner_id,
    stale,
    terminate_all,
    track,
)
from conveyor.executors._oci import RunOptions, podman_run_argv
from conveyor.executors._pod import Started
from conveyor.executors._privileges import privileges
from conveyor.executors._pulls import ImagePulls
from conveyor.executors._registry import insecure, private_authfile, pull_failure
from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec

__all__ = ["PodmanExecutor", "PodmanTask", "podman_problem", "OWNER_LABEL", "TASK_LABEL", "owner_id"]

_logger = logging.getLogger(__name__)


async def run_podman(podman: str, *args: str, timeout_s: float = 120.0) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a short podman command; ExecutorError when podman is gone."""
    try:
        proc = await asyncio.create_subprocess_exec(
            podman, *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
    except OSError as e:
        raise ExecutorError(
            f"the container runtime is missing: cannot run {podman} ({e.strerror or e}); "
            "install podman (scripts/containers.sh) or set CONVEYOR_EXECUTOR to another executor"
        ) from None
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return 124, "", f"podman {args[0]} did not answer within {timeout_s:.0f} s"
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1].removeprefix("Error: ").removeprefix("error: ") if lines else ""


async def _labelled(podman: str) -> tuple[str | None, list[dict[str, Any]]]:
    """(why podman cannot run containers here or None, the containers carrying conveyor's labels).

    One `podman ps`: it opens podman's storage and checks its OCI runtime as `podman info`
    does (a broken setup fails it alike), in a tenth of the time (40 ms against 300-500 ms
    here), and its answer is the sweep's list too."""
    code, out, err = await run_podman(podman, "ps", "--all", "--filter", f"label={OWNER_LABEL}", "--format", "json",
                                      timeout_s=60)
    if code != 0:
        return _last_line(err) or f"podman ps exited {code}", []
    return None, json.loads(out) if out.strip() else []


async def podman_problem(podman: str) -> str | None:
    """Why podman cannot run containers here, or None when it answers."""
    if not shutil.which(podman):
        return f"{podman} is not installed"
    return (await _labelled(podman))[0]


#: what `podman run` itself exits with when it, not the container, failed (podman-run(1), "Exit Status")
_PODMAN_CODES = (125, 126, 127)


class PodmanTask(ContainerTask):
    executor_name = "podman"

    def __init__(self, spec: TaskSpec, executor: PodmanExecutor, scratch: Path) -> None:
        self._ex = executor
        safe = spec.key.lower()
        self._prefix = f"conveyor-{safe}"[:200]
        self._names = {c.name: f"{self._prefix}-{c.name.lower()}"[:250] for c in spec.containers}
        self._pod = self._prefix if len(spec.containers) > 1 else None
        self._created: list[str] = []
        #: spec name -> when its `podman run --rm` started (podman removes those containers itself)
        self._removing: dict[str, float] = {}
        super().__init__(spec, scratch, owner=executor.owner, keep_scratch=executor.settings.keep_scratch)

    async def _prepare(self) -> None:
        await super()._prepare()
        if self._pod:
            args = ["pod", "create", "--replace", "--name", self._pod, "--network", self._ex.network]
            for key, value in self._labels().items():
                args += ["--label", f"{key}={value}"]
            code, _, err = await run_podman(self._ex.podman, *args)
            if code != 0:
                raise ConveyorError(f"podman could not create the task's pod: {_last_line(err)}")

    async def _start(self, c: ContainerSpec) -> Running | str:
        if not c.image:
            return f'container "{c.name}" names no image'
        try:  # before the image is pulled: a refused container costs nothing
            granted = privileges(c.security_context, allowed=self._ex.settings.allow_privileged)
        except ConveyorError as e:
            return f'container "{c.name}": {e.message}'
        try:
            pulled = await self._ex.ensure_image(c.image, c.pull_policy, self.spec.pull_auths,
                                                 self.spec.missing_pull_secrets)
        except ConveyorError as e:
            return e.message
        if pulled:
            return pulled
        binds = self._mounts(c)
        if isinstance(binds, str):
            return binds
        problem = await self._workdir(c, binds)
        if problem:
            return problem
        args = self._script(c, binds)
        name = self._names[c.name]
        # A one-container task that leaves nothing to read from its stopped container runs
        # with --rm: no `podman rm` after it, and its exit status is podman run's own (below).
        remove = self._pod is None and not self._needed_after_exit(c)
        try:
            argv = podman_run_argv(self._ex.podman, RunOptions(
                name=name, image=c.image, command=c.command, args=args, env=c.env, working_dir=c.working_dir,
                binds=binds, labels=self._labels(), resources=c.resources, security_context=c.security_context,
                network=self._ex.network, pod=self._pod, pids_limit=self._ex.pids_limit,
                privileged=granted.privileged, cap_add=granted.cap_add, cap_drop=granted.cap_drop,
                no_new_privileges=granted.no_new_privileges, remove=remove,
            ))
        except ConveyorError as e:
            return f'container "{c.name}": {e.message}'
        capture = c.role == "main" and c.name == self._result_from
        try:
            running = await Running.spawn(argv, env=self._ex.cli_env, cwd=self._scratch,
                                          log_path=self.spec.log_dir / f"{c.name}.log", capture=capture,
                                          max_log_bytes=self.spec.max_log_bytes)
        except OSError as e:
            return f'failed to start container "{c.name}": {e.strerror or e}'
        self._created.append(name)
        if remove:
            self._removing[c.name] = time.time()
        if capture:
            self._tail = running.tail
        self._running[c.name] = running
        if self._stopping:
            self._signal_all(signal.SIGTERM)
        return running

    async def _finish(self, name: str, running: Started) -> int:
        code = await super()._finish(name, running)
        # `podman run --rm` that ended by itself (not killed) has removed its container,
        # unless podman failed: then it is looked for, and removed, as any other.
        removed = name in self._removing and isinstance(running, Running) and (running.returncode or 0) >= 0
        if code != 0 and not self._stopping:
            why = await self._runtime_failure(name, code, removed)
            if why:
                self._runtime_failed[name] = why
        if removed and code not in _PODMAN_CODES:
            self._created.remove(self._names[name])
        else:
            self._removing.pop(name, None)  # it may be there still: OOM and removal ask podman
        return code

    async def _runtime_failure(self, name: str, code: int, removed: bool) -> str | None:
        """Why `podman run` ended with `code` when that is not the container's own exit
        (podman failed, or died mid-run), else None: a task's failure is Failed, podman's Error.
        `removed`: it was a `podman run --rm` that exited by itself."""
        if removed and code not in _PODMAN_CODES:
            return None  # podman's own failures exit 125-127; any other code is the container's
        rc, out, _ = await run_podman(self._ex.podman, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}",
                                      self._names[name])
        status, _, exited = out.strip().partition(" ")
        if rc == 0 and status in ("exited", "stopped") and exited == str(code):
            return None
        if rc != 0 and removed and await self._died_with(name, code):
            return None  # it ran and exited 125-127 itself, and podman removed it
        if rc == 0 and status in ("running", "paused", "stopping"):
            return (f'podman run of container "{name}" ended ({exit_message(code)}) while the container still ran: '
                    "the container runtime failed mid-run")
        try:
            said = _last_line((self.spec.log_dir / f"{name}.log").read_bytes()[-4096:].decode(errors="replace"))
        except OSError:
            said = ""
        return f'podman could not run container "{name}" (exit code {code}): {said or "it said nothing"}'

    async def _died_with(self, name: str, code: int) -> bool:
        """Whether podman's events say the container ran and exited with `code` (a container
        that never started has no `died` event); asked only for the codes podman shares."""
        since = str(int(self._removing.get(name, time.time())) - 1)
        rc, out, _ = await run_podman(self._ex.podman, "events", "--stream=false", "--since", since,
                                      "--filter", f"container={self._names[name]}", "--filter", "event=died",
                                      "--format", "{{.ContainerExitCode}}", timeout_s=30)
        return rc == 0 and str(code) in out.split()

    async def _run_pod(self) -> TaskResult:
        try:
            result = await super()._run_pod()
        except ExecutorError as e:  # podman itself is gone: the node's Error says so
            return TaskResult("Error", message=e.message)
        return result

    def _signal_all(self, sig: int) -> None:
        """Signals go to the containers through podman; the attached `podman run` follows."""
        names = [self._names[n] for n in self._running]
        if not names:
            return
        signame = "KILL" if sig == signal.SIGKILL else "TERM"
        task = asyncio.get_running_loop().create_task(
            run_podman(self._ex.podman, "kill", "--signal", signame, *names, timeout_s=30))
        self._ex.background.add(task)
        task.add_done_callback(self._ex.background.discard)

    async def _image_has_dir(self, image: str, path: str) -> bool:
        return await self._ex.image_has_dir(image, path)

    async def _image_id(self, image: str) -> str | None:
        return await self._ex.image_id(image)

    async def _reports_oom(self, name: str) -> bool:
        if name in self._removing:
            return False  # no memory limit (`_needed_after_exit`), and podman removed it
        # exit 137 with OOMKilled=false: see ContainerTask._oom_killed for the hosts that do it
        code, out, _ = await run_podman(self._ex.podman, "inspect", "--format", "{{.State.OOMKilled}}",
                                        self._names[name])
        return code == 0 and out.strip() == "true"

    async def _copy_from(self, name: str, target: str, dest: Path) -> bool:
        code, _, _ = await run_podman(self._ex.podman, "cp", f"{self._names[name]}:{target}", str(dest))
        return code == 0 and dest.exists()

    async def _remove(self) -> None:
        with contextlib.suppress(ExecutorError):  # no podman, nothing to remove now: the next sweep does
            await self._remove_all()

    async def _remove_all(self) -> None:
        if self._created:
            code, _, _ = await run_podman(self._ex.podman, "rm", "--force", "--time", "2", *self._created, timeout_s=60)
            if code != 0:
                # podman 4 refuses ("container state improper") a container that exits on its
                # own while rm stops it; once it has stopped, a second rm removes it.
                await run_podman(self._ex.podman, "rm", "--force", "--ignore", "--time", "0", *self._created,
                                 timeout_s=60)
        if self._pod:
            await run_podman(self._ex.podman, "pod", "rm", "--force", self._pod, timeout_s=60)


class PodmanExecutor(ImagePulls):
    name = "podman"

    def __init__(self, settings: Settings, *, podman: str = "podman", log: Callable[[str], None] | None = None,
                 network: str = "bridge", pids_limit: int = 4096) -> None:
        super().__init__()
        self.settings = settings
        self.podman = shutil.which(podman) or podman
        self.network = network
        self.pids_limit = pids_limit
        self.owner = owner_id()
        self._log = log or _logger.warning
        self.cli_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "XDG_RUNTIME_DIR", "LANG",
                                                                      "CONTAINERS_CONF", "CONTAINERS_REGISTRIES_CONF")}
        self._dirs: dict[tuple[str, str], bool] = {}
        self._tasks: set[PodmanTask] = set()
        self.background: set[asyncio.Task[object]] = set()
        self._swept = False

    async def _inspect_id(self, image: str) -> str | None:
        code, out, _ = await run_podman(self.podman, "image", "inspect", "--format", "{{.Id}}", image)
        return out.strip() or None if code == 0 else None

    async def _pull(self, image: str, host: str, cred: tuple[str, str] | None, missing: tuple[str, ...]) -> str | None:
        # Always a private auth file (empty without a pull secret): a task pulls with its
        # workflow's imagePullSecrets, never with whatever `podman login` left on this host.
        with private_authfile({host: cred} if cred else {}, self.settings.scratch_dir) as authfile:
            args = ["pull", "--quiet", "--authfile", str(authfile)]
            if insecure(host, self.settings.insecure_registries):
                args.append("--tls-verify=false")
            code, _, err = await run_podman(self.podman, *args, image, timeout_s=600)
        if code == 0:
            return None
        return pull_failure(image, err, code, had_auth=cred is not None, missing=missing)

    async def image_has_dir(self, image: str, path: str) -> bool:
        """Whether the image's own filesystem has folder `path` (read from its mounted layers, cached)."""
        key = (image, path)
        if key not in self._dirs:
            code, out, _ = await run_podman(self.podman, "image", "mount", image)
            root = out.strip()
            self._dirs[key] = code == 0 and bool(root) and os.path.isdir(os.path.join(root, path.lstrip("/")))
            if code == 0:
                await run_podman(self.podman, "image", "unmount", image)
        return self._dirs[key]

    async def open(self) -> str | None:
        """Why podman cannot run containers here, or None; and when it can, remove what dead
        conveyor processes left behind (both from one `podman ps`)."""
        if not shutil.which(self.podman):
            return f"{self.podman} is not installed"
        problem, items = await _labelled(self.podman)
        if problem is None:
            await self._remove_stale(items)
        return problem

    async def sweep(self) -> list[str]:
        """Remove containers and pods that a dead conveyor process on this host left behind."""
        problem, items = await _labelled(self.podman)
        return [] if problem else await self._remove_stale(items)

    async def _remove_stale(self, items: list[dict[str, Any]]) -> list[str]:
        self._swept = True
        found = stale(((item.get("Id") or (item.get("Names") or [""])[0], item.get("Labels") or {})
                       for item in items), self.owner, socket.gethostname())
        if found:
            await run_podman(self.podman, "rm", "--force", "--time", "0", *found, timeout_s=120)
            await run_podman(self.podman, "pod", "prune", "--force", timeout_s=60)
            self._log(f"removed {len(found)} container(s) left behind by a conveyor process that is gone")
        return found

    async def launch(self, spec: TaskSpec) -> PodmanTask:
        check_key(spec.key)
        if not self._swept:
            self._swept = True
            await self.sweep()
        scratch = await fresh_scratch(self.settings.scratch_dir, spec.key)
        # a crashed attempt of the same key may have left its container: names must be free
        return track(self._tasks, PodmanTask(spec, self, scratch))

    async def close(self) -> None:
        await terminate_all(self._tasks)
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)

