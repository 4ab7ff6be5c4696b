"""Lint a step's or task's `when:` just enough to refuse, at submit, what can never run.

The condition is evaluated only after its `{{...}}` tags are substituted (the
engine's job, conveyor.expr.when), so its grammar cannot be checked here. Its
nesting can: parentheses written outside tags and quotes stay after
substitution, and past the evaluator's limit the step would fail at run time,
after its workflow had been accepted.

See https://argo-workflows.readthedocs.io/en/latest/walk-through/conditionals/.
"""

from __future__ import annotations

__all__ = ["MAX_WHEN_NESTING", "MAX_WHEN_PREFIXES", "when_problem"]

#: deepest parentheses the engine's `when` evaluator accepts (conveyor.expr.when)
MAX_WHEN_NESTING = 99
#: most `!` and `-` in a row it accepts
MAX_WHEN_PREFIXES = 100


def _nesting(text: str) -> tuple[int, int]:
    """Deepest parentheses, and longest run of `!`/`-`, outside quotes and `{{...}}` tags."""
    deepest = depth = run = longest = 0
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == quote:
                quote = ""
        elif text.startswith("{{", i):
            end = text.find("}}", i + 2)
            i = len(text) if end < 0 else end + 1
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif c == ")":
            depth = max(depth - 1, 0)
        if not quote and c in "!-" and text[i + 1 : i + 2] != "=":
            run += 1
            longest = max(longest, run)
        elif quote or not c.isspace():
            run = 0
        i += 1
    return deepest, longest


def when_problem(text: str) -> str | None:
    """A message when a `when:` nests deeper than its evaluator goes, else None."""
    parens, prefixes = _nesting(text)
    if parens > MAX_WHEN_NESTING:
        return (f"the condition nests {parens} levels deep in parentheses, more than the "
                f"{MAX_WHEN_NESTING} its evaluator accepts; write it flatter (split it over several "
                "steps, or compute it in a task and test that task's output)")
    if prefixes > MAX_WHEN_PREFIXES:
        return (f"the condition has {prefixes} `!` or `-` in a row, more than the {MAX_WHEN_PREFIXES} "
                "its evaluator accepts; two `!` cancel out, so remove pairs of them")
    return None
