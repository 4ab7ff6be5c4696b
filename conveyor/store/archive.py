"""The workflow archive: finished workflows, kept after the live list forgets them.

Argo keeps these in a SQL "workflow archive" that its server lists, gets,
deletes and resubmits from; conveyor keeps them in the same SQLite file as
the live workflows. An archived workflow is keyed by its uid, since a name
may be used again once the live workflow is gone. Labels go into a side
table, so label selectors are SQL `EXISTS` lookups, as for live workflows.
https://argo-workflows.readthedocs.io/en/latest/workflow-archive/
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from conveyor.errors import NotFound
from conveyor.store._db import Database
from conveyor.store._listing import ARCHIVED, list_page
from conveyor.store._rows import dump, workflow_row

__all__ = ["ArchiveStore"]

Page = tuple[list[dict[str, Any]], str | None]
#: archiving a uid again replaces its entry (a retried workflow ends anew)
_REPLACE = (" ON CONFLICT (uid) DO UPDATE SET namespace = excluded.namespace, name = excluded.name,"
            " phase = excluded.phase, created_at = excluded.created_at,"
            " finished_at = excluded.finished_at, labels = excluded.labels, body = excluded.body")


def _not_found(uid: str) -> NotFound:
    return NotFound(f'archived workflow "{uid}" not found')


class ArchiveStore:
    """The archive methods of `Store` (a mixin: it uses the Store's database)."""

    _db: Database

    def archive_workflow(self, wf: dict[str, Any]) -> None:
        """Keep a copy of `wf`; archiving the same uid again replaces it (a retried workflow ends anew)."""
        row = workflow_row(json.loads(dump(wf, "workflow")))
        with self._db.write(durable=True) as conn:
            conn.execute(
                "INSERT INTO archived_workflows"
                " (uid, namespace, name, phase, created_at, finished_at, labels, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)" + _REPLACE,
                (row.uid, row.namespace, row.name, row.phase, row.created_at, row.finished_at,
                 dump(row.labels, "labels"), row.body),
            )
            conn.execute("DELETE FROM archived_workflow_labels WHERE uid = ?", (row.uid,))
            conn.executemany(
                "INSERT INTO archived_workflow_labels (uid, key, value) VALUES (?, ?, ?)",
                [(row.uid, k, v) for k, v in row.labels.items()],
            )

    def archive_stored(self, namespace: str, name: str, phases: Sequence[str]) -> bool:
        """Archive the live workflow as it is stored, if its phase is one of `phases`;
        whether it was. The row is copied inside SQLite: a finished 10,000-node
        workflow (megabytes of JSON) is neither parsed nor serialized again for it."""
        marks = ", ".join("?" * len(phases))
        with self._db.write(durable=True) as conn:
            found = conn.execute(
                f"SELECT uid FROM workflows WHERE namespace = ? AND name = ? AND phase IN ({marks})",
                (namespace, name, *phases),
            ).fetchone()
            if found is None:
                return False
            conn.execute(
                "INSERT INTO archived_workflows"
                " (uid, namespace, name, phase, created_at, finished_at, labels, body)"
                " SELECT uid, namespace, name, phase, created_at, finished_at, labels, body"
                " FROM workflows WHERE namespace = ? AND name = ?" + _REPLACE,
                (namespace, name),
            )
            conn.execute("DELETE FROM archived_workflow_labels WHERE uid = ?", (found[0],))
            conn.execute(
                "INSERT INTO archived_workflow_labels (uid, key, value)"
                " SELECT ?, key, value FROM workflow_labels WHERE namespace = ? AND name = ?",
                (found[0], namespace, name),
            )
        return True

    def list_archived(
        self,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        name_prefix: str | None = None,
        phases: Sequence[str] | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page:
        """Newest first; the token is set when more rows remain. `limit` None or 0: no limit.

        The continue token carries (created_at, name, uid): uid, not namespace,
        breaks ties here, since it is what makes an archived row unique.
        """
        return list_page(self._db, ARCHIVED, namespace=namespace, label_selector=label_selector, phases=phases,
                         name_prefix=name_prefix, limit=limit, continue_token=continue_token)

    def find_archived(self, uid: str) -> dict[str, Any] | None:
        with self._db.read() as conn:
            found = conn.execute("SELECT body FROM archived_workflows WHERE uid = ?", (uid,)).fetchone()
        return None if found is None else json.loads(found[0])

    def get_archived(self, uid: str) -> dict[str, Any]:
        wf = self.find_archived(uid)
        if wf is None:
            raise _not_found(uid)
        return wf

    def delete_archived(self, uid: str) -> None:
        """Forget an archived workflow (its labels go with it: ON DELETE CASCADE)."""
        with self._db.write(durable=True) as conn:
            if conn.execute("DELETE FROM archived_workflows WHERE uid = ?", (uid,)).rowcount == 0:
                raise _not_found(uid)

    def archived_label_keys(self, namespace: str | None = None) -> list[str]:
        """Every label key archived workflows carry (of one namespace, when given), sorted."""
        return self._distinct("l.key", "", [], namespace)

    def archived_label_values(self, key: str, namespace: str | None = None) -> list[str]:
        """Every value archived workflows give label `key` (of one namespace, when given), sorted."""
        return self._distinct("l.value", " AND l.key = ?", [key], namespace)

    def _distinct(self, column: str, condition: str, params: list[str], namespace: str | None) -> list[str]:
        # `column` and `condition` are fixed fragments from the two callers above, never user text.
        sql = f"SELECT DISTINCT {column} FROM archived_workflow_labels l"
        if namespace is not None:
            sql += " JOIN archived_workflows a ON a.uid = l.uid WHERE a.namespace = ?" + condition
            params = [namespace, *params]
        elif condition:
            sql += " WHERE" + condition.removeprefix(" AND")
        with self._db.read() as conn:
            rows = conn.execute(sql + f" ORDER BY {column}", params).fetchall()
        return [r[0] for r in rows]
