"""Integrations in the local SQLite file, with the DynamoDB adapter's semantics: keyed by
(workspace, id), listed per workflow newest first, revision-checked saves."""

from __future__ import annotations

import sqlite3

from docflow.adapters.common import cut_page, decode_cursor, dump_model, load_model
from docflow.adapters.local.sqlite import SqliteDatabase
from docflow.domain.errors import Conflict, NotFound
from docflow.domain.integrations import Integration
from docflow.domain.models import Page

# Created on first use, beside the tables of sqlite.py (IF NOT EXISTS: no schema version bump).
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS integrations (
        workspace_id TEXT NOT NULL,
        id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        revision INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (workspace_id, id)
    )""",
    "CREATE INDEX IF NOT EXISTS integrations_by_workflow ON integrations (workspace_id, workflow_id, id)",
)


def _missing(integration_id: str) -> NotFound:
    return NotFound(f"integration {integration_id} not found")


class SqliteIntegrationRepository:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def add(self, integration: Integration) -> Integration:
        try:
            self._db.execute("INSERT INTO integrations (workspace_id, id, workflow_id, revision, data) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (integration.workspace_id, integration.id, integration.workflow_id,
                              integration.revision, dump_model(integration)))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"integration {integration.id} already exists") from exc
        return integration

    def get(self, workspace_id: str, integration_id: str) -> Integration:
        row = self._db.execute("SELECT data FROM integrations WHERE workspace_id = ? AND id = ?",
                               (workspace_id, integration_id)).fetchone()
        if row is None:
            raise _missing(integration_id)
        return load_model(Integration, row[0])

    def list_for_workflow(self, workspace_id: str, workflow_id: str, limit: int,
                          cursor: str | None) -> Page[Integration]:
        after = decode_cursor(cursor)
        sql = "SELECT data FROM integrations WHERE workspace_id = ? AND workflow_id = ?"
        params: tuple[str | int, ...] = (workspace_id, workflow_id)
        if after is not None:
            sql, params = sql + " AND id < ?", (*params, after)
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit + 1)).fetchall()
        return cut_page([load_model(Integration, row[0]) for row in rows], limit, lambda i: i.id)

    def save(self, integration: Integration) -> Integration:
        stored = integration.model_copy(update={"revision": integration.revision + 1})
        with self._db.transaction() as conn:
            row = conn.execute("SELECT revision FROM integrations WHERE workspace_id = ? AND id = ?",
                               (integration.workspace_id, integration.id)).fetchone()
            if row is None:
                raise _missing(integration.id)
            if row[0] != integration.revision:
                raise Conflict(f"integration {integration.id} was changed by someone else",
                               details=[{"revision": integration.revision}])
            conn.execute("UPDATE integrations SET workflow_id = ?, revision = ?, data = ? WHERE workspace_id = ? "
                         "AND id = ?", (stored.workflow_id, stored.revision, dump_model(stored),
                                        stored.workspace_id, stored.id))
        return stored

    def delete(self, workspace_id: str, integration_id: str) -> None:
        cursor = self._db.execute("DELETE FROM integrations WHERE workspace_id = ? AND id = ?",
                                  (workspace_id, integration_id))
        if cursor.rowcount == 0:
            raise _missing(integration_id)
