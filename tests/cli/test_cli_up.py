"""`conveyor up`: the server and UI in one command, the files it names loaded (a missing one named;
each Workflow kept as a WorkflowTemplate, exactly one of them run), a local registry when Debian's
docker-registry is installed (its failure named, not fatal), the address and export lines printed
(Hera and legacy Hera work with them), and Ctrl-C ends it all."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from conveyor.cli._local_registry import start_registry
from conveyor.cli._up import TOKEN_FILE, local_token
from conveyor.config import Settings
from conveyor.store import Store
from tests.cli.test_cli_image import SOURCE as BUSYBOX
from tests.cli.test_cli_image import _skip as PODMAN_PROBLEM
from tests.conftest import ROOT, STANDINS, free_port, path_without
from tests.registry import registry_problem

CRON = {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": {"name": "nightly"},
        "spec": {"schedules": ["0 2 * * *"], "workflowSpec": {"entrypoint": "main", "templates": [
            {"name": "main", "container": {"image": "busybox", "command": ["true"]}}]}}}
LAST_LINE = "  export PIPELINE_TOKEN="
LEGACY_HERA_SCRIPT = ROOT / "examples" / "pipelines" / "legacy_hera_pipeline.py"
SOURCE_LABEL = "workflows.argoproj.io/workflow-template"


@dataclass
class Up:
    proc: subprocess.Popen[str]
    lines: list[str]  # what it printed, up to its last export line
    url: str

    @property
    def exports(self) -> dict[str, str]:
        pairs = [line.strip().removeprefix("export ").partition("=") for line in self.lines
                 if line.startswith("  export ")]
        return {k: v for k, _, v in pairs}

    def stop(self) -> int:
        """Ctrl-C, and its exit status."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)


@contextlib.contextmanager
def conveyor_up(home: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Up]:
    port = free_port()
    env = {**os.environ, "CONVEYOR_HOME": str(home), "PATH": f"{os.environ['PATH']}:{STANDINS}", **(env or {})}
    proc = subprocess.Popen([sys.executable, "-m", "conveyor", "up", *args, "--port", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=(home.parent / "up.log").open("w"), text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None
    out = proc.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in out], daemon=True).start()
    try:
        printed: list[str] = []
        while not printed or not printed[-1].startswith(LAST_LINE):
            try:
                printed.append(lines.get(timeout=60).rstrip("\n"))
            except queue.Empty:
                pytest.fail(f"conveyor up printed {printed}; its log: {(home.parent / 'up.log').read_text()[-2000:]}")
        yield Up(proc, printed, f"http://127.0.0.1:{port}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def wait_ended(url: str, token: str, timeout_s: float = 60) -> dict[str, str | None]:
    """name -> phase of every workflow in `default`, once all have ended."""
    deadline = time.monotonic() + timeout_s
    while True:
        r = httpx.get(url + "/api/v1/workflows/default", headers={"Authorization": f"Bearer {token}"})
        r.raise_for_status()
        phases = {w["metadata"]["name"]: (w.get("status") or {}).get("phase") for w in r.json()["items"] or []}
        if phases and all(p in ("Succeeded", "Failed", "Error") for p in phases.values()):
            return phases
        assert time.monotonic() < deadline, phases
        time.sleep(0.2)


def answers(host: str) -> bool:
    try:
        httpx.get(f"http://{host}/v2/", timeout=2)
    except httpx.TransportError:
        return False
    return True


def test_up_serves_the_ui_and_a_registry_loads_the_files_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    from hera.workflows import Container, Workflow, WorkflowsService

    cron = tmp_path / "cron.yaml"
    cron.write_text(yaml.safe_dump(CRON))
    home = tmp_path / "home"
    registry = f"127.0.0.1:{free_port()}"
    with conveyor_up(home, "examples/dag-pipeline.yaml", "examples/hello-world.yaml", str(cron),
                     "examples/no-such.yaml", "--registry-port", registry.rpartition(":")[2]) as up:
        assert up.lines[0] == f"conveyor is up: the web UI is at {up.url}/ (Ctrl-C stops it)"
        assert f"  loaded CronWorkflow nightly ({cron})" in up.lines
        for example in ("dag-pipeline", "hello-world"):
            assert f"  loaded WorkflowTemplate {example} (examples/{example}.yaml, from its Workflow)" in up.lines
        assert "  skipped examples/no-such.yaml: no such file" in up.lines
        token = up.exports["PIPELINE_TOKEN"]
        assert up.exports == {"PIPELINE_HOST": up.url, "PIPELINE_NS": "default", "PIPELINE_TOKEN": token}
        assert stat.S_IMODE((home / TOKEN_FILE).stat().st_mode) == 0o600
        problem = registry_problem()
        if problem is None:
            assert any(line.startswith(f"  registry: {registry} (conveyor image push {registry}/NAME:TAG")
                       for line in up.lines), up.lines
            assert answers(registry)
        else:
            assert any(line.startswith("  no local registry: docker-registry is not installed")
                       for line in up.lines), up.lines

        page = httpx.get(up.url + "/")
        assert page.status_code == 200 and '<script type="module" src="/ui/js/app.js">' in page.text
        assert httpx.get(up.url + "/api/v1/cron-workflows/default/nightly").status_code == 200
        # each Workflow is kept as a WorkflowTemplate of its spec, with its labels
        kept = httpx.get(up.url + "/api/v1/workflow-templates/default/dag-pipeline").json()
        original = yaml.safe_load((ROOT / "examples" / "dag-pipeline.yaml").read_text())
        assert kept["spec"]["templates"] == original["spec"]["templates"]
        assert kept["spec"]["arguments"] == original["spec"]["arguments"]
        assert kept["metadata"]["labels"] == original["metadata"]["labels"]

        # exactly one ran, the first Workflow named, from its template
        [submitted] = [line for line in up.lines if line.startswith("  submitted ")]
        ran = submitted.split()[1]
        assert submitted == f"  submitted {ran} from workflowtemplate/dag-pipeline: {up.url}/#/workflows/default/{ran}"
        assert "  run the others from the UI's Templates page, or: conveyor submit --from workflowtemplate/NAME" \
            in up.lines

        # Hera with the printed lines, as a user's shell would have them after `export ...`
        service = WorkflowsService(host=up.exports["PIPELINE_HOST"], namespace=up.exports["PIPELINE_NS"],
                                   token=up.exports["PIPELINE_TOKEN"], verify_ssl=False)
        with Workflow(generate_name="from-hera-", entrypoint="main", namespace=up.exports["PIPELINE_NS"],
                      workflows_service=service) as w:
            Container(name="main", image="busybox", command=["echo", "hi"])
        created = w.create()
        phases = wait_ended(up.url, token)
        assert sorted(n.rpartition("-")[0] for n in phases) == ["dag-pipeline", "from-hera"], phases
        assert set(phases.values()) == {"Succeeded"} and {ran, created.metadata.name} == set(phases)
        run = httpx.get(f"{up.url}/api/v1/workflows/default/{ran}").json()
        assert run["spec"]["workflowTemplateRef"] == {"name": "dag-pipeline"}
        assert run["metadata"]["labels"][SOURCE_LABEL] == "dag-pipeline"
        assert run["metadata"]["labels"]["example"] == "dag-pipeline"

        # the one that did not run is there to run, as the line says
        env = {**os.environ, **up.exports}
        later = subprocess.run([sys.executable, "-m", "conveyor", "submit", "--from", "workflowtemplate/hello-world",
                                "-p", "message=later", "-o", "name", "--wait"], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=60)
        assert later.returncode == 0, later.stderr
        name = later.stdout.split()[0]
        assert name.startswith("hello-world-") and wait_ended(up.url, token)[name] == "Succeeded"
        assert up.stop() == 0
    assert not answers(registry), "the registry outlived conveyor up"
    with pytest.raises(httpx.TransportError):
        httpx.get(up.url + "/api/v1/version")


def test_up_runs_the_workflow_run_names(tmp_path: Path) -> None:
    with conveyor_up(tmp_path / "home", "examples/dag-pipeline.yaml", "examples/hello-world.yaml",
                     "--run", "hello-world", "--no-registry") as up:
        [submitted] = [line for line in up.lines if line.startswith("  submitted ")]
        assert " from workflowtemplate/hello-world: " in submitted
        phases = wait_ended(up.url, up.exports["PIPELINE_TOKEN"])
        assert [n.rpartition("-")[0] for n in phases] == ["hello-world"], phases
        assert up.stop() == 0


def test_up_runs_without_the_registry_when_its_port_is_taken_and_legacy_hera_runs_with_the_lines(
        tmp_path: Path, hera4_python: Path) -> None:
    """With --auth-mode client, so the printed token is the one the server asks for."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with conveyor_up(tmp_path / "home", "--registry-port", str(port), "--auth-mode", "client") as up:
            if registry_problem() is None:
                assert f"  no local registry: cannot listen on 127.0.0.1:{port} (Address already in use); stop " \
                       "what listens there, or choose another --registry-port" in up.lines, up.lines
            assert httpx.get(up.url + "/api/v1/workflows/default").status_code == 401
            env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **up.exports}
            done = subprocess.run([str(hera4_python), str(LEGACY_HERA_SCRIPT)], env=env, capture_output=True, text=True,
                                  timeout=120)
            assert done.returncode == 0, done.stderr
            phases = wait_ended(up.url, up.exports["PIPELINE_TOKEN"])
            name = done.stdout.split()[-1]
            assert list(phases) == [name]
            # Its Python task ran; its container task needs the seed image built and pushed
            # first (the walkthrough does that: tests/examples), so only the Python one is checked.
            wf = httpx.get(f"{up.url}/api/v1/workflows/default/{name}",
                           headers={"Authorization": f"Bearer {up.exports['PIPELINE_TOKEN']}"}).json()
            by_name = {n["displayName"]: n["phase"] for n in wf["status"]["nodes"].values()}
            assert by_name["python-task"] == "Succeeded", by_name
            assert up.stop() == 0




@pytest.mark.skipif(PODMAN_PROBLEM is not None, reason=str(PODMAN_PROBLEM))
def test_an_image_pushed_to_ups_registry_is_what_a_task_runs(tmp_path: Path) -> None:
    """One podman task, pulled with imagePullPolicy Always from the registry `up` started."""
    registry = f"127.0.0.1:{free_port()}"
    ref = f"{registry}/conveyor-test/busybox:{os.getpid()}"
    with conveyor_up(tmp_path / "home", "--registry-port", registry.rpartition(":")[2],
                     env={"CONVEYOR_EXECUTOR": "podman"}) as up:
        try:
            subprocess.run(["podman", "tag", BUSYBOX, ref], check=True)
            pushed = subprocess.run([sys.executable, "-m", "conveyor", "image", "push", ref, "-q"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=120)
            assert pushed.returncode == 0 and pushed.stdout.strip() == ref, pushed.stderr
        finally:
            subprocess.run(["podman", "rmi", ref], capture_output=True)  # so the task must pull it
        wf = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "pulled-"},
              "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {
                  "image": ref, "imagePullPolicy": "Always", "command": ["echo", "from the local registry"]}}]}}
        created = httpx.post(up.url + "/api/v1/workflows/default", json={"workflow": wf})
        assert created.status_code == 200, created.text
        phases = wait_ended(up.url, up.exports["PIPELINE_TOKEN"], timeout_s=120)
        name = created.json()["metadata"]["name"]
        assert phases == {name: "Succeeded"}
        node = next(n for n in httpx.get(f"{up.url}/api/v1/workflows/default/{name}").json()["status"]["nodes"].values()
                    if n["type"] == "Pod")
        assert node["outputs"]["result"] == "from the local registry"
        assert up.stop() == 0
    subprocess.run(["podman", "rmi", ref], capture_output=True)


def test_the_printed_token_is_kept_while_it_lives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVEYOR_HOME", str(tmp_path / "home"))
    settings = Settings.from_env()
    first = local_token(settings, "default")
    assert local_token(settings, "default") == first
    store = Store.open(settings.db_path)
    try:
        info = store.find_token(first)
        assert info is not None and info.role == "write" and info.namespaces == ("default",)
        store.revoke_token(info.name)
    finally:
        store.close()
    second = local_token(settings, "default")
    assert second != first and local_token(settings, "default") == second
    assert local_token(settings, "team-a") not in (first, second)  # another namespace: another token


@pytest.mark.skipif(registry_problem() is not None, reason=str(registry_problem()))
def test_the_registry_starts_stops_and_says_why_it_cannot(tmp_path: Path) -> None:
    registry, said = start_registry(tmp_path / "registry", free_port())
    assert registry is not None, said
    try:
        assert answers(registry.host) and said.startswith(f"registry: {registry.host} ")
        again, why = start_registry(tmp_path / "other", int(registry.host.rpartition(":")[2]))
        assert again is None and why.startswith(f"no local registry: cannot listen on {registry.host}")
    finally:
        registry.stop()
    assert registry.proc.poll() is not None and not answers(registry.host)


@pytest.mark.skipif(registry_problem() is not None, reason=str(registry_problem()))
def test_the_registry_does_not_outlive_a_killed_up(tmp_path: Path) -> None:
    """Even `kill -9` of the process that started it leaves no registry behind."""
    port = free_port()
    code = ("import os, signal, sys; from pathlib import Path; from conveyor.cli._local_registry import start_registry; "
            f"r, said = start_registry(Path({str(tmp_path / 'registry')!r}), {port}); print(said, flush=True); "
            "os.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == -signal.SIGKILL and done.stdout.startswith("registry: "), done.stdout + done.stderr
    deadline = time.monotonic() + 10
    while answers(f"127.0.0.1:{port}"):
        assert time.monotonic() < deadline, "the registry outlived the process that started it"
        time.sleep(0.1)


def test_no_registry_tool_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", path_without("docker-registry", tmp_path / "bin"))
    registry, said = start_registry(tmp_path / "registry", free_port())
    assert registry is None
    assert said == ("no local registry: docker-registry is not installed (apt-get install docker-registry; "
                    "scripts/containers.sh does it)")


@pytest.mark.parametrize(("files", "args", "said"), [
    ({"bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}, (), "kind 'ConfigMap' cannot be loaded"),
    ({"a.yaml": "kind: Workflow\nmetadata: {generateName: twin-}\nspec: {entrypoint: m}\n",
      "b.yaml": "kind: Workflow\nmetadata: {name: twin}\nspec: {entrypoint: m}\n"}, (),
     "WorkflowTemplate 'twin' comes from both"),
    ({"a.yaml": "kind: Workflow\nmetadata: {generateName: one-}\nspec: {entrypoint: m}\n"}, ("--run", "other"),
     "--run 'other': FILES hold no Workflow or WorkflowTemplate named so; choose one of one"),
], ids=["bad kind", "two of one name", "unknown --run"])
def test_up_refuses_bad_files_before_starting(tmp_path: Path, files: dict[str, str], args: tuple[str, ...],
                                              said: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    out = subprocess.run([sys.executable, "-m", "conveyor", "up", *(str(tmp_path / n) for n in files), *args,
                          "--port", str(free_port())], cwd=ROOT,
                         env={**os.environ, "CONVEYOR_HOME": str(tmp_path / "home")}, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines()[-1].startswith("invalid:")
    assert said in " ".join(out.stderr.split()), out.stderr
