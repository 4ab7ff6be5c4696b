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
import shutil
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conveyor.errors import ConveyorError
from conveyor.executors._dockerio import DockerRunning, archive_out, error_text
from conveyor.executors._files import copy_out, place_input, read_parameter
from conveyor.executors._oci import Bind, container_path, cpu_cores, memory_bytes
from conveyor.executors._pod import SCRIPT_PATH, PodTask
from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec
from conveyor.executors.podman import OWNER_LABEL, TASK_LABEL, WORKFLOW_LABEL

if TYPE_CHECKING:
    from conveyor.executors.docker import DockerExecutor

__all__ = ["DockerTask"]

#: keeps the network namespace of a multi-container task while its containers come and go
_HOLDER_CMD = ["sh", "-c", "while :; do sleep 3600; done"]
_NAME_BAD = re.compile(r"[^a-zA-Z0-9_.-]")


class DockerTask(PodTask):
    executor_name = "docker"

    def __init__(self, spec: TaskSpec, executor: DockerExecutor, scratch: Path) -> None:
        self._ex = executor
        self._scratch = scratch
        self._binds: list[Bind] = []
        self._volumes: dict[str, Path] = {}
        prefix = _NAME_BAD.sub("_", f"conveyor-{spec.key}")[:200]
        self._names = {c.name: _NAME_BAD.sub("_", f"{prefix}-{c.name}")[:250] for c in spec.containers}
        self._holder_name = f"{prefix}-net" if len(spec.containers) > 1 else None
        self._holder: str | None = None  # its container id, once created
        self._holder_lock = asyncio.Lock()  # a containerSet starts parallel mains at once
        self._ids: dict[str, str] = {}  # container name (in the spec) -> id
        self._binds_of: dict[str, list[Bind]] = {}
        self._oom: set[str] = set()
        super().__init__(spec)

    def _labels(self) -> dict[str, str]:
        return {OWNER_LABEL: self._ex.owner, TASK_LABEL: self.spec.key,
                WORKFLOW_LABEL: f"{self.spec.namespace}.{self.spec.workflow}"}

    async def _prepare(self) -> None:
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
                    if name and name not in self._volumes:
                        folder = self._scratch / "volumes" / name.replace("/", "_")
                        folder.mkdir(parents=True, exist_ok=True)
                        self._volumes[name] = folder
        except OSError as e:
            raise ConveyorError(f"could not prepare the task's files: {e}") from e

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
                self._holder = holder  # set before start: _cleanup removes it even if start fails
                await ex.call(ex.client.api.start, holder)
            except Exception as e:  # noqa: BLE001 - reported as the task's error
                return f"docker could not start the task's network holder from {image}: {error_text(e)}"
        return None

    def _mounts(self, c: ContainerSpec) -> list[Bind] | str:
        binds = list(self._binds)
        for mount in c.volume_mounts:
            folder = self._volumes.get(str(mount.get("name") or ""))
            if folder is not None and mount.get("mountPath"):
                try:
                    target = container_path(str(mount["mountPath"]), "volumeMounts.mountPath")
                except ConveyorError as e:
                    return e.message
                binds.append(Bind(str(folder), target, bool(mount.get("readOnly"))))
        return binds

    def _create_args(self, c: ContainerSpec, image: str, binds: list[Bind]) -> dict[str, Any]:
        """The SDK's `containers.create` keywords (raises InvalidInput for bad quantities)."""
        from docker.types import Mount

        args = list(c.args)
        if c.script_source is not None:
            script = self._scratch / "script" / c.name
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(c.script_source)
            script.chmod(0o755)
            binds.append(Bind(str(script), SCRIPT_PATH, read_only=True))
            args.append(SCRIPT_PATH)
        kw: dict[str, Any] = dict(
            image=image, labels=self._labels(), environment=dict(c.env), pids_limit=self._ex.pids_limit,
            # Kubernetes semantics: command replaces ENTRYPOINT, args replace CMD
            entrypoint=list(c.command) or None, command=args or None,
            mounts=[Mount(b.target, b.source, type="bind", read_only=b.read_only) for b in binds],
            network_mode=f"container:{self._holder}" if self._holder else self._ex.network,
        )
        if c.working_dir:
            kw["working_dir"] = container_path(c.working_dir, "workingDir")  # Docker creates it if missing
        limits = dict(c.resources.get("limits") or {})
        if "memory" in limits:
            kw["mem_limit"] = kw["memswap_limit"] = memory_bytes(limits["memory"])
        if "cpu" in limits:
            kw["nano_cpus"] = int(float(cpu_cores(limits["cpu"])) * 1e9)
        user = c.security_context.get("runAsUser")
        if user is not None:
            group = c.security_context.get("runAsGroup")
            kw["user"] = f"{int(str(user))}" + (f":{int(str(group))}" if group is not None else "")
        return kw

    async def _start(self, c: ContainerSpec) -> DockerRunning | str:  # type: ignore[override]
        if not c.image:
            return f'container "{c.name}" names no image'
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
        self._binds_of[c.name] = binds
        try:
            kw = self._create_args(c, c.image, binds)
        except ConveyorError as e:
            return f'container "{c.name}": {e.message}'
        try:
            cid = await ex.call(ex.create, self._names[c.name], kw)
        except Exception as e:  # noqa: BLE001
            return f'docker could not create container "{c.name}": {error_text(e)}'
        self._ids[c.name] = cid
        capture = c.role == "main" and c.name == self._result_from
        running = DockerRunning(ex.streams, cid, self.spec.log_dir / f"{c.name}.log", capture, ex.kill)
        try:
            await ex.call(running.attach)
            await ex.call(ex.client.api.start, cid)
        except Exception as e:  # noqa: BLE001
            running.abandon()
            return f'failed to start container "{c.name}": {error_text(e)}'
        running.follow()
        if capture:
            self._tail = running.tail
        self._running[c.name] = running  # type: ignore[assignment]  # PodTask needs only wait/signal
        if self._stopping:
            running.signal(signal.SIGTERM)  # terminate() came while it was starting
        return running

    async def _finish(self, name: str, running: Any) -> int:
        code = await super()._finish(name, running)
        if code == 137 and await self._oom_killed(name):
            self._oom.add(name)
        return code

    async def _oom_killed(self, name: str) -> bool:
        try:
            attrs = await self._ex.call(self._ex.client.api.inspect_container, self._ids[name])
        except Exception:  # noqa: BLE001 - then only the heuristic speaks
            attrs = {}
        if (attrs.get("State") or {}).get("OOMKilled"):
            return True
        # dockerd reports it here; podman's compatible socket on hybrid-cgroup hosts does not
        # (see podman.py): a SIGKILL that conveyor did not send, to a memory-limited container.
        spec = next(c for c in self.spec.containers if c.name == name)
        return "memory" in dict(spec.resources.get("limits") or {}) and not self._stopping

    async def _run_pod(self) -> TaskResult:
        result = await super()._run_pod()
        if self._oom and result.phase != "Succeeded":
            result.phase = "Failed"
            result.message = f"OOMKilled (exit code 137): {', '.join(sorted(self._oom))} went over its memory limit"
        return result

    async def _collect(self, result: TaskResult) -> None:
        self._collect_result(result)
        main = self._result_from or next(iter(self._names))
        out = self._scratch / "outputs"
        for name, path in self.spec.output_parameters.items():
            dest = out / "parameters" / name
            if await self._copy_out(main, path, dest) and dest.is_file():
                result.parameters[name] = await asyncio.to_thread(read_parameter, dest)
        for name, path in self.spec.output_artifacts.items():
            dest = self.spec.collect_dir / name
            if await self._copy_out(main, path, dest):
                result.artifacts[name] = dest

    async def _copy_out(self, name: str, path: str, dest: Path) -> bool:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists() or dest.is_symlink():
            await asyncio.to_thread(shutil.rmtree, dest, True)
        try:
            target = container_path(path, "output path")
        except ConveyorError:
            return False
        host = self._bound(name, target)
        if host is not None:  # under a volume or an input: the host folder holds it
            if not host.exists():
                return False
            await asyncio.to_thread(copy_out, host, dest)
            return True
        cid = self._ids.get(name)
        if cid is None:
            return False
        problem = await self._ex.call(archive_out, self._ex.client, cid, target, dest, self._scratch / "outputs")
        if problem:
            self._ex.log(f"task {self.spec.key}: output {path} not collected: {problem}")
        return problem is None and dest.exists()

    def _bound(self, name: str, target: str) -> Path | None:
        """The host path of `target` when a bind mount of that container holds it (deepest mount wins)."""
        for bind in sorted(self._binds_of.get(name, []), key=lambda b: -len(b.target)):
            if target == bind.target or target.startswith(bind.target.rstrip("/") + "/"):
                rest = target[len(bind.target):].lstrip("/")
                return Path(bind.source) / rest if rest else Path(bind.source)
        return None

    async def _cleanup(self) -> None:
        ids = list(self._ids.values()) + ([self._holder] if self._holder else [])
        await asyncio.gather(*(self._ex.call(self._ex.remove, cid) for cid in ids))
        if not self._ex.settings.keep_scratch:
            await asyncio.to_thread(shutil.rmtree, self._scratch, True)
