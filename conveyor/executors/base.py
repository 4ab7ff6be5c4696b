"""The executor Protocol and the plain data that crosses it.

A `TaskSpec` is fully resolved: every `{{...}}` has been substituted by the
engine, input artifacts have been fetched to host paths by the runtime. The
executor starts the containers (or host processes), streams logs to files,
and, after the main container(s) exit, reads output parameters and copies
output artifacts out to `collect_dir`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = ["ContainerSpec", "InputFile", "TaskSpec", "TaskResult", "TaskHandle", "Executor"]

Role = Literal["main", "init", "sidecar"]


@dataclass(frozen=True)
class ContainerSpec:
    name: str  # "main" for container/script templates; the container's own name otherwise
    role: Role = "main"
    image: str | None = None
    #: Kubernetes' imagePullPolicy: Always | IfNotPresent | Never (None: IfNotPresent here, see _oci.py)
    pull_policy: str | None = None
    command: tuple[str, ...] = ()  # empty: the image's entrypoint (see Settings.image_entrypoints)
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict, repr=False)  # may hold secret values
    working_dir: str | None = None
    #: script templates: the executor writes this to a file and appends the file's
    #: path to `command` (Argo runs `command + [script_path]`).
    script_source: str | None = None
    #: containerSet: names of containers (of the same task) that must succeed first
    dependencies: tuple[str, ...] = ()
    #: raw Kubernetes fields kept for executors that can honour them (containers)
    resources: dict[str, Any] = field(default_factory=dict)
    security_context: dict[str, Any] = field(default_factory=dict)
    volume_mounts: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class InputFile:
    """An input artifact: `source` (host file or folder) appears at `path` inside the task."""

    path: str
    source: Path
    mode: int | None = None


@dataclass(frozen=True)
class TaskSpec:
    key: str  # unique per attempt: names the scratch folder and the log files
    workflow: str
    namespace: str
    node_id: str
    node_name: str
    containers: tuple[ContainerSpec, ...]
    inputs: tuple[InputFile, ...] = ()
    #: output parameter name -> path inside the task (`valueFrom.path`)
    output_parameters: dict[str, str] = field(default_factory=dict)
    #: output artifact name -> path inside the task
    output_artifacts: dict[str, str] = field(default_factory=dict)
    volumes: tuple[dict[str, Any], ...] = ()
    #: host folder where output artifacts are copied to, one entry per name
    collect_dir: Path = Path()
    #: host folder for logs: `<log_dir>/<container>.log`
    log_dir: Path = Path()
    #: bound on each container's log file (CONVEYOR_MAX_LOG_BYTES: head and tail kept); 0: none
    max_log_bytes: int = 0
    #: registry host ("127.0.0.1:5000", "docker.io") -> (username, password), from the workflow's
    #: imagePullSecrets; executors hand these to the runtime's pull only (never a command line or a log)
    pull_auths: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)
    #: imagePullSecrets that do not exist: named in a pull failure's message, as a hint
    missing_pull_secrets: tuple[str, ...] = ()


@dataclass
class TaskResult:
    phase: Literal["Succeeded", "Failed", "Error"]
    exit_code: int | None = None
    message: str = ""
    #: stdout of the main container (Argo's `outputs.result`), trimmed of one trailing newline
    result: str | None = None
    #: output parameters that could be read (a missing file leaves its name out)
    parameters: dict[str, str] = field(default_factory=dict)
    #: output artifacts that exist: name -> host path under collect_dir
    artifacts: dict[str, Path] = field(default_factory=dict)
    started_at: float | None = None  # epoch seconds
    finished_at: float | None = None
    #: the image the main container ran, by content (`sha256:...`); None for host processes
    image_id: str | None = None
    #: per-container exit codes (containerSet, sidecars) for the node tree
    containers: dict[str, int | None] = field(default_factory=dict)


class TaskHandle(Protocol):
    async def wait(self) -> TaskResult:
        """Wait until the task ends; never raises for a task's own failure."""
        ...

    async def terminate(self, grace_s: float = 5.0) -> None:
        """Stop the task (SIGTERM, then SIGKILL after `grace_s`); `wait()` then returns."""
        ...


class Executor(Protocol):
    name: str

    async def launch(self, spec: TaskSpec) -> TaskHandle:
        """Start the task; raise `ExecutorError` only if it could not be started at all."""
        ...

    async def close(self) -> None: ...
