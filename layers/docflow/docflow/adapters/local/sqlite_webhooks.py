"""Webhook signing secrets in the local SQLite file, keyed (workspace_id, workflow_id) like the
DynamoDB item (PK `WS#<ws>`, SK `HOOKSECRET#<workflow_id>`)."""

from __future__ import annotations

import sqlite3

from docflow.adapters.common import dump_model, load_model
from docflow.adapters.local.sqlite import SqliteDatabase
from docflow.domain.errors import Conflict
from docflow.domain.webhooks import WebhookSecret

_TABLE = """
CREATE TABLE IF NOT EXISTS webhook_secrets (
    workspace_id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (workspace_id, workflow_id)
)"""


class SqliteWebhookSecretRepository:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        # Its own table, created here: the shared schema (and its version) stays as it is.
        db.execute(_TABLE)

    def get(self, workspace_id: str, workflow_id: str) -> WebhookSecret | None:
        row = self._db.execute("SELECT data FROM webhook_secrets WHERE workspace_id = ? AND workflow_id = ?",
                               (workspace_id, workflow_id)).fetchone()
        return None if row is None else load_model(WebhookSecret, row[0])

    def put(self, secret: WebhookSecret) -> None:
        data = dump_model(secret)
        if secret.version == 1:
            try:
                self._db.execute("INSERT INTO webhook_secrets (workspace_id, workflow_id, version, data) "
                                 "VALUES (?, ?, 1, ?)", (secret.workspace_id, secret.workflow_id, data))
                return
            except sqlite3.IntegrityError as exc:
                raise self._changed(secret) from exc
        updated = self._db.execute(
            "UPDATE webhook_secrets SET version = ?, data = ? WHERE workspace_id = ? AND workflow_id = ? "
            "AND version = ?", (secret.version, data, secret.workspace_id, secret.workflow_id, secret.version - 1))
        if updated.rowcount != 1:
            raise self._changed(secret)

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        self._db.execute("DELETE FROM webhook_secrets WHERE workspace_id = ? AND workflow_id = ?",
                         (workspace_id, workflow_id))

    @staticmethod
    def _changed(secret: WebhookSecret) -> Conflict:
        return Conflict(f"the signing secret of workflow {secret.workflow_id} was changed concurrently; retry")
