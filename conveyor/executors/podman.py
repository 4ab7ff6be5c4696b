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
import json
import logging
import os
import shutil
import signal
import socket
from collections.abc import Callable, Mapping
from pathlib import Path

from conveyor.config import Settings
from conveyor.errors import ConveyorError, ExecutorError
from conveyor.executors._container import Running
from conveyor.executors._files import copy_out, place_input, read_parameter
from conveyor.executors._oci import Bind, RunOptions, container_path, podman_run_argv, pull_mode
from conveyor.executors._pod import SCRIPT_PATH, PodTask
from conveyor.executors._registry import insecure, private_authfile, pull_failure, registry_of
from conveyor.executors.base import ContainerSpec, TaskResult, TaskSpec

__all__ = ["PodmanExecutor", "PodmanTask", "podman_problem", "OWNER_LABEL", "TASK_LABEL"]

_logger = logging.getLogger(__name__)
OWNER_LABEL = "dev.conveyor.owner"  # pid@host of the process driving the task
TASK_LABEL = "dev.conveyor.task"
WORKFLOW_LABEL = "dev.conveyor.workflow"


def owner_id() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


async def run_podman(podman: str, *args: str, timeout_s: float = 120.0) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of a short podman command."""
    proc = await asyncio.create_subprocess_exec(
        podman, *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
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


async def podman_problem(podman: str) -> str | None:
    """Why podman cannot run containers here, or None when `podman info` answers."""
    if not shutil.which(podman):
        return f"{podman} is not installed"
    code, _, err = await run_podman(podman, "info", "--format", "{{.Host.OCIRuntime.Name}}", timeout_s=30)
    return None if code == 0 else (_last_line(err) or f"podman info exited {code}")


class PodmanTask(PodTask):
    executor_name = "podman"

    def __init__(self, spec: TaskSpec, executor: PodmanExecutor, scratch: Path) -> None:
        self._ex = executor
        self._scratch = scratch
        self._binds: list[Bind] = []
        self._volumes: dict[str, Path] = {}
        safe = spec.key.lower()
        self._prefix = f"conveyor-{safe}"[:200]
        self._names = {c.name: f"{self._prefix}-{c.name.lower()}"[:250] for c in spec.containers}
        self._pod = self._prefix if len(spec.containers) > 1 else None
        self._created: list[str] = []
        self._binds_of: dict[str, list[Bind]] = {}
        self._oom: set[str] = set()
        super().__init__(spec)

    # -- layout --------------------------------------------------------------------

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
        except OSError as e:
            raise ConveyorError(f"could not prepare the task's files: {e}") from e
        for c in spec.containers:
            for mount in c.volume_mounts:
                name = str(mount.get("name") or "")
                if name and name not in self._volumes:
                    folder = self._scratch / "volumes" / name.replace("/", "_")
                    folder.mkdir(parents=True, exist_ok=True)
                    self._volumes[name] = folder
        if self._pod:
            labels = self._labels()
            args = ["pod", "create", "--replace", "--name", self._pod, "--network", self._ex.network]
            for key, value in labels.items():
                args += ["--label", f"{key}={value}"]
            code, _, err = await run_podman(self._ex.podman, *args)
            if code != 0:
                raise ConveyorError(f"podman could not create the task's pod: {_last_line(err)}")

    def _labels(self) -> dict[str, str]:
        return {OWNER_LABEL: self._ex.owner, TASK_LABEL: self.spec.key,
                WORKFLOW_LABEL: f"{self.spec.namespace}.{self.spec.workflow}"}

    # -- one container -----------------------------------------------------------------

    async def _start(self, c: ContainerSpec) -> Running | str:
        if not c.image:
            return f'container "{c.name}" names no image'
        try:
            pulled = await self._ex.ensure_image(c.image, c.pull_policy, self.spec.pull_auths,
                                                 self.spec.missing_pull_secrets)
        except ConveyorError as e:
            return e.message
        if pulled:
            return pulled
        binds = list(self._binds)
        for mount in c.volume_mounts:
            folder = self._volumes.get(str(mount.get("name") or ""))
            if folder is not None and mount.get("mountPath"):
                try:
                    target = container_path(str(mount["mountPath"]), "volumeMounts.mountPath")
                except ConveyorError as e:
                    return e.message
                binds.append(Bind(str(folder), target, bool(mount.get("readOnly"))))
        if c.working_dir:
            try:
                workdir = container_path(c.working_dir, "workingDir")
            except ConveyorError as e:
                return f'container "{c.name}": {e.message}'
            if not any(b.target == workdir for b in binds) and not await self._ex.image_has_dir(c.image, workdir):
                # Kubernetes runtimes create a missing workingDir; podman 4.3 refuses to start
                # ("workdir does not exist"), so the task gets an empty folder there.
                folder = self._scratch / "workdirs" / c.name
                folder.mkdir(parents=True, exist_ok=True)
                binds.append(Bind(str(folder), workdir))
        self._binds_of[c.name] = binds
        args = list(c.args)
        if c.script_source is not None:
            script = self._scratch / "script" / c.name
            script.parent.mkdir(parents=True, exist_ok=True)
            script.write_text(c.script_source)
            script.chmod(0o755)
            binds.append(Bind(str(script), SCRIPT_PATH, read_only=True))
            args.append(SCRIPT_PATH)
        name = self._names[c.name]
        try:
            argv = podman_run_argv(self._ex.podman, RunOptions(
                name=name, image=c.image, command=c.command, args=args, env=c.env, working_dir=c.working_dir,
                binds=binds, labels=self._labels(), resources=c.resources, security_context=c.security_context,
                network=self._ex.network, pod=self._pod, pids_limit=self._ex.pids_limit,
            ))
        except ConveyorError as e:
            return f'container "{c.name}": {e.message}'
        capture = c.role == "main" and c.name == self._result_from
        try:
            running = await Running.spawn(argv, env=self._ex.cli_env, cwd=self._scratch,
                                          log_path=self.spec.log_dir / f"{c.name}.log", capture=capture)
        except OSError as e:
            return f'failed to start container "{c.name}": {e.strerror or e}'
        self._created.append(name)
        if capture:
            self._tail = running.tail
        self._running[c.name] = running
        if self._stopping:
            self._signal_all(signal.SIGTERM)
        return running

    async def _finish(self, name: str, running: Running) -> int:
        code = await super()._finish(name, running)
        if code == 125:
            # podman's own failure (not the container's): its message went to the log
            self._codes[name] = code
        if code == 137 and await self._oom_killed(self._names[name]):
            self._oom.add(name)
        return code

    async def _oom_killed(self, container: str) -> bool:
        code, out, _ = await run_podman(self._ex.podman, "inspect", "--format", "{{.State.OOMKilled}}", container)
        if code == 0 and out.strip() == "true":
            return True
        # On hosts with hybrid cgroups (memory on v1) conmon does not see the OOM event and
        # podman reports OOMKilled=false; a SIGKILL that conveyor did not send, to a container
        # with a memory limit, is the kernel's OOM killer.
        spec = next((c for c in self.spec.containers if self._names[c.name] == container), None)
        limited = spec is not None and "memory" in dict(spec.resources.get("limits") or {})
        return limited and not self._stopping

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

    # -- outputs and cleanup ---------------------------------------------------------------

    async def _run_pod(self) -> TaskResult:
        result = await super()._run_pod()
        if self._oom and result.phase != "Succeeded":
            result.phase = "Failed"
            result.message = f"OOMKilled (exit code 137): {', '.join(sorted(self._oom))} went over its memory limit"
        return result

    async def _collect(self, result: TaskResult) -> None:
        self._collect_result(result)
        main = self._names.get(self._result_from or "", next(iter(self._names.values())))
        out = self._scratch / "outputs"
        for name, path in self.spec.output_parameters.items():
            dest = out / "parameters" / name
            if await self._copy_out(main, path, dest) and dest.is_file():
                result.parameters[name] = await asyncio.to_thread(read_parameter, dest)
        for name, path in self.spec.output_artifacts.items():
            dest = self.spec.collect_dir / name
            if await self._copy_out(main, path, dest):
                result.artifacts[name] = dest

    async def _copy_out(self, container: str, path: str, dest: Path) -> bool:
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            await asyncio.to_thread(shutil.rmtree, dest, True)
        try:
            target = container_path(path, "output path")
        except ConveyorError:
            return False
        host = self._bound(container, target)
        if host is not None:
            # under a volume, an input or a created workdir: the host folder holds it
            if not host.exists():
                return False
            await asyncio.to_thread(copy_out, host, dest)
            return True
        code, _, _ = await run_podman(self._ex.podman, "cp", f"{container}:{target}", str(dest))
        return code == 0 and dest.exists()

    def _bound(self, container: str, target: str) -> Path | None:
        """The host path of `target` when a bind mount of that container holds it (deepest mount wins)."""
        name = next((n for n, full in self._names.items() if full == container), "")
        for bind in sorted(self._binds_of.get(name, []), key=lambda b: -len(b.target)):
            if target == bind.target or target.startswith(bind.target.rstrip("/") + "/"):
                rest = target[len(bind.target):].lstrip("/")
                return Path(bind.source) / rest if rest else Path(bind.source)
        return None

    async def _cleanup(self) -> None:
        if self._created:
            await run_podman(self._ex.podman, "rm", "--force", "--time", "2", *self._created, timeout_s=60)
        if self._pod:
            await run_podman(self._ex.podman, "pod", "rm", "--force", self._pod, timeout_s=60)
        if not self._ex.settings.keep_scratch:
            await asyncio.to_thread(shutil.rmtree, self._scratch, True)


class PodmanExecutor:
    name = "podman"

    def __init__(self, settings: Settings, *, podman: str = "podman", log: Callable[[str], None] | None = None,
                 network: str = "bridge", pids_limit: int = 4096) -> None:
        self.settings = settings
        self.podman = shutil.which(podman) or podman
        self.network = network
        self.pids_limit = pids_limit
        self.owner = owner_id()
        self._log = log or _logger.warning
        self.cli_env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "XDG_RUNTIME_DIR", "LANG",
                                                                      "CONTAINERS_CONF", "CONTAINERS_REGISTRIES_CONF")}
        self._present: set[str] = set()
        self._dirs: dict[tuple[str, str], bool] = {}
        self._pulls: dict[tuple[str, tuple[str, str] | None], asyncio.Task[str | None]] = {}
        self._tasks: set[PodmanTask] = set()
        self.background: set[asyncio.Task[object]] = set()
        self._swept = False

    async def ensure_image(self, image: str, policy: str | None, auths: Mapping[str, tuple[str, str]] | None = None,
                           missing: tuple[str, ...] = ()) -> str | None:
        """Pull as the policy says, with `auths` (host -> user, password: imagePullSecrets); a string says why not."""
        mode = pull_mode(policy)
        if mode != "always" and image in self._present:
            return None
        if mode != "always":
            code, _, _ = await run_podman(self.podman, "image", "exists", image)
            if code == 0:
                self._present.add(image)
                return None
            if mode == "never":
                return f'image "{image}" is not present and imagePullPolicy is Never'
        host = registry_of(image)
        key = (image, cred := (auths or {}).get(host))
        pending = self._pulls.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._pull(image, host, cred, missing))
            self._pulls[key] = pending
            pending.add_done_callback(lambda _: self._pulls.pop(key, None))
        return await asyncio.shield(pending)

    async def _pull(self, image: str, host: str, cred: tuple[str, str] | None, missing: tuple[str, ...]) -> str | None:
        # Always a private auth file (empty without a pull secret): a task pulls with its
        # workflow's imagePullSecrets, never with whatever `podman login` left on this host.
        with private_authfile({host: cred} if cred else {}, self.settings.scratch_dir) as authfile:
            args = ["pull", "--quiet", "--authfile", str(authfile)]
            if insecure(host, self.settings.insecure_registries):
                args.append("--tls-verify=false")
            code, _, err = await run_podman(self.podman, *args, image, timeout_s=600)
        if code == 0:
            self._present.add(image)
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

    async def sweep(self) -> list[str]:
        """Remove containers and pods that a dead conveyor process on this host left behind."""
        self._swept = True
        code, out, _ = await run_podman(self.podman, "ps", "--all", "--filter", f"label={OWNER_LABEL}",
                                        "--format", "json")
        if code != 0 or not out.strip():
            return []
        host = socket.gethostname()
        stale: list[str] = []
        for item in json.loads(out):
            owner = (item.get("Labels") or {}).get(OWNER_LABEL, "")
            pid, _, where = owner.partition("@")
            if where == host and pid.isdigit() and _alive(int(pid)) and owner != self.owner:
                continue  # another live conveyor process drives it
            if owner == self.owner:
                continue
            stale.append(item.get("Id") or (item.get("Names") or [""])[0])
        if stale:
            await run_podman(self.podman, "rm", "--force", "--time", "0", *stale, timeout_s=120)
            await run_podman(self.podman, "pod", "prune", "--force", timeout_s=60)
            self._log(f"removed {len(stale)} container(s) left behind by a conveyor process that is gone")
        return stale

    async def launch(self, spec: TaskSpec) -> PodmanTask:
        if not spec.key or "/" in spec.key or spec.key in (".", ".."):
            raise ExecutorError(f"task key {spec.key!r} cannot name a container; use a name without '/'")
        if not self._swept:
            self._swept = True
            await self.sweep()
        scratch = self.settings.scratch_dir / spec.key
        if scratch.exists():
            await asyncio.to_thread(shutil.rmtree, scratch, True)
        # a crashed attempt of the same key may have left its container: names must be free
        task = PodmanTask(spec, self, scratch)
        self._tasks.add(task)
        task.on_done(lambda: self._tasks.discard(task))
        return task

    async def close(self) -> None:
        await asyncio.gather(*(t.terminate(grace_s=3.0) for t in list(self._tasks)))
        if self.background:
            await asyncio.gather(*self.background, return_exceptions=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
