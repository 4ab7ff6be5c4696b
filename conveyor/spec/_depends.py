"""Read a DAG task's `depends` clause just enough to lint it.

`depends: "A && (B.Failed || !C.Skipped)"` names tasks, each optionally with a
result suffix, joined by `&&`, `||`, `!` and parentheses. Lint needs the task
names (to find unknown ones and cycles), the suffixes (to reject unknown ones)
and whether the clause is well formed. Evaluating it is the engine's job.

See https://argo-workflows.readthedocs.io/en/latest/enhanced-depends-logic/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["TASK_RESULTS", "ITEM_RESULTS", "Dependency", "parse_depends"]

#: The results a `depends` clause may test; `.X` with no suffix means "X succeeded, or was skipped/daemoned".
TASK_RESULTS = (
    "Succeeded",
    "Failed",
    "Errored",
    "Skipped",
    "Omitted",
    "Daemoned",
    "AnySucceeded",
    "AllFailed",
)
#: Results that only make sense for a task that loops (withItems/withParam/withSequence).
ITEM_RESULTS = frozenset({"AnySucceeded", "AllFailed"})

# Most clauses are plain task names joined by `&&`; they skip the tokenizer.
_SIMPLE = re.compile(r"^\s*[A-Za-z0-9_][-A-Za-z0-9_]*(?:\s*&&\s*[A-Za-z0-9_][-A-Za-z0-9_]*)*\s*$")
_TOKEN = re.compile(r"\s+|&&|\|\||!|\(|\)|([A-Za-z0-9_][-A-Za-z0-9_]*)(?:\.([A-Za-z]+))?")
#: deepest parentheses the engine's depends parser accepts (conveyor.expr.depends)
MAX_PARENS = 100


@dataclass(frozen=True)
class Dependency:
    task: str
    result: str | None  # None: no suffix


def parse_depends(text: str) -> tuple[list[Dependency], str | None]:
    """The dependencies named in a clause, and a message if the clause is malformed."""
    if _SIMPLE.match(text):
        return [Dependency(name.strip(), None) for name in text.split("&&")], None
    deps: list[Dependency] = []
    expect_operand = True  # grammar state: at the start, after an operator or '('
    open_parens = 0
    seen_any = False
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            return deps, f"unexpected character {text[pos]!r} at position {pos + 1}"
        token = match.group(0)
        pos = match.end()
        if token.isspace():
            continue
        seen_any = True
        if match.group(1):
            if not expect_operand:
                return deps, f"missing `&&` or `||` before {token!r}"
            deps.append(Dependency(match.group(1), match.group(2)))
            expect_operand = False
        elif token in ("!", "("):
            if not expect_operand:
                return deps, f"missing `&&` or `||` before {token!r}"
            open_parens += token == "("
            if open_parens > MAX_PARENS:
                return deps, f"parentheses nest more than {MAX_PARENS} deep; write the clause flatter"
        elif token == ")":
            if expect_operand or open_parens == 0:
                return deps, f"unexpected ')' at position {pos}"
            open_parens -= 1
        else:  # && or ||
            if expect_operand:
                return deps, f"{token!r} at position {pos - 1} has nothing on its left"
            expect_operand = True
    if expect_operand and seen_any:
        return deps, "the clause ends with an operator"
    if open_parens:
        return deps, "a '(' is never closed"
    return deps, None
