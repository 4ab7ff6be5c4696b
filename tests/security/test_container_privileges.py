"""Containers run without extra privileges unless the manifest asks and the operator allows.

Unit level (no runtime): `privileges()` (what a securityContext may ask), the `podman run`
argv, and the setting. Real runs, once per runtime that works here (podman; the Docker
Engine), record the argv (podman) or the SDK's create keywords (docker) of a task with an
input, a volume and a script, check there is no --privileged, no added capability, no
host network/PID/IPC namespace and no bind mount from outside the task's scratch folder,
and look from inside: CapEff lacks CAP_SYS_ADMIN, the network and PID namespaces are not
the host's. Then a `privileged: true` container is refused (before its image is pulled)
with a message naming CONVEYOR_ALLOW_PRIVILEGED, and runs privileged once it is set.
Submit (`validate` with the Settings: the server, `conveyor run`) refuses such a manifest
already, naming each container; the executors' check, with the same message, is for
what submit could not see.
CI: 17 unit cases plus 3 runs per runtime that works (2 of them start a container; about 2 s).
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conveyor.cli.main import cli
from conveyor.config import Settings, config_rows
from conveyor.errors import InvalidInput, ManifestError
from conveyor.executors import _docker_task, podman
from conveyor.executors._oci import RunOptions, podman_run_argv
from conveyor.executors._privileges import Privileges, privileges
from conveyor.executors.base import ContainerSpec, InputFile, TaskResult, TaskSpec
from conveyor.executors.docker import DockerExecutor
from conveyor.executors.podman import PodmanExecutor, podman_problem
from conveyor.spec import lint, validate
from conveyor.spec._privileged import ALLOW_SETTING as ALLOW
from conveyor.spec._privileged import asked_privileges, privilege_refusal
from tests.docker_engine import engine

CAP_SYS_ADMIN, CAP_NET_ADMIN = 21, 12
#: flags that would give a container some of the host
HOST_FLAGS = ("--privileged", "--cap-add", "--volume", "-v", "--device", "--security-opt=label=disable")
HOST_NAMESPACES = ("--network", "--net", "--pid", "--ipc", "--uts", "--userns", "--cgroupns")


@pytest.mark.parametrize("context,expect", [
    ({}, Privileges()),
    ({"privileged": False, "runAsUser": 1000}, Privileges()),
    ({"capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": False},
     Privileges(cap_drop=("ALL",), no_new_privileges=True)),
])
def test_what_only_lowers_privileges_is_always_honoured(context: dict[str, Any], expect: Privileges) -> None:
    assert privileges(context, allowed=False) == expect


@pytest.mark.parametrize("context,asked", [
    ({"privileged": True}, "privileged: true"),
    ({"privileged": "true"}, "privileged: true"),
    ({"capabilities": {"add": ["SYS_ADMIN"]}}, "capabilities.add ['SYS_ADMIN']"),
])
def test_more_privileges_are_refused_unless_allowed(context: dict[str, Any], asked: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        privileges(context, allowed=False)
    assert asked in caught.value.message and "CONVEYOR_ALLOW_PRIVILEGED=true" in caught.value.message
    granted = privileges(context, allowed=True)
    assert granted.privileged or granted.cap_add == ("SYS_ADMIN",)


@pytest.mark.parametrize("caps", [["NET_ADMIN --privileged"], "SYS_ADMIN", [1], ["net_admin"]])
def test_capability_names_are_checked(caps: Any) -> None:
    with pytest.raises(InvalidInput, match="capability names"):
        privileges({"capabilities": {"add": caps}}, allowed=True)


def test_podman_argv_has_no_host_access_by_default_and_exactly_what_was_granted() -> None:
    plain = podman_run_argv("podman", RunOptions(name="n", image="i", security_context={"privileged": True}))
    assert not [a for a in plain if a in HOST_FLAGS or a.startswith("--cap")], plain
    assert plain[plain.index("--network") + 1] == "bridge" and not [a for a in plain if "host" in a], plain
    granted = privileges({"privileged": True, "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
                          "allowPrivilegeEscalation": False}, allowed=True)
    argv = podman_run_argv("podman", RunOptions(name="n", image="i", privileged=granted.privileged,
                                                cap_add=granted.cap_add, cap_drop=granted.cap_drop,
                                                no_new_privileges=granted.no_new_privileges))
    flags = argv[:argv.index("i")]
    assert "--privileged" in flags and flags[flags.index("--cap-add") + 1] == "NET_ADMIN"
    assert flags[flags.index("--cap-drop") + 1] == "MKNOD"
    assert flags[flags.index("--security-opt") + 1] == "no-new-privileges"


def test_the_setting_is_off_by_default_and_documented() -> None:
    assert Settings.from_env({}).allow_privileged is False
    assert Settings.from_env({"CONVEYOR_ALLOW_PRIVILEGED": "true"}).allow_privileged is True
    with pytest.raises(InvalidInput, match="CONVEYOR_ALLOW_PRIVILEGED"):
        Settings.from_env({"CONVEYOR_ALLOW_PRIVILEGED": "maybe"})
    row = next(r for r in config_rows({}) if r[0] == "CONVEYOR_ALLOW_PRIVILEGED")
    assert row[2] == "false" and "privileged" in row[3]


def _privileged_manifest() -> dict[str, Any]:
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "p-"},
            "spec": {"entrypoint": "main", "templates": [{
                "name": "main", "container": {"image": "busybox", "securityContext": {"capabilities": {"add": ["NET_RAW"]}}},
                "sidecars": [{"name": "dind", "image": "docker:dind", "securityContext": {"privileged": True}}]}]}}


def test_submit_refuses_privileged_containers_naming_each_unless_allowed(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as caught:
        validate(_privileged_manifest(), limits=Settings(home=tmp_path))
    found = {p.path: p.message for p in caught.value.problems}
    assert set(found) == {"spec.templates[main].container.securityContext",
                          "spec.templates[main].sidecars[dind].securityContext"}, found
    assert found["spec.templates[main].sidecars[dind].securityContext"].startswith(
        'container "dind": it asks for privileged: true') and all(ALLOW in m for m in found.values())
    validate(_privileged_manifest(), limits=Settings(home=tmp_path, allow_privileged=True))
    assert lint(_privileged_manifest()) == [], "plain lint knows no operator: it does not judge"


@pytest.mark.parametrize("context", [{"privileged": True}, {"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}},
                                     {"privileged": "true", "capabilities": {"add": ["ALL"]}}])
def test_submit_and_executor_say_the_same(context: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as caught:
        privileges(context, allowed=False)
    assert caught.value.message == privilege_refusal(asked_privileges(context))


def test_conveyor_run_refuses_a_privileged_container(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(_privileged_manifest()))
    result = CliRunner().invoke(cli, ["run", "-q", str(path)])
    assert result.exit_code != 0 and ALLOW + "=true" in result.output, result.output


# -- real runs -------------------------------------------------------------------------------

Make = Callable[[Settings], PodmanExecutor | DockerExecutor]


@pytest.fixture(scope="module", params=["podman", "docker"])
def runtime(request: pytest.FixtureRequest) -> Iterator[tuple[str, Make]]:
    if request.param == "podman":
        problem = asyncio.run(podman_problem("podman"))
        if problem is not None:
            pytest.skip(f"podman cannot run containers here ({problem}); run scripts/containers.sh")
        yield "podman", lambda s: PodmanExecutor(s, log=lambda _: None)
    else:
        found = engine()
        if found.host is None:
            pytest.skip(f"no Docker Engine for the docker executor: {found.problem}")
        host = found.host
        yield "docker", lambda s: DockerExecutor(s, host=host, log=lambda _: None)


@pytest.fixture
def recorded(runtime: tuple[str, Make], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What each container was started with: a podman argv, or docker's create keywords."""
    seen: list[Any] = []
    if runtime[0] == "podman":
        real_argv = podman.podman_run_argv

        def argv(*a: Any, **kw: Any) -> list[str]:
            seen.append(out := real_argv(*a, **kw))
            return out

        monkeypatch.setattr(podman, "podman_run_argv", argv)
    else:
        real_args = _docker_task.DockerTask._create_args

        def create_args(self: Any, *a: Any, **kw: Any) -> dict[str, Any]:
            seen.append(out := real_args(self, *a, **kw))
            return out

        monkeypatch.setattr(_docker_task.DockerTask, "_create_args", create_args)
    return seen


PROBE = ("grep CapEff /proc/self/status | cut -f2; readlink /proc/self/ns/net; readlink /proc/self/ns/pid; "
         "cat /in/data.txt; ls /vol")


def _spec(tmp_path: Path, key: str, **security: Any) -> TaskSpec:
    data = tmp_path / "data.txt"
    data.write_text("input\n")
    container = ContainerSpec(name="main", image="busybox", command=("sh",), script_source=PROBE,
                              volume_mounts=({"name": "v", "mountPath": "/vol"},), security_context=security)
    return TaskSpec(key=key, workflow="wf", namespace="default", node_id=key, node_name=key,
                    containers=(container,), inputs=(InputFile("/in/data.txt", data),),
                    log_dir=tmp_path / "logs" / key, collect_dir=tmp_path / "collect" / key)


def _run(make: Make, settings: Settings, spec: TaskSpec) -> TaskResult:
    async def go() -> TaskResult:
        executor = make(settings)
        try:
            return await (await executor.launch(spec)).wait()
        finally:
            await executor.close()

    return asyncio.run(go())


def _mount_sources(started: Any) -> list[str]:
    if isinstance(started, dict):  # docker: Mount objects are dicts with Source
        return [m["Source"] for m in started.get("mounts", [])]
    return [dict(p.split("=", 1) for p in started[i + 1].split(",") if "=" in p)["src"]
            for i, a in enumerate(started) if a == "--mount"]


def _granted(started: Any) -> list[str]:
    if isinstance(started, dict):
        keys = ("privileged", "cap_add", "devices", "volumes", "pid_mode", "ipc_mode", "userns_mode", "uts_mode")
        found = [k for k in keys if started.get(k)]
        return found + (["network host"] if started.get("network_mode") == "host" else [])
    flags = started[:started.index("busybox")]
    found = [a for a in flags if a in HOST_FLAGS]
    return found + [f"{a} {flags[i + 1]}" for i, a in enumerate(flags)
                    if a in HOST_NAMESPACES and flags[i + 1] == "host"]


def _capabilities(result: TaskResult) -> int:
    return int(str(result.result).splitlines()[0], 16)


def test_a_task_runs_without_extra_privileges(runtime: tuple[str, Make], recorded: list[Any],
                                              tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    result = _run(runtime[1], settings, _spec(tmp_path, "plain"))
    assert result.phase == "Succeeded", result.message
    caps, net, pid, data = str(result.result).splitlines()[:4]
    assert not _capabilities(result) >> CAP_SYS_ADMIN & 1, f"CapEff {caps} has CAP_SYS_ADMIN"
    assert net != os.readlink("/proc/self/ns/net") and pid != os.readlink("/proc/self/ns/pid")
    assert data == "input"
    assert len(recorded) == 1 and _granted(recorded[0]) == [], recorded[0]
    sources = _mount_sources(recorded[0])
    assert len(sources) == 3, sources  # the input, the volume, the script
    scratch = str(settings.scratch_dir) + os.sep
    assert all(s.startswith(scratch) for s in sources), f"bind mounts from outside {scratch}: {sources}"


def test_privileged_is_refused_before_the_pull_unless_the_operator_allows_it(
        runtime: tuple[str, Make], recorded: list[Any], tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    spec = replace(_spec(tmp_path, "refused", privileged=True), containers=(
        replace(_spec(tmp_path, "x", privileged=True).containers[0], image="no-such-image-conveyor:never"),))
    refused = _run(runtime[1], settings, spec)
    assert refused.phase != "Succeeded" and recorded == []
    assert 'container "main": it asks for privileged: true' in str(refused.message), refused.message
    assert "CONVEYOR_ALLOW_PRIVILEGED=true" in str(refused.message)
    allowed = _run(runtime[1], replace(settings, allow_privileged=True),
                   _spec(tmp_path, "allowed", privileged=True, capabilities={"add": ["NET_ADMIN"]}))
    granted = _granted(recorded[0])
    assert "privileged" in granted or "--privileged" in granted, recorded[0]
    if allowed.phase != "Succeeded":
        # A Docker Engine that itself runs without every capability (as in CI's container here)
        # cannot give them: conveyor asked, and the engine's own refusal is the task's message.
        assert runtime[0] == "docker" and "operation not permitted" in str(allowed.message), allowed.message
        return
    assert _capabilities(allowed) >> CAP_SYS_ADMIN & 1 and _capabilities(allowed) >> CAP_NET_ADMIN & 1
