"""`python -m bench.load`: many clients submit small workflows and watch them finish (issue 8).

Each of `clients` concurrent clients (default 200) opens a watch stream on its own
workflows (`/api/v1/workflow-events/{namespace}` with a label selector), submits its share
of `workflows` (default 2,000) one after another, and waits until the watch has shown every
one of them finished. A workflow is one `true` task, run by the server's executor.

As a real client does, a create that gets no reply (connection error, timeout) is sent
again, with the same client-chosen `metadata.name`: if the first one was accepted after
all, the retry is answered 409 AlreadyExists, never a second workflow. A watch that breaks
is opened again (it starts with every matching workflow as ADDED, so nothing is missed).
Afterwards one list of the run's workflows must hold each expected name exactly once, with
its labels, Succeeded.

Every HTTP status is counted (no 5xx may appear), each create's latency is recorded
(p50/p99 in the report), and the server's RSS is sampled all along and must stay under a
stated bound. The report goes to bench/results/load.json.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench._load_result import CREATE_TIMEOUT_S, RSS_BOUND_MB, LoadResult, table
from bench._report import machine, write_json
from bench._server import DONE, NAMESPACE, ROOT, Server, cpu_s, environment, rss_kb
from bench.shapes import small_workflow

__all__ = ["RSS_BOUND_MB", "LoadResult", "run_load"]

DEFAULT_OUT = Path(__file__).parent / "results" / "load.json"
RUN_LABEL, CLIENT_LABEL = "load-run", "load-client"
CREATE_ATTEMPTS = 20
RETRY_PAUSE_S = 0.25  # doubled on each further attempt
RSS_EVERY_S = 0.2
_WATCH_FIELDS = "result.type,result.object.metadata.name,result.object.status.phase"


def _shares(clients: int, workflows: int) -> list[int]:
    """`workflows` split over `clients` as evenly as it goes."""
    each, more = divmod(workflows, clients)
    return [each + (1 if i < more else 0) for i in range(clients)]


class _Client:
    """One client: its own connections, a watch on its own workflows, its creates in turn."""

    def __init__(self, load: LoadResult, url: str, headers: dict[str, str], index: int, names: list[str],
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.load, self.index, self.names = load, index, names
        # No read timeout: a watch may rightly wait long for its next event.
        self.http = httpx.AsyncClient(base_url=url, headers=headers, transport=transport,
                                      timeout=httpx.Timeout(load.create_timeout_s, read=None))
        self.selector = f"{RUN_LABEL}={load.run_id},{CLIENT_LABEL}=c{index}"
        self.left = set(names)
        self.all_done = asyncio.Event()
        if not names:
            self.all_done.set()

    async def run(self, t0: float) -> None:
        watch = asyncio.create_task(self._watch())
        try:
            for name in self.names:
                await self._create(name, t0)
            await self.all_done.wait()
        finally:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
            await self.http.aclose()

    def _manifest(self, name: str) -> dict[str, Any]:
        wf = small_workflow(suspend=False)
        wf["metadata"] = {"name": name, "labels": self.load.labels[name]}
        return wf

    async def _create(self, name: str, t0: float) -> None:
        load, body = self.load, {"workflow": self._manifest(name)}
        for attempt in range(CREATE_ATTEMPTS):
            if attempt:
                load.create_retries += 1
                await asyncio.sleep(min(RETRY_PAUSE_S * 2**attempt, 5.0))
            start = time.perf_counter()
            try:
                reply = await self.http.post(f"/api/v1/workflows/{NAMESPACE}", json=body,
                                             timeout=load.create_timeout_s)
            except httpx.TransportError as exc:  # no reply: it may or may not have been accepted
                load.transport_errors[type(exc).__name__] += 1
                continue
            load.statuses[str(reply.status_code)] += 1
            if reply.status_code == 200:
                load.create_ms.append((time.perf_counter() - start) * 1000)
                load.accepted.add(name)
                load.creates_s = max(load.creates_s, time.perf_counter() - t0)
                return
            if reply.status_code == 409 and attempt:  # the lost attempt was accepted
                load.accepted_on_retry += 1
                load.accepted.add(name)
                load.creates_s = max(load.creates_s, time.perf_counter() - t0)
                return
            load.errors.append(f"POST {name} (attempt {attempt + 1}) answered {reply.status_code}: {reply.text[:300]}")
            if reply.status_code < 500 and reply.status_code != 429:
                break  # a client error will not change on a retry
        else:
            load.errors.append(f"POST {name}: no acceptance after {CREATE_ATTEMPTS} attempts")
        self._give_up(name)

    def _give_up(self, name: str) -> None:
        self.left.discard(name)
        if not self.left:
            self.all_done.set()

    async def _watch(self) -> None:
        load = self.load
        params = {"listOptions.labelSelector": self.selector, "fields": _WATCH_FIELDS}
        first = True
        while self.left:
            if not first:
                load.watch_reconnects += 1
                await asyncio.sleep(0.5)
            first = False
            try:
                async with self.http.stream("GET", f"/api/v1/workflow-events/{NAMESPACE}", params=params) as reply:
                    load.statuses[str(reply.status_code)] += 1
                    if reply.status_code != 200:
                        load.errors.append(f"watch c{self.index} answered {reply.status_code}: {(await reply.aread())[:300]!r}")
                        self.left.clear()  # it will not see them finish: the report says so
                        self.all_done.set()
                        return
                    async for line in reply.aiter_lines():
                        if line.strip():
                            self._event(json.loads(line))
                        if not self.left:
                            return
            except httpx.TransportError as exc:
                load.transport_errors[f"watch {type(exc).__name__}"] += 1

    def _event(self, message: dict[str, Any]) -> None:
        if "error" in message:
            self.load.errors.append(f"watch c{self.index} sent an error: {message['error']}")
            return
        obj = (message.get("result") or {}).get("object") or {}
        name = (obj.get("metadata") or {}).get("name", "")
        phase = (obj.get("status") or {}).get("phase") or "Pending"
        if name not in self.names:
            self.load.errors.append(f"watch c{self.index} ({self.selector}) showed {name!r}, not one of its own")
            return
        self.load.watched[name] = phase
        if phase in DONE and name in self.left:
            self.left.discard(name)
            if not self.left:
                self.all_done.set()


class _CutStream(httpx.AsyncByteStream):
    """A reply body that breaks off after its first chunk, as a dropped connection does."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self.inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            yield chunk
            raise httpx.ReadError("watch stream cut by the load driver")

    async def aclose(self) -> None:
        await self.inner.aclose()


class _FaultyTransport(httpx.AsyncBaseTransport):
    """Sends every request on, but throws away the reply to the first POST of each name in
    `lose` once the server has answered it (a reply lost on its way back, which the
    client's retry and the server's 409 for a taken name must absorb), and with `cut_watch`
    breaks the client's first watch stream after its first chunk (which the client's
    reconnect, and the ADDED events a new watch starts with, must absorb)."""

    def __init__(self, lose: set[str], cut_watch: bool) -> None:
        self.inner, self.lose, self.cut_watch = httpx.AsyncHTTPTransport(), set(lose), cut_watch

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST" and self.lose:
            name = json.loads(request.content)["workflow"]["metadata"]["name"]
            if name in self.lose:
                self.lose.discard(name)
                await response.aread()
                await response.aclose()
                raise httpx.ReadError("reply thrown away by the load driver", request=request)
        if self.cut_watch and request.url.path.startswith("/api/v1/workflow-events/"):
            self.cut_watch = False
            assert isinstance(response.stream, httpx.AsyncByteStream)
            return httpx.Response(response.status_code, headers=response.headers, stream=_CutStream(response.stream),
                                  extensions=response.extensions)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


async def _sample_rss(load: LoadResult, pid: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            load.rss_samples_kb.append(rss_kb(pid, "VmRSS"))
        except (OSError, RuntimeError):  # the server is gone; the run will say why
            return
        await asyncio.sleep(RSS_EVERY_S)


async def _list_run(load: LoadResult, url: str, headers: dict[str, str]) -> None:
    """The server's view at the end: every workflow of this run, with labels and phase."""
    params = {"listOptions.labelSelector": f"{RUN_LABEL}={load.run_id}",
              "fields": "items.metadata.name,items.metadata.labels,items.status.phase,metadata.continue"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=120) as http:
        reply = await http.get(f"/api/v1/workflows/{NAMESPACE}", params=params)
    load.statuses[str(reply.status_code)] += 1
    if reply.status_code != 200:
        load.errors.append(f"the final list answered {reply.status_code}: {reply.text[:300]}")
        return
    for wf in reply.json().get("items") or []:
        name = wf["metadata"]["name"]
        if name in load.stored:
            load.listed_twice.append(name)
        load.stored[name] = (wf["metadata"].get("labels") or {}, (wf.get("status") or {}).get("phase") or "")


async def drive(load: LoadResult, url: str, pid: int, headers: dict[str, str], timeout_s: float,
                lose_every: int = 0, cut_every: int = 0) -> None:
    """Run the clients against the server at `url` (process `pid`), filling in `load`. With
    `lose_every` N, the reply to the first create of every Nth workflow is thrown away; with
    `cut_every` N, the first watch stream of every Nth client is cut (see _FaultyTransport)."""
    shares = _shares(load.clients, load.workflows)
    clients: list[_Client] = []
    for i, share in enumerate(shares):
        names = [f"load-{load.run_id}-c{i}-w{j}" for j in range(share)]
        for name in names:
            load.labels[name] = {RUN_LABEL: load.run_id, CLIENT_LABEL: f"c{i}"}
            if lose_every and (len(load.expected) + 1) % lose_every == 0:
                load.lost_replies.add(name)
            load.expected.add(name)
        lose = load.lost_replies.intersection(names)
        cut = bool(cut_every) and (i + 1) % cut_every == 0
        load.cut_watches += cut
        faulty = _FaultyTransport(lose, cut) if lose or cut else None
        clients.append(_Client(load, url, headers, i, names, transport=faulty))
    stop = asyncio.Event()
    sampler = asyncio.create_task(_sample_rss(load, pid, stop))
    cpu0, (server0, tasks0) = time.process_time(), cpu_s(pid)
    t0 = time.perf_counter()
    runs = [asyncio.create_task(c.run(t0)) for c in clients]
    try:
        done, pending = await asyncio.wait(runs, timeout=timeout_s)
        load.total_s = time.perf_counter() - t0
        load.clients_cpu_s = time.process_time() - cpu0
        server1, tasks1 = cpu_s(pid)
        load.server_cpu_s, load.tasks_cpu_s = server1 - server0, tasks1 - tasks0
        if pending:
            load.errors.append(f"{len(pending)} clients still waiting after {timeout_s:.0f} s")
        for task in done:
            if task.exception() is not None:
                load.errors.append(f"a client failed: {task.exception()!r}")
    finally:
        for task in runs:
            task.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        stop.set()
        await sampler
    await _list_run(load, url, headers)


def _token(env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-m", "conveyor", "token", "create", "--namespace", NAMESPACE,
                           "--role", "write", "--name", "load"], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=True)
    return done.stdout.strip()


def run_load(clients: int, workflows: int, scratch: Path, *, timeout_s: float = 900,
             rss_bound_mb: float = RSS_BOUND_MB, create_timeout_s: float = CREATE_TIMEOUT_S,
             lose_every: int = 0, cut_every: int = 0, auth: bool = True) -> LoadResult:
    """Start a fresh `conveyor server` under `scratch`, drive the load through it, stop it.

    With `auth` the server runs with `--auth-mode client` and every request carries a
    write token, as on a shared server. `lose_every`, `cut_every`: see `drive`."""
    if clients < 1 or workflows < 1:
        raise ValueError(f"clients={clients} and workflows={workflows} must both be at least 1")
    env = environment(scratch / "home")
    headers: dict[str, str] = {}
    if auth:
        headers["Authorization"] = f"Bearer {_token(env)}"
    load = LoadResult(clients, workflows, rss_bound_mb=rss_bound_mb, create_timeout_s=create_timeout_s,
                      run_id=os.urandom(3).hex())
    with Server(env, scratch / "server.log", args=("--auth-mode", "client") if auth else ()) as server:
        load.rss_start_kb = server.rss_at_start_kb
        try:
            asyncio.run(drive(load, server.url, server.proc.pid, headers, timeout_s, lose_every, cut_every))
        finally:
            load.rss_peak_kb = server.peak_rss_kb() if server.proc.poll() is None else max(load.rss_samples_kb, default=0)
        if server.proc.poll() is not None:
            load.errors.append(f"the server exited ({server.proc.returncode}): {server.log_tail()}")
    return load


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=200, help="concurrent clients, each with a watch open (default 200)")
    p.add_argument("--workflows", type=int, default=2000, help="workflows in all, shared among the clients (default 2000)")
    p.add_argument("--timeout-s", type=float, default=900, help="give up on clients still waiting after this long (default 900)")
    p.add_argument("--rss-bound-mb", type=float, default=RSS_BOUND_MB,
                   help=f"fail if the server's RSS ever exceeds this (default {RSS_BOUND_MB})")
    p.add_argument("--create-timeout-s", type=float, default=CREATE_TIMEOUT_S,
                   help=f"send a create again when it has no reply after this long (default {CREATE_TIMEOUT_S:.0f})")
    p.add_argument("--lose-every", type=int, default=0, metavar="N",
                   help="throw away the reply to the first create of every Nth workflow, to exercise "
                        "the retries (default 0: none)")
    p.add_argument("--cut-every", type=int, default=0, metavar="N",
                   help="cut the first watch stream of every Nth client after its first chunk, to exercise "
                        "the reconnects (default 0: none)")
    p.add_argument("--no-auth", action="store_true", help="run the server with --auth-mode server (no tokens)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes (default bench/results/load.json)")
    a = p.parse_args(argv)
    if a.clients < 1 or a.workflows < 1:
        p.error("--clients and --workflows must both be at least 1")
    if a.lose_every < 0 or a.cut_every < 0:
        p.error("--lose-every and --cut-every must be 0 (none) or a positive count")
    console = Console() if sys.stdout.isatty() else Console(width=160)
    started, about = datetime.now(UTC), machine("")
    with tempfile.TemporaryDirectory(prefix="conveyor-load-", ignore_cleanup_errors=True) as tmp:
        console.print(f"[dim]{a.clients} clients, {a.workflows:,} workflows ...[/dim]")
        load = run_load(a.clients, a.workflows, Path(tmp), timeout_s=a.timeout_s,
                        rss_bound_mb=a.rss_bound_mb, create_timeout_s=a.create_timeout_s,
                        lose_every=a.lose_every, cut_every=a.cut_every, auth=not a.no_auth)
    report = load.report()
    about["load_average_at_end"] = os.getloadavg()
    console.print(table(report))
    for problem in report["problems"]:
        console.print(f"[red]problem[/red] {problem}")
    write_json(a.out, {"started_at": started.isoformat(timespec="seconds"), "machine": about,
                       "auth_mode": "server" if a.no_auth else "client", **report})
    console.print(f"wrote {a.out}")
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
