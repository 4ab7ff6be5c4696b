"""One exception hierarchy for everything conveyor reports to a user.

Each subclass carries the HTTP status and the gRPC code Argo Server's
gRPC-gateway would use for the same failure, so the API layer maps them with
one handler. Messages name the bad value and say what to do about it.
A task that fails is a node phase, never an exception.
"""

from __future__ import annotations

__all__ = [
    "ConveyorError",
    "InvalidInput",
    "ManifestError",
    "ExpressionError",
    "NotFound",
    "AlreadyExists",
    "Unauthenticated",
    "Forbidden",
    "ExecutorError",
    "StoreError",
    "Problem",
]

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One problem found in a manifest; `path` is a JSONPath-like location."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ConveyorError(Exception):
    http_status = 500
    grpc_code = 13  # INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ConveyorError):
    http_status = 400
    grpc_code = 3  # INVALID_ARGUMENT


class ManifestError(InvalidInput):
    """A manifest that cannot be run; carries every problem found, each with its path."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = list(problems)
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{where}{len(self.problems)} problem(s):\n{lines}")


class ExpressionError(InvalidInput):
    """A `{{...}}` template, an expr-lang expression or a `depends` clause that cannot be evaluated."""


class NotFound(ConveyorError):
    http_status = 404
    grpc_code = 5


class AlreadyExists(ConveyorError):
    http_status = 409
    grpc_code = 6


class Unauthenticated(ConveyorError):
    http_status = 401
    grpc_code = 16


class Forbidden(ConveyorError):
    http_status = 403
    grpc_code = 7


class ExecutorError(ConveyorError):
    """The executor could not start or watch a task (not: the task failed)."""


class StoreError(ConveyorError):
    pass
