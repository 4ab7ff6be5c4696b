"""The container executors' pure pieces: quantities, pull policies, `podman run` argv."""

from __future__ import annotations

import json

import pytest

from conveyor.errors import InvalidInput
from conveyor.executors._oci import (
    Bind,
    RunOptions,
    container_path,
    cpu_cores,
    memory_bytes,
    podman_run_argv,
    pull_mode,
)


@pytest.mark.parametrize("raw, expected", [
    ("256Mi", 256 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("128974848", 128974848), ("129e6", 129 * 10**6),
    ("123M", 123 * 10**6), ("0.5Gi", 2**29), ("1.5k", 1500), (64, 64), ("1Ki", 1024),
])
def test_memory_quantities(raw: object, expected: int) -> None:
    assert memory_bytes(raw) == expected


@pytest.mark.parametrize("raw, expected", [("500m", "0.5"), ("2", "2"), (1, "1"), ("0.25", "0.25"), ("1500m", "1.5")])
def test_cpu_quantities(raw: object, expected: str) -> None:
    assert cpu_cores(raw) == expected


@pytest.mark.parametrize("raw", ["lots", "1Qi", "-1Gi", "", "1 2"])
def test_bad_quantities_name_the_value(raw: str) -> None:
    with pytest.raises(InvalidInput, match="memory|quantity"):
        memory_bytes(raw)


def test_zero_is_refused() -> None:
    with pytest.raises(InvalidInput, match="more than zero"):
        cpu_cores("0")


@pytest.mark.parametrize("policy, mode", [(None, "missing"), ("IfNotPresent", "missing"), ("Always", "always"),
                                          ("Never", "never")])
def test_pull_policies(policy: str | None, mode: str) -> None:
    assert pull_mode(policy) == mode


def test_unknown_pull_policy() -> None:
    with pytest.raises(InvalidInput, match="imagePullPolicy 'Sometimes'"):
        pull_mode("Sometimes")


@pytest.mark.parametrize("path", ["relative/path", "/a,b", "/a\nb"])
def test_container_paths_that_could_break_a_mount_are_refused(path: str) -> None:
    with pytest.raises(InvalidInput):
        container_path(path, "input artifact path")


def test_container_path_is_normalised() -> None:
    assert container_path("/tmp/../work//x/", "p") == "/work/x"


def _value(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, a in enumerate(argv) if a == flag]


def test_argv_passes_user_values_as_single_arguments() -> None:
    hostile = "$(rm -rf /); echo `id` > /etc/passwd"
    argv = podman_run_argv("podman", RunOptions(
        name="t-main", image="busybox", command=("sh", "-c"), args=(hostile,), env={"X": hostile},
        labels={"dev.conveyor.task": "t"}, working_dir="/work",
    ))
    assert argv[-2:] == ["busybox", hostile]  # image, then the args, each one argv entry
    assert json.loads(_value(argv, "--entrypoint")[0]) == ["sh", "-c"]
    assert _value(argv, "--env") == [f"X={hostile}"]
    assert _value(argv, "--workdir") == ["/work"]
    assert _value(argv, "--label") == ["dev.conveyor.task=t"]
    assert _value(argv, "--pull") == ["never"] and "--replace" in argv


def test_argv_removes_the_container_as_it_exits_only_when_asked() -> None:
    kept = podman_run_argv("podman", RunOptions(name="n", image="busybox"))
    removed = podman_run_argv("podman", RunOptions(name="n", image="busybox", remove=True))
    assert "--rm" not in kept
    assert removed.index("--rm") < removed.index("busybox")  # a podman flag, not the container's argument


def test_argv_without_command_keeps_the_image_entrypoint() -> None:
    argv = podman_run_argv("podman", RunOptions(name="n", image="argoproj/argosay:v2", args=("echo", "hi")))
    assert "--entrypoint" not in argv
    assert argv[-3:] == ["argoproj/argosay:v2", "echo", "hi"]


def test_argv_limits_user_network_and_pod() -> None:
    argv = podman_run_argv("podman", RunOptions(
        name="n", image="i", resources={"limits": {"memory": "64Mi", "cpu": "500m"}},
        security_context={"runAsUser": 1000, "runAsGroup": 100}, network="none", pids_limit=50,
        binds=(Bind("/host/in", "/in", read_only=True),),
    ))
    assert _value(argv, "--memory") == [str(64 * 2**20)] and _value(argv, "--memory-swap") == [str(64 * 2**20)]
    assert _value(argv, "--cpus") == ["0.5"]
    assert _value(argv, "--user") == ["1000:100"]
    assert _value(argv, "--network") == ["none"]
    assert _value(argv, "--pids-limit") == ["50"]
    assert _value(argv, "--mount") == ["type=bind,src=/host/in,dst=/in,ro=true"]
    in_pod = podman_run_argv("podman", RunOptions(name="n", image="i", pod="p"))
    assert _value(in_pod, "--pod") == ["p"] and "--network" not in in_pod


def test_bad_limits_fail_before_anything_runs() -> None:
    with pytest.raises(InvalidInput, match="'lots'"):
        podman_run_argv("podman", RunOptions(name="n", image="i", resources={"limits": {"memory": "lots"}}))
