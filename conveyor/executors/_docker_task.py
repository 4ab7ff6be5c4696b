"""One task as Docker Engine containers: their layout, start, outputs and removal.

The docker executor's TaskHandle (see docker.py for the executor and the why of its
design). Docker has no pods: a task with several containers gets a network holder
container whose network namespace the others join (`network_mode=container:<id>`), so
init containers, sidecars and mains reach each other on 127.0.0.1 as a Kubernetes pod's
do; volumes, inputs and the script are bind mounts of the task's scratch folder.
https://argo-workflows.readthedocs.io/en/latest/workflow-executors/
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import ConveyorError
from conveyor.executors._ctr import ContainerTask
from conveyor.executors._dockerio import DockerRunning, archive_out, error_text
from conveyor.executors._oci import Bind, container_path, cpu_cores, memory_bytes
from conveyor.executors._pod import Started
from conveyor.executors._privileges import privileges
from conveyor.executors.base import ContainerSpec, TaskSpec

if TYPE_CHECKING:
    from conveyor.executors.docker import DockerExecutor

__all__ = ["DockerTask"]

#: keeps the network namespace of a multi-container task while its containers come and go
_HOLDER_CMD = ["sh", "-c", "while :; do sleep 3600; done"]
_NAME_BAD = re.compile(r"[^a-zA-Z0-9_.-]")


class DockerTask(ContainerTask):
    executor_name = "docker"

    def __init__(self, spec: TaskSpec, executor: DockerExecutor, scratch: Path) -> None:
        self._ex = executor
        prefix = _NAME_BAD.sub("_", f"conveyor-{spec.key}")[:200]
        self._names = {c.name: _NAME_BAD.sub("_", f"{prefix}-{c.name}")[:250] for c in spec.containers}
        self._holder_name = f"{prefix}-net" if len(spec.containers) > 1 else None
        self._holder: str | None = None  # its container id, once created
        self._holder_lock = asyncio.Lock()  # a containerSet starts parallel mains at once
        self._ids: dict[str, str] = {}  # container name (in the spec) -> id
        super().__init__(spec, scratch, owner=executor.owner, keep_scratch=executor.settings.keep_scratch)

    async def _ensure_holder(self, image: str) -> str | None:
        """Start the network holder (multi-container tasks); a string says why it could not."""
        if self._holder_name is None:
            return None
        ex = self._ex
        async with self._holder_lock:
            if self._holder is not None:
                return None
            try:
                holder = await ex.call(ex.create, self._holder_name, dict(
                    image=image, entrypoint=_HOLDER_CMD[:1], command=_HOLDER_CMD[1:], labels=self._labels(),
                    network_mode=ex.network, pids_limit=16, mem_limit=32 * 2**20))
                self._holder = holder  # set before start: _remove removes it even if start fails
                await ex.call(ex.client.api.start, holder)
            except Exception as e:  # noqa: BLE001 - reported as the task's error
                return f"docker could not start the task's network holder from {image}: {error_text(e)}"
        return None

    def _create_args(self, c: ContainerSpec, image: str, args: list[str], binds: list[Bind]) -> dict[str, Any]:
        """The SDK's `containers.create` keywords (raises InvalidInput for bad quantities)."""
        from docker.types import Mount

        kw: dict[str, Any] = dict(
            image=image, labels=self._labels(), environment=dict(c.env), pids_limit=self._ex.pids_limit,
            # Kubernetes semantics: command replaces ENTRYPOINT, args replace CMD
            entrypoint=list(c.command) or None, command=args or None,
            mounts=[Mount(b.target, b.source, type="bind", read_only=b.read_only) for b in binds],
            network_mode=f"container:{self._holder}" if self._holder else self._ex.network,
        )
        if c.working_dir:
            kw["working_dir"] = container_path(c.working_dir, "workingDir")
        limits = dict(c.resources.get("limits") or {})
        if "memory" in limits:
            kw["mem_limit"] = kw["memswap_limit"] = memory_bytes(limits["memory"])
        if "cpu" in limits:
            kw["nano_cpus"] = int(float(cpu_cores(limits["cpu"])) * 1e9)
        user = c.security_context.get("runAsUser")
        if user is not None:
            group = c.security_context.get("runAsGroup")
            kw["user"] = f"{int(str(user))}" + (f":{int(str(group))}" if group is not None else "")
        granted = privileges(c.security_context, allowed=self._ex.settings.allow_privileged)
        if granted.privileged:
            kw["privileged"] = True
        if granted.cap_add:
            kw["cap_add"] = list(granted.cap_add)
        if granted.cap_drop:
            kw["cap_drop"] = list(granted.cap_drop)
        if granted.no_new_privileges:
            kw["security_opt"] = ["no-new-privileges"]
        return kw

    async def _start(self, c: ContainerSpec) -> DockerRunning | str:  # type: ignore[override]
        if not c.image:
            return f'container "{c.name}" names no image'
        try:  # before the image is pulled: a refused container costs nothing
            privileges(c.security_context, allowed=self._ex.settings.allow_privileged)
        except ConveyorError as e:
            return f'container "{c.name}": {e.message}'
        ex = self._ex
        try:
            problem = await ex.ensure_image(c.image, c.pull_policy, self.spec.pull_auths,
                                            self.spec.missing_pull_secrets)
        except ConveyorError as e:
            return e.message
        if problem:
            return problem
        problem = await self._ensure_holder(c.image)
        if problem:
            return problem
        binds = self._mounts(c)
        if isinstance(binds, str):
            return f'container "{c.name}": {binds}'
        problem = await self._workdir(c, binds)
        if problem:
            return problem
        args = self._script(c, binds)
        try:
            kw = self._create_args(c, c.image, args, binds)
        except ConveyorError as e:
            return f'container "{c.name}": {e.message}'
        try:
            cid = await ex.call(ex.create, self._names[c.name], kw)
        except Exception as e:  # noqa: BLE001
            return ex.engine_gone(e) or f'docker could not create container "{c.name}": {error_text(e)}'
        self._ids[c.name] = cid
        capture = c.role == "main" and c.name == self._result_from
        running = DockerRunning(ex.streams, cid, self.spec.log_dir / f"{c.name}.log", capture, ex.kill,
                                max_log_bytes=self.spec.max_log_bytes)
        try:
            await ex.call(running.attach)
            await ex.call(ex.client.api.start, cid)
        except Exception as e:  # noqa: BLE001
            running.abandon()
            if ex.engine_gone(e) is not None:
                # the engine went away between create and start's answer: the container
                # may well be running; as mid-run, an Error the retryStrategy applies to
                return (f'lost the Docker Engine while container "{c.name}" started ({error_text(e)}): '
                        "the container runtime failed mid-run")
            return f'failed to start container "{c.name}": {error_text(e)}'
        running.follow()
        if capture:
            self._tail = running.tail
        self._running[c.name] = running  # type: ignore[assignment]  # PodTask needs only wait/signal
        if self._stopping:
            running.signal(signal.SIGTERM)  # terminate() came while it was starting
        return running

    async def _finish(self, name: str, running: Started) -> int:
        code = await super()._finish(name, running)
        lost = getattr(running, "lost", None)
        if lost and not self._stopping:
            self._runtime_failed[name] = (f'lost the Docker Engine while container "{name}" ran ({lost}): '
                                          "the container runtime failed mid-run")
        return code

    async def _image_has_dir(self, image: str, path: str) -> bool:
        return True  # Docker creates a missing workingDir, as Kubernetes runtimes do

    async def _image_id(self, image: str) -> str | None:
        return await self._ex.image_id(image)

    async def _reports_oom(self, name: str) -> bool:
        # dockerd reports it; podman's compatible socket on hybrid-cgroup hosts does not
        try:
            attrs = await self._ex.call(self._ex.client.api.inspect_container, self._ids[name])
        except Exception:  # noqa: BLE001 - then only the heuristic speaks
            return False
        return bool((attrs.get("State") or {}).get("OOMKilled"))

    async def _copy_from(self, name: str, target: str, dest: Path) -> bool:
        cid = self._ids.get(name)
        if cid is None:
            return False
        problem = await self._ex.call(archive_out, self._ex.client, cid, target, dest, self._scratch / "outputs")
        if problem:
            self._ex.log(f"task {self.spec.key}: output {target} not collected: {problem}")
        return problem is None and dest.exists()

    async def _remove(self) -> None:
        await asyncio.gather(*(self._ex.call(self._ex.remove, cid) for cid in self._ids.values()))
        if self._holder:
            # last: podman's compatible API refuses to remove a container others still join
            await self._ex.call(self._ex.remove, self._holder)
