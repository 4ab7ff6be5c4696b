"""What the container executors (podman, docker) share: one task's layout, outputs and leftovers.

A task's volumes, inputs and script are folders and files of its scratch space, bind
mounted into its containers; outputs under a bind mount are read from the host, the
rest is copied out of the stopped container. Every container carries labels naming
the task and the process that drives it, so a restarted server removes what a killed
one left behind (`stale`). The runtime modules say only how a container starts, how
a path is copied out of it, and how it is removed.
https://argo-workflows.readthedocs.io/en/latest/workflow-executors/
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TypeVar

from conveyor.errors import ConveyorError, ExecutorError
from conveyor.executors._files import copy_out, place_input, read_parameter
from conveyor.executors._oci import Bind, container_path
from conveyor.executors._pod import SCRIPT_PATH, PodTask, Started
from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec

__all__ = ["OWNER_LABEL", "TASK_LABEL", "WORKFLOW_LABEL", "ContainerTask", "check_key", "fresh_scratch", "pid_alive",
           "owner_id", "stale", "terminate_all", "track"]

OWNER_LABEL = "dev.conveyor.owner"  # pid@host of the process driving the task
TASK_LABEL = "dev.conveyor.task"
WORKFLOW_LABEL = "dev.conveyor.workflow"


def owner_id() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine (any user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, as another user's
    return True


def stale(items: Iterable[tuple[str, Mapping[str, str]]], me: str, host: str) -> list[str]:
    """The ids, of (id, labels) pairs, whose owner is neither `me` nor a live process on `host`
    (an owner on another host counts as gone: its pid cannot be checked from here)."""
    out: list[str] = []
    for cid, labels in items:
        owner = labels.get(OWNER_LABEL, "")
        pid, _, where = owner.partition("@")
        if owner == me or (where == host and pid.isdigit() and pid_alive(int(pid))):
            continue  # ours, or another live conveyor process drives it
        out.append(cid)
    return out


def check_key(key: str) -> None:
    """A task key names its containers and its scratch folder: it cannot hold a '/'."""
    if not key or "/" in key or key in (".", ".."):
        raise ExecutorError(f"task key {key!r} cannot name a container; use a name without '/'")


async def fresh_scratch(scratch_dir: Path, key: str) -> Path:
    """The task's scratch folder, emptied of what a crashed attempt of the same key left."""
    scratch = scratch_dir / key
    if scratch.exists():
        await asyncio.to_thread(shutil.rmtree, scratch, True)
    return scratch


_T = TypeVar("_T", bound="ContainerTask")


def track(tasks: set[_T], task: _T) -> _T:
    """`task`, kept in `tasks` (the executor's, for close()) until it is done."""
    tasks.add(task)
    task.on_done(lambda: tasks.discard(task))
    return task


async def terminate_all(tasks: set[_T], grace_s: float = 3.0) -> None:
    await asyncio.gather(*(t.terminate(grace_s=grace_s) for t in list(tasks)))


class ContainerTask(PodTask):
    """A PodTask whose containers are a runtime's: the layout, outputs, OOM and labels.

    Subclasses start one container (`_start`, using `_mounts`, `_workdir` and `_script`),
    and implement the hooks: `_image_has_dir`, `_reports_oom`, `_copy_from`, `_remove`.
    """

    def __init__(self, spec: TaskSpec, scratch: Path, *, owner: str, keep_scratch: bool) -> None:
        self._scratch = scratch
        self._owner = owner
        self._keep_scratch = keep_scratch
        self._binds: list[Bind] = []  # the inputs: every container has them
        self._volumes: dict[str, Path] = {}
        self._binds_of: dict[str, list[Bind]] = {}  # container name (in the spec) -> its binds
        self._oom: set[str] = set()
        #: container -> how the runtime itself failed it (not the container's own exit): the node's Error
        self._runtime_failed: dict[str, str] = {}
        super().__init__(spec)

    # -- hooks ---------------------------------------------------------------------------

    async def _image_has_dir(self, image: str, path: str) -> bool:
        raise NotImplementedError

    async def _reports_oom(self, name: str) -> bool:
        """Whether the runtime says container `name` (in the spec) was OOM-killed."""
        raise NotImplementedError

    async def _copy_from(self, name: str, target: str, dest: Path) -> bool:
        """Copy `target` out of stopped container `name` (in the spec) to `dest`; whether it was there."""
        raise NotImplementedError

    async def _image_id(self, image: str) -> str | None:
        """The content id of the image the main container ran."""
        raise NotImplementedError

    async def _remove(self) -> None:
        """Remove every container (and pod or holder) the task created."""
        raise NotImplementedError

    # -- layout --------------------------------------------------------------------------

    def _labels(self) -> dict[str, str]:
        return {OWNER_LABEL: self._owner, TASK_LABEL: self.spec.key,
                WORKFLOW_LABEL: f"{self.spec.namespace}.{self.spec.workflow}"}

    async def _prepare(self) -> None:
        """Inputs as bind mounts of the scratch folder, and one folder per volume."""
        spec = self.spec
        try:
            self._scratch.mkdir(parents=True, exist_ok=True)
            spec.log_dir.mkdir(parents=True, exist_ok=True)
            for i, f in enumerate(spec.inputs):
                target = container_path(f.path, "input artifact path")
                if not f.source.exists():
                    raise ConveyorError(f"input artifact for {f.path} is missing: {f.source} does not exist")
                host = self._scratch / "inputs" / str(i) / (Path(target).name or "input")
                await asyncio.to_thread(place_input, f.source, host, f.mode)
                self._binds.append(Bind(str(host), target))
            for c in spec.containers:
                for mount in c.volume_mounts:
                    name = str(mount.get("name") or "")
                    if name in (".", ".."):  # submit refuses these; a volume is a folder named after it
                        raise ConveyorError(f"volume name {name!r} cannot name a folder; use a Kubernetes name")
                    if name and name not in self._volumes:
                        folder = self._scratch / "volumes" / name.replace("/", "_")
                        folder.mkdir(parents=True, exist_ok=True)
                        self._volumes[name] = folder
        except OSError as e:
            raise ConveyorError(f"could not prepare the task's files: {e}") from e

    def _mounts(self, c: ContainerSpec) -> list[Bind] | str:
        """The inputs and c's volumes, recorded as c's binds; a string says which mountPath is bad."""
        binds = list(self._binds)
        for mount in c.volume_mounts:
            folder = self._volumes.get(str(mount.get("name") or ""))
            if folder is not None and mount.get("mountPath"):
                try:
                    target = container_path(str(mount["mountPath"]), "volumeMounts.mountPath")
                except ConveyorError as e:
                    return e.message
                binds.append(Bind(str(folder), target, bool(mount.get("readOnly"))))
        self._binds_of[c.name] = binds
        return binds

    async def _workdir(self, c: ContainerSpec, binds: list[Bind]) -> str | None:
        """Bind an empty folder at a workingDir the image lacks; a string says why it is bad."""
        if not c.working_dir:
            return None
        try:
            workdir = container_path(c.working_dir, "workingDir")
        except ConveyorError as e:
            return f'container "{c.name}": {e.message}'
        if not any(b.target == workdir for b in binds) and not await self._image_has_dir(c.image or "", workdir):
            # Kubernetes runtimes create a missing workingDir; some (podman 4.3) refuse to start
            folder = self._scratch / "workdirs" / c.name
            folder.mkdir(parents=True, exist_ok=True)
            binds.append(Bind(str(folder), workdir))
        return None

    def _script(self, c: ContainerSpec, binds: list[Bind]) -> list[str]:
        """c's args, with a script template's source bound at SCRIPT_PATH and appended to them."""
        args = list(c.args)
        if c.script_source is not None:
            script = self._scratch / "script" / c.name
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(c.script_source)
            script.chmod(0o755)  # `command: [sh, -c]` runs it by its path
            binds.append(Bind(str(script), SCRIPT_PATH, read_only=True))
            args.append(SCRIPT_PATH)
        return args

    def _needed_after_exit(self, c: ContainerSpec) -> bool:
        """Whether the runtime must keep container c once it exited (call after `_mounts`,
        `_workdir` and `_script`): an output of it lies outside its bind mounts (copied out
        of the stopped container), or its memory limit makes the runtime's OOM report matter."""
        if "memory" in dict(c.resources.get("limits") or {}):
            return True
        if c.name != (self._result_from or self.spec.containers[0].name):
            return False  # outputs are read from the main container only (`_collect`)
        for path in (*self.spec.output_parameters.values(), *self.spec.output_artifacts.values()):
            try:
                target = container_path(path, "output path")
            except ConveyorError:
                continue  # never copied out (`_copy_out`)
            if self._bound(c.name, target) is None:
                return True
        return False

    # -- OOM, outputs, cleanup -------------------------------------------------------------

    async def _finish(self, name: str, running: Started) -> int:
        code = await super()._finish(name, running)
        if code == 137 and await self._oom_killed(name):
            self._oom.add(name)
        return code

    async def _oom_killed(self, name: str) -> bool:
        if await self._reports_oom(name):
            return True
        # On hosts with hybrid cgroups (memory on v1) the runtime does not see the OOM event
        # and reports OOMKilled=false; a SIGKILL that conveyor did not send, to a container
        # with a memory limit, is the kernel's OOM killer.
        spec = next(c for c in self.spec.containers if c.name == name)
        return "memory" in dict(spec.resources.get("limits") or {}) and not self._stopping

    async def _run_pod(self) -> TaskResult:
        result = await super()._run_pod()
        if self._runtime_failed and result.phase != "Succeeded":
            return TaskResult("Error", message="; ".join(self._runtime_failed[n] for n in sorted(self._runtime_failed)))
        if self._oom and result.phase != "Succeeded":
            result.phase = "Failed"
            result.message = f"OOMKilled (exit code 137): {', '.join(sorted(self._oom))} went over its memory limit"
        return result

    async def _collect(self, result: TaskResult) -> None:
        self._collect_result(result)
        main = self._result_from or self.spec.containers[0].name
        image = next((c.image for c in self.spec.containers if c.name == main), None)
        if image:
            result.image_id = await self._image_id(image)
        for name, path in self.spec.output_parameters.items():
            dest = self._scratch / "outputs" / "parameters" / name
            if await self._copy_out(main, path, dest) and dest.is_file():
                result.parameters[name] = await asyncio.to_thread(read_parameter, dest)
        for name, path in self.spec.output_artifacts.items():
            dest = self.spec.collect_dir / name
            if await self._copy_out(main, path, dest):
                result.artifacts[name] = dest

    async def _copy_out(self, name: str, path: str, dest: Path) -> bool:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            await asyncio.to_thread(shutil.rmtree, dest, True)
        try:
            target = container_path(path, "output path")
        except ConveyorError:
            return False
        host = self._bound(name, target)
        if host is not None:  # under a volume, an input or a created workdir: the host folder holds it
            if not host.exists():
                return False
            await asyncio.to_thread(copy_out, host, dest)
            return True
        return await self._copy_from(name, target, dest)

    def _bound(self, name: str, target: str) -> Path | None:
        """The host path of `target` when a bind mount of that container holds it (deepest mount wins)."""
        for bind in sorted(self._binds_of.get(name, []), key=lambda b: -len(b.target)):
            if target == bind.target or target.startswith(bind.target.rstrip("/") + "/"):
                rest = target[len(bind.target):].lstrip("/")
                return Path(bind.source) / rest if rest else Path(bind.source)
        return None

    async def _cleanup(self) -> None:
        await self._remove()
        if not self._keep_scratch:
            await asyncio.to_thread(shutil.rmtree, self._scratch, True)
