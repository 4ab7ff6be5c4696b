"""Async drivers: store <-> machine <-> executors."""

from conveyor.runtime._cron_schedule import next_fires
from conveyor.runtime.cron import CronTicker
from conveyor.runtime.prepare import parse_parameters, prepare_workflow
from conveyor.runtime.runner import WorkflowRunner
from conveyor.runtime.select import choose_executor
from conveyor.runtime.service import Service

__all__ = ["CronTicker", "Service", "WorkflowRunner", "choose_executor", "next_fires", "parse_parameters", "prepare_workflow"]
