"""Resolving a task's secrets: `env[].valueFrom.secretKeyRef` and the workflow's `imagePullSecrets`.

Values are read from the store (decrypted with the key in CONVEYOR_SECRET_KEY_FILE)
only when a task starts, and go into its TaskSpec: never into events, the
workflow's status, or logs. A missing secret or key fails the task (an Error
node) with a message naming both, unless the reference is `optional: true`.
https://argo-workflows.readthedocs.io/en/latest/fields/#secretkeyselector
https://kubernetes.io/docs/concepts/containers/images/#specifying-imagepullsecrets-on-a-pod
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conveyor.errors import ConveyorError, InvalidInput, NotFound
from conveyor.executors._registry import auths_from_docker_config
from conveyor.store import SecretKey, Store
from conveyor.store.secrets import DOCKER_CONFIG_KEY

__all__ = ["SecretResolver"]


class SecretResolver:
    """One namespace's secrets, each decrypted at most once per resolver (one per task launch)."""

    def __init__(self, store: Store, key_file: Path, namespace: str) -> None:
        self._store = store
        self._key_file = key_file
        self._namespace = namespace
        self._key: SecretKey | None = None
        self._cache: dict[str, tuple[str, dict[str, str]]] = {}

    def _secret(self, name: str) -> tuple[str, dict[str, str]]:
        if name not in self._cache:
            # the secret's existence is checked before the key file, so a missing secret
            # says so even on a machine that never created one (and so has no key file)
            if not any(s.name == name for s in self._store.list_secrets(self._namespace)):
                raise NotFound(f'secret "{name}" not found in namespace "{self._namespace}"; create it with '
                               f"`conveyor secret create ... {name} -n {self._namespace}`")
            if self._key is None:
                self._key = SecretKey.load(self._key_file)
            self._cache[name] = self._store.secret_data(self._key, self._namespace, name)
        return self._cache[name]

    def env_value(self, var: str, ref: Mapping[str, Any]) -> str | None:
        """The value of env var `var` from its secretKeyRef; None when optional and missing."""
        name, key = str(ref.get("name") or ""), str(ref.get("key") or "")
        optional = bool(ref.get("optional"))
        if not name or not key:
            raise InvalidInput(f"env {var}: valueFrom.secretKeyRef needs both name and key")
        try:
            _, data = self._secret(name)
        except NotFound as e:
            if optional:
                return None
            raise ConveyorError(f"env {var}: {e.message}") from None
        if key not in data:
            if optional:
                return None
            raise ConveyorError(f'env {var}: secret "{name}" has no key "{key}" (it has: '
                                f"{', '.join(sorted(data)) or 'none'}); fix secretKeyRef.key or recreate the secret")
        return data[key]

    def pull_auths(self, refs: Iterable[Mapping[str, Any]]) -> tuple[dict[str, tuple[str, str]], tuple[str, ...]]:
        """(registry host -> (user, password), names of secrets that do not exist) for imagePullSecrets.

        A missing pull secret does not stop the task, as on Kubernetes: the image may be local
        or public. Its name is kept so that a failed pull can say it was missing.
        """
        auths: dict[str, tuple[str, str]] = {}
        missing: list[str] = []
        for ref in refs:
            name = str(ref.get("name") or "")
            try:
                kind, data = self._secret(name)
            except NotFound:
                missing.append(name)
                continue
            if DOCKER_CONFIG_KEY not in data:
                raise InvalidInput(f'imagePullSecrets: secret "{name}" is of type {kind} without a '
                                   f"{DOCKER_CONFIG_KEY} key; create it with `conveyor secret create docker-registry`")
            try:
                auths.update(auths_from_docker_config(data[DOCKER_CONFIG_KEY], f'secret "{name}"'))
            except ValueError as e:
                raise InvalidInput(f"imagePullSecrets: {e}") from None
        return auths, tuple(missing)
