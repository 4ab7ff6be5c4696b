"""The server figures besides whole shapes: first-task latency, create throughput, the GET
of a big finished workflow, and a 50,000-node workflow.

Latency: the task is `date +%s.%N`, so the moment its process runs is in its output
(`outputs.result`) at nanosecond resolution; the figure is that moment minus the
client's clock just before the POST. Node `startedAt` has whole seconds only. The floor
is the same `date` started by `subprocess.run` from Python, with no API, store or sandbox.

Throughput: clients create one-task workflows created suspended (`spec.suspend`), so the
figure is the create path (validate, persist, start a runner) and not the tasks that would
follow. The floor is the same clients calling GET /api/v1/version: the HTTP stack alone.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from typing import Any

import httpx

from bench._figures import Figure
from bench._server import NAMESPACE, Server, pods_succeeded
from bench.shapes import latency_probe, small_workflow

__all__ = ["get_workflow", "latency", "throughput"]


def latency(server: Server, samples: int) -> Figure:
    fig = Figure("latency", "submit to first task started", None, "ms", "subprocess.run of the task from Python")
    for _ in range(samples):
        before = time.time()
        out = subprocess.run(["date", "+%s.%N"], capture_output=True, text=True, check=True).stdout
        fig.baseline.append((float(out) - before) * 1000)
        before = time.time()
        name = server.submit(latency_probe())
        if server.wait(name, timeout_s=60)["phase"] != "Succeeded":
            raise RuntimeError(f"latency probe {name} did not succeed: {server.log_tail()}")
        nodes = server.get(name)["status"]["nodes"].values()
        stamp = next(n["outputs"]["result"] for n in nodes if n.get("type") == "Pod")
        fig.conveyor.append((float(stamp) - before) * 1000)
    return fig


async def _rate(url: str, clients: int, each: int, request: tuple[str, str, Any]) -> float:
    """Requests per second from `clients` concurrent clients sending `each` requests in turn."""
    method, path, body = request

    async def client_loop(client: httpx.AsyncClient) -> None:
        for _ in range(each):
            reply = await client.request(method, path, json=body)
            if reply.status_code != 200:
                raise RuntimeError(f"{method} {path} answered {reply.status_code}: {reply.text[:300]}")

    pool = [httpx.AsyncClient(base_url=url, timeout=120) for _ in range(clients)]
    try:
        # One request each first: connections are opened before the clock starts.
        await asyncio.gather(*(c.get("/api/v1/version") for c in pool))
        start = time.perf_counter()
        await asyncio.gather(*(client_loop(c) for c in pool))
        elapsed = time.perf_counter() - start
    finally:
        await asyncio.gather(*(c.aclose() for c in pool))
    return clients * each / elapsed


def throughput(server: Server, clients: int, each: int, reps: int) -> Figure:
    label = "sequential" if clients == 1 else f"{clients} concurrent clients"
    fig = Figure("throughput", label, None, "workflows/s", "GET /api/v1/version, same clients")
    create = ("POST", f"/api/v1/workflows/{NAMESPACE}", {"workflow": small_workflow()})
    for _ in range(reps):
        fig.baseline.append(asyncio.run(_rate(server.url, clients, each, ("GET", "/api/v1/version", None))))
        fig.conveyor.append(asyncio.run(_rate(server.url, clients, each, create)))
    fig.note = f"{clients * each} workflows created per repetition"
    return fig


def get_workflow(server: Server, name: str, samples: int) -> Figure:
    """The GET of a finished workflow, until its body is read (not parsed); the floor is
    json.dumps of the same document here, the least any JSON API must do to answer it."""
    fig: Figure | None = None
    for _ in range(samples):
        start = time.perf_counter()
        reply = server.client.get(f"/api/v1/workflows/{NAMESPACE}/{name}")
        reply.read()
        elapsed = time.perf_counter() - start
        reply.raise_for_status()
        wf = reply.json()
        if fig is None:
            nodes = len(wf["status"].get("nodes") or {})
            fig = Figure("get", "GET finished workflow", nodes, "ms", "json.dumps of the same workflow",
                         note=f"{len(reply.content) / 1e6:.1f} MB body, {pods_succeeded(wf)} Pod nodes")
        start = time.perf_counter()
        json.dumps(wf)
        fig.baseline.append((time.perf_counter() - start) * 1000)
        fig.conveyor.append(elapsed * 1000)
    assert fig is not None, "samples must be at least 1"
    return fig
