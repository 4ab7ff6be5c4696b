"""Argo's template language: `{{...}}` tags, expr-lang expressions, `when:` and `depends:`.

https://argo-workflows.readthedocs.io/en/latest/variables/

Pure functions: no I/O and no clock. `now()` inside an expression returns the
time found in the environment under `NOW_KEY` ("__now__").
Every failure is raised as `conveyor.errors.ExpressionError`.
"""

from __future__ import annotations

from conveyor.expr._eval import evaluate
from conveyor.expr._regex import Regex, compile_pattern
from conveyor.expr._timefn import NOW_KEY
from conveyor.expr.check import checked_expressions, expression_problems
from conveyor.expr.depends import Depends, compile_depends, dependencies_to_depends
from conveyor.expr.env import build_env
from conveyor.expr.template import evaluate_in_scope, substitute
from conveyor.expr.when import evaluate_when

__all__ = [
    "substitute",
    "checked_expressions",
    "expression_problems",
    "build_env",
    "evaluate",
    "evaluate_in_scope",
    "evaluate_when",
    "Depends",
    "compile_depends",
    "dependencies_to_depends",
    "NOW_KEY",
    "Regex",
    "compile_pattern",
]
