"""Secrets: what `env[].valueFrom.secretKeyRef` and `imagePullSecrets` name.

Each secret is a Kubernetes-style Secret: a type and a map of keys to string
values. The values are encrypted at rest with Fernet (AES-128-CBC + HMAC-SHA256)
under a key that lives outside the database, in a file of its own
(`CONVEYOR_SECRET_KEY_FILE`, mode 0600): a copy of the database alone reveals
names, types and key names, never values. The sealed blob also carries the
secret's namespace and name, so a row copied under another name fails to open.
No method here returns values except `secret_data`, which the runtime uses to
start a task; listing never does.
https://kubernetes.io/docs/concepts/configuration/secret/
"""

from __future__ import annotations

import base64
import json
import os
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from conveyor.errors import AlreadyExists, InvalidInput, NotFound, StoreError
from conveyor.store._db import Database

__all__ = ["DOCKER_CONFIG_KEY", "DOCKER_CONFIG_TYPE", "OPAQUE_TYPE", "SecretInfo", "SecretKey", "SecretStore",
           "docker_config"]

OPAQUE_TYPE = "Opaque"
DOCKER_CONFIG_TYPE = "kubernetes.io/dockerconfigjson"
DOCKER_CONFIG_KEY = ".dockerconfigjson"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")  # a DNS subdomain, as Kubernetes requires
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]{1,253}")


@dataclass(frozen=True)
class SecretInfo:
    """What listing shows: everything but the values."""

    namespace: str
    name: str
    type: str
    keys: tuple[str, ...]
    created_at: str


class SecretKey:
    """The Fernet key in its file; `load(create=True)` makes one (0600) the first time."""

    def __init__(self, fernet: Fernet, path: Path) -> None:
        self._fernet = fernet
        self.path = path

    @classmethod
    def load(cls, path: Path, *, create: bool = False) -> SecretKey:
        path = Path(path)
        if not path.exists():
            if not create:
                raise StoreError(f"secret key file {path} does not exist, so no secret can be read; restore it "
                                 "(or point CONVEYOR_SECRET_KEY_FILE at it), or recreate the secrets")
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                # O_EXCL: two processes creating the first secret at once do not overwrite each other's key
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return cls.load(path)
            with os.fdopen(fd, "wb") as f:
                f.write(Fernet.generate_key() + b"\n")
        try:
            raw = path.read_bytes().strip()
            return cls(Fernet(raw), path)
        except OSError as e:
            raise StoreError(f"cannot read secret key file {path}: {e.strerror or e}") from None
        except ValueError:
            raise StoreError(f"secret key file {path} does not hold a Fernet key (44 url-safe base64 "
                             "characters); restore the right file or point CONVEYOR_SECRET_KEY_FILE at it") from None

    def seal(self, payload: Mapping[str, object]) -> bytes:
        return self._fernet.encrypt(json.dumps(payload, sort_keys=True).encode())

    def open(self, sealed: bytes, what: str) -> dict[str, object]:
        try:
            return dict(json.loads(self._fernet.decrypt(sealed)))
        except InvalidToken:
            raise StoreError(f"{what} cannot be decrypted with the key in {self.path}: it was stored under "
                             "another key; restore that key file, or delete and recreate the secret") from None


def docker_config(server: str, username: str, password: str) -> str:
    """The `.dockerconfigjson` value `kubectl create secret docker-registry` writes."""
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {server: {"username": username, "password": password, "auth": auth}}})


def _check(name: str, data: Mapping[str, str]) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidInput(f"secret name {name!r} is not valid: use lower-case letters, digits, '-' and '.', "
                           "starting and ending with a letter or digit")
    if not data:
        raise InvalidInput(f'secret "{name}" has no data; give at least one key (e.g. --from-literal key=value)')
    for key in data:
        if not _DATA_KEY.fullmatch(key):
            raise InvalidInput(f"secret key {key!r} is not valid: use letters, digits, '-', '_' and '.'")


def _what(namespace: str, name: str) -> str:
    return f'secret "{name}" in namespace "{namespace}"'


class SecretStore:
    """The secret methods of `Store` (a mixin: it uses the Store's database)."""

    _db: Database

    def create_secret(self, key: SecretKey, namespace: str, name: str, data: Mapping[str, str], *,
                      type_: str = OPAQUE_TYPE, replace: bool = False) -> SecretInfo:
        _check(name, data)
        clean = {str(k): str(v) for k, v in data.items()}
        sealed = key.seal({"namespace": namespace, "name": name, "data": clean})
        info = SecretInfo(namespace, name, type_, tuple(sorted(clean)),
                          datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            with self._db.write(durable=True) as conn:
                conn.execute(f"{verb} INTO secrets (namespace, name, type, keys, sealed, created_at)"
                             " VALUES (?, ?, ?, ?, ?, ?)",
                             (namespace, name, type_, json.dumps(list(info.keys)), sealed, info.created_at))
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"{_what(namespace, name)} already exists; delete it first "
                                "(`conveyor secret delete`) or pass --replace") from None
        return info

    def list_secrets(self, namespace: str | None = None) -> list[SecretInfo]:
        """Names, types and key names (never values), by namespace and name."""
        sql = "SELECT namespace, name, type, keys, created_at FROM secrets"
        args: tuple[str, ...] = ()
        if namespace is not None:
            sql, args = sql + " WHERE namespace = ?", (namespace,)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY namespace, name", args).fetchall()
        return [SecretInfo(ns, n, t, tuple(json.loads(k)), c) for ns, n, t, k, c in rows]

    def delete_secret(self, namespace: str, name: str) -> None:
        with self._db.write(durable=True) as conn:
            cur = conn.execute("DELETE FROM secrets WHERE namespace = ? AND name = ?", (namespace, name))
        if cur.rowcount == 0:
            raise NotFound(f"{_what(namespace, name)} not found; `conveyor secret list` shows the secrets there are")

    def secret_data(self, key: SecretKey, namespace: str, name: str) -> tuple[str, dict[str, str]]:
        """(type, key -> value) of one secret: for starting tasks, never for showing."""
        with self._db.read() as conn:
            row = conn.execute("SELECT type, sealed FROM secrets WHERE namespace = ? AND name = ?",
                               (namespace, name)).fetchone()
        what = _what(namespace, name)
        if row is None:
            raise NotFound(f"{what} not found; create it with `conveyor secret create` (-n {namespace})")
        payload = key.open(bytes(row[1]), what)
        if payload.get("namespace") != namespace or payload.get("name") != name:
            raise StoreError(f"{what} holds data sealed for another secret; delete and recreate it")
        data = payload.get("data")
        return str(row[0]), {str(k): str(v) for k, v in dict(data).items()} if isinstance(data, dict) else {}
