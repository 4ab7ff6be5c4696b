"""Property tests: Argo duration strings and retry backoff specs, any input, never a crash.

Durations come from manifests (`activeDeadlineSeconds`, `suspend.duration`,
`retryStrategy.backoff`) and from `@every` schedules; a bad one is InvalidInput.
"""

from __future__ import annotations

import math
import os
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.engine.durations import MAX_DURATION_S, Backoff, backoff_delay, parse_duration
from conveyor.errors import InvalidInput

FUZZ = settings(
    max_examples=int(os.environ.get("CONVEYOR_FUZZ_EXAMPLES", "300")),
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)

PIECES = [*"0 1 9 00 1.5 .5 5. 1e3 1e400 99999999999999999999 - + . e E nan inf x".split(),
          *"ns us µs ms s m h d y".split(), " "]
duration_text = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
any_value = st.one_of(
    duration_text, st.text(max_size=12), st.integers(-(2**70), 2**70), st.floats(), st.booleans(),
    st.none(), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@FUZZ
@given(any_value)
def test_parse_duration_of_anything(value: Any) -> None:
    try:
        seconds = parse_duration(value, field="spec.x")
    except InvalidInput as exc:
        assert "spec.x" in exc.message
    else:
        assert isinstance(seconds, float)


@FUZZ
@given(st.dictionaries(st.sampled_from(["duration", "factor", "maxDuration", "cap"]),
                       any_value | st.fixed_dictionaries({"intVal": any_value}), max_size=4),
       st.integers(0, 2000), st.floats(0, 1e9), st.floats(0, 1e9))
def test_backoff_from_any_spec(spec: dict[str, Any], retries: int, first: float, now: float) -> None:
    try:
        backoff = Backoff.from_spec(spec)
    except InvalidInput as exc:
        assert "retryStrategy.backoff" in exc.message
        return
    delay = backoff_delay(backoff, retries, first, now)
    assert delay is None or isinstance(delay, float) and not math.isnan(delay)


@pytest.mark.parametrize(
    "value, message",
    [
        ("nan", "is not a duration"),
        (float("nan"), "is not a duration"),
        ("inf", "longest duration"),
        ("1e400", "longest duration"),
        (float("-inf"), "longest duration"),
        ("9" * 30 + "h", "longest duration"),
        (10**30, "longest duration"),
    ],
)
def test_durations_no_clock_reaches_are_refused(value: Any, message: str) -> None:
    # Found by the properties above: these became NaN or infinite timers.
    with pytest.raises(InvalidInput, match=message):
        parse_duration(value, field="suspend.duration")


def test_a_huge_backoff_factor_is_capped_not_an_overflow() -> None:
    backoff = Backoff.from_spec({"duration": "1s", "factor": 1e10})
    assert backoff_delay(backoff, 2000, 0.0, 0.0) == MAX_DURATION_S
    with pytest.raises(InvalidInput, match="factor"):
        Backoff.from_spec({"duration": "1s", "factor": "nan"})
