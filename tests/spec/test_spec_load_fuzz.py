"""Property tests: any text or bytes given to the manifest loader gives manifests or ManifestError.

The loader is the first thing every submitted manifest meets (CLI, API, kube
endpoints), so YAML's and JSON's own exceptions (and RecursionError, UnicodeError,
...) must never escape it.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conveyor.errors import ConveyorError, ManifestError
from conveyor.spec import load_documents, validate
from conveyor.spec._depends import parse_depends

FUZZ = settings(
    max_examples=int(os.environ.get("CONVEYOR_FUZZ_EXAMPLES", "300")),
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)

YAML_PIECES = [
    *"--- ... kind: Workflow apiVersion: argoproj.io/v1alpha1 metadata: name: spec: templates:".split(),
    "\n", "\n  ", "\n    ", " ", "\t", "- ", ": ", "? ", ", ", "[", "]", "{", "}", "'", '"', "|", ">", "|-",
    "&a ", "*a", "&b [*a, *a]", "<<: *a", "<<: [*a, *b]", "!!str ", "!!int ", "!!binary ", "!!python/object:os.system ",
    "!!timestamp ", "!!set ", "!!omap ", "!custom ", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "# c", "null", "~",
    "yes", "No", "0x1F", "0o17", "1e400", ".nan", "-.inf", "2024-01-01", "1:20", "=", "\\", "\x00", "\ufeff",
    "\udcff", "é", "a", "b",
]
yaml_text = st.lists(st.sampled_from(YAML_PIECES), max_size=25).map("".join)
json_text = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
).map(json.dumps)


def _manifests_or_manifest_error(text: str | bytes, **kwargs: Any) -> list[dict[str, Any]]:
    try:
        docs = load_documents(text, "fuzz.yaml", **kwargs)
    except ManifestError as exc:
        assert exc.problems and all(p.message for p in exc.problems)
        assert exc.message.startswith("fuzz.yaml: ")
        return []
    assert all(isinstance(doc, dict) for doc in docs)
    # What loads is plain JSON data: it must survive being stored and sent back.
    json.dumps(docs, allow_nan=True)
    return docs


@FUZZ
@given(yaml_text)
def test_yaml_soup(text: str) -> None:
    for doc in _manifests_or_manifest_error(text):
        try:
            validate(doc, source="fuzz.yaml")
        except ConveyorError:
            pass


@FUZZ
@given(st.text(max_size=80))
def test_random_text(text: str) -> None:
    _manifests_or_manifest_error(text)


@FUZZ
@given(st.binary(max_size=80) | yaml_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_random_bytes(raw: bytes) -> None:
    _manifests_or_manifest_error(raw)


@FUZZ
@given(json_text | json_text.map(lambda t: t[: len(t) // 2]))
def test_json_documents_and_truncated_json(text: str) -> None:
    _manifests_or_manifest_error(text)


@FUZZ
@given(yaml_text, st.integers(0, 64))
def test_any_size_limit(text: str, max_bytes: int) -> None:
    _manifests_or_manifest_error(text, max_bytes=max_bytes)


DEPENDS_PIECES = ["A", "b-2", "_c", "A.Succeeded", "A.Bogus", "A.", ".", "&&", "||", "&", "|", "!", "(", ")",
                  " ", "\t", "é", "{{tasks.x}}", "0"]


@FUZZ
@given(st.lists(st.sampled_from(DEPENDS_PIECES), max_size=12).map("".join) | st.text(max_size=30))
def test_lint_reads_any_depends_clause(text: str) -> None:
    deps, problem = parse_depends(text)
    assert problem is None or isinstance(problem, str) and problem
    assert all(isinstance(d.task, str) and d.task for d in deps)


@pytest.mark.parametrize(
    "text, message",
    [
        ("kind: \udcff\n", r"lone surrogate U\+DCFF at offset 6"),  # UnicodeEncodeError in libyaml
        ("a: !!int --\n", "'--' at line 1, column 4 is not a valid integer"),  # ValueError
        ("a: !!int _\n", "not a valid integer"),  # IndexError
        ("a: !!bool maybe\n", "not a valid boolean"),  # KeyError
        ("a: !!float x\n", "not a valid number"),
        ("a: " + "1" * 5000 + "\n", "at most 4300 digits"),  # int() refuses more digits
    ],
)
def test_crashes_found_by_the_properties(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message):
        load_documents(text)
