"""Turning the engine's launch plan into an executor TaskSpec, and back.

Staging input artifacts out of the repository before a task starts and storing
its output artifacts after it ends happen here, so executors only see host
paths and the engine only sees artifact keys.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conveyor.config import Settings
from conveyor.errors import ConveyorError
from conveyor.executors.base import ContainerSpec, InputFile, TaskResult, TaskSpec
from conveyor.runtime.profiles import apply_profile, profile_for
from conveyor.runtime.secrets import SecretResolver
from conveyor.store import ArtifactRepo

__all__ = ["build_spec", "stage_inputs", "store_outputs", "result_event"]


def _env(container: Mapping[str, Any], secrets: SecretResolver | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        if "value" in item:
            env[item["name"]] = "" if item["value"] is None else str(item["value"])
        elif (item.get("valueFrom") or {}).get("secretKeyRef") is not None:
            if secrets is None:
                raise ConveyorError(f"env {item['name']}: secretKeyRef cannot be resolved here (no secret store)")
            value = secrets.env_value(item["name"], item["valueFrom"]["secretKeyRef"])
            if value is not None:
                env[item["name"]] = value
    return env


def _container(c: Mapping[str, Any], name: str, role: str, secrets: SecretResolver | None = None) -> ContainerSpec:
    if not isinstance(name, str) or not name or "/" in name or "\0" in name or name in (".", ".."):
        # submit refuses these (conveyor.spec._containers); a log file is named after the container
        raise ConveyorError(f"container name {name!r} cannot name a file; use a Kubernetes name "
                            "(lowercase letters, digits and '-')")
    return ContainerSpec(
        name=name,
        role=role,  # type: ignore[arg-type]
        image=c.get("image"),
        pull_policy=c.get("imagePullPolicy"),
        command=tuple(str(x) for x in c.get("command") or ()),
        args=tuple(str(x) for x in c.get("args") or ()),
        env=_env(c, secrets),
        working_dir=c.get("workingDir"),
        script_source=c.get("source"),
        dependencies=tuple(c.get("dependencies") or ()),
        resources=dict(c.get("resources") or {}),
        security_context=dict(c.get("securityContext") or {}),
        volume_mounts=tuple(c.get("volumeMounts") or ()),
    )


def containers_of(tmpl: Mapping[str, Any], secrets: SecretResolver | None = None) -> tuple[ContainerSpec, ...]:
    out = [_container(c, c.get("name") or f"init-{i}", "init", secrets)
           for i, c in enumerate(tmpl.get("initContainers") or [])]
    out += [_container(c, c.get("name") or f"sidecar-{i}", "sidecar", secrets)
            for i, c in enumerate(tmpl.get("sidecars") or [])]
    if tmpl.get("containerSet"):
        shared = list(tmpl["containerSet"].get("volumeMounts") or [])
        for c in tmpl["containerSet"].get("containers") or []:
            mounts = shared + list(c.get("volumeMounts") or [])
            out.append(_container({**c, "volumeMounts": mounts}, c["name"], "main", secrets))
    else:
        main = tmpl.get("script") or tmpl.get("container") or {}
        out.append(_container(main, "main", "main", secrets))
    return tuple(out)


def build_spec(
    settings: Settings, plan: Mapping[str, Any], key: str, inputs: tuple[InputFile, ...], workflow_volumes: list[Any],
    *, secrets: SecretResolver | None = None, pull_secrets: Sequence[Mapping[str, Any]] = (),
    node_selector: Mapping[str, Any] | None = None,
) -> TaskSpec:
    """The executor's TaskSpec; `secrets` resolves secretKeyRef env vars and `pull_secrets` (imagePullSecrets)."""
    tmpl = plan["template"]
    auths, missing = secrets.pull_auths(pull_secrets) if secrets is not None and pull_secrets else ({}, ())
    volumes = tuple(workflow_volumes) + tuple(tmpl.get("volumes") or ())
    base = settings.scratch_dir / key
    return TaskSpec(
        key=key,
        workflow=plan["workflow"],
        namespace=plan["namespace"],
        node_id=plan["node_id"],
        node_name=plan["node_name"],
        containers=apply_profile(containers_of(tmpl, secrets), profile_for(
            {**(node_selector or {}), **(tmpl.get("nodeSelector") or {})}, settings.node_profiles)),
        inputs=inputs,
        output_parameters=dict(plan["outputs"]["parameters"]),
        output_artifacts={n: a["path"] for n, a in plan["outputs"]["artifacts"].items()},
        volumes=volumes,
        collect_dir=base.with_name(key + ".out"),
        log_dir=settings.logs_dir / plan["namespace"] / plan["workflow"] / key,
        max_log_bytes=settings.max_log_bytes,
        pull_auths=auths,
        missing_pull_secrets=missing,
    )


def _stage_one(repo: ArtifactRepo, art: Mapping[str, Any], dest: Path) -> None:
    if "raw" in art:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(str(art["raw"].get("data", "")))
        return
    key = (art.get("local") or {}).get("key")
    if not key:
        raise ConveyorError(f"input artifact {art.get('name')!r} names no location")
    repo.get(key, dest, sub_path=art.get("subPath"))


async def stage_inputs(repo: ArtifactRepo, plan: Mapping[str, Any], stage_dir: Path) -> tuple[InputFile, ...]:
    files = []
    for i, art in enumerate(plan["inputs"]["artifacts"]):
        dest = stage_dir / f"{i}-{art['name']}"
        await asyncio.to_thread(_stage_one, repo, art, dest)
        mode = art.get("mode")
        files.append(InputFile(path=art["path"], source=dest, mode=int(mode) if mode is not None else None))
    return tuple(files)


async def store_outputs(repo: ArtifactRepo, plan: Mapping[str, Any], result: TaskResult) -> dict[str, Any]:
    stored: dict[str, Any] = {}
    for name, path in result.artifacts.items():
        want = plan["outputs"]["artifacts"].get(name)
        if want is None:
            continue
        info = await asyncio.to_thread(repo.put, want["key"], Path(path), archive=want["archive"])
        stored[name] = {"key": info["key"]}
    return stored


def result_event(node_id: str, result: TaskResult, artifacts: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": "task_finished",
        "node": node_id,
        "result": {
            "phase": result.phase,
            "exitCode": result.exit_code,
            "message": result.message,
            "result": result.result,
            "parameters": dict(result.parameters),
            "artifacts": dict(artifacts),
            "startedAt": result.started_at,
            "finishedAt": result.finished_at or time.time(),
            "imageID": result.image_id,
        },
    }


def cleanup(*paths: Path) -> None:
    for p in paths:
        shutil.rmtree(p, ignore_errors=True)
