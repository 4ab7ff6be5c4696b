"""Settings: one typed object, built once from the environment and passed in.

Every variable conveyor reads is declared in `VARIABLES`, so `conveyor config`
prints them all with their defaults and meaning. Besides its own `CONVEYOR_*`
ones, conveyor reads the variables the seed platform's pipelines are configured
with (`PIPELINE_*`, `WORKFLOW_*`, `REGISTRY_PULL_SECRET`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conveyor.errors import InvalidInput

__all__ = ["Settings", "VARIABLES", "SECRET_VARIABLES", "config_rows", "mask"]

#: name -> (default, what it is for)
VARIABLES: dict[str, tuple[str, str]] = {
    "CONVEYOR_HOME": ("~/.conveyor", "folder holding the store, artifacts, logs and task scratch space"),
    "CONVEYOR_EXECUTOR": ("auto", "task executor: auto (podman, else docker when an engine answers, else process) | process | podman | docker"),
    "CONVEYOR_SANDBOX": ("auto", "process executor isolation: auto (bubblewrap when installed) | bwrap | none"),
    "CONVEYOR_ARTIFACT_DIR": ("$CONVEYOR_HOME/artifacts", "the local default artifact repository"),
    "CONVEYOR_NAMESPACE": ("default", "namespace for workflows that name none"),
    "CONVEYOR_MAX_PARALLEL_TASKS": ("0", "cap on tasks running at once on this machine (0: 4 x CPU cores)"),
    "CONVEYOR_MAX_MANIFEST_BYTES": (
        "10485760",
        "largest manifest accepted, in bytes: a file the CLI reads, or a request body the server reads (larger: 413)",
    ),
    "CONVEYOR_MAX_MANIFEST_VALUES": (
        "500000",
        "most JSON values (objects, lists, strings, numbers, keys) one request body may hold",
    ),
    "CONVEYOR_MAX_NODES": (
        "200000",
        "largest number of nodes one workflow may create (loops that surely make more are refused on submit)",
    ),
    "CONVEYOR_MAX_LOOP_ITEMS": (
        "100000",
        "most items one withItems/withParam/withSequence loop may expand to (literal ones are checked on submit)",
    ),
    "CONVEYOR_MAX_LOG_BYTES": (
        "10485760",
        "bound on each container's log file: the first and the last half are kept, with a line saying what was cut (0: none)",
    ),
    "CONVEYOR_KEEP_SCRATCH": ("false", "keep each task's scratch folder after it ends (debugging)"),
    "CONVEYOR_WARM_PYTHON": (
        "true",
        "process executor: fork `python`/`python3` script tasks from a warm interpreter kept per task root "
        "and workflow (each task still its own process) instead of starting a fresh one",
    ),
    "CONVEYOR_KEEP_SANDBOX": (
        "true",
        "process executor with bubblewrap: from a workflow's third task in a row in a task root on, "
        "fork its plain-command tasks in that root's kept sandbox (each still its own process and "
        "session) instead of building a new sandbox per task",
    ),
    "CONVEYOR_ALLOW_PRIVILEGED": (
        "false",
        "let containers whose securityContext asks for privileged: true or capabilities.add have them "
        "(podman, docker); false: such a workflow is refused at submit, saying so",
    ),
    "CONVEYOR_SEMAPHORES": (
        "",
        "semaphore limits, e.g. 'my-config/template=2,workflow=3' (ConfigMap/key or database key); unknown ones are 1",
    ),
    "CONVEYOR_SECRET_KEY_FILE": (
        "$CONVEYOR_HOME/secret.key",
        "key that encrypts secrets at rest (created 0600 on first use; keep it out of database backups)",
    ),
    "CONVEYOR_INSECURE_REGISTRIES": (
        "",
        "registries reached over plain HTTP, e.g. 'reg.lan:5000,10.0.0.5:5000' (loopback ones always are)",
    ),
    "CONVEYOR_NODE_PROFILES": (
        "small=cpu:1,memory:2Gi",
        "node-selector value -> limits a task gets here, e.g. 'small=cpu:1,memory:2Gi;big=cpu:2,memory:8Gi'",
    ),
    "CONVEYOR_HOST": ("", "server the CLI and conveyor.couler talk to (wins over PIPELINE_HOST)"),
    "CONVEYOR_TOKEN": ("", "bearer token for that server (wins over PIPELINE_TOKEN)"),
    "CONVEYOR_VERIFY_SSL": ("true", "check the server's TLS certificate (false for self-signed test servers)"),
    "PIPELINE_HOST": ("http://127.0.0.1:2746", "the Argo (or conveyor) server pipelines are submitted to"),
    "PIPELINE_NS": ("default", "namespace pipelines are submitted to"),
    "PIPELINE_TOKEN": ("", "bearer token for that server (conveyor token create; empty: no auth)"),
    "WORKFLOW_NS": ("", "namespace a pipeline's workflows run in (empty: PIPELINE_NS)"),
    "WORKFLOW_SA": ("", "service account a pipeline's workflows run as (kept for Argo on Kubernetes)"),
    "REGISTRY_PULL_SECRET": ("", "image pull secret a pipeline's workflows name (imagePullSecrets)"),
    "WORKFLOW_NODE_SELECTOR_KEY": ("", "node selector label key for a pipeline's tasks"),
    "WORKFLOW_NODE_SELECTOR_VALUE": ("", "node selector value for regular tasks"),
    "WORKFLOW_NODE_SELECTOR_VALUE_SMALL": ("", "node selector value for small tasks"),
    "WORKFLOW_NODE_TOLERATION_KEY": ("", "toleration key for a pipeline's tasks"),
    "WORKFLOW_NODE_TOLERATION_VALUE": ("", "toleration value for a pipeline's tasks"),
}

#: variables whose values are never printed whole
SECRET_VARIABLES = frozenset({"PIPELINE_TOKEN", "CONVEYOR_TOKEN"})


def mask(value: str) -> str:
    """A secret as `conveyor config` shows it: enough to recognise, never enough to use."""
    if not value:
        return ""
    return f"{value[:4]}… ({len(value)} characters)" if len(value) > 8 else "****"


def config_rows(env: Mapping[str, str]) -> list[tuple[str, str, str, str]]:
    """(variable, value as shown, default, meaning) for every variable: `conveyor config` and the UI."""
    rows = []
    for name, (default, meaning) in VARIABLES.items():
        value = env.get(name, "")
        shown = mask(value) if name in SECRET_VARIABLES else value
        rows.append((name, shown or "(not set)", default or "(none)", meaning))
    return rows


def _env(env: Mapping[str, str], name: str) -> str:
    return env.get(name, "") or VARIABLES[name][0]


def _int(env: Mapping[str, str], name: str) -> int:
    raw = _env(env, name)
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name}={raw!r} is not an integer; set it to a whole number") from None


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = _env(env, name).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise InvalidInput(f"{name}={raw!r} is not a boolean; use true or false")


@dataclass(frozen=True)
class Settings:
    home: Path
    executor: str = "auto"
    sandbox: str = "auto"
    artifact_dir: Path = field(default=Path())
    namespace: str = "default"
    max_parallel_tasks: int = 0
    max_manifest_bytes: int = 10 * 1024 * 1024
    max_manifest_values: int = 500_000
    max_nodes: int = 200_000
    max_loop_items: int = 100_000
    #: bound on each container's log file in bytes (head and tail kept, as kubelet's 10Mi default); 0: none
    max_log_bytes: int = 10 * 1024 * 1024
    keep_scratch: bool = False
    warm_python: bool = True
    keep_sandbox: bool = True
    #: containers may be privileged or add capabilities when their securityContext asks
    allow_privileged: bool = False
    #: image name (without tag) -> entrypoint used when a container names no command,
    #: standing in for the image's ENTRYPOINT when tasks run as host processes.
    image_entrypoints: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"argoproj/argosay": ("argosay",)}
    )

    #: the server the CLI's client commands and conveyor.couler talk to (Argo Server REST API)
    server_url: str = "http://127.0.0.1:2746"
    server_namespace: str = "default"
    server_token: str = ""
    verify_ssl: bool = True

    #: semaphore name -> limit: "CONFIGMAP/KEY" for configMapKeyRef semaphores, "KEY" for database ones
    semaphore_limits: Mapping[str, int] = field(default_factory=dict)

    #: node-selector value -> resource limits ({"cpu": "1", "memory": "2Gi"}); see runtime/profiles.py
    node_profiles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    #: the Fernet key file for secrets; empty Path(): `<home>/secret.key`
    secret_key_file: Path = field(default=Path())
    #: registries pulled from and pushed to without TLS, besides loopback ones
    insecure_registries: tuple[str, ...] = ()

    @property
    def db_path(self) -> Path:
        return self.home / "conveyor.db"

    @property
    def secret_key_path(self) -> Path:
        return self.secret_key_file if self.secret_key_file != Path() else self.home / "secret.key"

    @property
    def scratch_dir(self) -> Path:
        return self.home / "scratch"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    def effective_max_parallel_tasks(self) -> int:
        return self.max_parallel_tasks or 4 * (os.cpu_count() or 1)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        home = Path(os.path.expanduser(_env(env, "CONVEYOR_HOME"))).resolve()
        executor = _env(env, "CONVEYOR_EXECUTOR").lower()
        if executor not in ("auto", "process", "podman", "docker"):
            raise InvalidInput(
                f"CONVEYOR_EXECUTOR={executor!r} is not known; use auto, process, podman or docker"
            )
        sandbox = _env(env, "CONVEYOR_SANDBOX").lower()
        if sandbox not in ("auto", "bwrap", "none"):
            raise InvalidInput(f"CONVEYOR_SANDBOX={sandbox!r} is not known; use auto, bwrap or none")
        art = env.get("CONVEYOR_ARTIFACT_DIR") or str(home / "artifacts")
        return cls(
            home=home,
            executor=executor,
            sandbox=sandbox,
            artifact_dir=Path(os.path.expanduser(art)).resolve(),
            namespace=_env(env, "CONVEYOR_NAMESPACE"),
            max_parallel_tasks=_int(env, "CONVEYOR_MAX_PARALLEL_TASKS"),
            max_manifest_bytes=_int(env, "CONVEYOR_MAX_MANIFEST_BYTES"),
            max_manifest_values=_int(env, "CONVEYOR_MAX_MANIFEST_VALUES"),
            max_nodes=_int(env, "CONVEYOR_MAX_NODES"),
            max_loop_items=_int(env, "CONVEYOR_MAX_LOOP_ITEMS"),
            max_log_bytes=_log_cap(_int(env, "CONVEYOR_MAX_LOG_BYTES")),
            keep_scratch=_bool(env, "CONVEYOR_KEEP_SCRATCH"),
            warm_python=_bool(env, "CONVEYOR_WARM_PYTHON"),
            keep_sandbox=_bool(env, "CONVEYOR_KEEP_SANDBOX"),
            allow_privileged=_bool(env, "CONVEYOR_ALLOW_PRIVILEGED"),
            semaphore_limits=_limits(_env(env, "CONVEYOR_SEMAPHORES")),
            server_url=env.get("CONVEYOR_HOST") or _env(env, "PIPELINE_HOST"),
            # an explicit CONVEYOR_NAMESPACE wins; its default does not hide PIPELINE_NS
            server_namespace=env.get("CONVEYOR_NAMESPACE") or _env(env, "PIPELINE_NS"),
            server_token=env.get("CONVEYOR_TOKEN") or env.get("PIPELINE_TOKEN", ""),
            verify_ssl=_bool(env, "CONVEYOR_VERIFY_SSL"),
            secret_key_file=Path(os.path.expanduser(env.get("CONVEYOR_SECRET_KEY_FILE") or str(home / "secret.key"))),
            node_profiles=_profiles(_env(env, "CONVEYOR_NODE_PROFILES"), env.get("WORKFLOW_NODE_SELECTOR_VALUE_SMALL", "")),
            insecure_registries=tuple(
                r.strip() for r in env.get("CONVEYOR_INSECURE_REGISTRIES", "").split(",") if r.strip()
            ),
        )


def _log_cap(value: int) -> int:
    if value != 0 and value < 4096:
        raise InvalidInput(
            f"CONVEYOR_MAX_LOG_BYTES={value} is too small to keep a useful head and tail; "
            "use 4096 or more, or 0 for no bound"
        )
    return value


def _limits(raw: str) -> dict[str, int]:
    limits: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        name, sep, value = part.rpartition("=")
        try:
            limit = int(value)
        except ValueError:
            limit = 0
        if not sep or not name.strip() or limit < 1:
            raise InvalidInput(
                f"CONVEYOR_SEMAPHORES: {part!r} is not NAME=LIMIT with a positive limit; "
                "write e.g. my-config/template=2"
            )
        limits[name.strip()] = limit
    return limits


def _profiles(raw: str, small_alias: str) -> dict[str, dict[str, str]]:
    """`small=cpu:1,memory:2Gi;big=cpu:2` -> {"small": {"cpu": "1", "memory": "2Gi"}, ...}."""
    profiles: dict[str, dict[str, str]] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        name, sep, body = part.partition("=")
        limits: dict[str, str] = {}
        for item in filter(None, (i.strip() for i in body.split(","))):
            what, colon, value = item.partition(":")
            if not colon or what.strip() not in ("cpu", "memory") or not value.strip():
                limits = {}
                break
            limits[what.strip()] = value.strip()
        if not sep or not name.strip() or not limits:
            raise InvalidInput(
                f"CONVEYOR_NODE_PROFILES: {part!r} is not VALUE=cpu:N,memory:SIZE; write e.g. small=cpu:1,memory:2Gi"
            )
        profiles[name.strip()] = limits
    if small_alias and "small" in profiles:
        profiles.setdefault(small_alias, profiles["small"])
    return profiles
