"""The SQLite schema as an append-only list of migrations.

`PRAGMA user_version` holds how many migrations a database has applied.
Never edit a released migration; append a new one. Each migration runs in
its own write transaction (SQLite DDL is transactional), so a crash during
an upgrade leaves the previous version intact.
"""

from __future__ import annotations

import sqlite3

from conveyor.errors import StoreError

__all__ = ["MIGRATIONS", "migrate"]

MIGRATIONS: list[tuple[str, ...]] = [
    # 1: workflows, their labels, replay events, log index, templates.
    (
        """
        CREATE TABLE workflows (
            namespace   TEXT NOT NULL,
            name        TEXT NOT NULL,
            uid         TEXT NOT NULL,
            phase       TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL,          -- normalized UTC, sorts as text
            finished_at TEXT,
            labels      TEXT NOT NULL DEFAULT '{}',
            body        TEXT NOT NULL,          -- the whole object as JSON
            PRIMARY KEY (namespace, name)
        )
        """,
        "CREATE INDEX workflows_by_time ON workflows (created_at, name, namespace)",
        "CREATE INDEX workflows_by_ns_time ON workflows (namespace, created_at, name)",
        "CREATE INDEX workflows_by_phase ON workflows (phase, created_at)",
        "CREATE INDEX workflows_by_uid ON workflows (uid)",
        """
        CREATE TABLE workflow_labels (
            namespace TEXT NOT NULL,
            name      TEXT NOT NULL,
            key       TEXT NOT NULL,
            value     TEXT NOT NULL,
            PRIMARY KEY (namespace, name, key),
            FOREIGN KEY (namespace, name) REFERENCES workflows (namespace, name)
                ON DELETE CASCADE
        )
        """,
        "CREATE INDEX workflow_labels_by_kv ON workflow_labels (key, value)",
        """
        CREATE TABLE events (
            seq       INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: replay order
            namespace TEXT NOT NULL,
            name      TEXT NOT NULL,
            body      TEXT NOT NULL,
            FOREIGN KEY (namespace, name) REFERENCES workflows (namespace, name)
                ON DELETE CASCADE
        )
        """,
        "CREATE INDEX events_by_workflow ON events (namespace, name, seq)",
        """
        CREATE TABLE logs (
            namespace TEXT NOT NULL,
            workflow  TEXT NOT NULL,
            node_id   TEXT NOT NULL,
            container TEXT NOT NULL,
            path      TEXT NOT NULL,
            PRIMARY KEY (namespace, workflow, node_id, container),
            FOREIGN KEY (namespace, workflow) REFERENCES workflows (namespace, name)
                ON DELETE CASCADE
        )
        """,
        """
        CREATE TABLE templates (
            kind      TEXT NOT NULL,
            namespace TEXT NOT NULL,              -- '' for ClusterWorkflowTemplate
            name      TEXT NOT NULL,
            body      TEXT NOT NULL,
            PRIMARY KEY (kind, namespace, name)
        )
        """,
    ),
    # 2: requests (resume, stop, terminate) for a workflow that another process runs.
    (
        """
        CREATE TABLE requests (
            seq       INTEGER PRIMARY KEY AUTOINCREMENT,
            namespace TEXT NOT NULL,
            name      TEXT NOT NULL,
            body      TEXT NOT NULL,
            FOREIGN KEY (namespace, name) REFERENCES workflows (namespace, name)
                ON DELETE CASCADE
        )
        """,
        "CREATE INDEX requests_by_workflow ON requests (namespace, name, seq)",
    ),
    # 3: API tokens (conveyor token create); only a token's SHA-256 is kept, never the token.
    (
        """
        CREATE TABLE tokens (
            name         TEXT NOT NULL UNIQUE,
            hash         TEXT NOT NULL UNIQUE,  -- SHA-256 hex of the token
            namespaces   TEXT NOT NULL,         -- JSON list; "*" means every namespace
            role         TEXT NOT NULL,         -- read | write | admin
            created_at   TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at   TEXT
        )
        """,
    ),
    # 4: the workflow archive: finished workflows, kept after they leave the live list.
    (
        """
        CREATE TABLE archived_workflows (
            uid         TEXT PRIMARY KEY,       -- names are reused over time; uids are not
            namespace   TEXT NOT NULL,
            name        TEXT NOT NULL,
            phase       TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL,          -- normalized UTC, sorts as text
            finished_at TEXT,
            labels      TEXT NOT NULL DEFAULT '{}',
            body        TEXT NOT NULL
        )
        """,
        "CREATE INDEX archived_by_time ON archived_workflows (created_at, name, uid)",
        "CREATE INDEX archived_by_ns_time ON archived_workflows (namespace, created_at, name, uid)",
        """
        CREATE TABLE archived_workflow_labels (
            uid   TEXT NOT NULL REFERENCES archived_workflows (uid) ON DELETE CASCADE,
            key   TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (uid, key)
        )
        """,
        "CREATE INDEX archived_labels_by_kv ON archived_workflow_labels (key, value)",
    ),
    # 5: secrets (conveyor secret create): values only as Fernet tokens, under a key kept outside
    # the database (CONVEYOR_SECRET_KEY_FILE); names, types and key names stay readable for listing.
    (
        """
        CREATE TABLE secrets (
            namespace  TEXT NOT NULL,
            name       TEXT NOT NULL,
            type       TEXT NOT NULL,           -- Opaque | kubernetes.io/dockerconfigjson
            keys       TEXT NOT NULL,           -- JSON list of the data's key names (never values)
            sealed     BLOB NOT NULL,           -- Fernet token of {"namespace", "name", "data"}
            created_at TEXT NOT NULL,
            PRIMARY KEY (namespace, name)
        )
        """,
    ),
]


def migrate(conn: sqlite3.Connection, path: object) -> None:
    """Bring the database behind `conn` (autocommit mode) to the latest schema."""
    for target in range(1, len(MIGRATIONS) + 1):
        # IMMEDIATE takes the write lock before re-reading the version, so two
        # processes opening the same new database do not both apply a step.
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"{path} has schema version {current}, newer than this conveyor "
                    f"knows ({len(MIGRATIONS)}); upgrade conveyor or use another CONVEYOR_HOME"
                )
            if current < target:
                for statement in MIGRATIONS[target - 1]:
                    conn.execute(statement)
                # PRAGMA takes no parameters; `target` is our own integer.
                conn.execute(f"PRAGMA user_version = {int(target)}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
