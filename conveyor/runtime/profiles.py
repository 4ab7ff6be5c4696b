"""Node-selector resource profiles: what a "small node" means on one machine.

On Kubernetes a `nodeSelector` sends a pod to a pool of nodes of some size. Here
there is one machine, so settings map a selector value to the limits a task gets
(`CONVEYOR_NODE_PROFILES`, default `small=cpu:1,memory:2Gi`); the seed platform's
`WORKFLOW_NODE_SELECTOR_VALUE_SMALL` names its small pool, so that value means
`small` too. Limits a container sets itself win; the selector stays on the stored
workflow for Argo.
https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodeselector
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from conveyor.executors.base import ContainerSpec

__all__ = ["profile_for", "apply_profile"]


def profile_for(node_selector: Mapping[str, Any], profiles: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The limits of the first selector value (in key order) that names a profile; {} for none."""
    for key in sorted(node_selector):
        found = profiles.get(str(node_selector[key]))
        if found:
            return dict(found)
    return {}


def apply_profile(containers: tuple[ContainerSpec, ...], limits: Mapping[str, str]) -> tuple[ContainerSpec, ...]:
    """Main containers get the profile's limits where they set none of their own."""
    if not limits:
        return containers
    out = []
    for c in containers:
        if c.role == "main":
            own = dict(c.resources.get("limits") or {})
            merged = {**limits, **own}
            if merged != own:
                c = replace(c, resources={**c.resources, "limits": merged})
        out.append(c)
    return tuple(out)
