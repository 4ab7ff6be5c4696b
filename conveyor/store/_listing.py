"""One paged, filtered, newest-first listing for the live and the archived workflows.

Both tables have the same indexed columns; they differ in the column that breaks
ties between equal (created_at, name) pairs and in how their label side table
joins. The SQL is built from those constants only; user values go in as parameters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conveyor.errors import InvalidInput
from conveyor.store._db import Database
from conveyor.store._labels import Requirement, parse_selector
from conveyor.store._rows import decode_token, encode_token

__all__ = ["Listing", "LIVE", "ARCHIVED", "list_page"]


@dataclass(frozen=True)
class Listing:
    table: str  # "<table> <alias>"
    alias: str
    tiebreak: str  # the column making (created_at, name, tiebreak) unique
    labels: str  # the label side table, aliased `l`
    label_join: str  # how a label row belongs to the listed row


LIVE = Listing("workflows w", "w", "namespace", "workflow_labels l",
               "l.namespace = w.namespace AND l.name = w.name")
ARCHIVED = Listing("archived_workflows a", "a", "uid", "archived_workflow_labels l", "l.uid = a.uid")


def _label_clause(t: Listing, req: Requirement) -> tuple[str, list[str]]:
    sql = f"EXISTS (SELECT 1 FROM {t.labels} WHERE {t.label_join} AND l.key = ?"
    params = [req.key]
    if req.values and req.op != "exists":
        sql += " AND l.value IN (" + ",".join("?" * len(req.values)) + ")"
        params += req.values
    sql += ")"
    # `!=`, `notin` and `!key` also hold when the label is absent, as in Kubernetes.
    return ("NOT " + sql if req.op in ("!=", "notin", "!exists") else sql), params


def list_page(
    db: Database,
    t: Listing,
    *,
    namespace: str | None,
    label_selector: str | None,
    phases: Sequence[str] | str | None,
    name_prefix: str | None,
    limit: int | None,
    continue_token: str | None,
) -> tuple[list[dict[str, Any]], str | None]:
    """Newest first; the token is set when more rows remain. `limit` None or 0: no limit."""
    if limit is not None and limit < 0:
        raise InvalidInput(f"limit={limit} is negative; use a positive number or 0 for no limit")
    a = t.alias
    where: list[str] = []
    params: list[Any] = []
    if namespace is not None:
        where.append(f"{a}.namespace = ?")
        params.append(namespace)
    if isinstance(phases, str):
        phases = [phases]
    if phases:
        where.append(f"{a}.phase IN (" + ",".join("?" * len(phases)) + ")")
        params += phases
    if name_prefix:
        # Not LIKE: that is case-insensitive and treats % and _ as wildcards.
        where.append(f"substr({a}.name, 1, ?) = ?")
        params += [len(name_prefix), name_prefix]
    for req in parse_selector(label_selector):
        clause, values = _label_clause(t, req)
        where.append(clause)
        params += values
    if continue_token:
        where.append(f"({a}.created_at, {a}.name, {a}.{t.tiebreak}) < (?, ?, ?)")
        params += decode_token(continue_token)
    sql = f"SELECT {a}.body, {a}.created_at, {a}.name, {a}.{t.tiebreak} FROM {t.table}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {a}.created_at DESC, {a}.name DESC, {a}.{t.tiebreak} DESC"
    if limit:
        sql += " LIMIT ?"
        params.append(limit + 1)  # one extra row tells whether another page exists
    with db.read() as conn:
        rows = conn.execute(sql, params).fetchall()
    token = None
    if limit and len(rows) > limit:
        rows = rows[:limit]
        token = encode_token(rows[-1][1], rows[-1][2], rows[-1][3])
    return [json.loads(r[0]) for r in rows], token
