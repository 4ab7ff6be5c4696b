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

from conveyor.errors import InvalidInput, NotFound
from conveyor.store._db import Database
from conveyor.store._labels import Requirement, parse_selector
from conveyor.store._rows import decode_token, dump, encode_token, workflow_row

__all__ = ["ArchiveStore"]

Page = tuple[list[dict[str, Any]], str | None]


def _label_clause(req: Requirement) -> tuple[str, list[str]]:
    """SQL for one selector requirement against the `archived_workflows a` row."""
    sql = "EXISTS (SELECT 1 FROM archived_workflow_labels l WHERE l.uid = a.uid AND l.key = ?"
    params = [req.key]
    if req.values and req.op != "exists":
        sql += " AND l.value IN (" + ",".join("?" * len(req.values)) + ")"
        params += req.values
    sql += ")"
    # `!=`, `notin` and `!key` also hold when the label is absent, as in Kubernetes.
    return ("NOT " + sql if req.op in ("!=", "notin", "!exists") else sql), params


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
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (uid) DO UPDATE SET namespace = excluded.namespace, name = excluded.name,"
                " phase = excluded.phase, created_at = excluded.created_at,"
                " finished_at = excluded.finished_at, labels = excluded.labels, body = excluded.body",
                (row.uid, row.namespace, row.name, row.phase, row.created_at, row.finished_at,
                 dump(row.labels, "labels"), row.body),
            )
            conn.execute("DELETE FROM archived_workflow_labels WHERE uid = ?", (row.uid,))
            conn.executemany(
                "INSERT INTO archived_workflow_labels (uid, key, value) VALUES (?, ?, ?)",
                [(row.uid, k, v) for k, v in row.labels.items()],
            )

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
        if limit is not None and limit < 0:
            raise InvalidInput(f"limit={limit} is negative; use a positive number or 0 for no limit")
        where: list[str] = []
        params: list[Any] = []
        if namespace is not None:
            where.append("a.namespace = ?")
            params.append(namespace)
        if isinstance(phases, str):
            phases = [phases]
        if phases:
            where.append("a.phase IN (" + ",".join("?" * len(phases)) + ")")
            params += phases
        if name_prefix:
            # Not LIKE: that is case-insensitive and treats % and _ as wildcards.
            where.append("substr(a.name, 1, ?) = ?")
            params += [len(name_prefix), name_prefix]
        for req in parse_selector(label_selector):
            clause, values = _label_clause(req)
            where.append(clause)
            params += values
        if continue_token:
            where.append("(a.created_at, a.name, a.uid) < (?, ?, ?)")
            params += decode_token(continue_token)
        sql = "SELECT a.body, a.created_at, a.name, a.uid FROM archived_workflows a"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY a.created_at DESC, a.name DESC, a.uid DESC"
        if limit:
            sql += " LIMIT ?"
            params.append(limit + 1)  # one extra row tells whether another page exists
        with self._db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        token = None
        if limit and len(rows) > limit:
            rows = rows[:limit]
            token = encode_token(rows[-1][1], rows[-1][2], rows[-1][3])
        return [json.loads(r[0]) for r in rows], token

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
