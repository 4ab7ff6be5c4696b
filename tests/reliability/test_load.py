"""The load suite (issue 8): many clients submit small workflows to a real `conveyor server`
(`--auth-mode client`, a write token on every request) and watch them finish; `bench/load.py`
drives it, and `python -m bench.load` runs it at full size with the figures.

In CI: 50 concurrent clients, 200 workflows (4 each), 50 watch streams open at once; the
reply to every 4th create is thrown away after the server answered it (50 lost replies) and
the first watch of every 5th client is cut (10 reconnects). Marked slow: 200 clients, 2,000
workflows, 200 watch streams, every 10th reply lost, every 10th client's watch cut
(`python -m pytest -m slow tests/reliability/test_load.py`). Each asserts that every workflow
was accepted exactly once (each lost reply's retry answered 409), was seen Succeeded through
its client's watch and is stored once with its labels, that no reply was a 5xx, and that the
server's RSS stayed under `bench.load.RSS_BOUND_MB` and levelled off (its curve, sampled every
0.2 s: the last third's peak within PLATEAU_MARGIN_MB of the first third's). No timing is asserted: the latencies
are reported in bench/RESULTS.md.

The other tests check the driver's own bookkeeping, so a broken promise cannot pass unseen:
a create whose reply was lost and whose retry gets 409 counts once, and a 409 to a first
attempt (someone else's workflow), a lost or doubled workflow, or a cut watch that was not
opened again is reported.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from bench import load as driver
from bench.load import LoadResult, run_load
from tests.reliability._faults import plateau_problem

#: how far the last third's RSS peak may sit above the first third's (see assert_held)
PLATEAU_MARGIN_MB = 12


def assert_held(load: LoadResult) -> None:
    assert load.problems() == []
    assert load.accepted == load.expected and len(load.expected) == load.workflows
    assert sorted(load.stored) == sorted(load.expected) and not load.listed_twice
    assert all(load.watched[name] == "Succeeded" for name in load.expected)
    assert all(phase == "Succeeded" for _, phase in load.stored.values())
    assert all(labels[k] == v for name, (labels, _) in load.stored.items() for k, v in load.labels[name].items())
    assert not [s for s in load.statuses if s.startswith("5")], load.statuses
    # every create, every watch and the final list was answered
    assert load.statuses["200"] + load.accepted_on_retry >= load.workflows + load.clients + 1
    assert 0 < load.rss_peak_kb / 1024 <= driver.RSS_BOUND_MB
    assert load.create_ms and load.rss_samples_kb
    # The curve, sampled every bench.load.RSS_EVERY_S: the first third holds the creates and
    # the warm-up of every code path, so memory in step with the work (a record kept per
    # workflow or per watch) lifts the last third's peak by 2/3 of it: 12 MiB is ~60 KiB per
    # workflow in CI's 200, and ~6 KiB per workflow in the slow run's 2,000.
    samples = [kb * 1024 for kb in load.rss_samples_kb]
    assert not (why := plateau_problem(samples, PLATEAU_MARGIN_MB * 2**20, what=f"{load.workflows} workflows")), why
    assert load.lost_replies and load.statuses["409"] >= load.accepted_on_retry >= len(load.lost_replies)
    assert load.cut_watches and load.watch_reconnects >= load.cut_watches


def test_fifty_clients_two_hundred_workflows(tmp_path: Path) -> None:
    """CI count: 50 clients, 200 workflows, 50 replies lost, 10 watches cut."""
    assert_held(run_load(50, 200, tmp_path, timeout_s=300, lose_every=4, cut_every=5))


@pytest.mark.slow
def test_two_hundred_clients_two_thousand_workflows(tmp_path: Path) -> None:
    """The issue's count: 200 clients, 2,000 workflows, 200 replies lost, 20 watches cut."""
    assert_held(run_load(200, 2000, tmp_path, timeout_s=900, lose_every=10, cut_every=10))


def _client(load: LoadResult, replies: list[httpx.Response | Exception],
            watch: httpx.Response | None = None) -> tuple[driver._Client, list[str]]:
    """A client of one workflow whose POSTs get `replies` in turn and whose watch gets
    `watch`; and the names its POSTs sent."""
    name = "load-r-c0-w0"
    load.expected, load.labels = {name}, {name: {driver.RUN_LABEL: "r", driver.CLIENT_LABEL: "c0"}}
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            assert watch is not None, "this client was not meant to watch"
            return watch
        sent.append(httpx.Response(200, content=request.content).json()["workflow"]["metadata"]["name"])
        reply = replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return driver._Client(load, "http://load.test", {}, 0, [name], transport=httpx.MockTransport(answer)), sent


def test_a_retry_after_a_lost_reply_is_answered_409_and_counts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(driver, "RETRY_PAUSE_S", 0.0)
    load = LoadResult(1, 1, run_id="r")
    conflict = httpx.Response(409, json={"code": 6, "message": "already exists"})
    client, sent = _client(load, [httpx.ReadTimeout("no reply"), conflict])
    asyncio.run(client._create("load-r-c0-w0", 0.0))
    assert sent == ["load-r-c0-w0", "load-r-c0-w0"]  # the same client-chosen name both times
    assert load.accepted == {"load-r-c0-w0"} and load.accepted_on_retry == 1 and load.create_retries == 1
    assert load.transport_errors == Counter({"ReadTimeout": 1}) and load.errors == []


def test_a_409_to_a_first_attempt_is_a_problem() -> None:
    load = LoadResult(1, 1, run_id="r")
    client, _ = _client(load, [httpx.Response(409, json={"code": 6, "message": "already exists"})])
    asyncio.run(client._create("load-r-c0-w0", 0.0))
    assert load.accepted == set()
    problems = " ".join(load.problems())
    assert "answered 409" in problems and "never accepted" in problems


def test_lost_doubled_foreign_and_unfinished_workflows_are_problems() -> None:
    load = LoadResult(1, 3, run_id="r", expected={"a", "b", "c"}, accepted={"a", "b", "c"},
                      watched={"a": "Succeeded", "b": "Failed"}, statuses=Counter({"200": 4, "503": 1}),
                      labels={n: {driver.RUN_LABEL: "r"} for n in "abc"}, rss_peak_kb=2 * 1024 * driver.RSS_BOUND_MB)
    load.stored = {"a": ({driver.RUN_LABEL: "r"}, "Succeeded"), "b": ({}, "Failed"), "x": ({}, "Succeeded")}
    load.listed_twice, load.lost_replies, load.cut_watches = ["a"], {"a"}, 1
    problems = "\n".join(load.problems())
    for expected in ("5xx replies: {'503': 1}", "1 workflows not seen finished", "1 workflows finished but did not succeed",
                     "1 workflows missing from the server's list, e.g. ['c']", "the clients never asked for, e.g. ['x']",
                     "listed more than once", "lack their labels, e.g. ['b']", "are not Succeeded, e.g. ['b']",
                     "over the bound", "1 replies were lost on purpose but only 0 retries were answered 409",
                     "1 watch streams were cut on purpose but only 0 were opened again"):
        assert expected in problems, expected


def test_a_refused_watch_ends_the_client_and_is_a_problem() -> None:
    load = LoadResult(1, 1, run_id="r")
    client, _ = _client(load, [], watch=httpx.Response(401, json={"code": 16, "message": "token required"}))
    asyncio.run(asyncio.wait_for(client._watch(), 10))
    assert client.all_done.is_set()
    problems = " ".join(load.problems())
    assert "watch c0 answered 401" in problems and "not seen finished through the watch" in problems
