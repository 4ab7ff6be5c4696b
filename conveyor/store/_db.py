"""SQLite connections: one per thread, explicit transactions, errors as StoreError.

Concurrency. Each thread gets its own connection (`threading.local`) instead
of sharing one behind a lock: in WAL mode readers never block the writer nor
each other, so the API can list workflows while the runtime appends events.
Writers serialize on SQLite's own write lock; every write transaction starts
with `BEGIN IMMEDIATE` so it takes that lock up front (a deferred transaction
that upgrades from read to write can fail with SQLITE_BUSY_SNAPSHOT without
waiting), and `busy_timeout` makes the wait block instead of failing.

Durability. WAL with `synchronous=NORMAL` already survives `kill -9`: a commit
is in the WAL file (the OS page cache) before `COMMIT` returns. It does not
survive power loss or an OS crash, because the WAL is only fsynced at
checkpoints. Writes a user or the engine relies on (`durable=True`: workflow
create/delete, event appends, templates) switch the connection to
`synchronous=FULL`, which fsyncs the WAL at that commit. Because the WAL is
sequential, that fsync also makes every earlier NORMAL commit durable, so
after power loss the database is always a prefix of the commit history.
Projections that are rebuilt from events (workflow status updates, the log
index) stay NORMAL: an fsync per node transition would dominate run time.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conveyor.errors import StoreError

__all__ = ["Database"]

BUSY_TIMEOUT_MS = 30_000


class _Connection(sqlite3.Connection):
    """sqlite3.Connection cannot be weakly referenced; a plain subclass can."""


def store_error(exc: sqlite3.Error, path: Path) -> StoreError:
    text = str(exc)
    if "disk is full" in text or getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
        return StoreError(
            f"no space left for the database {path}: free disk space in {path.parent}"
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            f"database {path} stayed locked for {BUSY_TIMEOUT_MS // 1000}s by another writer; retry"
        )
    return StoreError(f"database {path}: {text}")


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        # Weak: a connection dies (and closes) with its thread's local storage;
        # close() closes whatever is still alive.
        self._conns: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._closed = False

    def connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"the store at {self.path} is closed")
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        try:
            # isolation_level=None: autocommit; we issue BEGIN/COMMIT ourselves.
            # check_same_thread=False only so close() may close it from another
            # thread; otherwise a connection is used by its own thread alone.
            conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=BUSY_TIMEOUT_MS / 1000,
                factory=_Connection,
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc
        with self._lock:
            if self._closed:
                conn.close()
                raise StoreError(f"the store at {self.path} is closed")
            self._conns.add(conn)
        self._local.conn = conn
        return conn

    @contextmanager
    def write(self, *, durable: bool) -> Iterator[sqlite3.Connection]:
        """One write transaction; committed (and, if durable, fsynced) on exit."""
        conn = self.connect()
        try:
            if durable:
                conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.IntegrityError:
            raise  # callers turn constraint violations into AlreadyExists/NotFound
        except sqlite3.Error as exc:  # sqlite reports ENOSPC as SQLITE_FULL, not OSError
            raise store_error(exc, self.path) from exc
        finally:
            if durable and not self._closed:
                conn.execute("PRAGMA synchronous = NORMAL")

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every query inside sees one snapshot."""
        conn = self.connect()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise store_error(exc, self.path) from exc

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            conn.close()
        self._local = threading.local()
