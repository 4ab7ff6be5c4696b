"""Turn Argo v3 spellings into the v4 ones, so the engine sees one form.

Argo v4 removed fields deprecated in v3.6 (see
https://argo-workflows.readthedocs.io/en/latest/upgrading/ and
https://argo-workflows.readthedocs.io/en/latest/deprecations/):

- `synchronization.mutex` / `.semaphore` became the lists `mutexes` / `semaphores`
  (on the workflow spec and on any template, wherever a `synchronization` sits);
- CronWorkflow `spec.schedule` became the list `spec.schedules`;
- v2's `spec.ttlSecondsAfterFinished` became `spec.ttlStrategy.secondsAfterCompletion`.

Argo also accepts numbers and booleans where a parameter's value is a string
(its `AnyString` type), so `value: 3` is stored as "3"; conveyor does the same
so that Hera's models (which want strings) and the engine agree with Argo.

Fields that did not change (`onExit`, `podGC.strategy`, ...) and unknown
fields are left alone. `podPriority`, removed in v4 with no replacement, is kept
as written: it has no meaning on one machine.
"""

from __future__ import annotations

import math
from typing import Any

from conveyor.errors import ManifestError, Problem

__all__ = ["normalize", "clone", "any_string"]

_PARAM_STRING_FIELDS = ("value", "default")


def clone(data: Any) -> Any:
    """Deep-copy JSON-like data; several times faster than copy.deepcopy for it."""
    if isinstance(data, dict):
        return {k: clone(v) for k, v in data.items()}
    if isinstance(data, list):
        return [clone(v) for v in data]
    return data


def any_string(value: Any) -> Any:
    """Argo's AnyString: numbers and booleans read as text, as Go formats them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):  # NaN and infinity stay, for lint to refuse
        # Go prints 1.0 as "1" and 0.5 as "0.5".
        return str(int(value)) if value.is_integer() and abs(value) < 1e16 else repr(value)
    return value


def normalize(manifest: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of `manifest` in Argo v4 spelling; the input is not changed."""
    try:
        doc = _copy_fixing(manifest)
    except RecursionError:
        raise ManifestError(
            [Problem("", "the manifest nests too deeply to process; no Argo manifest needs that")]
        ) from None
    if not isinstance(doc, dict):
        return doc
    spec = doc.get("spec")
    if not isinstance(spec, dict):
        return doc
    if doc.get("kind") == "CronWorkflow":
        _schedules(spec)
        workflow_spec = spec.get("workflowSpec")
        if isinstance(workflow_spec, dict):
            _ttl(workflow_spec)
    else:
        _ttl(spec)
    return doc


def _copy_fixing(data: Any) -> Any:
    # One pass that copies and fixes, because manifests can be large (10,000 tasks).
    if isinstance(data, list):
        return [_copy_fixing(v) for v in data]
    if not isinstance(data, dict):
        return data
    out = {k: _copy_fixing(v) for k, v in data.items()}
    sync = out.get("synchronization")
    if isinstance(sync, dict):
        _synchronization(sync)
    params = out.get("parameters")
    if isinstance(params, list):
        for param in params:
            if isinstance(param, dict):
                _parameter(param)
    return out


def _synchronization(sync: dict[str, Any]) -> None:
    for old, new in (("mutex", "mutexes"), ("semaphore", "semaphores")):
        if old not in sync:
            continue
        value = sync.pop(old)
        if value is None:
            continue
        existing = sync.get(new)
        items = existing if isinstance(existing, list) else []
        if value not in items:
            items.insert(0, value)
        sync[new] = items


def _parameter(param: dict[str, Any]) -> None:
    for field in _PARAM_STRING_FIELDS:
        if field in param:
            param[field] = any_string(param[field])
    enum = param.get("enum")
    if isinstance(enum, list):
        param["enum"] = [any_string(v) for v in enum]
    value_from = param.get("valueFrom")
    if isinstance(value_from, dict) and "default" in value_from:
        value_from["default"] = any_string(value_from["default"])


def _schedules(spec: dict[str, Any]) -> None:
    if "schedule" not in spec:
        return
    schedule = spec.pop("schedule")
    existing = spec.get("schedules")
    schedules = existing if isinstance(existing, list) else []
    if isinstance(schedule, str) and schedule and schedule not in schedules:
        schedules.insert(0, schedule)
    elif schedule and not isinstance(schedule, str):
        schedules.insert(0, schedule)  # wrong type: keep it so lint can say so
    spec["schedules"] = schedules


def _ttl(spec: dict[str, Any]) -> None:
    if "ttlSecondsAfterFinished" not in spec:
        return
    seconds = spec.pop("ttlSecondsAfterFinished")
    strategy = spec.get("ttlStrategy")
    if not isinstance(strategy, dict):
        strategy = {}
        spec["ttlStrategy"] = strategy
    strategy.setdefault("secondsAfterCompletion", seconds)
