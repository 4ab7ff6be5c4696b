"""The workflow state machine: `Machine.apply(event, now) -> [Action]`.

Pure and synchronous: no I/O, no clock (time comes in with each event), no
randomness. The same events in the same order give the same state, which is
how the runtime rebuilds a workflow after a crash.

Argo's controller re-walks the whole workflow on every reconcile; here each
active node has a controller that reacts only to its own children, so an event
costs work proportional to what it touches, not to the workflow's size.
See https://argo-workflows.readthedocs.io/en/latest/fields/#workflowspec
"""

from __future__ import annotations

import itertools
import json
from collections import ChainMap, deque
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from conveyor.engine._ctl import Ctl
from conveyor.engine._ids import node_id, rfc3339
from conveyor.engine._sync import Locks, lock_keys
from conveyor.engine.actions import Action, Finished, Kill, Launch, SetTimer
from conveyor.engine.durations import parse_duration
from conveyor.engine.loops import MAX_ITEMS
from conveyor.engine.nodes import Node
from conveyor.engine.params import Arguments, BindError, bind_inputs, input_scope
from conveyor.errors import ConveyorError, InvalidInput

__all__ = ["Machine", "MAX_DEPTH"]

#: Deepest template nesting before a node fails (catches recursion without end).
MAX_DEPTH = 500

_POD_KINDS = ("container", "script", "containerSet")
_K8S_KINDS = ("resource", "http", "plugin", "data")


class Machine:
    def __init__(
        self,
        workflow: Mapping[str, Any],
        *,
        max_nodes: int = 200_000,
        max_loop_items: int = MAX_ITEMS,
        semaphore_limits: Mapping[str, int] | None = None,
    ) -> None:
        self.wf = workflow
        meta = workflow.get("metadata") or {}
        self.spec: Mapping[str, Any] = workflow.get("spec") or {}
        self.name: str = meta["name"]
        self.namespace: str = meta.get("namespace") or "default"
        self.uid: str = meta.get("uid", "")
        self.max_nodes = max_nodes
        self.max_loop_items = max_loop_items
        self.templates: dict[str, Mapping[str, Any]] = {
            t["name"]: t for t in self.spec.get("templates") or []
        }
        self.nodes: dict[str, Node] = {}
        self.now = 0.0
        self.phase = "Pending"
        self.message = ""
        self.started_at: float | None = None
        self.finished_at: float | None = None
        self.outputs: dict[str, list[dict[str, Any]]] = {}
        self.global_scope: dict[str, Any] = {}
        self.locks = Locks(semaphore_limits)
        self.pods: dict[str, Ctl] = {}
        self.timers: dict[str, Callable[[], None]] = {}
        self.timer_at: dict[str, float] = {}
        self.waiting: dict[str | None, deque[Ctl]] = {}
        self.running_pods = 0
        self.parallelism = _int_or_none(self.spec.get("parallelism"))
        self.shutdown_message: str | None = None
        #: a stop spares the exit handler (it runs after the stop); a terminate does not
        self.halt_exit_handler = False
        self._in_exit_handler = False
        #: `spec.suspend` or a suspend request: no new pods start until resumed
        self.suspended = bool(self.spec.get("suspend"))
        self.terminated = False
        self.main_ctl: Ctl | None = None
        self.exit_ctl: Ctl | None = None
        self.dirty: set[str] = set()
        self._actions: list[Action] = []
        self._deferred: deque[Callable[[], None]] = deque()

    # -- public API ------------------------------------------------------
    @property
    def done(self) -> bool:
        return self.phase in ("Succeeded", "Failed", "Error")

    def apply(self, event: Mapping[str, Any], now: float) -> list[Action]:
        self.now = now
        kind = event.get("type")
        if kind == "start":
            self._start()
        elif kind == "task_finished":
            ctl = self.pods.pop(event["node"], None)
            if ctl is not None and not ctl.done:
                ctl.on_result(event.get("result") or {})  # type: ignore[attr-defined]
        elif kind == "timer":
            self.timer_at.pop(event["id"], None)
            fn = self.timers.pop(event["id"], None)
            if fn is not None:
                fn()
        elif kind == "recovered":
            self._recover(count=event.get("restart", True))
        elif kind == "suspend":
            self.suspended = True
        elif kind == "resume":
            self._resume(event.get("node"), event.get("parameters") or {})
        elif kind == "set":
            self._set(event)
        elif kind in ("stop", "terminate"):
            self._shutdown(kind, event.get("message") or "")
        else:
            raise InvalidInput(f"unknown engine event type {kind!r}")
        self._run_deferred()
        actions, self._actions = self._actions, []
        return actions

    def status(self) -> dict[str, Any]:
        pods = [n for n in self.nodes.values() if n.type == "Pod"]
        done = sum(1 for n in pods if n.phase == "Succeeded")
        out: dict[str, Any] = {"phase": self.phase or "Pending"}
        if self.started_at is not None:
            out["startedAt"] = rfc3339(self.started_at)
        out["finishedAt"] = rfc3339(self.finished_at) if self.finished_at is not None else None
        out["progress"] = f"{done}/{len(pods)}"
        if self.message:
            out["message"] = self.message
        if self.nodes:
            out["nodes"] = {nid: n.to_status() for nid, n in self.nodes.items()}
        if self.outputs:
            out["outputs"] = self.outputs
        if self.done:
            out["conditions"] = [{"type": "Completed", "status": "True"}]
        return out

    # -- services for controllers ---------------------------------------
    def halted(self, ctl: Ctl) -> str | None:
        """Why `ctl` must start nothing new (a stop or terminate), or None."""
        if getattr(ctl, "exit_handler", False) and not self.halt_exit_handler:
            return None
        return self.shutdown_message

    def emit(self, action: Action) -> None:
        self._actions.append(action)

    def defer(self, fn: Callable[[], None]) -> None:
        self._deferred.append(fn)

    def touch(self, node: Node) -> None:
        self.dirty.add(node.id)

    def set_timer(self, timer_id: str, at: float, fn: Callable[[], None]) -> None:
        self.timers[timer_id] = fn
        self.timer_at[timer_id] = at
        self.emit(SetTimer(timer_id, at))

    def kill(self, node: Node, reason: str) -> None:
        self.pods.pop(node.id, None)
        self.emit(Kill(node.id, reason))

    def new_node(
        self,
        name: str,
        display: str,
        type_: str,
        *,
        template_name: str | None = None,
        boundary_id: str | None = None,
        template_ref: dict[str, Any] | None = None,
    ) -> Node:
        nid = node_id(self.name, name)
        if nid in self.nodes:
            if self.nodes[nid].name == name:
                raise ConveyorError(f"internal error: node {name!r} created twice")
            # Two names, one 32-bit hash (about one 10,000-item loop in a hundred has such a
            # pair): the later node takes the id of `name#1` (or #2, ...). Nodes are made in
            # the same order when the events are replayed, so it gets the same id again.
            nid = next(i for k in itertools.count(1) if (i := node_id(self.name, f"{name}#{k}")) not in self.nodes)
        if len(self.nodes) >= self.max_nodes:
            raise BindError(
                f"workflow would exceed {self.max_nodes} nodes (CONVEYOR_MAX_NODES); "
                "check for recursion without end or split the workflow"
            )
        node = Node(
            id=nid,
            name=name,
            display_name=display,
            type=type_,
            template_name=template_name,
            boundary_id=boundary_id,
            template_ref=template_ref,
        )
        self.nodes[nid] = node
        self.touch(node)
        return node

    def outbound(self, node: Node) -> list[str]:
        """Argo's outbound nodes: where edges to the next step or task start."""
        if node.type in ("Steps", "DAG"):
            return list(node.outbound or [node.id])
        if node.type in ("TaskGroup", "StepGroup") and node.children:
            return [o for c in node.children if c in self.nodes for o in self.outbound(self.nodes[c])]
        if node.type == "Retry":
            # edges leave from the attempt that ended it, so a Retry's children stay its attempts
            attempts = [c for c in node.children if c in self.nodes and self.nodes[c].name.startswith(f"{node.name}(")]
            return self.outbound(self.nodes[attempts[-1]]) if attempts else [node.id]
        return [node.id]

    def template_scope(self, inputs: Mapping[str, Any], node_name: str) -> ChainMap[str, Any]:
        return ChainMap(input_scope(inputs), {"node.name": node_name}, self.global_scope)

    def invoke(
        self,
        parent: Ctl | None,
        *,
        name: str,
        display: str,
        call: Mapping[str, Any],
        args: Arguments,
        boundary: Ctl | None,
        depth: int,
        attempt: int | None = None,
        retry_scope: Mapping[str, Any] | None = None,
        hook: bool = False,
    ) -> Ctl:
        """Create the node(s) for calling a template (by `call["template"]` or
        `call["inline"]`) with `args`, and ask for it to be started."""
        from conveyor.engine._dag import DagCtl
        from conveyor.engine._pod import PodCtl, RetryCtl, SuspendCtl
        from conveyor.engine._steps import StepsCtl

        tmpl_name = call.get("template")
        tmpl = call.get("inline") or (self.templates.get(tmpl_name) if tmpl_name else None)
        boundary_id = boundary.node.id if boundary is not None else None
        ref = call.get("templateRef")
        label = tmpl_name or (tmpl.get("name") if tmpl else None) or ""
        if ref and label.startswith(("wftmpl:", "cwftmpl:")):
            label = ref.get("template", label)
        if tmpl is None:
            node = self.new_node(name, display, "Pod", template_name=label, boundary_id=boundary_id)
            return self._failed(parent, node, f"template {tmpl_name!r} not found", depth)
        kind = next((k for k in (*_POD_KINDS, "steps", "dag", "suspend", *_K8S_KINDS) if tmpl.get(k) is not None), None)
        node_type = {"steps": "Steps", "dag": "DAG", "suspend": "Suspend"}.get(kind or "", "Pod")
        retry = None
        if attempt is None:
            # `retryStrategy: {}` means retry without limit, so test for presence, not truth.
            retry = tmpl.get("retryStrategy")
            if retry is None:
                retry = self.spec.get("retryStrategy")
        if retry is not None:
            node_type = "Retry"
        node = self.new_node(
            name, display, node_type, template_name=label, boundary_id=boundary_id, template_ref=ref
        )
        if depth > MAX_DEPTH:
            return self._failed(parent, node, f"templates nest deeper than {MAX_DEPTH} levels: recursion without end?", depth)
        if kind is None or kind in _K8S_KINDS:
            what = f"uses `{kind}`, which needs Kubernetes or Argo's agent" if kind else "has no container, script, dag, steps, suspend or containerSet"
            return self._failed(parent, node, f"template {label!r} {what}", depth)
        try:
            inputs = bind_inputs(tmpl, args, self.global_scope)
        except ConveyorError as exc:
            return self._failed(parent, node, str(exc), depth)
        if inputs:
            node.inputs = inputs
        scope = self.template_scope(inputs, name)
        if retry_scope:
            scope = scope.new_child(dict(retry_scope))
        cls: type[Ctl]
        if retry is not None:
            cls = RetryCtl
        else:
            cls = {"steps": StepsCtl, "dag": DagCtl, "suspend": SuspendCtl}.get(kind, PodCtl)
        ctl = cls(self, node, tmpl, scope, parent)
        ctl.call = call  # type: ignore[attr-defined]
        ctl.args = args  # type: ignore[attr-defined]
        ctl.depth = depth  # type: ignore[attr-defined]
        ctl.attempt = attempt
        ctl.boundary = boundary
        # Retry attempts and exit hooks run inside a slot their step already holds.
        ctl.counts_for_boundary = boundary is not None and attempt is None and not hook
        # A Retry node holds no lock itself: its attempts do, one at a time.
        ctl.locks = [] if retry is not None else lock_keys(tmpl.get("synchronization"), self.namespace)  # type: ignore[attr-defined]
        ctl.exit_handler = getattr(parent, "exit_handler", False) if parent else self._in_exit_handler  # type: ignore[attr-defined]
        if parent is not None:
            parent.children.append(ctl)
        self.admit(ctl)
        return ctl

    def _failed(self, parent: Ctl | None, node: Node, message: str, depth: int) -> Ctl:
        ctl = Ctl(self, node, {}, self.global_scope, parent)
        ctl.depth = depth  # type: ignore[attr-defined]
        ctl.locks = []  # type: ignore[attr-defined]
        if parent is not None:
            parent.children.append(ctl)
        self.defer(lambda: ctl.finish("Error", message))
        return ctl

    # -- admission: parallelism and locks --------------------------------
    def admit(self, ctl: Ctl) -> None:
        key = ctl.boundary.node.id if ctl.counts_for_boundary and ctl.boundary else None
        queue = self.waiting.get(key)
        if (queue is None or not queue) and self._can_start(ctl):
            self._reserve(ctl)
        else:
            self.waiting.setdefault(key, deque()).append(ctl)

    def _can_start(self, ctl: Ctl) -> bool:
        if self.shutdown_message is not None:
            return True  # it will be failed at once by _begin
        if self.suspended and ctl.is_pod:
            return False  # a suspended workflow starts no new pods; running ones go on
        b = ctl.boundary
        if ctl.counts_for_boundary and b is not None:
            limit = getattr(b, "parallelism", None)
            if limit and b.active_children >= limit:
                return False
        if ctl.is_pod and self.parallelism and self.running_pods >= self.parallelism:
            return False
        locks = getattr(ctl, "locks", [])
        return not locks or self.locks.can_acquire(locks, ctl.node.id)

    def _reserve(self, ctl: Ctl) -> None:
        """Take the slots and locks `ctl` needs, at once (its start() runs deferred)."""
        if ctl.counts_for_boundary and ctl.boundary is not None:
            ctl.boundary.active_children += 1
        if ctl.is_pod:
            self.running_pods += 1
        locks = getattr(ctl, "locks", [])
        if locks:
            self.locks.acquire(locks, ctl.node.id)
        ctl.started = True
        self.defer(lambda: self._begin(ctl))

    def _begin(self, ctl: Ctl) -> None:
        if ctl.done:
            return
        halted = self.halted(ctl)
        if halted is not None:
            ctl.finish("Failed", halted)
            return
        ctl.start()

    def on_ctl_done(self, ctl: Ctl) -> None:
        if not ctl.started:
            return
        if ctl.counts_for_boundary and ctl.boundary is not None:
            ctl.boundary.active_children -= 1
        if ctl.is_pod:
            self.running_pods -= 1
        locks = getattr(ctl, "locks", [])
        if locks:
            self.locks.release(locks, ctl.node.id)
        if any(self.waiting.values()):
            self.defer(self._drain)

    def _drain(self) -> None:
        for key in list(self.waiting):
            queue = self.waiting[key]
            while queue:
                head = queue[0]
                if head.done or head.started:
                    queue.popleft()
                    continue
                if not self._can_start(head):
                    break
                queue.popleft()
                self._reserve(head)
            if not queue:
                del self.waiting[key]

    def _run_deferred(self) -> None:
        while self._deferred:
            self._deferred.popleft()()

    # -- workflow lifecycle ----------------------------------------------
    def _start(self) -> None:
        if self.phase != "Pending":
            return
        self.phase = "Running"
        self.started_at = self.now
        try:
            args = self._workflow_arguments()
        except ConveyorError as exc:
            self._finish_workflow("Error", str(exc))
            return
        deadline = self.spec.get("activeDeadlineSeconds")
        if deadline not in (None, ""):
            try:
                seconds = parse_duration(deadline, field="spec.activeDeadlineSeconds")
            except ConveyorError as exc:
                self._finish_workflow("Error", str(exc))
                return
            self.set_timer("workflow-deadline", self.started_at + seconds, self._deadline)
        entry = self.spec.get("entrypoint")
        if not entry:
            self._finish_workflow("Error", "spec.entrypoint is not set; name the template to start with")
            return
        self.main_ctl = self.invoke(
            None, name=self.name, display=self.name, call={"template": entry}, args=args, boundary=None, depth=0
        )

    def _workflow_arguments(self) -> Arguments:
        meta = self.wf.get("metadata") or {}
        g = self.global_scope
        g.update(
            {
                "workflow.name": self.name,
                "workflow.namespace": self.namespace,
                "workflow.uid": self.uid,
                "workflow.serviceAccountName": self.spec.get("serviceAccountName") or "default",
                "workflow.mainEntrypoint": self.spec.get("entrypoint") or "",
                "workflow.priority": str(self.spec.get("priority") or 0),
                "workflow.creationTimestamp": meta.get("creationTimestamp") or rfc3339(self.started_at),
                "workflow.status": "Running",
            }
        )
        scheduled = (meta.get("annotations") or {}).get("workflows.argoproj.io/scheduled-time")
        if scheduled:
            g["workflow.scheduledTime"] = scheduled
        for k, v in (meta.get("labels") or {}).items():
            g[f"workflow.labels.{k}"] = v
        for k, v in (meta.get("annotations") or {}).items():
            g[f"workflow.annotations.{k}"] = v
        from conveyor.expr import substitute

        params: dict[str, Any] = {}
        plist = []
        for p in (self.spec.get("arguments") or {}).get("parameters") or []:
            value = p.get("value")
            if value is None:
                value = (p.get("valueFrom") or {}).get("default", p.get("default"))
            if value is None:
                raise BindError(
                    f"spec.arguments.parameters.{p['name']} has no value; give one with -p {p['name']}=VALUE"
                )
            value = substitute(value if isinstance(value, str) else json.dumps(value), g)
            enum = p.get("enum")
            if enum and value not in [str(e) for e in enum]:
                raise BindError(f"spec.arguments.parameters.{p['name']}: {value!r} is not one of {enum}")
            params[p["name"]] = value
            g[f"workflow.parameters.{p['name']}"] = value
            plist.append({"name": p["name"], "value": value})
        g["workflow.parameters.json"] = json.dumps(plist, separators=(",", ":"))
        artifacts = {a["name"]: a for a in (self.spec.get("arguments") or {}).get("artifacts") or []}
        return {"parameters": params, "artifacts": artifacts}

    def root_done(self, ctl: Ctl) -> None:
        if ctl is self.main_ctl:
            exit_tmpl = self.spec.get("onExit") or ((self.spec.get("hooks") or {}).get("exit") or {}).get("template")
            if exit_tmpl and not self.terminated:
                self._run_exit_handler(exit_tmpl)
                return
            self._finish_workflow(ctl.node.phase, self._main_message(ctl))
        elif ctl is self.exit_ctl:
            main = self.main_ctl
            assert main is not None
            phase, message = main.node.phase, self._main_message(main)
            if phase == "Succeeded" and ctl.node.failed:
                phase, message = "Failed", f"exit handler failed: {ctl.node.message}".rstrip(": ")
            self._finish_workflow(phase, message)

    def _main_message(self, ctl: Ctl) -> str:
        if self.shutdown_message is not None:
            return self.shutdown_message
        return ctl.node.message if ctl.node.failed else ""

    def _run_exit_handler(self, tmpl_name: str) -> None:
        main = self.main_ctl
        assert main is not None
        self.global_scope["workflow.status"] = main.node.phase
        self.global_scope["workflow.failures"] = json.dumps(self._failures(), separators=(",", ":"))
        self.global_scope["workflow.duration"] = str(max(0.0, self.now - (self.started_at or self.now)))
        hook = (self.spec.get("hooks") or {}).get("exit") or {}
        args: Arguments = {"parameters": {}, "artifacts": {}}
        from conveyor.expr import substitute

        for p in (hook.get("arguments") or {}).get("parameters") or []:
            args["parameters"][p["name"]] = substitute(p.get("value", ""), self.global_scope)
        self._in_exit_handler = True
        self.exit_ctl = self.invoke(
            None,
            name=f"{self.name}.onExit",
            display=f"{self.name}.onExit",
            call={"template": tmpl_name},
            args=args,
            boundary=None,
            depth=0,
        )

    def _failures(self) -> list[dict[str, Any]]:
        return [
            {
                "displayName": n.display_name,
                "message": n.message,
                "templateName": n.template_name or "",
                "phase": n.phase,
                "podName": n.pod_name or n.id,
                "finishedAt": rfc3339(n.finished_at) or "",
            }
            for n in self.nodes.values()
            if n.type == "Pod" and n.failed
        ]

    def _finish_workflow(self, phase: str, message: str = "") -> None:
        if self.done:
            return
        self.phase = phase if phase in ("Succeeded", "Failed", "Error") else "Failed"
        self.message = message
        self.finished_at = self.now
        self.timers.clear()
        self.timer_at.clear()
        self.emit(Finished(self.phase))

    def _deadline(self) -> None:
        self._shutdown("stop", "Step exceeded its deadline", deadline=True)

    def _shutdown(self, kind: str, message: str, *, deadline: bool = False) -> None:
        if self.done:
            return
        if self.phase == "Pending":
            self.phase = "Running"
            self.started_at = self.now
        if not message:
            message = f"Stopped with strategy '{'Terminate' if kind == 'terminate' else 'Stop'}'"
        self.terminated = self.terminated or kind == "terminate" or deadline
        self.halt_exit_handler = self.halt_exit_handler or kind == "terminate"
        self.shutdown_message = message
        queued = [ctl for queue in self.waiting.values() for ctl in queue if not ctl.done]
        self.waiting.clear()
        for waiting in queued:
            self.defer(partial(waiting.finish, "Failed", message))
        reason = "Pod was active on the node longer than the specified deadline" if deadline else message
        targets = (self.exit_ctl, self.main_ctl) if kind == "terminate" else (self.main_ctl,)
        for target in targets:
            if target is not None and not target.done:
                target.shutdown(reason)
        if self.main_ctl is None:
            self._finish_workflow("Failed", message)

    def _recover(self, *, count: bool = True) -> None:
        """After a restart (state rebuilt by replay): launch again every pod that was
        running, counting it on the node (not for a retry), and set every pending timer again."""
        for pod_id, ctl in list(self.pods.items()):
            node = self.nodes[pod_id]
            node.restarts += 1 if count else 0
            self.touch(node)
            self.emit(Launch(pod_id, ctl.plan()))  # type: ignore[attr-defined]
        for timer_id in self.timers:
            self.emit(SetTimer(timer_id, self.timer_at[timer_id]))

    def _resume(self, target: str | None, parameters: Mapping[str, Any]) -> None:
        from conveyor.engine._pod import SuspendCtl

        if self.suspended and target in (None, ""):
            self.suspended = False
            self.defer(self._drain)

        for ctl in list(self._active_ctls()):
            if not isinstance(ctl, SuspendCtl) or not ctl.started or ctl.done:
                continue
            n = ctl.node
            if target in (None, "", n.id, n.name, n.display_name):
                ctl.resume(parameters)

    def _set(self, event: Mapping[str, Any]) -> None:
        """Argo's `node set`: supply a suspended node's outputs, and end it when a phase is given."""
        from conveyor.engine._pod import SuspendCtl
        from conveyor.engine.retry import match_selector

        selector = event.get("selector") or ""
        for ctl in self._active_ctls():
            if not isinstance(ctl, SuspendCtl) or not ctl.started or ctl.done:
                continue
            if not match_selector(ctl.node.to_status(), selector):
                continue
            ctl.supplied.update(event.get("parameters") or {})
            phase = event.get("phase")
            if phase == "Succeeded":
                ctl.resume({})
            elif phase in ("Failed", "Error"):
                ctl.finish(phase, event.get("message") or f"set to {phase}")

    def _active_ctls(self) -> list[Ctl]:
        out: list[Ctl] = []
        stack = [c for c in (self.main_ctl, self.exit_ctl) if c is not None]
        while stack:
            ctl = stack.pop()
            if ctl.done:
                continue
            out.append(ctl)
            stack.extend(ctl.children)
        return out

    def add_global_output(self, kind: str, entry: dict[str, Any]) -> None:
        bucket = self.outputs.setdefault(kind, [])
        name = entry.get("globalName") or entry["name"]
        record = {**entry, "name": name}
        record.pop("globalName", None)
        for i, old in enumerate(bucket):
            if old["name"] == name:
                bucket[i] = record
                break
        else:
            bucket.append(record)
        if kind == "parameters":
            self.global_scope[f"workflow.outputs.parameters.{name}"] = record.get("value", "")
        else:
            self.global_scope[f"workflow.outputs.artifacts.{name}"] = record


def _int_or_none(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"parallelism must be an integer, got {value!r}") from None
