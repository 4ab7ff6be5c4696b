"""Argo's own examples again, each task in a podman container (the podman executor).

The images are the offline stand-ins scripts/containers.sh tags with the names the
examples use. Skipped, with the reason, where podman cannot run containers.
The fixture and tests are tests/conformance/containers.py's, shared with docker.
"""

from __future__ import annotations

import asyncio
import subprocess

from conveyor.executors._ctr import OWNER_LABEL, owner_id
from conveyor.executors.podman import podman_problem
from tests.conformance.containers import suite

#: examples that cannot pass in these containers, each with its reason
PODMAN_XFAIL = {
    "scripts-javascript.yaml": "node:9.1-alpine has no offline stand-in: the stand-in images carry no Node.js",
}


def _problem() -> str | None:
    problem = asyncio.run(podman_problem("podman"))
    return None if problem is None else f"podman cannot run containers here ({problem}); run scripts/containers.sh"


def _leftovers() -> list[str]:
    return subprocess.run(["podman", "ps", "--all", "--filter", f"label={OWNER_LABEL}={owner_id()}",
                           "--format", "{{.Names}}"], capture_output=True, text=True, check=True).stdout.split()


(container_results, test_example_in_podman, test_enough_examples_pass_in_containers,
 test_nothing_is_left_running) = suite("podman", PODMAN_XFAIL, _problem, _leftovers)
