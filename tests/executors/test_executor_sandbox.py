"""The bwrap command line (pure), the host layout it binds, and argv/exit helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conveyor.executors._container import container_argv, exit_code, exit_message, image_name
from conveyor.executors._sandbox import HostLayout, bwrap_argv, host_layout
from conveyor.executors.base import ContainerSpec

LAYOUT = HostLayout(
    binds=(("/usr", "/usr"), ("/etc", "/etc"), ("/root/.pyenv", "/root/.pyenv")),
    symlinks=(("/bin", "usr/bin"),),
)


def test_bwrap_argv_binds_root_and_host_folders() -> None:
    argv = bwrap_argv(
        "/usr/bin/bwrap", Path("/s/k/root"), LAYOUT, ["sh", "-c", "echo hi"], cwd="/work"
    )
    assert argv[:4] == ["/usr/bin/bwrap", "--bind", "/s/k/root", "/"]
    # host folders come after the root, read-only, in order
    binds = [argv[i + 1 : i + 3] for i, a in enumerate(argv) if a == "--ro-bind"]
    assert binds == [["/usr", "/usr"], ["/etc", "/etc"], ["/root/.pyenv", "/root/.pyenv"]]
    assert argv.index("--ro-bind") > argv.index("--bind")
    for flag in ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent"):
        assert flag in argv
    assert "--unshare-net" not in argv and "--unshare-all" not in argv  # sidecars share the network
    assert argv[argv.index("--proc") + 1] == "/proc" and argv[argv.index("--dev") + 1] == "/dev"
    assert argv[argv.index("--chdir") + 1] == "/work"
    assert argv[-4:] == ["--", "sh", "-c", "echo hi"]  # a command starting with -- stays a command


def test_layout_covers_bound_folders_and_links() -> None:
    assert (
        LAYOUT.covers("/usr/bin/env")
        and LAYOUT.covers("/bin/sh")
        and LAYOUT.covers("/root/.pyenv/shims")
    )
    assert not LAYOUT.covers("/usrx") and not LAYOUT.covers("/root") and not LAYOUT.covers("/tmp/x")


def test_host_layout_binds_system_folders_and_path_tools(tmp_path: Path) -> None:
    pyenv = tmp_path / "pyenv"
    for d in ("shims", "bin", "versions/3.11/bin", "plugins/virtualenv/shims"):
        (pyenv / d).mkdir(parents=True)
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    base = tmp_path / "base" / "bin"
    base.mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text(f"home = {base}\ninclude-system-site-packages = false\n")
    tools = tmp_path / "tools"
    tools.mkdir()
    path = os.pathsep.join(
        [
            str(pyenv / "plugins/virtualenv/shims"),
            str(pyenv / "shims"),
            str(pyenv / "bin"),
            str(venv / "bin"),
            str(tools),
            "/usr/local/bin",
            "relative/bin",
            str(tmp_path / "missing"),
        ]
    )
    layout = host_layout(path)
    dests = [dest for _, dest in layout.binds]
    assert str(pyenv) in dests  # the pyenv root, so shims can run versions/...
    assert not any(d.startswith(f"{pyenv}/") for d in dests)  # nested entries folded into it
    assert str(venv) in dests and str(base.parent) in dests  # a venv and its base interpreter
    # a plain tools folder is shown under conveyor's own path, never inside /tmp
    shown = [dest for src, dest in layout.binds if src == str(tools)]
    assert shown and shown[0].startswith("/.conveyor/path/") and str(tools) not in dests
    assert shown[0] in layout.path_inside.split(os.pathsep) and str(tools) not in layout.path_inside
    assert str(tmp_path / "missing") not in dests and "relative/bin" not in dests
    assert "/usr/local/bin" not in dests  # already inside /usr
    assert "/usr" in dests or ("/usr", "usr") in layout.symlinks
    for link, target in layout.symlinks:  # merged-/usr hosts: /bin is a link, recreated as one
        assert os.path.islink(link) and os.readlink(link) == target


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("argoproj/argosay:v2", "argoproj/argosay"),
        ("argoproj/argosay", "argoproj/argosay"),
        ("localhost:5000/team/app:1.0", "localhost:5000/team/app"),
        ("busybox@sha256:abc", "busybox"),
        ("docker.io/argoproj/argosay:v2@sha256:abc", "docker.io/argoproj/argosay"),
    ],
)
def test_image_name_drops_tag_and_digest(image: str, name: str) -> None:
    assert image_name(image) == name


ENTRYPOINTS = {"argoproj/argosay": ("argosay",)}


@pytest.mark.parametrize(
    ("container", "argv"),
    [
        (ContainerSpec(name="main", image="argoproj/argosay:v2"), ["argosay"]),
        (
            ContainerSpec(name="main", image="docker.io/argoproj/argosay:v2", args=("echo", "x")),
            ["argosay", "echo", "x"],
        ),
        (
            ContainerSpec(name="main", image="argoproj/argosay:v2", command=("cat",), args=("/f",)),
            ["cat", "/f"],
        ),
        (
            ContainerSpec(name="main", image="busybox", args=("sh", "-c", "true")),
            ["sh", "-c", "true"],
        ),
        (ContainerSpec(name="main", image="busybox"), []),
    ],
)
def test_container_argv(container: ContainerSpec, argv: list[str]) -> None:
    assert container_argv(container, ENTRYPOINTS) == argv


def test_exit_codes_and_messages() -> None:
    assert exit_code(0) == 0 and exit_code(3) == 3 and exit_code(-9) == 137
    assert exit_message(1) == "Error (exit code 1)"
    assert exit_message(137) == "Error (exit code 137): killed by signal SIGKILL"
    assert exit_message(143).endswith("SIGTERM")
