"""Cron schedules in the local SQLite file, with the DynamoDB adapter's semantics: keyed by
(workspace, workflow), revision-checked saves. Also lists every enabled schedule for the local
scheduler loop (on AWS EventBridge Scheduler keeps the timetable instead)."""

from __future__ import annotations

import sqlite3

from docflow.adapters.common import dump_model, load_model
from docflow.adapters.local.sqlite import SqliteDatabase
from docflow.domain.errors import Conflict, NotFound
from docflow.domain.schedules import Schedule

# Created on first use, beside the tables of sqlite.py (IF NOT EXISTS: no schema version bump).
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS schedules (
        workspace_id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        revision INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (workspace_id, workflow_id)
    )""",
    "CREATE INDEX IF NOT EXISTS schedules_enabled ON schedules (workspace_id, workflow_id) WHERE enabled = 1",
)


def _missing(workflow_id: str) -> NotFound:
    return NotFound(f"workflow {workflow_id} has no schedule")


class SqliteScheduleRepository:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def add(self, schedule: Schedule) -> Schedule:
        try:
            self._db.execute("INSERT INTO schedules (workspace_id, workflow_id, enabled, revision, data) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (schedule.workspace_id, schedule.workflow_id, int(schedule.enabled), schedule.revision,
                              dump_model(schedule)))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"workflow {schedule.workflow_id} already has a schedule: change it with PUT or DELETE "
                           "it first", details=[{"loc": ["path", "workflow_id"], "msg": "already has a schedule"}]
                           ) from exc
        return schedule

    def get(self, workspace_id: str, workflow_id: str) -> Schedule:
        row = self._db.execute("SELECT data FROM schedules WHERE workspace_id = ? AND workflow_id = ?",
                               (workspace_id, workflow_id)).fetchone()
        if row is None:
            raise _missing(workflow_id)
        return load_model(Schedule, row[0])

    def save(self, schedule: Schedule) -> Schedule:
        stored = schedule.model_copy(update={"revision": schedule.revision + 1})
        with self._db.transaction() as conn:
            row = conn.execute("SELECT revision FROM schedules WHERE workspace_id = ? AND workflow_id = ?",
                               (schedule.workspace_id, schedule.workflow_id)).fetchone()
            if row is None:
                raise _missing(schedule.workflow_id)
            if row[0] != schedule.revision:
                raise Conflict(f"the schedule of workflow {schedule.workflow_id} was changed by someone else",
                               details=[{"revision": schedule.revision}])
            conn.execute("UPDATE schedules SET enabled = ?, revision = ?, data = ? WHERE workspace_id = ? "
                         "AND workflow_id = ?", (int(stored.enabled), stored.revision, dump_model(stored),
                                                 stored.workspace_id, stored.workflow_id))
        return stored

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        cursor = self._db.execute("DELETE FROM schedules WHERE workspace_id = ? AND workflow_id = ?",
                                  (workspace_id, workflow_id))
        if cursor.rowcount == 0:
            raise _missing(workflow_id)

    def list_enabled(self) -> list[Schedule]:
        rows = self._db.execute("SELECT data FROM schedules WHERE enabled = 1 ORDER BY workspace_id, workflow_id")
        return [load_model(Schedule, row[0]) for row in rows.fetchall()]
