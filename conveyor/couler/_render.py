"""`workflow_yaml()`: the workflow built so far, as an Argo manifest (a dict).

The first template is the entrypoint (the workflow's name, as in Couler): a
`dag` when set_dependencies/dag was used, else `steps`. Then the user's
templates in the order they were first called, then `exit-handler`.
https://argo-workflows.readthedocs.io/en/latest/fields/#workflowspec
"""

from __future__ import annotations

import copy
from typing import Any

from conveyor.couler._config import cluster_pod, cluster_spec
from conveyor.couler._names import default_name_salter, workflow_filename
from conveyor.couler._state import STATE
from conveyor.errors import InvalidInput

__all__ = ["workflow_yaml", "EXIT_HANDLER"]

Json = dict[str, Any]

EXIT_HANDLER = "exit-handler"


def _as_depends(task: Json) -> str:
    parts = [" && ".join(task["dependencies"])] if task.get("dependencies") else []
    if task.get("depends"):
        parts.append(task["depends"])
    return parts[0] if len(parts) == 1 else " && ".join(f"({p})" for p in parts)


def _tasks() -> list[Json]:
    tasks = copy.deepcopy(list(STATE.dag_tasks.values()))
    # Argo rejects a DAG that mixes `depends` and `dependencies`; `dependencies: [A, B]`
    # means exactly `depends: "A && B"`, so once any task uses depends, all do.
    if any(t.get("depends") for t in tasks):
        for t in tasks:
            if t.get("dependencies"):
                t["depends"] = _as_depends(t)
                del t["dependencies"]
    return tasks


def _entrypoint(name: str) -> str:
    # The entrypoint template is named after the workflow; a user template may already be.
    return name if name not in STATE.templates and name != EXIT_HANDLER else f"{name}-main"


def workflow_yaml() -> Json:
    """The Workflow (or CronWorkflow, with cron_config) the Couler calls so far describe."""
    if STATE.steps and STATE.dag_tasks:
        raise InvalidInput(
            "this workflow mixes plain steps with set_dependencies()/dag(): Argo's entrypoint is either "
            "steps or a DAG; create every step inside set_dependencies (or dag) once you use them")
    metadata: Json = {}
    if STATE.name is not None:
        metadata["name"] = STATE.name
        entry = _entrypoint(STATE.name)
    else:
        base = workflow_filename()
        entry = _entrypoint(base)
        if STATE.cron is None:
            metadata["generateName"] = f"{base}-"
        else:  # a CronWorkflow is addressed by name, so it needs one
            metadata["name"] = default_name_salter(base)
    spec: Json = {"entrypoint": entry}
    if STATE.image_pull_secrets:
        spec["imagePullSecrets"] = copy.deepcopy(STATE.image_pull_secrets)
    if STATE.tolerations:
        spec["tolerations"] = copy.deepcopy(STATE.tolerations)
    main: Json = {"name": entry}
    if STATE.dag_mode:
        main["dag"] = {"tasks": _tasks()}
    else:
        main["steps"] = copy.deepcopy(list(STATE.steps.values()))
    templates = [main, *(cluster_pod(copy.deepcopy(t)) for t in STATE.templates.values())]
    if STATE.exit_steps:
        spec["onExit"] = EXIT_HANDLER
        templates.append({"name": EXIT_HANDLER, "steps": copy.deepcopy(list(STATE.exit_steps.values()))})
    spec["templates"] = templates
    if STATE.timeout is not None:
        spec["activeDeadlineSeconds"] = STATE.timeout
    if STATE.time_to_clean is not None:
        spec["ttlStrategy"] = {"secondsAfterCompletion": STATE.time_to_clean}
    account = STATE.service_account or STATE.defaults.service_account
    if account:
        spec["serviceAccountName"] = account
    spec = cluster_spec(spec)
    if STATE.cron is None:
        return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": metadata, "spec": spec}
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow", "metadata": metadata,
            "spec": {**copy.deepcopy(STATE.cron), "workflowSpec": spec}}
