"""Registry helpers: hosts of image references, TLS for loopback, private auth files, pull messages."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

from conveyor.cli._image import container_file
from conveyor.executors._registry import (
    auths_from_docker_config,
    insecure,
    one_line_error,
    private_authfile,
    pull_failure,
    registry_of,
    server_host,
)
from conveyor.store.secrets import docker_config


def test_registry_of_reads_references_as_docker_does() -> None:
    assert registry_of("busybox") == "docker.io"
    assert registry_of("argoproj/argosay:v2") == "docker.io"
    assert registry_of("127.0.0.1:5000/seed/proj:1") == "127.0.0.1:5000"
    assert registry_of("localhost/conveyor/base:bookworm") == "localhost"
    assert registry_of("ghcr.io/org/img@sha256:abc") == "ghcr.io"
    assert server_host("https://index.docker.io/v1/") == "docker.io"
    assert server_host("http://127.0.0.1:5000/") == "127.0.0.1:5000"


def test_only_loopback_and_named_registries_skip_tls() -> None:
    assert insecure("127.0.0.1:5000") and insecure("localhost:5000") and insecure("[::1]:5000")
    assert not insecure("reg.lan:5000") and insecure("reg.lan:5000", ["http://reg.lan:5000"])
    assert not insecure("docker.io")


def test_auth_file_is_private_and_gone_afterwards() -> None:
    with private_authfile({"127.0.0.1:5000": ("alice", "pw")}) as path:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        auth = json.loads(path.read_text())["auths"]["127.0.0.1:5000"]["auth"]
        assert base64.b64decode(auth) == b"alice:pw"
    assert not path.exists()


def test_docker_config_round_trips() -> None:
    assert auths_from_docker_config(docker_config("https://127.0.0.1:5000", "u", "p:w"), "s") == {
        "127.0.0.1:5000": ("u", "p:w")}
    only_auth = json.dumps({"auths": {"reg": {"auth": base64.b64encode(b"u:p").decode()}}})
    assert auths_from_docker_config(only_auth, "s") == {"reg": ("u", "p")}


def test_pull_failures_read_as_one_clear_line() -> None:
    err = ("Error: initializing source docker://127.0.0.1:5000/p:1: reading manifest 1 in 127.0.0.1:5000/p: "
           "unauthorized: authentication required\n")
    msg = pull_failure("127.0.0.1:5000/p:1", err, 125, had_auth=False)
    assert msg.startswith('failed to pull image "127.0.0.1:5000/p:1": unauthorized: authentication required')
    assert "pull access denied" in msg and "imagePullSecrets" in msg and "\n" not in msg
    assert "were refused" in pull_failure("127.0.0.1:5000/p:1", err, 125, had_auth=True)
    dockerd = 'Head "http://127.0.0.1:5000/v2/p/manifests/1": no basic auth credentials'
    assert "pull access denied" in pull_failure("127.0.0.1:5000/p:1", dockerd, 1, had_auth=False)
    assert one_line_error('time="x" level=warning msg="retrying"\nError: boom\n', "f") == "boom"
    assert one_line_error("", "fallback") == "fallback"
    missing = ("Error: initializing source docker://127.0.0.1:5000/p:1: reading manifest 1 in 127.0.0.1:5000/p: "
               "manifest unknown: manifest unknown\n")
    assert one_line_error(missing, "f") == "manifest unknown"
    daemon = ("Error response from daemon: manifest for 127.0.0.1:5000/p:1 not found: "
              "manifest unknown: manifest unknown\n")
    assert one_line_error(daemon, "f") == "manifest for 127.0.0.1:5000/p:1 not found: manifest unknown"


def test_build_file_may_be_named_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "dockerfile").write_text("FROM x\n")
    assert container_file(tmp_path, None).name == "dockerfile"
    (tmp_path / "Containerfile").write_text("FROM x\n")
    assert container_file(tmp_path, None).name == "Containerfile"
