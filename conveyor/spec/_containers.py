"""Names of a template's containers and volumes: Kubernetes DNS labels.

Kubernetes refuses a pod whose container or volume names are not DNS labels, and
conveyor names files and folders after them (a container's log file, a volume's
folder in the task's scratch space), so `../x` or `a/b` must never get that far.
https://kubernetes.io/docs/concepts/overview/working-with-objects/names/#dns-label-names
"""

from __future__ import annotations

from typing import Any

from conveyor.spec._context import LintContext
from conveyor.spec._names import dns_label_problem
from conveyor.spec._shape import as_dict, as_list, item_keys, template_containers

__all__ = ["check_container_names", "check_volume_names"]


def check_volume_names(ctx: LintContext, volumes: Any, path: str) -> None:
    items = as_list(volumes)
    keys = item_keys(items)
    for i, volume in enumerate(items):
        name = as_dict(volume).get("name")
        if isinstance(name, str) and (problem := dns_label_problem("volume", name)):
            ctx.add(f"{path}[{keys[i]}].name", problem)


def check_container_names(ctx: LintContext, tmpl: dict[str, Any], path: str) -> None:
    check_volume_names(ctx, tmpl.get("volumes"), f"{path}.volumes")
    for container, cpath, _ in template_containers(tmpl, path):
        name = container.get("name")
        main = cpath.endswith((".container", ".script"))  # Argo calls it "main" whatever it says
        if isinstance(name, str) and not main and (problem := dns_label_problem("container", name)):
            ctx.add(f"{cpath}.name", problem)
        mounts = as_list(container.get("volumeMounts"))
        keys = item_keys(mounts)
        for i, mount in enumerate(mounts):
            mname = as_dict(mount).get("name")
            if isinstance(mname, str) and (problem := dns_label_problem("volume", mname)):
                ctx.add(f"{cpath}.volumeMounts[{keys[i]}].name", problem)
