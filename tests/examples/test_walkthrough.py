"""The README's walkthrough, run as written: its marked shell blocks, in order, in one
shell, against `conveyor up` on the embedded default (SQLite, podman executor) and a
registry on loopback that asks for a login.

The README section "Walkthrough: the seed project end to end" marks the block that
starts conveyor `<!-- walkthrough: up -->` (the test runs its command with `--port` on a
free port, then takes the `export` lines it prints, as the reader pastes them) and the
blocks it runs `<!-- walkthrough -->`. The reader's own registry line is the one thing
the test supplies itself (its registry's address and login); and once the image is
pushed, the test removes it from podman's store, so the pipeline's runs must pull it with
the workflow's pull secret. Then it checks each step: the image is in the registry; the
Hera run Succeeded with the seed image's statistics and is the workflow
examples/pipelines/pipeline.yaml describes with the reader's image as its `image`
parameter (so the README's settings agree with it); the Couler and YAML runs and the cron
workflow's run-now, named by what their commands printed, are that same workflow and
Succeeded, their container task run from the reader's image; the web UI lists the Hera
run (Chromium); and the CronWorkflow is scheduled. If the README loses a step the test
needs, or a marker has no block, the test fails saying so.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import ROOT, free_port
from tests.examples.seed import (
    EXAMPLES,
    normalised,
    pipeline_manifest,
    podman_skip_reason,
    results,
    wait_done,
    with_image,
)
from tests.registry import registry_problem, serve_registry

SECTION = "## Walkthrough: the seed project end to end"
MARKER = re.compile(r"<!-- walkthrough(?P<up>: up)? -->\n(?P<fence>```sh\n(?P<body>.*?)```)?", re.S)
#: what the blocks must do, in this order, for the checks below to mean anything
STEPS = ["conveyor image build", "conveyor registry login", "conveyor image push",
         "conveyor secret create docker-registry", "examples/pipelines/hera_pipeline.py", "conveyor watch",
         "examples/pipelines/couler_pipeline.py", "conveyor submit examples/pipelines/pipeline.yaml",
         "conveyor cron list", "conveyor submit --from cronworkflow/seed-pipeline-nightly"]
CRON = "seed-pipeline-nightly"
STEP_DONE = "__walkthrough_step_{}_done__"
#: the label Argo puts on a workflow a CronWorkflow made
CRON_LABEL = "workflows.argoproj.io/cron-workflow"
USER, PASSWORD = "walk", "pw-" + uuid.uuid4().hex[:12]


def walkthrough() -> tuple[list[str], list[str]]:
    """(the `conveyor up` command's words, the blocks to run), read from README.md."""
    text = (ROOT / "README.md").read_text()
    assert SECTION in text, f"README.md has no section {SECTION!r}"
    section = text[text.index(SECTION):]
    section = section[:section.find("\n## ", len(SECTION))]
    up: list[list[str]] = []
    blocks: list[str] = []
    for m in MARKER.finditer(section):
        assert m["fence"], f"README: a walkthrough marker is not followed by a ```sh block: {section[m.start():][:120]!r}"
        if m["up"]:
            up += [shlex.split(line) for line in m["body"].splitlines() if line.strip()]
        else:
            blocks.append(m["body"])
    assert len(up) == 1 and up[0][:2] == ["conveyor", "up"], f"README: one `conveyor up` block expected, got {up}"
    script = "\n".join(blocks)
    at = [script.find(step) for step in STEPS]
    missing = [step for step, i in zip(STEPS, at, strict=True) if i < 0]
    assert not missing, f"README's walkthrough blocks no longer do {missing}: update the README or this test"
    assert at == sorted(at), f"README's walkthrough does these out of order: {STEPS}"
    return up[0], blocks


def test_the_readme_marks_what_this_test_runs() -> None:
    up, blocks = walkthrough()
    assert "examples/pipelines/cron-pipeline.yaml" in up  # the CronWorkflow the last step looks for
    assert CRON == yaml.safe_load((EXAMPLES / "pipelines" / "cron-pipeline.yaml").read_text())["metadata"]["name"]
    assert all(b.strip() for b in blocks)


def _skip_reason() -> str | None:
    if (problem := podman_skip_reason() or registry_problem(login=True)) is not None:
        return problem
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright; scripts/setup.sh does it)"
    from tests.ui.conftest import CHROMIUM

    return None if Path(CHROMIUM).exists() else f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh)"


@pytest.fixture
def up(tmp_path: Path) -> Iterator[tuple[str, list[str], dict[str, str]]]:
    """The README's `conveyor up` on a free port: (UI URL, export lines it printed, env)."""
    words, _ = walkthrough()
    work = tmp_path / "work"
    shutil.copytree(EXAMPLES, work / "examples", ignore=shutil.ignore_patterns("wheels", "__pycache__"))
    bin_dir = tmp_path / "bin"  # `conveyor`, `python3` and `pip` as this test's interpreter runs them
    bin_dir.mkdir()
    for tool, argv in (("conveyor", "-m conveyor"), ("python3", ""), ("pip", "-m pip")):
        (bin_dir / tool).write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {argv} "$@"\n')
        (bin_dir / tool).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "PIPELINE_", "WORKFLOW_"))}
    env.update({"PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
                "CONVEYOR_HOME": str(tmp_path / "home"), "CONVEYOR_EXECUTOR": "podman",
                "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")})
    log = tmp_path / "up.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*words, "--port", str(free_port())], cwd=work, env=env, stdout=out,
                                stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (printed := re.findall(r"^\s*(export \w+=.*)$", log.read_text(), re.M)) or not re.search(
                r"export PIPELINE_NS=", log.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, f"conveyor up did not start:\n{log.read_text()}"
            time.sleep(0.2)
        url = re.search(r"export PIPELINE_HOST=(\S+)", log.read_text())
        assert url, log.read_text()
        yield url[1], printed, {**env, "WORK": str(work)}
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C, as the README says it stops
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or "")
def test_the_walkthrough_runs_as_the_readme_says(up: tuple[str, list[str], dict[str, str]], tmp_path: Path) -> None:
    url, exports, env = up
    _, blocks = walkthrough()
    with serve_registry(tmp_path / "registry", login=(USER, PASSWORD)) as registry:
        image = f"{registry}/seed/grid-stats:1"
        steps = [f"{block}\necho {STEP_DONE.format(i)}" for i, block in enumerate(blocks)]
        # The test's own step: once pushed, the image leaves this machine's store, as on a fresh
        # node, so the pipeline must pull it with the workflow's pull secret.
        pushed = next(i for i, block in enumerate(blocks) if "conveyor image push" in block)
        steps[pushed] += f"\npodman rmi {image} >/dev/null"
        script = "\n".join(["set -euo pipefail", *exports,
                            f"export REGISTRY={registry} REGISTRY_USER={USER} REGISTRY_PASSWORD={PASSWORD}", *steps])
        try:
            ran = subprocess.run(["bash", "-c", script], cwd=env["WORK"], env=env, capture_output=True, text=True,
                                 timeout=900)
            out = ran.stdout + ran.stderr
            done = re.findall(STEP_DONE.format(r"(\d+)"), ran.stdout)
            assert ran.returncode == 0, f"the walkthrough stopped after {len(done)} of {len(blocks)} blocks:\n{out[-4000:]}"
            assert len(done) == len(blocks)
            assert PASSWORD not in ran.stdout

            # the image is in the registry
            tags = httpx.get(f"http://{registry}/v2/seed/grid-stats/tags/list", auth=(USER, PASSWORD), timeout=10)
            assert tags.status_code == 200 and "1" in tags.json()["tags"], tags.text

            # the pipeline succeeded, and is pipeline.yaml's workflow with the reader's image
            link = re.search(r"open (\S+)/#/workflows/(\S+)/(\S+)", ran.stdout)
            assert link and link[1] == url, ran.stdout[-2000:]
            ns, name = link[2], link[3]
            expected = normalised(with_image(pipeline_manifest()["spec"], image))
            wf = succeeded(url, ns, name, expected, image)
            stats = json.loads(results(wf)["container-task"]["outputs"]["result"])
            assert stats["tile"] == "seed-tile" and stats["cells"] == 128 * 128
            assert json.dumps(stats, sort_keys=True) in out  # what `conveyor logs` printed

            # the Couler and YAML runs, then the cron workflow's run-now: the same workflow, each Succeeded
            couler, from_yaml = named(output_of(ran.stdout, blocks, "couler_pipeline.py"))
            [from_cron] = named(output_of(ran.stdout, blocks, f"--from cronworkflow/{CRON}"))
            assert len({name, couler, from_yaml, from_cron}) == 4
            for run in (couler, from_yaml, from_cron):
                succeeded(url, ns, run, expected, image)
            assert wait_done(url, ns, from_cron)["metadata"]["labels"][CRON_LABEL] == CRON

            # the cron workflow is scheduled
            cron: dict[str, Any] = httpx.get(f"{url}/api/v1/cron-workflows/{ns}/{CRON}", timeout=10).json()
            assert cron["spec"]["schedules"] == ["0 2 * * *"] and not cron["spec"].get("suspend")
            assert re.search(rf"^{CRON}\s", ran.stdout, re.M), "`conveyor cron list` did not list it"

            ui_lists(url, ns, name)
        finally:
            subprocess.run(["podman", "rmi", image], capture_output=True)


def output_of(stdout: str, blocks: list[str], command: str) -> str:
    """What the walkthrough block that runs `command` printed (blocks end with their STEP_DONE line)."""
    [i] = [i for i, block in enumerate(blocks) if command in block]
    start = stdout.index(STEP_DONE.format(i - 1)) if i else 0
    return stdout[start:stdout.index(STEP_DONE.format(i))]


def named(output: str) -> list[str]:
    """The workflows `conveyor watch` / `submit --watch` showed, in order: their `Name:` lines."""
    return list(dict.fromkeys(re.findall(r"^Name:\s+(\S+)$", output, re.M)))


def succeeded(url: str, ns: str, name: str, expected: dict[str, Any], image: str) -> dict[str, Any]:
    """Workflow `name` once it ended: Succeeded, the workflow `expected` describes, its container task run from `image`."""
    wf = wait_done(url, ns, name)
    assert wf["status"]["phase"] == "Succeeded", (name, wf["status"].get("message"))
    assert normalised(wf["spec"]) == expected, name
    assert results(wf)["container-task"]["image"] == image, name
    return wf


def ui_lists(url: str, ns: str, name: str) -> None:
    """The web UI shows the run Succeeded in its workflow list, and the CronWorkflow."""
    from playwright.sync_api import sync_playwright

    from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(20_000)
            page.goto(f"{url}/#/workflows?namespace={ns}")
            page.wait_for_selector(f'tr[data-name="{name}"][data-phase="Succeeded"]')
            page.goto(f"{url}/#/cron")
            page.wait_for_selector(f'tr[data-name="{CRON}"]')
        finally:
            browser.close()
