"""Argo's own examples again, each task in a Docker Engine container (the docker executor).

tests/docker_engine.py provides the engine: the one at DOCKER_HOST / the default socket,
or a dockerd it starts (and stops at the end of the session), with the offline stand-in
images copied in from podman. Skipped, with the reason, where neither can be had.
The fixture and tests are tests/conformance/containers.py's, shared with podman. The
default run takes every third example (the podman module runs all of them through the
same container code); `-m slow` runs the rest.
"""

from __future__ import annotations

from conveyor.executors._ctr import OWNER_LABEL, owner_id
from tests.conformance.containers import suite
from tests.docker_engine import engine

#: examples that cannot pass in these containers, each with its reason
DOCKER_XFAIL = {
    "scripts-javascript.yaml": "node:9.1-alpine has no offline stand-in: the stand-in images carry no Node.js",
}


def _problem() -> str | None:
    found = engine()
    return None if found.host is not None else f"no Docker Engine for the docker executor: {found.problem}"


def _leftovers() -> list[str]:
    import docker

    client = docker.DockerClient(base_url=engine().host)
    try:
        return [c.name for c in client.containers.list(all=True, filters={"label": f"{OWNER_LABEL}={owner_id()}"})]
    finally:
        client.close()


(container_results, test_example_in_docker, test_enough_examples_pass_in_docker,
 test_nothing_is_left_running) = suite("docker", DOCKER_XFAIL, _problem, _leftovers, default_share=3)
