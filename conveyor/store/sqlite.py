"""The SQLite store: workflows, their replay events, the log index and templates.

Objects are stored whole as JSON, with the fields that list queries filter
or sort on copied into indexed columns. Workflow labels also go into a side
table so label selectors are SQL `EXISTS` lookups. Connection handling and
the durability rules live in `_db.py`. All SQL is parameterized: the only
text ever spliced in is fixed fragments and `?` placeholders.

Argo's REST API reads the same store, so not-found and already-exists
messages match Argo Server's exactly.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from conveyor.errors import AlreadyExists, InvalidInput, NotFound
from conveyor.store._db import Database, store_error
from conveyor.store._listing import LIVE, list_page
from conveyor.store._rows import (
    TEMPLATE_PLURALS,
    WorkflowRow,
    dump,
    template_key,
    workflow_row,
)
from conveyor.store._schema import migrate
from conveyor.store.archive import ArchiveStore
from conveyor.store.secrets import SecretStore
from conveyor.store.tokens import TokenStore

__all__ = ["Batch", "Store"]

#: how often, at most, the request queue is checked for being empty (see take_requests)
_REQUESTS_CHECK_S = 0.1

#: index one log file; adding the same (node, container) again replaces its path
_ADD_LOG = (
    "INSERT INTO logs (namespace, workflow, node_id, container, path) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (namespace, workflow, node_id, container) DO UPDATE SET path = excluded.path"
)

_WORKFLOWS = "workflows.argoproj.io"


def _copy(obj: Any, what: str) -> Any:
    """A private deep copy that is guaranteed to round-trip through JSON."""
    return json.loads(dump(obj, what))


def _not_found(name: str) -> NotFound:
    return NotFound(f'{_WORKFLOWS} "{name}" not found')


@dataclass
class Batch:
    """How each item of `Store.write_batch` went, in the order given."""

    #: (the stored copy, None) or (the copy, the AlreadyExists that refused it)
    created: list[tuple[dict[str, Any], AlreadyExists | None]] = field(default_factory=list)
    #: None, or the NotFound of an append to a workflow that is not there (any more)
    appended: list[NotFound | None] = field(default_factory=list)
    #: None, or the NotFound of a replacement of a workflow that is not there (any more)
    updated: list[NotFound | None] = field(default_factory=list)


def _one(conn: sqlite3.Connection, write: Callable[[], None]) -> bool:
    """Run one item of a batch under its own savepoint; False (and the item undone
    alone, the rest of the batch kept) if it broke a constraint or found no workflow."""
    conn.execute("SAVEPOINT one")
    try:
        write()
    except (sqlite3.IntegrityError, NotFound):
        conn.execute("ROLLBACK TO one")
        ok = False
    else:
        ok = True
    conn.execute("RELEASE one")
    return ok


class Store(TokenStore, ArchiveStore, SecretStore):
    """Thread-safe: share one Store; each thread gets its own SQLite connection."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._requests_checked = float("-inf")  # when the request queue was last seen (empty or not)
        self._requests_pending = False

    @classmethod
    def open(cls, path: Path) -> Store:
        """Open (creating the folder, file and schema as needed) the store at `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        db = Database(path)
        try:
            migrate(db.connect(), path)
        except sqlite3.Error as exc:
            db.close()
            raise store_error(exc, path) from exc
        except BaseException:
            db.close()
            raise
        return cls(db)

    @property
    def path(self) -> Path:
        return self._db.path

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- workflows ---------------------------------------------------------

    def create_workflow(self, wf: dict[str, Any]) -> dict[str, Any]:
        """Store a new workflow (fsynced) and return the stored copy; AlreadyExists if its name is taken."""
        stored, error = self.write_batch(creates=[wf]).created[0]
        if error is not None:
            raise error
        return stored

    def write_batch(self, *, creates: Sequence[dict[str, Any]] = (),
                    appends: Sequence[tuple[str, str, Sequence[dict[str, Any]], Sequence[tuple[str, str, str]]]] = (),
                    updates: Sequence[dict[str, Any]] = ()) -> Batch:
        """New workflows, event appends (namespace, name, events, logs) and workflow
        replacements, all in one transaction, fsynced if it holds a create or an append:
        the group commit of every runner of a process (`runtime/journal.py`). Each item
        succeeds or fails alone (a savepoint each); the Batch says how each went."""
        created = [_copy(wf, "workflow") for wf in creates]
        appended = [(ns, name, [(ns, name, dump(e, f"event for {ns}/{name}")) for e in events], logs)
                    for ns, name, events, logs in appends]
        rows = [workflow_row(wf if (wf.get("metadata") or {}).get("creationTimestamp") else _copy(wf, "workflow"))
                for wf in updates]
        out = Batch()
        if not (created or appended or rows):
            return out
        with self._db.write(durable=bool(created or appended)) as conn:
            for copy in created:
                taken = not _one(conn, functools.partial(self._insert, conn, workflow_row(copy)))
                out.created.append((copy, AlreadyExists(f'{_WORKFLOWS} "{copy["metadata"]["name"]}" already exists')
                                    if taken else None))
            for ns, name, bodies, logs in appended:
                ok = _one(conn, functools.partial(self._append, conn, ns, name, bodies, logs))
                out.appended.append(None if ok else _not_found(name))  # the foreign key: no such workflow
            for row in rows:
                out.updated.append(None if _one(conn, functools.partial(self._update, conn, row)) else _not_found(row.name))
        return out

    def _insert(self, conn: sqlite3.Connection, row: WorkflowRow) -> None:
        conn.execute(
            "INSERT INTO workflows (namespace, name, uid, phase, created_at, finished_at, labels, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row.namespace, row.name, row.uid, row.phase, row.created_at, row.finished_at,
             dump(row.labels, "labels"), row.body),
        )
        self._put_labels(conn, row)

    @staticmethod
    def _append(conn: sqlite3.Connection, namespace: str, name: str, bodies: Sequence[tuple[str, str, str]],
                logs: Sequence[tuple[str, str, str]]) -> None:
        conn.executemany("INSERT INTO events (namespace, name, body) VALUES (?, ?, ?)", bodies)
        if logs:
            conn.executemany(_ADD_LOG, [(namespace, name, n, c, str(p)) for n, c, p in logs])

    def _update(self, conn: sqlite3.Connection, row: WorkflowRow) -> None:
        cur = conn.execute(
            "UPDATE workflows SET uid = ?, phase = ?, created_at = ?, finished_at = ?,"
            " labels = ?, body = ? WHERE namespace = ? AND name = ?",
            (row.uid, row.phase, row.created_at, row.finished_at, dump(row.labels, "labels"), row.body,
             row.namespace, row.name),
        )
        if cur.rowcount == 0:
            raise _not_found(row.name)
        conn.execute("DELETE FROM workflow_labels WHERE namespace = ? AND name = ?", (row.namespace, row.name))
        self._put_labels(conn, row)

    def update_workflow(self, wf: dict[str, Any]) -> None:
        self.update_workflows([wf])

    def update_workflows(self, wfs: Sequence[dict[str, Any]]) -> None:
        """Replace each workflow; all or none (NotFound rolls every one back).

        Not fsynced (see `_db`): status is a projection of the durable events.
        """
        # One JSON pass per workflow: a row is computed from the object itself unless
        # workflow_row would have to fill in its creationTimestamp (then from a copy).
        rows = [workflow_row(wf if (wf.get("metadata") or {}).get("creationTimestamp") else _copy(wf, "workflow"))
                for wf in wfs]
        if not rows:
            return
        with self._db.write(durable=False) as conn:
            for row in rows:
                self._update(conn, row)

    @staticmethod
    def _put_labels(conn: sqlite3.Connection, row: WorkflowRow) -> None:
        conn.executemany(
            "INSERT INTO workflow_labels (namespace, name, key, value) VALUES (?, ?, ?, ?)",
            [(row.namespace, row.name, k, v) for k, v in row.labels.items()],
        )

    def find_workflow(self, namespace: str, name: str, *, nodes: bool = True) -> dict[str, Any] | None:
        """The stored workflow, or None; `nodes=False` leaves out `status.nodes`.

        Without the nodes SQLite cuts them out of the body (`json_remove`, in C) before
        Python parses it: a poll of a 10,000-node workflow's phase then costs neither the
        parse of megabytes of JSON nor the memory of 10,000 node dicts.
        """
        column = "body" if nodes else "json_remove(body, '$.status.nodes')"
        with self._db.read() as conn:
            found = conn.execute(
                f"SELECT {column} FROM workflows WHERE namespace = ? AND name = ?", (namespace, name)
            ).fetchone()
        return None if found is None else json.loads(found[0])

    def workflow_json(self, namespace: str, name: str) -> str:
        """The stored workflow as its JSON text (NotFound if none): what a reader that
        only passes it on sends, without parsing megabytes into dicts to dump them again."""
        with self._db.read() as conn:
            found = conn.execute("SELECT body FROM workflows WHERE namespace = ? AND name = ?",
                                 (namespace, name)).fetchone()
        if found is None:
            raise _not_found(name)
        body: str = found[0]
        return body

    def get_workflow(self, namespace: str, name: str, *, nodes: bool = True) -> dict[str, Any]:
        wf = self.find_workflow(namespace, name, nodes=nodes)
        if wf is None:
            raise _not_found(name)
        return wf

    def list_workflows(
        self,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        phases: Sequence[str] | None = None,
        name_prefix: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; the token is set when more rows remain (pass it back to page on).

        `limit` None or 0 means no limit, as in Kubernetes' listOptions.
        """
        return list_page(self._db, LIVE, namespace=namespace, label_selector=label_selector, phases=phases,
                         name_prefix=name_prefix, limit=limit, continue_token=continue_token)

    def delete_workflow(self, namespace: str, name: str) -> None:
        """Delete a workflow; its labels, events and log index rows go with it (ON DELETE CASCADE)."""
        with self._db.write(durable=True) as conn:
            cur = conn.execute(
                "DELETE FROM workflows WHERE namespace = ? AND name = ?", (namespace, name)
            )
            if cur.rowcount == 0:
                raise _not_found(name)

    # -- events ------------------------------------------------------------

    def append_events(self, namespace: str, name: str, events: Sequence[dict[str, Any]],
                      logs: Sequence[tuple[str, str, str]] = ()) -> None:
        """Append in one fsynced transaction; NotFound if the workflow does not exist.

        `logs` (node id, container, path) are indexed in the same transaction, as
        `add_log` does: a task's logs become known together with its result."""
        bodies = [(namespace, name, dump(e, f"event for {namespace}/{name}")) for e in events]
        if not bodies and not logs:
            return
        try:
            with self._db.write(durable=True) as conn:
                self._append(conn, namespace, name, bodies, logs)
        except sqlite3.IntegrityError:  # the foreign key: no such workflow
            raise _not_found(name) from None

    def replace_events(self, namespace: str, name: str, events: Sequence[dict[str, Any]]) -> None:
        """Swap the whole history for `events` in one fsynced transaction (a retry's edited history)."""
        bodies = [(namespace, name, dump(e, f"event for {namespace}/{name}")) for e in events]
        try:
            with self._db.write(durable=True) as conn:
                conn.execute("DELETE FROM events WHERE namespace = ? AND name = ?", (namespace, name))
                conn.executemany("INSERT INTO events (namespace, name, body) VALUES (?, ?, ?)", bodies)
        except sqlite3.IntegrityError:
            raise _not_found(name) from None

    def load_events(self, namespace: str, name: str) -> list[dict[str, Any]]:
        """Every event of the workflow in append order ([] when there are none)."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT body FROM events WHERE namespace = ? AND name = ? ORDER BY seq",
                (namespace, name),
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    # -- requests ----------------------------------------------------------

    def add_request(self, namespace: str, name: str, event: dict[str, Any]) -> None:
        """Queue an event (resume, stop, ...) for whichever process runs the workflow."""
        body = dump(event, f"request for {namespace}/{name}")
        try:
            with self._db.write(durable=True) as conn:
                conn.execute(
                    "INSERT INTO requests (namespace, name, body) VALUES (?, ?, ?)",
                    (namespace, name, body),
                )
        except sqlite3.IntegrityError:
            raise _not_found(name) from None
        self._requests_checked = float("-inf")  # a runner of this process sees it at its next look

    def take_requests(self, namespace: str, name: str) -> list[dict[str, Any]]:
        """The queued requests in order, removed from the queue in the same transaction.

        Every runner asks a few times a second and the queue is nearly always empty, so
        whether it holds anything at all is read once per `_REQUESTS_CHECK_S` for all of them."""
        now = time.monotonic()
        if now - self._requests_checked >= _REQUESTS_CHECK_S:
            with self._db.read() as conn:
                self._requests_pending = conn.execute("SELECT EXISTS (SELECT 1 FROM requests)").fetchone()[0] == 1
            self._requests_checked = now
        if not self._requests_pending:
            return []
        with self._db.write(durable=False) as conn:
            rows = conn.execute(
                "SELECT seq, body FROM requests WHERE namespace = ? AND name = ? ORDER BY seq",
                (namespace, name),
            ).fetchall()
            if rows:
                conn.execute(
                    "DELETE FROM requests WHERE namespace = ? AND name = ? AND seq <= ?",
                    (namespace, name, rows[-1][0]),
                )
        return [json.loads(body) for _, body in rows]

    # -- logs --------------------------------------------------------------

    def add_log(
        self, namespace: str, workflow: str, node_id: str, container: str, path: str
    ) -> None:
        """Index a log file; adding the same (node, container) again replaces its path."""
        try:
            with self._db.write(durable=False) as conn:
                conn.execute(_ADD_LOG, (namespace, workflow, node_id, container, str(path)))
        except sqlite3.IntegrityError:
            raise _not_found(workflow) from None

    def list_logs(
        self, namespace: str, workflow: str, node_id: str | None = None
    ) -> list[dict[str, str]]:
        sql = "SELECT node_id, container, path FROM logs WHERE namespace = ? AND workflow = ?"
        params = [namespace, workflow]
        if node_id is not None:
            sql += " AND node_id = ?"
            params.append(node_id)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY rowid", params).fetchall()
        return [{"node_id": n, "container": c, "path": p} for n, c, p in rows]

    # -- templates ---------------------------------------------------------

    def put_template(
        self, kind: str, manifest: dict[str, Any], *, replace: bool = False
    ) -> dict[str, Any]:
        stored = _copy(manifest, kind)
        namespace, name = template_key(kind, stored)
        sql = "INSERT INTO templates (kind, namespace, name, body) VALUES (?, ?, ?, ?)"
        if replace:
            sql += " ON CONFLICT (kind, namespace, name) DO UPDATE SET body = excluded.body"
        try:
            with self._db.write(durable=True) as conn:
                conn.execute(sql, (kind, namespace, name, dump(stored, kind)))
        except sqlite3.IntegrityError:
            raise AlreadyExists(f'{TEMPLATE_PLURALS[kind]} "{name}" already exists') from None
        return stored

    @staticmethod
    def _scope(kind: str, namespace: str | None) -> str | None:
        if kind not in TEMPLATE_PLURALS:
            raise InvalidInput(
                f"unknown template kind {kind!r}; use one of {', '.join(TEMPLATE_PLURALS)}"
            )
        return "" if kind == "ClusterWorkflowTemplate" else namespace

    def get_template(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        scope = self._scope(kind, namespace)
        with self._db.read() as conn:
            found = conn.execute(
                "SELECT body FROM templates WHERE kind = ? AND namespace = ? AND name = ?",
                (kind, scope, name),
            ).fetchone()
        return None if found is None else json.loads(found[0])

    def get(self, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
        """TemplateLookup protocol (note the argument order): for resolving templateRefs."""
        return self.get_template(kind, namespace, name)

    def list_templates(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        scope = self._scope(kind, namespace)
        sql = "SELECT body FROM templates WHERE kind = ?"
        params = [kind]
        if scope is not None:
            sql += " AND namespace = ?"
            params.append(scope)
        with self._db.read() as conn:
            rows = conn.execute(sql + " ORDER BY namespace, name", params).fetchall()
        return [json.loads(r[0]) for r in rows]

    def namespaces(self) -> list[str]:
        """Every namespace that holds a workflow, a template or a cron workflow, sorted."""
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT namespace FROM workflows UNION SELECT namespace FROM templates WHERE namespace != '' "
                "UNION SELECT namespace FROM archived_workflows ORDER BY 1"
            ).fetchall()
        return [r[0] for r in rows]

    def delete_template(self, kind: str, namespace: str, name: str) -> None:
        scope = self._scope(kind, namespace)
        with self._db.write(durable=True) as conn:
            cur = conn.execute(
                "DELETE FROM templates WHERE kind = ? AND namespace = ? AND name = ?",
                (kind, scope, name),
            )
            if cur.rowcount == 0:
                raise NotFound(f'{TEMPLATE_PLURALS[kind]} "{name}" not found')

    # -- maintenance -------------------------------------------------------

    def integrity_check(self) -> list[str]:
        """Problems found by SQLite's integrity and foreign-key checks; [] when healthy."""
        with self._db.read() as conn:
            problems = [
                r[0] for r in conn.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"
            ]
            for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall():
                problems.append(f"{table} row {rowid} refers to a missing row in {parent}")
        return problems
