"""The seed platform's flow, end to end, with the real tools.

A project laid out as the seed platform's are (`dockerfile`, `src/requirements.txt`,
`src/main.py`, `src/lib/helpers.py`, `src/entrypoint.sh`) is built with `conveyor
image build`, pushed to a registry on loopback that requires a login (Debian's
`docker-registry` with an htpasswd file), removed locally, and then run by a workflow
on the podman executor: with `imagePullSecrets` naming a docker-registry secret it
pulls and runs; without it the node fails saying the registry refused access.

Everything goes through the `conveyor` command line, as a user would. The test's
registry login is kept in a private auth file (REGISTRY_AUTH_FILE), so it leaks into
neither other tests nor the host, and the executor never uses it anyway.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conveyor.executors.podman import podman_problem
from tests.registry import registry_problem, serve_registry

BASE = "localhost/conveyor/base:bookworm"
USER, PASSWORD = "seed", "pw-" + uuid.uuid4().hex[:12]


def _why_skip() -> str | None:
    if shutil.which("podman") is None:
        return "podman is not installed (apt-get install podman; scripts/containers.sh does it)"
    if (missing := registry_problem(login=True)) is not None:
        return missing
    problem = asyncio.run(podman_problem("podman"))
    if problem:
        return f"podman cannot run containers here ({problem}); run scripts/containers.sh"
    if subprocess.run(["podman", "image", "exists", BASE]).returncode != 0:
        return f"the offline base image {BASE} is missing; run scripts/containers.sh"
    return None


_skip = _why_skip()
pytestmark = pytest.mark.skipif(_skip is not None, reason=_skip or "")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    """A registry on a free loopback port that wants USER/PASSWORD; yields its host:port."""
    with serve_registry(tmp_path / "registry", login=(USER, PASSWORD)) as host:
        yield host


def write_project(folder: Path) -> None:
    (folder / "src" / "lib").mkdir(parents=True)
    (folder / "dockerfile").write_text(
        f"FROM {BASE}\n"
        "COPY src/ /app/\n"
        "WORKDIR /app\n"
        # requirements.txt lists nothing, so the install needs no network (the build runs with none)
        "RUN python3 -m venv /opt/venv && /opt/venv/bin/python -m pip install --no-index -q -r requirements.txt\n"
        'ENTRYPOINT ["sh", "/app/entrypoint.sh"]\n')
    (folder / "src" / "requirements.txt").write_text("# nothing to install\n")
    (folder / "src" / "lib" / "__init__.py").write_text("")
    (folder / "src" / "lib" / "helpers.py").write_text(
        "def greet(who: str) -> str:\n    return f'hello from the seed image, {who}'\n")
    (folder / "src" / "main.py").write_text(
        "import os\nfrom lib.helpers import greet\n\nprint(greet(os.environ['WHO']))\n")
    (folder / "src" / "entrypoint.sh").write_text("#!/bin/sh\nset -e\nexec /opt/venv/bin/python /app/main.py \"$@\"\n")


def workflow(image: str, *, pull_secret: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"entrypoint": "main", "templates": [{"name": "main", "container": {
        "image": image, "imagePullPolicy": "IfNotPresent",
        "env": [{"name": "WHO", "valueFrom": {"secretKeyRef": {"name": "who", "key": "name"}}}]}}]}
    if pull_secret:
        spec["imagePullSecrets"] = [{"name": "regcred"}]
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "seed-"},
            "spec": spec}


def test_build_push_and_run_from_a_private_registry(tmp_path: Path, registry: str) -> None:
    env = {**os.environ, "CONVEYOR_HOME": str(tmp_path / "home"), "CONVEYOR_EXECUTOR": "podman",
           "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}

    def conveyor(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "conveyor", *args], input=stdin, env=env, capture_output=True,
                              text=True, timeout=300)

    project = tmp_path / "project"
    write_project(project)
    image = f"{registry}/seed/proj:{uuid.uuid4().hex[:8]}"
    try:
        built = conveyor("image", "build", str(project), "-t", image, "--network", "none")
        assert built.returncode == 0, built.stderr
        assert built.stdout.strip() == image and "COPY src/ /app/" in built.stderr  # progress on stderr

        no_file = conveyor("image", "push", "-q", image)
        assert no_file.returncode == 1 and "REGISTRY_AUTH_FILE" in no_file.stderr and "log in first" in no_file.stderr
        (tmp_path / "auth.json").write_text('{"auths": {}}')
        refused = conveyor("image", "push", "-q", image)
        assert refused.returncode == 1
        assert f"registry {registry} refused the push" in refused.stderr and len(refused.stderr.splitlines()) == 1

        bad = conveyor("registry", "login", registry, "-u", USER, "--password-stdin", stdin="wrong\n")
        assert bad.returncode == 1 and bad.stderr.strip() == f"error: registry {registry} refused the login: unauthorized"
        login = conveyor("registry", "login", registry, "-u", USER, "--password-stdin", stdin=PASSWORD + "\n")
        assert login.returncode == 0, login.stderr
        assert PASSWORD not in login.stdout + login.stderr
        pushed = conveyor("image", "push", image)
        assert pushed.returncode == 0, pushed.stderr
        subprocess.run(["podman", "rmi", image], check=True, capture_output=True)

        made = conveyor("secret", "create", "docker-registry", "regcred", "--server", registry, "--username", USER,
                        "--password-stdin", stdin=PASSWORD)
        assert made.returncode == 0, made.stderr
        assert conveyor("secret", "create", "generic", "who", "--from-literal", "name=seed").returncode == 0
        listed = conveyor("secret", "list")
        assert "regcred" in listed.stdout and PASSWORD not in listed.stdout

        # without the pull secret: the registry refuses, and the node says so
        (tmp_path / "nosecret.yaml").write_text(yaml.safe_dump(workflow(image, pull_secret=False)))
        failed = conveyor("run", str(tmp_path / "nosecret.yaml"), "-q", "-o", "json")
        assert failed.returncode == 1, failed.stderr
        (node,) = [n for n in json.loads(failed.stdout)["status"]["nodes"].values() if n["type"] == "Pod"]
        assert node["phase"] == "Error"
        assert f'failed to pull image "{image}"' in node["message"]
        assert "unauthorized" in node["message"] and "pull access denied" in node["message"]
        assert PASSWORD not in failed.stdout + failed.stderr

        # with it: pulled with the secret's credentials, and run
        (tmp_path / "secret.yaml").write_text(yaml.safe_dump(workflow(image, pull_secret=True)))
        ran = conveyor("run", str(tmp_path / "secret.yaml"), "-q", "-o", "json")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        (node,) = [n for n in json.loads(ran.stdout)["status"]["nodes"].values() if n["type"] == "Pod"]
        assert node["phase"] == "Succeeded"
        assert node["outputs"]["result"] == "hello from the seed image, seed"
        assert PASSWORD not in ran.stdout + ran.stderr
        assert not list((tmp_path / "home" / "scratch").glob("auth-*.json"))  # the per-pull auth file is gone
    finally:
        subprocess.run(["podman", "rmi", "--force", image], capture_output=True)
