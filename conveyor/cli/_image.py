"""`conveyor image build|push|pull|ls` and `conveyor registry login|logout`: podman (or docker) made plain.

The tool's progress streams to stderr as it comes; a failure becomes one line
(`registry 127.0.0.1:5000 refused the login: unauthorized`) and exit code 1.
Passwords go to the tool on stdin only. Loopback registries (`127.0.0.1:*`,
`localhost:*`) and those in CONVEYOR_INSECURE_REGISTRIES are spoken to over
plain HTTP (podman's `--tls-verify=false`; docker's daemon already treats
127.0.0.0/8 so). Logins land where the tool keeps them (podman:
`$REGISTRY_AUTH_FILE`, else `$XDG_RUNTIME_DIR/containers/auth.json`); workflows
never use them: their tasks pull with their own imagePullSecrets.
https://docs.podman.io/en/latest/markdown/podman-build.1.html
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path

import click

from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import ConveyorError, InvalidInput, NotFound, Unauthenticated
from conveyor.executors._registry import insecure, one_line_error, registry_of, server_host

__all__ = ["image", "registry", "container_file"]

#: the names `image build` looks for in DIR, in this order (the seed platform's projects use `dockerfile`)
BUILD_FILES = ("Containerfile", "Dockerfile", "dockerfile")
# "no basic auth credentials" is dockerd's answer to a registry's 401 when it holds no login
_DENIED = ("unauthorized", "authentication required", "invalid username/password", "denied",
           "no basic auth credentials")
#: how podman (the registry's error code) and docker (the daemon's) say an image is not there
_MISSING = ("manifest unknown", "name unknown", "not found")


def _tool() -> str:
    for name in ("podman", "docker"):
        path = shutil.which(name)
        if path:
            return path
    raise ConveyorError("neither podman nor docker is installed; install one (apt-get install podman)")


def _tls(tool: str, host: str) -> list[str]:
    if Path(tool).name != "podman" or not insecure(host, Settings.from_env().insecure_registries):
        return []
    return ["--tls-verify=false"]


def _stream(argv: list[str], *, stdin: str | None = None, quiet: bool = False) -> tuple[int, str]:
    """Run the tool, echoing its output to stderr line by line; (exit code, the output's last lines)."""
    tail: deque[str] = deque(maxlen=40)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
    if stdin is not None:
        assert proc.stdin is not None
        proc.stdin.write(stdin)
        proc.stdin.close()
    assert proc.stdout is not None
    for line in proc.stdout:
        tail.append(line)
        if not quiet:
            sys.stderr.write(line)
            sys.stderr.flush()
    return proc.wait(), "".join(tail)


def _fail(action: str, host: str, output: str, code: int, tool: str, ref: str = "") -> ConveyorError:
    """One line for a failed `tool` run; `ref`, when given, is the image it was about."""
    text = one_line_error(output, f"{Path(tool).name} exited {code}")
    authfile = os.environ.get("REGISTRY_AUTH_FILE", "")
    if authfile and authfile in text and not Path(authfile).exists():
        # podman will not push or pull while REGISTRY_AUTH_FILE names a file that is not there yet
        return Unauthenticated(f"REGISTRY_AUTH_FILE={authfile} does not exist yet; log in first: "
                               f"conveyor registry login {host} -u USER --password-stdin")
    if any(word in text.lower() for word in _DENIED):
        hint = "" if action == "login" else f"; log in first: conveyor registry login {host} -u USER --password-stdin"
        short = "unauthorized" if any(w in text.lower() for w in ("unauthorized", "username/password",
                                                                  "no basic auth credentials")) else text
        return Unauthenticated(f"registry {host} refused the {action}: {short}{hint}")
    if action == "pull" and any(word in text.lower() for word in _MISSING):
        return NotFound(f"registry {host} has no image {ref} ({text}); check its name and tag")
    # the tool's own words often omit the image ("manifest unknown"), so the line names it
    return ConveyorError(f"{action} of {ref} failed: {text}" if ref else f"{action} failed: {text}")


def container_file(folder: Path, file: str | None) -> Path:
    """The build file: `-f` as given, else the first of BUILD_FILES in `folder`."""
    if file:
        path = Path(file)
        if not path.is_file():
            raise NotFound(f"build file {file} does not exist; check -f")
        return path
    for name in BUILD_FILES:
        # listdir, not exists(): on a case-insensitive filesystem Dockerfile would match dockerfile
        if name in os.listdir(folder):
            return folder / name
    raise NotFound(f"{folder} has no {', '.join(BUILD_FILES)}; add one or pass -f FILE")


@click.group()
def image() -> None:
    """Build, push, pull and list container images (with podman, or docker)."""


@image.command("build")
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("-t", "--tag", "ref", required=True, help="the image reference, e.g. 127.0.0.1:5000/proj:1")
@click.option("-f", "--file", "file", default=None, help="build file (default: DIR/Containerfile, Dockerfile "
                                                         "or dockerfile)")
@click.option("--network", default=None, help="network for RUN steps (e.g. none); default: the tool's")
@click.option("-q", "--quiet", is_flag=True, help="no progress, only the image reference on stdout")
@handle_errors
def build(folder: Path, ref: str, file: str | None, network: str | None, quiet: bool) -> None:
    """Build DIR (default: .) into image REF."""
    if not folder.is_dir():
        raise NotFound(f"build folder {folder} does not exist")
    tool = _tool()
    argv = [tool, "build", "-f", str(container_file(folder, file)), "-t", ref]
    argv += [f"--network={network}"] if network else []
    code, output = _stream([*argv, str(folder)], quiet=quiet)
    if code != 0:
        raise _fail("build", registry_of(ref), output, code, tool, ref)
    click.echo(ref)


@image.command("push")
@click.argument("ref")
@click.option("-q", "--quiet", is_flag=True, help="no progress")
@handle_errors
def push(ref: str, quiet: bool) -> None:
    """Push image REF to its registry (log in first with `conveyor registry login`)."""
    tool, host = _tool(), registry_of(ref)
    code, output = _stream([tool, "push", *_tls(tool, host), ref], quiet=quiet)
    if code != 0:
        raise _fail("push", host, output, code, tool, ref)
    click.echo(ref)


@image.command("pull")
@click.argument("ref")
@click.option("-q", "--quiet", is_flag=True, help="no progress")
@handle_errors
def pull(ref: str, quiet: bool) -> None:
    """Pull image REF from its registry."""
    tool, host = _tool(), registry_of(ref)
    code, output = _stream([tool, "pull", *_tls(tool, host), ref], quiet=quiet)
    if code != 0:
        raise _fail("pull", host, output, code, tool, ref)
    click.echo(ref)


@image.command("ls")
@handle_errors
def ls() -> None:
    """List local images."""
    tool = _tool()
    done = subprocess.run([tool, "images"], capture_output=True, text=True, errors="replace")
    if done.returncode != 0:
        raise ConveyorError(f"image ls failed: {one_line_error(done.stderr, f'exit code {done.returncode}')}")
    click.echo(done.stdout, nl=False)


@click.group()
def registry() -> None:
    """Log in to and out of container registries (for image push and pull)."""


@registry.command("login")
@click.argument("host")
@click.option("-u", "--username", required=True)
@click.option("--password-stdin", is_flag=True, required=True, help="read the password from stdin (required)")
@handle_errors
def login(host: str, username: str, password_stdin: bool) -> None:
    """Log in to registry HOST; the password is read from stdin."""
    password = sys.stdin.read().rstrip("\r\n")
    if not password:
        raise InvalidInput("--password-stdin read an empty password; pipe it in: "
                           "printf %s \"$PASS\" | conveyor registry login HOST -u USER --password-stdin")
    tool, host = _tool(), server_host(host)
    code, output = _stream([tool, "login", *_tls(tool, host), "-u", username, "--password-stdin", host],
                           stdin=password + "\n", quiet=True)
    if code != 0:
        raise _fail("login", host, output, code, tool)
    click.echo(f"logged in to {host} as {username}")


@registry.command("logout")
@click.argument("host")
@handle_errors
def logout(host: str) -> None:
    """Forget the login for registry HOST."""
    tool, host = _tool(), server_host(host)
    code, output = _stream([tool, "logout", host], quiet=True)
    if code != 0:
        raise ConveyorError(f"logout failed: {one_line_error(output, f'exit code {code}')}")
    click.echo(f"logged out of {host}")
