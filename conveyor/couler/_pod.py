"""Pod-level settings of the whole workflow: tolerations, image pull secrets,
and the Kubernetes Secrets tasks read as environment variables.

On conveyor's process executor these are kept on the stored workflow (so the
same manifest schedules correctly on Argo) but have no local effect.
https://kubernetes.io/docs/concepts/scheduling-eviction/taint-and-toleration/
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from conveyor.couler._state import STATE, Secret
from conveyor.errors import InvalidInput

__all__ = ["Toleration", "ImagePullSecret", "add_toleration", "add_image_pull_secret",
           "create_secret", "obtain_secret", "get_secret"]

_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute", "")
_OPERATORS = ("Equal", "Exists", "Lt", "Gt")


class Toleration:
    """Couler's `Toleration(key, effect, operator)`; `value` and `toleration_seconds`
    are conveyor additions (Kubernetes matches `value` when the operator is Equal)."""

    def __init__(self, key: str, effect: str, operator: str, value: str | None = None,
                 toleration_seconds: int | None = None) -> None:
        if operator not in _OPERATORS:
            hint = " (Couler's order is key, effect, operator)" if operator in _EFFECTS else ""
            raise InvalidInput(f"toleration operator {operator!r} is not one of {', '.join(_OPERATORS)}{hint}")
        if effect not in _EFFECTS:
            hint = " (Couler's order is key, effect, operator)" if effect in _OPERATORS else ""
            raise InvalidInput(
                f"toleration effect {effect!r} is not one of NoSchedule, PreferNoSchedule, NoExecute{hint}")
        if operator == "Exists" and value:
            raise InvalidInput(f"toleration {key!r}: operator Exists matches any value; drop value={value!r}")
        self.key, self.effect, self.operator = key, effect, operator
        self.value, self.toleration_seconds = value, toleration_seconds

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"key": self.key, "effect": self.effect, "operator": self.operator}
        if self.value is not None:
            d["value"] = self.value
        if self.toleration_seconds is not None:
            d["tolerationSeconds"] = self.toleration_seconds
        return d


class ImagePullSecret:
    def __init__(self, name: str) -> None:
        self.name = name

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}


def add_toleration(toleration: Toleration) -> None:
    """Add a toleration to every pod of the workflow (spec.tolerations)."""
    entry = toleration.to_dict()
    # Helpers that add the same toleration for every step they create would repeat it.
    if entry not in STATE.tolerations:
        STATE.tolerations.append(entry)


def add_image_pull_secret(image_pull_secret: ImagePullSecret) -> None:
    """Name a registry secret every pod pulls its image with (spec.imagePullSecrets)."""
    entry = image_pull_secret.to_dict()
    if entry not in STATE.image_pull_secrets:
        STATE.image_pull_secrets.append(entry)


def create_secret(secret_data: Mapping[str, str], namespace: str = "default", name: str | None = None,
                  dry_run: bool = False, use_existing: bool = False, artifact_secret: bool = False) -> str:
    """Record a Secret holding `secret_data`; returns its name, for run_*(secret=name)."""
    if not isinstance(secret_data, Mapping) or not secret_data:
        raise InvalidInput("secret_data must be a non-empty dict of key -> value")
    digest = hashlib.md5(json.dumps(dict(secret_data), sort_keys=True).encode(), usedforsecurity=False).hexdigest()
    secret = Secret(name=name or f"couler-{digest}", namespace=namespace, keys=tuple(secret_data),
                    data={str(k): str(v) for k, v in secret_data.items()}, dry_run=dry_run,
                    use_existing=use_existing, artifact_secret=artifact_secret)
    STATE.secrets.setdefault(secret.name, secret)
    return secret.name


def obtain_secret(secret_keys: list[str], namespace: str = "default", name: str | None = None,
                  dry_run: bool = False) -> str:
    """Refer to keys of a Secret that already exists; returns its name, for run_*(secret=name)."""
    return create_secret({k: "" for k in secret_keys}, namespace=namespace, name=name, dry_run=dry_run,
                         use_existing=True)


def get_secret(name: str) -> Secret | None:
    return STATE.secrets.get(name)
