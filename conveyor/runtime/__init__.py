"""Async drivers: store <-> machine <-> executors."""

from conveyor.runtime.prepare import parse_parameters, prepare_workflow
from conveyor.runtime.runner import WorkflowRunner
from conveyor.runtime.select import choose_executor

__all__ = ["WorkflowRunner", "choose_executor", "parse_parameters", "prepare_workflow"]
