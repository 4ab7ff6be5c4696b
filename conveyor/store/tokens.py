"""API tokens: create one (its text is shown once), find one, list and revoke them.

A token is `cvy_` and 32 random bytes (`secrets.token_urlsafe`); the prefix
makes a leaked token recognisable to people and to secret scanners. Only
its SHA-256 is stored, so a copy of the database grants nothing. Each token
names the namespaces it may act in (`*`: every namespace) and one role; what
a role may do is the API's business (`conveyor.api.auth`).
Argo's own tokens are Kubernetes service-account tokens; conveyor keeps its own.
https://argo-workflows.readthedocs.io/en/latest/access-token/
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from conveyor.errors import AlreadyExists, InvalidInput, NotFound
from conveyor.store._db import Database

__all__ = ["ALL_NAMESPACES", "ROLES", "TOKEN_PREFIX", "TokenInfo", "TokenStore", "hash_token"]

TOKEN_PREFIX = "cvy_"
#: weakest first
ROLES = ("read", "write", "admin")
ALL_NAMESPACES = "*"
#: last_used_at is a hint for `conveyor token list`, not an audit log: one write a minute at most
_LAST_USED_EVERY = timedelta(minutes=1)
_STAMP = "%Y-%m-%dT%H:%M:%SZ"
_NAME = re.compile(r"[a-z0-9]([-a-z0-9._]{0,61}[a-z0-9])?")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # a DNS label, as Kubernetes requires
_COLUMNS = "name, hash, namespaces, role, created_at, last_used_at, revoked_at"


@dataclass(frozen=True)
class TokenInfo:
    """What the store knows about a token: everything but the token itself."""

    name: str
    namespaces: tuple[str, ...]
    role: str
    created_at: str
    last_used_at: str | None = None
    revoked_at: str | None = None

    def covers(self, namespace: str) -> bool:
        return ALL_NAMESPACES in self.namespaces or namespace in self.namespaces


def hash_token(token: str) -> str:
    # A plain SHA-256, not a slow password hash (bcrypt, scrypt): a token carries 256
    # random bits, so there is no dictionary to try, and slowing each guess gains nothing.
    return hashlib.sha256(token.encode()).hexdigest()


def _stamp(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime(_STAMP)


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)


def _info(row: Any) -> TokenInfo:
    name, _, namespaces, role, created, used, revoked = row
    return TokenInfo(name, tuple(json.loads(namespaces)), role, created, used, revoked)


def _checked_namespaces(namespaces: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for ns in namespaces:
        ns = ns.strip()
        if ns != ALL_NAMESPACES and not _NAMESPACE.fullmatch(ns):
            raise InvalidInput(f"namespace {ns!r} is not a valid name (lower-case letters, digits and '-', "
                               f"at most 63) nor {ALL_NAMESPACES!r} for every namespace")
        if ns not in out:
            out.append(ns)
    if not out:
        raise InvalidInput("a token needs at least one namespace (--namespace NS, or '*' for every namespace)")
    return tuple(out)


class TokenStore:
    """The token methods of `Store` (a mixin: it uses the Store's database)."""

    _db: Database

    def create_token(self, name: str, namespaces: Iterable[str], role: str, *,
                     now: datetime | None = None) -> str:
        """Store a new token and return its text: the only time it is ever available."""
        if not _NAME.fullmatch(name):
            raise InvalidInput(f"token name {name!r} is not valid: use lower-case letters, digits, '-', '.' "
                               "and '_', starting and ending with a letter or digit, at most 63")
        if role not in ROLES:
            raise InvalidInput(f"role {role!r} is not known; use one of {', '.join(ROLES)}")
        scope = _checked_namespaces(namespaces)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        try:
            with self._db.write(durable=True) as conn:
                conn.execute(
                    f"INSERT INTO tokens ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, NULL, NULL)",
                    (name, hash_token(token), json.dumps(list(scope)), role, _stamp(now)),
                )
        except sqlite3.IntegrityError:
            # The hash is unique too, but 256 random bits do not collide: the name is taken.
            raise AlreadyExists(f'token "{name}" already exists (revoked tokens keep their name); '
                                "choose another --name") from None
        return token

    def find_token(self, token: str, *, now: datetime | None = None) -> TokenInfo | None:
        """The live token `token` is the text of, or None (unknown or revoked)."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = hash_token(token)
        with self._db.read() as conn:
            row = conn.execute(f"SELECT {_COLUMNS} FROM tokens WHERE hash = ?", (digest,)).fetchone()
        # The index lookup is by hash, which tells a timing observer nothing about the
        # token; the explicit constant-time comparison keeps that true whatever SQLite does.
        if row is None or not hmac.compare_digest(row[1], digest):
            return None
        info = _info(row)
        if info.revoked_at is not None:
            return None
        stamp = _stamp(now)
        if info.last_used_at is None or _parse(stamp) - _parse(info.last_used_at) >= _LAST_USED_EVERY:
            with self._db.write(durable=False) as conn:
                conn.execute("UPDATE tokens SET last_used_at = ? WHERE name = ?", (stamp, info.name))
            info = replace(info, last_used_at=stamp)
        return info

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, revoked ones too, oldest first."""
        with self._db.read() as conn:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY created_at, name").fetchall()
        return [_info(r) for r in rows]

    def revoke_token(self, name: str, *, now: datetime | None = None) -> TokenInfo:
        """Revoke at once (a second revoke keeps the first time); NotFound for an unknown name."""
        with self._db.write(durable=True) as conn:
            conn.execute("UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE name = ?",
                         (_stamp(now), name))
            row = conn.execute(f"SELECT {_COLUMNS} FROM tokens WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f'token "{name}" not found; `conveyor token list` shows the tokens there are')
        return _info(row)
