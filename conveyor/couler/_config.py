"""Workflow-level settings: `config_workflow` and `config_defaults`.

`timeout` is the workflow's activeDeadlineSeconds, `time_to_clean` its
ttlStrategy.secondsAfterCompletion (Couler's ttlSecondsAfterFinished is gone
from Argo 3), and `cron_config` turns the workflow into a CronWorkflow.
https://argo-workflows.readthedocs.io/en/latest/cron-workflows/
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from conveyor.couler._names import default_name_salter
from conveyor.couler._state import STATE
from conveyor.errors import InvalidInput

__all__ = ["config_workflow", "config_defaults", "cluster_pod", "cluster_spec"]

Json = dict[str, Any]

#: Couler's cron_config keys -> CronWorkflow spec fields, with Couler's defaults.
_CRON_FIELDS: dict[str, tuple[str, Any]] = {
    "concurrency_policy": ("concurrencyPolicy", "Allow"),
    "successful_jobs_history_limit": ("successfulJobsHistoryLimit", 3),
    "failed_jobs_history_limit": ("failedJobsHistoryLimit", 1),
    "starting_deadline_seconds": ("startingDeadlineSeconds", 10),
    "suspend": ("suspend", False),
    "timezone": ("timezone", "Asia/Shanghai"),
}


def config_defaults(name_salter: Callable[[str], str] | None = None, service_account: str | None = None) -> None:
    """Defaults that outlive one workflow: how names are salted, the service account."""
    if name_salter is not None:
        STATE.defaults.name_salter = name_salter
    if service_account is not None:
        STATE.defaults.service_account = service_account


def _cron(cron_config: Mapping[str, Any]) -> Json:
    if not isinstance(cron_config, Mapping) or "schedule" not in cron_config:
        raise InvalidInput("cron_config needs a 'schedule', e.g. {'schedule': '0 2 * * *'}")
    unknown = set(cron_config) - set(_CRON_FIELDS) - {"schedule"}
    if unknown:
        raise InvalidInput(f"cron_config has unknown keys {sorted(unknown)}; known: schedule, {', '.join(_CRON_FIELDS)}")
    # Argo 3.6+ spells the schedule as a list (`schedules`); the single field is gone in v4.
    spec: Json = {"schedules": [str(cron_config["schedule"])]}
    for key, (field, default) in _CRON_FIELDS.items():
        spec[field] = cron_config.get(key, default)
    if isinstance(spec["suspend"], str):  # Couler writes "false"; Argo's field is a boolean
        spec["suspend"] = spec["suspend"].strip().lower() == "true"
    return spec


def _load_cluster_config(path: str) -> Any:
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None or spec.loader is None or not Path(path).is_file():
        raise InvalidInput(f"cluster_config_file {path!r} is not a Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "cluster"):
        raise InvalidInput(f"cluster_config_file {path!r} defines no `cluster` object (Couler's convention)")
    return module.cluster


def config_workflow(name: str | None = None, user_id: str | None = None, timeout: int | None = None,
                    time_to_clean: int | None = None, cluster_config_file: str | None = None,
                    cron_config: Mapping[str, Any] | None = None, service_account: str | None = None) -> None:
    """Name, deadline, cleanup, cluster hooks, schedule and service account of the workflow."""
    if name is not None:
        STATE.name = (STATE.defaults.name_salter or default_name_salter)(name)
    if user_id is not None:
        STATE.user_id = user_id
    if timeout is not None:
        STATE.timeout = timeout
    if time_to_clean is not None:
        STATE.time_to_clean = time_to_clean
    if cluster_config_file is not None:
        STATE.cluster_config = _load_cluster_config(cluster_config_file)
    if cron_config is not None:
        STATE.cron = _cron(cron_config)
    STATE.service_account = service_account if service_account is not None else STATE.defaults.service_account


def cluster_spec(spec: Json) -> Json:
    """The workflow spec as the cluster config's `config_workflow(spec)` adjusts it, if it has one."""
    hook = getattr(STATE.cluster_config, "config_workflow", None)
    return hook(spec) if hook is not None else spec  # type: ignore[no-any-return]


def cluster_pod(template: Json) -> Json:
    """A container or script template as the cluster config's `config_pod` adjusts it."""
    hook = getattr(STATE.cluster_config, "config_pod", None)
    if hook is None or not ({"container", "script"} & set(template)):
        return template
    # Couler supports config_pod(template) and the older config_pod(template, pool, enable_ulogfs).
    if len(inspect.signature(hook).parameters) == 1:
        return hook(template)  # type: ignore[no-any-return]
    pool, enable_ulogfs = STATE.pod_hints.get(template["name"], (None, True))
    return hook(template, pool, enable_ulogfs)  # type: ignore[no-any-return]
