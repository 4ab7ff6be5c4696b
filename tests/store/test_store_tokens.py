"""API tokens in the store: shown once, kept only as a hash, found, listed, revoked."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conveyor.errors import AlreadyExists, InvalidInput, NotFound
from conveyor.store import Store
from conveyor.store.tokens import hash_token

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def test_a_token_is_prefixed_random_text(store: Store) -> None:
    tokens = {store.create_token(f"t{i}", ["default"], "read") for i in range(5)}
    assert len(tokens) == 5
    for token in tokens:
        assert token.startswith("cvy_") and len(token) == 4 + 43  # 32 bytes, base64url without padding


def test_the_database_holds_the_hash_never_the_token(tmp_path: Path) -> None:
    path = tmp_path / "conveyor.db"
    with Store.open(path) as store:
        token = store.create_token("ci", ["team-a"], "write")
        assert store.find_token(token) is not None
        raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("conveyor.db"))
        assert token.encode() not in raw
        assert token.removeprefix("cvy_").encode() not in raw
        assert hashlib.sha256(token.encode()).hexdigest().encode() in raw
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT name, hash, namespaces, role FROM tokens").fetchall() == [
        ("ci", hash_token(token), '["team-a"]', "write")]
    conn.close()


def test_find_returns_the_token_and_records_use_at_most_once_a_minute(store: Store) -> None:
    token = store.create_token("ci", ["a", "b", "a"], "write", now=T0)
    found = store.find_token(token, now=T0 + timedelta(seconds=5))
    assert found is not None
    assert (found.name, found.namespaces, found.role) == ("ci", ("a", "b"), "write")
    assert (found.created_at, found.last_used_at) == ("2024-05-01T12:00:00Z", "2024-05-01T12:00:05Z")
    store.find_token(token, now=T0 + timedelta(seconds=50))
    assert store.list_tokens()[0].last_used_at == "2024-05-01T12:00:05Z"  # within the minute: no write
    store.find_token(token, now=T0 + timedelta(seconds=65))
    assert store.list_tokens()[0].last_used_at == "2024-05-01T12:01:05Z"


@pytest.mark.parametrize("text", ["", "cvy_", "cvy_unknown", "not-a-token", "CVY_x"])
def test_unknown_tokens_are_not_found(store: Store, text: str) -> None:
    store.create_token("ci", ["a"], "read")
    assert store.find_token(text) is None


def test_revoked_tokens_are_not_found_and_keep_their_first_revocation(store: Store) -> None:
    token = store.create_token("ci", ["a"], "admin", now=T0)
    first = store.revoke_token("ci", now=T0 + timedelta(hours=1))
    assert first.revoked_at == "2024-05-01T13:00:00Z"
    assert store.find_token(token) is None
    assert store.revoke_token("ci", now=T0 + timedelta(hours=2)).revoked_at == first.revoked_at
    assert store.list_tokens()[0].last_used_at is None  # a refused token was not "used"
    with pytest.raises(NotFound, match='token "nope" not found'):
        store.revoke_token("nope")


def test_list_shows_every_token_oldest_first_without_its_text(store: Store) -> None:
    store.create_token("second", ["b"], "read", now=T0 + timedelta(seconds=1))
    store.create_token("first", ["*"], "admin", now=T0)
    store.revoke_token("second")
    listed = store.list_tokens()
    assert [(t.name, t.namespaces, t.role, t.revoked_at is not None) for t in listed] == [
        ("first", ("*",), "admin", False), ("second", ("b",), "read", True)]
    assert not hasattr(listed[0], "hash") and not hasattr(listed[0], "token")


def test_names_are_unique_even_after_revoking(store: Store) -> None:
    store.create_token("ci", ["a"], "read")
    store.revoke_token("ci")
    with pytest.raises(AlreadyExists, match='token "ci" already exists'):
        store.create_token("ci", ["a"], "read")


@pytest.mark.parametrize(("name", "namespaces", "role", "message"), [
    ("ci", ["a"], "owner", "role 'owner' is not known"),
    ("ci", [], "read", "at least one namespace"),
    ("ci", ["Team A"], "read", "namespace 'Team A' is not a valid name"),
    ("ci", ["a*"], "read", "is not a valid name"),
    ("-ci", ["a"], "read", "token name '-ci' is not valid"),
    ("x" * 64, ["a"], "read", "is not valid"),
])
def test_bad_input_is_refused(store: Store, name: str, namespaces: list[str], role: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        store.create_token(name, namespaces, role)
    assert store.list_tokens() == []


def test_covers(store: Store) -> None:
    some = store.find_token(store.create_token("some", ["a", "b"], "read"))
    every = store.find_token(store.create_token("every", ["*"], "read"))
    assert some is not None and every is not None
    assert some.covers("a") and some.covers("b") and not some.covers("c")
    assert every.covers("c")
