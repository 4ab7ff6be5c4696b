"""Leaf controllers: pods (container, script, containerSet), retries and suspends.

Retries: https://argo-workflows.readthedocs.io/en/latest/retries/
Suspend: https://argo-workflows.readthedocs.io/en/latest/walk-through/suspending/
Timeouts: https://argo-workflows.readthedocs.io/en/latest/walk-through/timeouts/
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from typing import Any

from conveyor.engine._ctl import Ctl
from conveyor.engine._ids import pod_name
from conveyor.engine._outputs import pod_outputs, publish_globals
from conveyor.engine.actions import Launch
from conveyor.engine.durations import Backoff, backoff_delay, parse_duration
from conveyor.engine.params import _str
from conveyor.errors import ConveyorError
from conveyor.expr import evaluate_in_scope, substitute

__all__ = ["PodCtl", "RetryCtl", "SuspendCtl", "DEADLINE_MESSAGE"]

DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"


def _deadline_s(tmpl: Mapping[str, Any]) -> float | None:
    values = [
        parse_duration(v, field=f)
        for f, v in (("activeDeadlineSeconds", tmpl.get("activeDeadlineSeconds")), ("timeout", tmpl.get("timeout")))
        if v not in (None, "")
    ]
    return min(values) if values else None


class PodCtl(Ctl):
    is_pod = True

    def start(self) -> None:
        m, node = self.m, self.node
        self.mark_running()
        node.pod_name = pod_name(m.name, node.id, self.tmpl.get("name") or node.template_name or "")
        local: dict[str, Any] = {"pod.name": node.pod_name, "retries": str(self.attempt or 0)}
        try:
            self.sub = substitute(dict(self.tmpl), ChainMap(local, self.scope))
            deadline = _deadline_s(self.sub)
        except ConveyorError as exc:
            self.finish("Error", str(exc))
            return
        self.local_scope = ChainMap(local, self.scope)
        main = self.sub.get("container") or self.sub.get("script") or {}
        if not main and self.sub.get("containerSet"):
            main = (self.sub["containerSet"].get("containers") or [{}])[0]
        node.image = main.get("image")
        if deadline is not None:
            m.set_timer(f"deadline:{node.id}", m.now + deadline, self._deadline)
        m.pods[node.id] = self
        m.emit(Launch(node.id, self.plan()))

    def plan(self) -> dict[str, Any]:
        m, node, sub = self.m, self.node, self.sub
        outputs = sub.get("outputs") or {}
        out_params = {
            p["name"]: p["valueFrom"]["path"]
            for p in outputs.get("parameters") or []
            if "path" in (p.get("valueFrom") or {})
        }
        out_arts: dict[str, dict[str, Any]] = {}
        for a in outputs.get("artifacts") or []:
            archive = "none" if "none" in (a.get("archive") or {}) else "tar"
            key = next(
                (str(a[loc]["key"]).rstrip("/") for loc in ("s3", "gcs", "oss") if isinstance(a.get(loc), dict) and a[loc].get("key")),
                f"{m.name}/{node.pod_name}/{a['name']}" + (".tgz" if archive == "tar" else ""),
            )
            out_arts[a["name"]] = {"path": a.get("path", ""), "key": key, "archive": archive}
        return {
            "workflow": m.name,
            "namespace": m.namespace,
            "node_id": node.id,
            "node_name": node.name,
            "pod_name": node.pod_name,
            "template": sub,
            "inputs": {"artifacts": (node.inputs or {}).get("artifacts") or []},
            "outputs": {"parameters": out_params, "artifacts": out_arts},
        }

    def on_result(self, result: Mapping[str, Any]) -> None:
        if self.done:
            return
        phase = result.get("phase") or "Error"
        message = result.get("message") or ""
        self.node.image_id = result.get("imageID") or None
        try:
            outputs, problem = pod_outputs(self.sub, result, self.local_scope, phase == "Succeeded")
        except ConveyorError as exc:
            outputs, problem = {}, str(exc)
        if problem and phase == "Succeeded":
            phase, message = "Error", problem
        if outputs:
            self.node.outputs = outputs
            publish_globals(self.m, outputs)
        self.finish(phase, message)
        self._release()

    def _release(self) -> None:
        # A finished pod is never launched again (a retry is a new attempt with its own
        # controller), so its substituted template and scope are dead weight: in a
        # 10,000-item loop they were the largest part of the machine's memory.
        del self.sub, self.local_scope

    def _deadline(self) -> None:
        self.shutdown(DEADLINE_MESSAGE)

    def shutdown(self, message: str, phase: str = "Failed") -> None:
        if self.done:
            return
        if self.node.id in self.m.pods:
            self.m.kill(self.node, message)
        self.finish(phase, message)
        self._release()


class RetryCtl(Ctl):
    """The Retry node: runs attempts `name(0)`, `name(1)`, ... of the same template."""

    def start(self) -> None:
        self.mark_running()
        spec = self.tmpl.get("retryStrategy")
        if spec is None:
            spec = self.m.spec.get("retryStrategy") or {}
        try:
            limit = substitute(spec.get("limit"), self.scope)
            self.limit = None if limit in (None, "") else int(_str(limit))
            self.policy = spec.get("retryPolicy") or "OnFailure"
            self.expression = substitute(spec.get("expression"), self.scope) if spec.get("expression") else None
            self.backoff = Backoff.from_spec(substitute(spec.get("backoff"), self.scope))
        except (ConveyorError, ValueError) as exc:
            self.finish("Error", f"retryStrategy: {exc}")
            return
        self.retries = 0
        self.last_scope: dict[str, Any] = {}
        self._attempt()

    def _attempt(self) -> None:
        if self.done:
            return
        halted = self.m.halted(self)
        if halted is not None:
            self.finish("Failed", halted)
            return
        i = self.retries
        child = self.m.invoke(
            self,
            name=f"{self.node.name}({i})",
            display=f"{self.node.display_name}({i})",
            call=self.call,  # type: ignore[attr-defined]
            args=self.args,  # type: ignore[attr-defined]
            boundary=self.boundary,
            depth=self.depth + 1,  # type: ignore[attr-defined]
            attempt=i,
            retry_scope=self.last_scope,
        )
        self.node.add_child(child.node.id)

    def child_done(self, child: Ctl) -> None:
        if self.done:
            return
        cn = child.node
        if cn.outputs:
            self.node.outputs = cn.outputs
        if cn.phase == "Succeeded" or self.m.halted(self) is not None or not self._should_retry(child):
            self.finish(cn.phase, cn.message if cn.failed else "")
            return
        first = self.node.started_at or self.m.now
        delay = backoff_delay(self.backoff, self.retries, first, self.m.now)
        if delay is None:
            self.finish(cn.phase, f"{cn.message} (retryStrategy.backoff.maxDuration reached)".strip())
            return
        self.retries += 1
        if delay > 0:
            self.node.message = f"Backoff for {delay:g} seconds"
            self.m.set_timer(f"retry:{self.node.id}:{self.retries}", self.m.now + delay, self._attempt)
        else:
            self.m.defer(self._attempt)

    def _should_retry(self, child: Ctl) -> bool:
        cn = child.node
        if self.limit is not None and self.retries >= self.limit:
            return False
        allowed = {
            "Always": ("Failed", "Error"),
            "OnFailure": ("Failed",),
            "OnError": ("Error",),
            "OnTransientError": ("Error",),
        }.get(self.policy, ("Failed",))
        if cn.phase not in allowed:
            return False
        outputs = cn.outputs or {}
        duration = max(0.0, (cn.finished_at or self.m.now) - (cn.started_at or self.m.now))
        self.last_scope = {
            "lastRetry.exitCode": outputs.get("exitCode", "-1"),
            "lastRetry.status": cn.phase,
            "lastRetry.duration": str(int(duration)),
            "lastRetry.message": cn.message,
        }
        if not self.expression:
            return True
        try:
            return bool(evaluate_in_scope(self.expression, ChainMap(self.last_scope, self.scope)))
        except ConveyorError as exc:
            cn.message = f"{cn.message}; retryStrategy.expression: {exc}".lstrip("; ")
            return False

    def shutdown(self, message: str, phase: str = "Failed") -> None:
        super().shutdown(message, phase)
        if not any(not c.done for c in self.children):
            self.finish(phase, message)


class SuspendCtl(Ctl):
    def start(self) -> None:
        self.supplied = {}
        self.mark_running()
        duration = (self.tmpl.get("suspend") or {}).get("duration")
        if duration not in (None, ""):
            try:
                seconds = parse_duration(substitute(duration, self.scope), field="suspend.duration")
            except ConveyorError as exc:
                self.finish("Error", str(exc))
                return
            self.m.set_timer(f"suspend:{self.node.id}", self.m.now + seconds, lambda: self.resume({}))

    #: outputs supplied ahead of the resume (Argo's `node set --output-parameter`)
    supplied: dict[str, Any]

    def resume(self, parameters: Mapping[str, Any]) -> None:
        if self.done:
            return
        parameters = {**self.supplied, **parameters}
        params = []
        for p in (self.tmpl.get("outputs") or {}).get("parameters") or []:
            vf = p.get("valueFrom") or {}
            value = parameters.get(p["name"])
            if value is None:
                value = vf.get("default", p.get("value"))
            if value is None:
                # Resuming without a value: a `supplied` output takes the input of the
                # same name (Argo's UI offers inputs, with their enums, as the choices).
                value = self.scope.get(f"inputs.parameters.{p['name']}")
            if value is None and "supplied" in vf:
                self.finish("Error", f"output parameter {p['name']!r} was not supplied when resuming")
                return
            entry = {k: v for k, v in p.items() if k in ("name", "globalName")}
            entry["value"] = _str(substitute(value, self.scope)) if value is not None else ""
            params.append(entry)
        if params:
            self.node.outputs = {"parameters": params}
            publish_globals(self.m, self.node.outputs)
        self.finish("Succeeded")

    def shutdown(self, message: str, phase: str = "Failed") -> None:
        self.finish(phase, message)
