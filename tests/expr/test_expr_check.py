"""conveyor.expr.check: `{{=...}}` expressions past the parser's nesting limit are refused at submit."""

from __future__ import annotations

from typing import Any

import pytest

from conveyor.errors import ManifestError
from conveyor.expr import checked_expressions, expression_problems
from conveyor.expr._parser import MAX_DEPTH


def _wf(*args: str, **params: str) -> dict[str, Any]:
    main = {"name": "main", "inputs": {"parameters": [{"name": k, "value": v} for k, v in params.items()]},
            "container": {"image": "busybox", "args": list(args)}}
    return {"kind": "Workflow", "spec": {"entrypoint": "main", "templates": [main]}}


def _parens(n: int) -> str:
    return "{{=" + "(" * n + "1" + ")" * n + "}}"


def test_an_expression_within_the_limit_passes() -> None:
    doc = _wf(_parens(MAX_DEPTH - 1), "{{= 'a' + inputs.parameters.x }} and {{inputs.parameters.x}}", x="1")
    assert expression_problems(doc) == []
    assert checked_expressions(doc) is doc


@pytest.mark.parametrize("deep", [_parens(MAX_DEPTH), "{{=" + "!" * 5000 + "true}}",
                                  "{{=" + "a ? b : " * 300 + "c}}", "{{=" + "[" * 300 + "1" + "]" * 300 + "}}"])
def test_a_too_deep_expression_is_named_with_its_path(deep: str) -> None:
    problems = expression_problems(_wf("ok", f"before {deep} after"))
    assert [p.path for p in problems] == ["spec.templates[0].container.args[1]"]
    assert f"nests deeper than the {MAX_DEPTH} levels" in problems[0].message
    assert "write it flatter" in problems[0].message


def test_every_too_deep_expression_is_reported_and_the_manifest_refused() -> None:
    doc = _wf(_parens(500), x=_parens(400))
    with pytest.raises(ManifestError) as e:
        checked_expressions(doc, "wf.yaml")
    assert sorted(p.path for p in e.value.problems) == ["spec.templates[0].container.args[0]",
                                                       "spec.templates[0].inputs.parameters[0].value"]
    assert str(e.value).startswith("wf.yaml: 2 problem(s)")


@pytest.mark.parametrize("other", ["{{= 1 + }}", "{{= unknownfn(1) }}", "{{= (1 }}", "{{= 'open"])
def test_other_expression_errors_are_left_to_the_node(other: str) -> None:
    """Only nesting is refused up front; a syntax conveyor's subset lacks still runs the workflow up to that node."""
    assert expression_problems(_wf(other)) == []
