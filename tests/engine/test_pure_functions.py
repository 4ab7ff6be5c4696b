"""Table tests for the engine's pure helpers: durations, backoff, IDs, loops."""

from __future__ import annotations

import pytest

from conveyor.engine._ids import fnv32a, node_id, pod_name, rfc3339
from conveyor.engine.durations import Backoff, backoff_delay, parse_duration
from conveyor.engine.loops import expand_loop, item_label, item_scope
from conveyor.engine.params import BindError
from conveyor.errors import InvalidInput


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(30, 30.0), ("30", 30.0), ("1.5", 1.5), ("30s", 30.0), ("2m", 120.0), ("1h30m", 5400.0),
     ("1d", 86400.0), ("300ms", 0.3), ("1m30.5s", 90.5), (" 10s ", 10.0), (2.5, 2.5)],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", ["", "abc", "10x", "s", "1m30", True, "1.2.3s"])
def test_parse_duration_rejects(value: object) -> None:
    with pytest.raises(InvalidInput, match="duration"):
        parse_duration(value, field="suspend.duration")


@pytest.mark.parametrize(
    ("spec", "retries", "elapsed", "delay"),
    [
        (None, 0, 0, 0.0),
        ({"duration": "1"}, 0, 0, 1.0),
        ({"duration": "1"}, 3, 0, 1.0),
        ({"duration": "1", "factor": "2"}, 0, 0, 1.0),
        ({"duration": "1", "factor": 2}, 3, 0, 8.0),
        ({"duration": "10s", "factor": "3", "cap": "1m"}, 4, 0, 60.0),
        ({"duration": "5s", "factor": "2", "maxDuration": "1m"}, 1, 40, 10.0),
        ({"duration": "5s", "factor": "2", "maxDuration": "1m"}, 2, 45, None),  # 45 + 20 > 60
        ({"duration": "1", "factor": {"intVal": 2}}, 2, 0, 4.0),
    ],
)
def test_backoff_delay(spec: dict | None, retries: int, elapsed: float, delay: float | None) -> None:
    got = backoff_delay(Backoff.from_spec(spec), retries, first_started_s=100.0, now_s=100.0 + elapsed)
    assert got == (pytest.approx(delay) if delay is not None else None)


def test_backoff_rejects_bad_factor() -> None:
    with pytest.raises(InvalidInput, match="factor"):
        Backoff.from_spec({"duration": "1", "factor": "x"})


def test_fnv32a_and_argo_ids() -> None:
    assert fnv32a("") == 0x811C9DC5
    assert fnv32a("a") == 0xE40C292C
    assert fnv32a("foobar") == 0xBF9CF968
    assert node_id("wf", "wf") == "wf"
    assert node_id("wf", "wf[0].a") == f"wf-{fnv32a('wf[0].a')}"
    assert pod_name("wf", node_id("wf", "wf[0].a"), "tmpl") == f"wf-tmpl-{fnv32a('wf[0].a')}"
    assert pod_name("wf", "wf", "tmpl") == "wf"
    assert len(pod_name("w" * 300, node_id("w" * 300, "x"), "t")) <= 253
    assert rfc3339(0) == "1970-01-01T00:00:00Z" and rfc3339(None) is None


@pytest.mark.parametrize(
    ("step", "items"),
    [
        ({"withItems": [1, "a", {"k": "v"}]}, [1, "a", {"k": "v"}]),
        ({"withItems": ["{{x}}"]}, ["X"]),
        ({"withParam": '["a", 2]'}, ["a", 2]),
        ({"withParam": "{{list}}"}, [1, 2]),
        ({"withSequence": {"count": "3"}}, ["0", "1", "2"]),
        ({"withSequence": {"start": "5", "end": "3"}}, ["5", "4", "3"]),
        ({"withSequence": {"start": "1", "end": "3", "format": "n%02d"}}, ["n01", "n02", "n03"]),
        ({}, None),
    ],
)
def test_expand_loop(step: dict, items: list | None) -> None:
    assert expand_loop(step, {"x": "X", "list": "[1,2]"}) == items


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ({"withParam": "not json"}, "could not be parsed"),
        ({"withParam": '{"a": 1}'}, "must be a JSON list"),
        ({"withSequence": {"count": "x"}}, "not an integer"),
        ({"withSequence": {"count": "1000001"}}, "the limit is"),
        ({"withItems": "abc"}, "must be a list"),
    ],
)
def test_expand_loop_errors(step: dict, message: str) -> None:
    with pytest.raises(BindError, match=message):
        expand_loop(step, {})


def test_item_labels_and_scope() -> None:
    assert item_label("a") == "a" and item_label(3) == "3" and item_label(True) == "true"
    assert item_label({"os": "debian", "version": 9.1}) == "os:debian,version:9.1"
    assert item_scope({"a": 1, "b": "x"}) == {"item": {"a": 1, "b": "x"}, "item.a": "1", "item.b": "x"}
    assert item_scope(2.0) == {"item": "2"}
