"""Registries: which host an image comes from, its credentials, TLS, and readable failures.

Credentials reach podman (or docker) only through an auth file of mode 0600 that
lives for one command (`private_authfile`), never on a command line or in a log.
Loopback registries (`127.0.0.1:*`, `localhost:*`, `[::1]:*`) are spoken to over
plain HTTP, as Debian's `docker-registry` serves them; other hosts need TLS
unless `CONVEYOR_INSECURE_REGISTRIES` names them.
https://kubernetes.io/docs/concepts/containers/images/#specifying-imagepullsecrets-on-a-pod
https://github.com/containers/image/blob/main/docs/containers-auth.json.5.md
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

__all__ = ["DOCKER_HUB", "auths_from_docker_config", "insecure", "one_line_error", "private_authfile",
           "pull_failure", "registry_of", "server_host"]

DOCKER_HUB = "docker.io"
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
_NOISE = (re.compile(r"^initializing source docker://\S+: "), re.compile(r"^reading manifest \S+ in \S+: "),
          re.compile(r"^trying to reuse blob \S+ at destination: "), re.compile(r"^writing blob: "))
# "no basic auth credentials": dockerd's words for a registry's 401 when it was given no login
_DENIED = ("unauthorized", "authentication required", "denied", "invalid username/password", "403 forbidden",
           "no basic auth credentials")


def registry_of(image: str) -> str:
    """The registry host of an image reference, as Docker reads one (`busybox` -> docker.io)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def server_host(server: str) -> str:
    """`https://reg.example:5000/v1/` -> `reg.example:5000`; Docker Hub's many spellings -> docker.io."""
    host = re.sub(r"^[a-z]+://", "", server.strip()).split("/", 1)[0]
    return DOCKER_HUB if host in ("index.docker.io", "registry-1.docker.io", "registry.hub.docker.com") else host


def insecure(host: str, extra: Iterable[str] = ()) -> bool:
    """Whether `host` is reached without TLS: loopback registries and the ones named in `extra`."""
    name = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]", 1)[0] + "]"
    return name in _LOOPBACK or host in {server_host(e) for e in extra}


def auths_from_docker_config(raw: str, what: str) -> dict[str, tuple[str, str]]:
    """host -> (username, password) from a `.dockerconfigjson` value; ValueError says what is wrong."""
    try:
        auths = json.loads(raw).get("auths") or {}
    except (ValueError, AttributeError):
        raise ValueError(f"{what} is not valid .dockerconfigjson (JSON with an \"auths\" map)") from None
    out: dict[str, tuple[str, str]] = {}
    for server, entry in dict(auths).items():
        user, password = entry.get("username"), entry.get("password")
        if (user is None or password is None) and entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        if user is None or password is None:
            raise ValueError(f"{what} has no username and password for {server}")
        out[server_host(server)] = (str(user), str(password))
    return out


@contextlib.contextmanager
def private_authfile(auths: Mapping[str, tuple[str, str]], folder: Path | None = None) -> Iterator[Path]:
    """An auth file (0600) holding `auths` (possibly none), deleted when the block ends."""
    body = {"auths": {host: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()}
                      for host, (u, p) in auths.items()}}
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="auth-", suffix=".json", dir=folder)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(body, f)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def one_line_error(stderr: str, fallback: str) -> str:
    """The last `Error:` line of podman/docker output, without the layers of context it wraps."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip() and "level=warning" not in ln]
    errors = [ln for ln in lines if ln.lower().startswith("error")] or lines
    if not errors:
        return fallback
    # docker's client says "Error response from daemon: ..."; podman says "Error: ..."
    text = re.sub(r"^error( response from daemon)?:?\s*", "", errors[-1], flags=re.IGNORECASE)
    for noise in _NOISE:
        text = noise.sub("", text)
    # registries repeat their error code as its message: "manifest unknown: manifest unknown"
    parts = text.split(": ")
    text = ": ".join(p for i, p in enumerate(parts) if i == 0 or p != parts[i - 1])
    return text or fallback


def pull_failure(image: str, stderr: str, code: int, *, had_auth: bool, missing: Iterable[str] = ()) -> str:
    """The node message for a failed pull: one line, saying what to do when access was denied."""
    text = one_line_error(stderr, f"podman pull exited {code}")
    if any(word in text.lower() for word in _DENIED):
        host = registry_of(image)
        if had_auth:
            hint = f"the credentials for {host} from imagePullSecrets were refused"
        else:
            hint = f"name a docker-registry secret for {host} in the workflow's imagePullSecrets"
        text = f"{text} (pull access denied; {hint})"
    gone = list(missing)
    if gone:
        text += f"; imagePullSecrets {', '.join(repr(n) for n in gone)} not found (conveyor secret list)"
    return f'failed to pull image "{image}": {text}'
