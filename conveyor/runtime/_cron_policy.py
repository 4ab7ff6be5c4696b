"""What a CronWorkflow should do now: pure decisions, the clock passed in.

https://argo-workflows.readthedocs.io/en/latest/cron-workflows/

- `due_runs`: which scheduled time to start, honouring `startingDeadlineSeconds`
  (the "Crash Recovery" section);
- `decide`: `suspend`, `when` and `concurrencyPolicy` for one scheduled time;
- `stop_reason`: whether `stopStrategy.expression` holds;
- `history_to_delete`: `successfulJobsHistoryLimit` / `failedJobsHistoryLimit`.

Expressions see the variables of
https://argo-workflows.readthedocs.io/en/latest/variables/#cronworkflows ;
`now()` is the `now` passed in, never the wall clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor.errors import ExpressionError, InvalidInput
from conveyor.expr import NOW_KEY, evaluate_in_scope, evaluate_when, substitute
from conveyor.runtime._cron_schedule import previous_fire

__all__ = ["Decision", "due_runs", "decide", "stop_reason", "history_to_delete", "parse_time"]

_POLICIES = ("Allow", "Forbid", "Replace")
_SUCCESS_KEEP, _FAILURE_KEEP = 3, 1  # Argo's defaults


@dataclass(frozen=True)
class Decision:
    """Start a workflow for the scheduled time or not; `stop` names the active ones to end first."""

    start: bool
    reason: str = ""
    stop: tuple[str, ...] = ()


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 timestamp from a manifest as an aware UTC datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def due_runs(
    spec: Mapping[str, Any],
    last_scheduled: datetime | None,
    now: datetime,
    created: datetime,
    *,
    watching_since: datetime | None = None,
    schedule_changed: bool = False,
) -> list[datetime]:
    """The scheduled time to start now: [] or [t], never more (one catch-up run at most).

    t is the latest fire time after `last_scheduled` (or `created`, for a
    CronWorkflow that never ran) and at or before `now`. It starts when:

    - the ticker was already watching at t (`watching_since <= t`): it is on
      time, however late the loop woke;
    - else it was missed (nothing was running at t). Argo starts a missed run
      only if the CronWorkflow ran before under the same schedules, and
      `startingDeadlineSeconds` is set and `now < t + startingDeadlineSeconds`;
      so 0 or unset means a missed run is skipped, and older misses never count.
    """
    floor = max(created, last_scheduled) if last_scheduled else created
    latest = previous_fire(spec.get("schedules") or [], spec.get("timezone"), now)
    if latest is None or latest <= floor:
        return []
    if watching_since is not None and latest >= watching_since:
        return [latest]
    deadline = spec.get("startingDeadlineSeconds")
    if (
        last_scheduled is None
        or schedule_changed
        or not isinstance(deadline, int)
        or isinstance(deadline, bool)
    ):
        return []
    return [latest] if now < latest + timedelta(seconds=deadline) else []


def expression_scope(cron: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The flat `cronworkflow.*` variables, plus the clock `now()` reads."""
    meta = cron.get("metadata") or {}
    status = cron.get("status") or {}
    labels = dict(meta.get("labels") or {})
    annotations = dict(meta.get("annotations") or {})
    scope: dict[str, Any] = {
        NOW_KEY: now,
        "cronworkflow.name": meta.get("name", ""),
        "cronworkflow.namespace": meta.get("namespace", ""),
        # Whole maps serve `cronworkflow.labels['app.kubernetes.io/name']` in expressions;
        # the flat keys below serve simple `{{cronworkflow.labels.team}}` tags.
        "cronworkflow.labels": labels,
        "cronworkflow.annotations": annotations,
        "cronworkflow.labels.json": json.dumps(labels, sort_keys=True),
        "cronworkflow.annotations.json": json.dumps(annotations, sort_keys=True),
        "cronworkflow.lastScheduledTime": parse_time(status.get("lastScheduledTime")),
        "cronworkflow.failed": int(status.get("failed") or 0),
        "cronworkflow.succeeded": int(status.get("succeeded") or 0),
    }
    scope.update({f"cronworkflow.labels.{k}": v for k, v in labels.items()})
    scope.update({f"cronworkflow.annotations.{k}": v for k, v in annotations.items()})
    return scope


def _when_holds(cron: Mapping[str, Any], now: datetime) -> bool:
    when = (cron.get("spec") or {}).get("when")
    if not when:
        return True
    # Argo substitutes the {{...}} tags first, then evaluates what is left as a condition.
    text = substitute(str(when), expression_scope(cron, now))
    try:
        return evaluate_when(text)
    except ExpressionError as exc:
        raise ExpressionError(f"spec.when {when!r}: {exc.message}") from None


def decide(
    cron: Mapping[str, Any],
    active: Sequence[Mapping[str, Any]],
    scheduled_time: datetime,
    now: datetime | None = None,
) -> Decision:
    """Apply `suspend`, `when` and `concurrencyPolicy` (Allow, Forbid, Replace) to one scheduled time.

    `active` are the CronWorkflow's workflows that have not finished; `now` is
    what `now()` returns in `when` (the scheduled time if not given). Raises
    InvalidInput (ExpressionError for `when`) when the spec cannot be applied.
    """
    spec = cron.get("spec") or {}
    if spec.get("suspend") is True:
        return Decision(False, "the CronWorkflow is suspended")
    if not _when_holds(cron, now or scheduled_time):
        return Decision(False, f"spec.when {spec.get('when')!r} is false")
    policy = spec.get("concurrencyPolicy") or "Allow"
    if policy not in _POLICIES:
        raise InvalidInput(
            f"concurrencyPolicy {policy!r} is not known; use one of {', '.join(_POLICIES)}"
        )
    names = tuple(str((wf.get("metadata") or {}).get("name", "")) for wf in active)
    if policy == "Allow" or not names:
        return Decision(True)
    if policy == "Forbid":
        return Decision(False, f"concurrencyPolicy Forbid: {', '.join(names)} still running")
    return Decision(True, f"concurrencyPolicy Replace: stopping {', '.join(names)}", stop=names)


def stop_reason(cron: Mapping[str, Any], now: datetime) -> str | None:
    """Why scheduling must stop, when `spec.stopStrategy.expression` holds; None otherwise."""
    strategy = (cron.get("spec") or {}).get("stopStrategy") or {}
    expression = strategy.get("expression")
    if not expression:
        return None
    scope = expression_scope(cron, now)
    try:
        result = evaluate_in_scope(str(expression), scope)
    except ExpressionError as exc:
        raise ExpressionError(
            f"spec.stopStrategy.expression {expression!r}: {exc.message}"
        ) from None
    if not isinstance(result, bool):
        raise InvalidInput(
            f"spec.stopStrategy.expression {expression!r} gave {result!r}, not true or false; "
            "write a condition such as 'cronworkflow.failed >= 3'"
        )
    if not result:
        return None
    return (
        f"stopStrategy expression {expression!r} holds (succeeded={scope['cronworkflow.succeeded']}, "
        f"failed={scope['cronworkflow.failed']}); scheduling is suspended"
    )


def _limit(spec: Mapping[str, Any], field: str, default: int) -> int:
    value = spec.get(field)
    # Argo honours only a limit of 0 or more; anything else means the default.
    return (
        value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default
    )


def _finished_order(wf: Mapping[str, Any]) -> tuple[str, str, str]:
    meta, status = wf.get("metadata") or {}, wf.get("status") or {}
    finished = parse_time(status.get("finishedAt")) or parse_time(meta.get("creationTimestamp"))
    return (
        finished.isoformat() if finished else "",
        meta.get("creationTimestamp") or "",
        meta.get("name") or "",
    )


def history_to_delete(spec: Mapping[str, Any], workflows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of finished workflows beyond the history limits, oldest finish first dropped.

    Succeeded ones are kept up to `successfulJobsHistoryLimit` (default 3);
    Failed and Error ones up to `failedJobsHistoryLimit` (default 1).
    """
    groups: dict[str, list[Mapping[str, Any]]] = {"ok": [], "bad": []}
    for wf in workflows:
        phase = (wf.get("status") or {}).get("phase")
        if phase == "Succeeded":
            groups["ok"].append(wf)
        elif phase in ("Failed", "Error"):
            groups["bad"].append(wf)
    keep = {
        "ok": _limit(spec, "successfulJobsHistoryLimit", _SUCCESS_KEEP),
        "bad": _limit(spec, "failedJobsHistoryLimit", _FAILURE_KEEP),
    }
    doomed: list[str] = []
    for group, items in groups.items():
        newest_first = sorted(items, key=_finished_order, reverse=True)
        doomed += [str(wf["metadata"]["name"]) for wf in newest_first[keep[group] :]]
    return doomed
