"""The docker executor: each task in Docker Engine containers, through the `docker` SDK.

It talks the Docker Engine API (DOCKER_HOST, or the default socket), so it drives a
real `dockerd` or podman's Docker-compatible socket alike. How one task's containers are
laid out (a network holder standing in for the pod, bind mounts) is in _docker_task.py.

The SDK blocks. Short calls run on the executor's own thread pool; each container's
output readers (attached before it starts) and its wait run on threads of their own,
because they last as long as the container and would starve a bounded pool (asyncio's
default one has 6 threads on these 2-core machines).
https://argo-workflows.readthedocs.io/en/latest/workflow-executors/
https://docs.docker.com/reference/api/engine/
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from conveyor.config import Settings
from conveyor.errors import ExecutorError
from conveyor.executors._ctr import (
    OWNER_LABEL,
    check_key,
    fresh_scratch,
    owner_id,
    stale,
    terminate_all,
    track,
)
from conveyor.executors._docker_task import DockerTask
from conveyor.executors._dockerio import error_text
from conveyor.executors._pulls import ImagePulls
from conveyor.executors._registry import pull_failure
from conveyor.executors.base import TaskSpec

__all__ = ["DockerExecutor", "DockerTask", "docker_problem"]

_logger = logging.getLogger(__name__)
_T = TypeVar("_T")


def _client(host: str | None, timeout_s: int | None = 60) -> Any:
    import docker

    # one connection per concurrent SDK call: a pool smaller than that logs "pool is full"
    if host:
        return docker.DockerClient(base_url=host, timeout=timeout_s, max_pool_size=64)
    return docker.DockerClient.from_env(timeout=timeout_s, max_pool_size=64)


async def docker_problem(host: str | None = None) -> str | None:
    """Why no Docker Engine answers at `host` (None: DOCKER_HOST or the default socket), or None."""
    try:
        import docker  # noqa: F401
    except ImportError:
        return "the docker SDK is not installed (pip install 'docker>=7')"

    def ping() -> None:
        client = _client(host, timeout_s=5)
        try:
            client.ping()
        finally:
            client.close()

    where = _where(host)
    try:
        await asyncio.to_thread(ping)
    except Exception as e:  # noqa: BLE001 - whatever it is, there is no engine to use
        return f"no Docker Engine answers at {where}: {_ping_failure(e)}"
    return None


#: words in the SDK's error -> what they mean; the SDK wraps the socket's error in layers of
#: reprs ("Error while fetching server API version: ('Connection aborted.', FileNotFoundError(2, ...))")
_PING_FAILURES = (
    ("FileNotFoundError", "the socket does not exist (is dockerd running?)"),
    ("Connection refused", "connection refused (is dockerd running?)"),
    ("PermissionError", "permission denied on the socket"),
)


def _ping_failure(e: BaseException) -> str:
    text = error_text(e)
    return next((meaning for words, meaning in _PING_FAILURES if words in text), text)


def _where(host: str | None) -> str:
    # named in messages: "no engine answers" alone does not say where conveyor looked
    return host or os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def _unreachable(e: BaseException) -> bool:
    """Whether an SDK error means no engine answered at all (not an engine refusing)."""
    import requests

    return isinstance(e, requests.exceptions.ConnectionError) or any(w in error_text(e) for w, _ in _PING_FAILURES)


#: the `containers.create` keywords that go in the container's HostConfig
_HOST_CONFIG = frozenset({"pids_limit", "mounts", "network_mode", "mem_limit", "memswap_limit", "nano_cpus",
                          "privileged", "cap_add", "cap_drop", "security_opt"})


class DockerExecutor(ImagePulls):
    name = "docker"

    def __init__(self, settings: Settings, *, host: str | None = None, log: Callable[[str], None] | None = None,
                 network: str | None = None, pids_limit: int = 4096, threads: int = 16) -> None:
        """`network`: None picks "bridge" when the daemon has that network, else "none"
        (a dockerd started with `--bridge=none`, as on these machines, has no bridge)."""
        super().__init__()
        self.settings = settings
        self.host = host
        self.client = _client(host)
        self.streams = _client(host, timeout_s=None)  # attach and wait last as long as a container
        self.network = network or ""
        self.pids_limit = pids_limit
        self.owner = owner_id()
        self.log = log or _logger.warning
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="conveyor-docker")
        self._tasks: set[DockerTask] = set()
        self._started = False

    async def call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run a short, blocking SDK call on the executor's pool."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))

    def create(self, name: str, kw: dict[str, Any]) -> str:
        """Create a container (replacing one a crashed attempt left under that name); its id.

        `kw` are `containers.create` keywords; the low-level call is made, since the SDK's
        `containers.create` also inspects the new container (one more request per task)."""
        import docker

        api = self.client.api
        args = {k: v for k, v in kw.items() if k not in _HOST_CONFIG}
        args["host_config"] = api.create_host_config(**{k: v for k, v in kw.items() if k in _HOST_CONFIG})
        try:
            return str(api.create_container(name=name, **args)["Id"])
        except docker.errors.APIError as e:
            if e.status_code != 409:
                raise
        self.remove(name)
        return str(api.create_container(name=name, **args)["Id"])

    def remove(self, cid: str) -> None:
        import docker

        try:
            self.client.api.remove_container(cid, force=True, v=True)
        except docker.errors.NotFound:
            pass
        except Exception as e:  # noqa: BLE001 - the engine refused, or is gone: the next sweep removes it
            self.log(f"could not remove container {cid[:12]}: {error_text(e)}")

    def kill(self, cid: str, sig: int) -> None:
        """Signal a container from a pool thread; one that already ended is not an error."""
        name = "SIGKILL" if sig == signal.SIGKILL else "SIGTERM"

        def send() -> None:
            try:
                self.client.api.kill(cid, signal=name)
            except Exception:  # noqa: BLE001 - not running any more (409) or gone (404)
                pass

        self._pool.submit(send)

    def missing(self, e: BaseException) -> ExecutorError:
        """The error for a task launched while no engine answers (the attempt is an Error; retries apply)."""
        return ExecutorError(
            f"the container runtime is missing: no Docker Engine answers at {_where(self.host)}: {_ping_failure(e)}; "
            "start dockerd or point DOCKER_HOST at one that runs, or set CONVEYOR_EXECUTOR to another executor")

    def engine_gone(self, e: BaseException) -> str | None:
        """`missing(e)`'s message when `e` says no engine answered, else None (the engine refused)."""
        return self.missing(e).message if _unreachable(e) else None

    async def _inspect_id(self, image: str) -> str | None:
        try:
            attrs = await self.call(self.client.api.inspect_image, image)
        except Exception as e:  # noqa: BLE001 - not present (or unreadable): pulled, or no id recorded
            if _unreachable(e):
                raise self.missing(e) from None  # a pull would only fail the same way, less clearly
            return None
        return str(attrs.get("Id") or "") or None

    async def _pull(self, image: str, host: str, cred: tuple[str, str] | None, missing: tuple[str, ...]) -> str | None:
        from docker.utils import parse_repository_tag

        repo, tag = parse_repository_tag(image)
        # the credentials go in the API request's X-Registry-Auth header only; TLS is the
        # daemon's choice (dockerd treats loopback registries as insecure; others need its config)
        auth = {"username": cred[0], "password": cred[1]} if cred else None
        try:
            # tag "latest" when none: the SDK would otherwise pull every tag of the repository
            await self.call(functools.partial(self.client.images.pull, repo, tag=tag or "latest", auth_config=auth))
        except Exception as e:  # noqa: BLE001
            return pull_failure(image, error_text(e), 1, had_auth=cred is not None, missing=missing)
        return None

    async def sweep(self) -> list[str]:
        """Remove containers that a dead conveyor process on this host left behind."""
        try:
            found = await self.call(functools.partial(
                self.client.api.containers, all=True, filters={"label": OWNER_LABEL}))
        except Exception as e:  # noqa: BLE001
            self.log(f"could not list leftover containers: {error_text(e)}")
            return []
        gone = stale(((str(item["Id"]), item.get("Labels") or {}) for item in found), self.owner,
                     socket.gethostname())
        await asyncio.gather(*(self.call(self.remove, cid) for cid in gone))
        if gone:
            self.log(f"removed {len(gone)} container(s) left behind by a conveyor process that is gone")
        return gone

    async def _first_launch(self) -> None:
        if not self.network:
            try:
                bridged = await self.call(functools.partial(self.client.api.networks, names=["bridge"]))
            except Exception as e:  # noqa: BLE001
                if _unreachable(e):
                    raise self.missing(e) from None
                raise ExecutorError(f"the Docker Engine at {_where(self.host)} could not list its networks: "
                                    f"{error_text(e)}") from None
            self.network = "bridge" if any(n.get("Name") == "bridge" for n in bridged) else "none"
        # only now: a first launch that found no engine is tried again by the next one
        self._started = True
        await self.sweep()

    async def launch(self, spec: TaskSpec) -> DockerTask:
        check_key(spec.key)
        if not self._started:
            await self._first_launch()
        scratch = await fresh_scratch(self.settings.scratch_dir, spec.key)
        return track(self._tasks, DockerTask(spec, self, scratch))

    async def close(self) -> None:
        await terminate_all(self._tasks)
        await asyncio.get_running_loop().run_in_executor(None, self._pool.shutdown, True)
        self.client.close()
        self.streams.close()

