"""`conveyor image pull` and `conveyor image ls` against a registry on loopback, once with
podman and once with docker (podman taken off PATH, a dockerd from tests/docker_engine.py).

Images reach the registry with `podman push` (the stand-ins live in podman); the command
under test then pulls them into the tool's own store, where `image ls` must list them.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conveyor.executors.podman import podman_problem
from tests.conftest import ROOT, path_without
from tests.docker_engine import engine
from tests.registry import registry_problem, serve_registry

SOURCE = "docker.io/library/busybox:latest"  # a stand-in scripts/containers.sh tags in podman


def _why_skip() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman; scripts/containers.sh does it)"
    if (problem := asyncio.run(podman_problem("podman"))) is not None:
        return f"podman cannot run here ({problem}); run scripts/containers.sh"
    if subprocess.run(["podman", "image", "exists", SOURCE]).returncode != 0:
        return f"the stand-in image {SOURCE} is missing; run scripts/containers.sh"
    return registry_problem(login=True)


_skip = _why_skip()
pytestmark = pytest.mark.skipif(_skip is not None, reason=_skip or "")


@dataclass
class Tool:
    name: str
    env: dict[str, str]  # the environment `conveyor` runs with
    has: Callable[[str], bool]  # whether the tool's store holds the image
    remove: Callable[[str], None]


@pytest.fixture(params=["podman", "docker"])
def tool(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tool]:
    # the tool's logins stay in this test: podman's auth file, docker's config folder
    (tmp_path / "auth.json").write_text('{"auths": {}}')
    env = {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home"), "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json"),
           "DOCKER_CONFIG": str(tmp_path / "docker-config")}
    if request.param == "podman":
        def has(ref: str) -> bool:
            return subprocess.run(["podman", "image", "exists", ref]).returncode == 0

        def remove(ref: str) -> None:
            subprocess.run(["podman", "rmi", "--force", ref], capture_output=True)

        yield Tool("podman", env, has, remove)
        return
    found = engine()
    if found.host is None:
        pytest.skip(f"no Docker Engine for `conveyor image` through docker: {found.problem}")
    if shutil.which("docker") is None:
        pytest.skip("the docker client is not installed (apt-get install docker.io; scripts/containers.sh does it)")
    # conveyor uses podman when it finds one: without it on PATH, docker is what it finds
    env.update(PATH=path_without("podman", tmp_path / "bin-no-podman"), DOCKER_HOST=found.host)

    def docker(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["docker", *args], env=env, capture_output=True, text=True)

    def remove_from_docker(ref: str) -> None:
        docker("rmi", "--force", ref)

    yield Tool("docker", env, lambda ref: docker("image", "inspect", ref).returncode == 0, remove_from_docker)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    with serve_registry(tmp_path / "registry") as host:
        yield host


def conveyor(tool: Tool, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conveyor", *args], cwd=ROOT, env=tool.env, capture_output=True,
                          text=True, timeout=300)


def seed(ref: str) -> None:
    """Put the stand-in into the registry as `ref`, and nowhere else."""
    subprocess.run(["podman", "push", "-q", "--tls-verify=false", SOURCE, ref], check=True, capture_output=True)


def test_pull_then_ls_lists_it(tool: Tool, registry: str) -> None:
    repo, tag = f"{registry}/cli/busybox", uuid.uuid4().hex[:10]
    ref = f"{repo}:{tag}"
    seed(ref)
    try:
        assert not tool.has(ref)
        pulled = conveyor(tool, "image", "pull", ref)
        assert pulled.returncode == 0, pulled.stderr
        assert pulled.stdout.strip() == ref
        assert pulled.stderr.strip() and "error" not in pulled.stderr.lower()  # the tool's progress
        assert tool.has(ref)

        listed = conveyor(tool, "image", "ls")
        assert listed.returncode == 0, listed.stderr
        rows = [line.split() for line in listed.stdout.splitlines()]
        assert rows[0][:2] == ["REPOSITORY", "TAG"]
        assert [repo, tag] in [row[:2] for row in rows[1:]], listed.stdout
    finally:
        tool.remove(ref)


@pytest.mark.parametrize("quiet", [True, False])
def test_pull_of_a_missing_image_is_one_clear_line(tool: Tool, registry: str, quiet: bool) -> None:
    ref = f"{registry}/cli/not-pushed:1"
    done = conveyor(tool, "image", "pull", *(["-q"] if quiet else []), ref)
    assert done.returncode == 1 and done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    if quiet:
        assert len(lines) == 1, done.stderr
    # the tool's progress (not quiet) comes first; conveyor's verdict is the last line
    assert lines[-1].startswith(f"error: registry {registry} has no image {ref} ("), done.stderr
    assert lines[-1].endswith("); check its name and tag") and "manifest unknown" in lines[-1]


def test_pull_from_a_registry_that_wants_a_login(tool: Tool, tmp_path: Path) -> None:
    with serve_registry(tmp_path / "locked", login=("u", "pw-" + uuid.uuid4().hex)) as host:
        done = conveyor(tool, "image", "pull", "-q", f"{host}/cli/busybox:1")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (f"error: registry {host} refused the pull: unauthorized; "
                                   f"log in first: conveyor registry login {host} -u USER --password-stdin")
