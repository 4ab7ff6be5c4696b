"""What can be said of a manifest's `{{=...}}` expressions before it runs: their nesting.

The spec layer lints a manifest without the expression parser (it sits below it), so an
expression nested past the parser's limit (`_parser.MAX_DEPTH`) used to be accepted and
fail its node at run time. Here every `{{=...}}` tag in the manifest's strings is parsed
(parsing is pure and cached) and the too-deep ones are refused at submit and lint, with
where they are. Other parse errors stay the node's, as in Argo: an expression written
for a newer Argo than conveyor's expr-lang subset still runs its workflow up to that node.
https://argo-workflows.readthedocs.io/en/latest/variables/#expression
"""

from __future__ import annotations

from typing import Any

from conveyor.errors import ExpressionError, ManifestError, Problem
from conveyor.expr._fault import shorten
from conveyor.expr._parser import MAX_DEPTH, TOO_DEEP, parse
from conveyor.expr.template import _Expr, _segments

__all__ = ["checked_expressions", "expression_problems"]


def _strings(doc: Any) -> list[tuple[str, str]]:
    """(path, string) for every string in `doc` holding an expression tag; iterative."""
    found, todo = [], [("", doc)]
    while todo:
        path, value = todo.pop()
        if isinstance(value, dict):
            todo.extend((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
        elif isinstance(value, list):
            todo.extend((f"{path}[{i}]", v) for i, v in enumerate(value))
        elif isinstance(value, str) and "{{=" in value:
            found.append((path, value))
    return sorted(found)


def expression_problems(doc: Any) -> list[Problem]:
    """A problem for each `{{=...}}` expression nested deeper than the parser accepts."""
    problems = []
    for path, text in _strings(doc):
        try:
            segments = _segments(text)
        except ExpressionError:
            continue  # an unterminated tag: the node says so when it substitutes it
        for segment in segments:
            if not isinstance(segment, _Expr):
                continue
            try:
                parse(segment.source)
            except ExpressionError as e:
                if e.message.startswith(TOO_DEEP):
                    problems.append(Problem(path, (
                        f"the expression {shorten(segment.raw)} nests deeper than the {MAX_DEPTH} levels "
                        "conveyor's expression parser accepts (each bracket, `!`, `-` or `? :` is a level); "
                        "write it flatter, or compute the value in a task and pass its output")))
    return problems


def checked_expressions(doc: dict[str, Any], source: str = "") -> dict[str, Any]:
    """`doc` (a validated manifest) itself; raises ManifestError if an expression is too deep."""
    problems = expression_problems(doc)
    if problems:
        raise ManifestError(problems, source)
    return doc
