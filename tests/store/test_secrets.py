"""Secrets: encrypted at rest under a key outside the database; listing never shows values."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from conveyor.errors import AlreadyExists, InvalidInput, NotFound, StoreError
from conveyor.store import SecretKey, Store
from conveyor.store.secrets import DOCKER_CONFIG_KEY, DOCKER_CONFIG_TYPE, docker_config

PASSWORD = "hunter2-very-secret-value"


@pytest.fixture
def key(tmp_path: Path) -> SecretKey:
    return SecretKey.load(tmp_path / "keys" / "secret.key", create=True)


def test_values_are_encrypted_at_rest_and_round_trip(store: Store, key: SecretKey) -> None:
    store.create_secret(key, "default", "db", {"password": PASSWORD, "user": "app"})
    store.close()
    raw = b"".join(p.read_bytes() for p in store.path.parent.glob("conveyor.db*"))
    assert PASSWORD.encode() not in raw
    assert key.path.parent != store.path.parent or key.path.name != store.path.name
    with Store.open(store.path) as again:
        kind, data = again.secret_data(key, "default", "db")
    assert kind == "Opaque" and data == {"password": PASSWORD, "user": "app"}


def test_key_file_is_private(key: SecretKey) -> None:
    assert stat.S_IMODE(key.path.stat().st_mode) == 0o600
    assert SecretKey.load(key.path).path == key.path  # loads again without create


def test_listing_shows_names_types_and_keys_never_values(store: Store, key: SecretKey) -> None:
    store.create_secret(key, "default", "reg", {DOCKER_CONFIG_KEY: docker_config("127.0.0.1:5000", "u", PASSWORD)},
                        type_=DOCKER_CONFIG_TYPE)
    store.create_secret(key, "team", "api", {"token": PASSWORD})
    listed = store.list_secrets()
    assert [(s.namespace, s.name, s.type, s.keys) for s in listed] == [
        ("default", "reg", DOCKER_CONFIG_TYPE, (DOCKER_CONFIG_KEY,)), ("team", "api", "Opaque", ("token",))]
    assert PASSWORD not in repr(listed)
    assert [s.name for s in store.list_secrets("team")] == ["api"]
    config = json.loads(store.secret_data(key, "default", "reg")[1][DOCKER_CONFIG_KEY])
    assert config["auths"]["127.0.0.1:5000"]["password"] == PASSWORD


def test_wrong_key_is_a_clear_error(store: Store, key: SecretKey, tmp_path: Path) -> None:
    store.create_secret(key, "default", "db", {"password": PASSWORD})
    other = SecretKey.load(tmp_path / "other.key", create=True)
    with pytest.raises(StoreError, match=r'secret "db" in namespace "default" cannot be decrypted .*other.key'):
        store.secret_data(other, "default", "db")


def test_missing_or_broken_key_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"secret key file .*nope.key does not exist.*CONVEYOR_SECRET_KEY_FILE"):
        SecretKey.load(tmp_path / "nope.key")
    bad = tmp_path / "bad.key"
    bad.write_text("not a key")
    with pytest.raises(StoreError, match="does not hold a Fernet key"):
        SecretKey.load(bad)


def test_duplicates_unknown_names_and_bad_input(store: Store, key: SecretKey) -> None:
    store.create_secret(key, "default", "db", {"password": "a"})
    with pytest.raises(AlreadyExists, match='secret "db" in namespace "default" already exists'):
        store.create_secret(key, "default", "db", {"password": "b"})
    store.create_secret(key, "default", "db", {"password": "b"}, replace=True)
    assert store.secret_data(key, "default", "db")[1] == {"password": "b"}
    with pytest.raises(NotFound, match='secret "nope" in namespace "default" not found'):
        store.secret_data(key, "default", "nope")
    with pytest.raises(InvalidInput, match="secret name 'Bad_Name'"):
        store.create_secret(key, "default", "Bad_Name", {"a": "b"})
    with pytest.raises(InvalidInput, match="has no data"):
        store.create_secret(key, "default", "empty", {})
    store.delete_secret("default", "db")
    with pytest.raises(NotFound):
        store.delete_secret("default", "db")


def test_a_row_copied_under_another_name_does_not_open(store: Store, key: SecretKey) -> None:
    store.create_secret(key, "default", "a", {"k": "v"})
    store.create_secret(key, "default", "b", {"k": "w"})
    with store._db.write(durable=True) as conn:
        conn.execute("UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE name = 'a') WHERE name = 'b'")
    with pytest.raises(StoreError, match="sealed for another secret"):
        store.secret_data(key, "default", "b")
