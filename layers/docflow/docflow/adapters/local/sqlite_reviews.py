"""Review tasks in the local SQLite file, with the DynamoDB adapter's semantics: keyed by
(workspace, id), one task per id, revision-checked saves, and lists in the order of
adapters/review_order.py (pending first, then by status; oldest first within each).

Layout: table `reviews` keyed by (workspace_id, id), the model as JSON in `data`, and the columns
the lists need: `queue_rank` (0 pending, 1 any other status), `status`, `created_at` and `due_at`
(fixed-width UTC text, so text order is time order). Indexes:
- `reviews_queue (workspace_id, queue_rank, status, created_at, id)`: the workspace's list, with
  or without a status filter, as one keyset range (`(…) > (…)` on the cursor's position) read in
  index order: no OFFSET, no COUNT, no sort;
- `reviews_queue_by_workflow (workspace_id, workflow_id, queue_rank, status, created_at, id)`: the
  same per workflow;
- `reviews_due (due_at, id) WHERE status = 'pending'`: `list_due` for the review timeout loop
  (DueReviews, local mode only), across workspaces, earliest due first."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Any

from docflow.adapters.common import cut_page, dump_model, load_model
from docflow.adapters.local.sqlite import SqliteDatabase
from docflow.adapters.review_order import decode_review_cursor, position_token, rank, sortable_time
from docflow.domain.errors import Conflict, NotFound
from docflow.domain.models import Page
from docflow.domain.reviews import ReviewStatus, ReviewTask

# Created on first use, beside the tables of sqlite.py (IF NOT EXISTS: no schema version bump).
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS reviews (
        workspace_id TEXT NOT NULL,
        id TEXT NOT NULL,
        workflow_id TEXT NOT NULL,
        status TEXT NOT NULL,
        queue_rank INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        due_at TEXT NOT NULL,
        revision INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (workspace_id, id)
    )""",
    "CREATE INDEX IF NOT EXISTS reviews_queue ON reviews (workspace_id, queue_rank, status, created_at, id)",
    "CREATE INDEX IF NOT EXISTS reviews_queue_by_workflow "
    "ON reviews (workspace_id, workflow_id, queue_rank, status, created_at, id)",
    # The literal 'pending' (not a parameter) in list_due lets the planner use this partial index.
    "CREATE INDEX IF NOT EXISTS reviews_due ON reviews (due_at, id) WHERE status = 'pending'",
)
_ORDER = " ORDER BY queue_rank, status, created_at, id LIMIT ?"


def _missing(review_id: str) -> NotFound:
    return NotFound(f"review {review_id} not found")


def _columns(task: ReviewTask) -> tuple[Any, ...]:
    """workflow_id, status, queue_rank, created_at, due_at, revision, data."""
    status = ReviewStatus(task.status)
    return (task.workflow_id, status.value, rank(status), sortable_time(task.created_at),
            sortable_time(task.due_at), task.revision, dump_model(task))


class SqliteReviewRepository:
    """ReviewRepository, and DueReviews for the local review timeout loop."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        with db.transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def add(self, task: ReviewTask) -> ReviewTask:
        inserted = self._db.execute(
            "INSERT INTO reviews (workspace_id, id, workflow_id, status, queue_rank, created_at, due_at, revision, "
            "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (workspace_id, id) DO NOTHING",
            (task.workspace_id, task.id, *_columns(task))).rowcount
        # A retried review step: the task stored the first time, unchanged.
        return task if inserted == 1 else self.get(task.workspace_id, task.id)

    def get(self, workspace_id: str, review_id: str) -> ReviewTask:
        row = self._db.execute("SELECT data FROM reviews WHERE workspace_id = ? AND id = ?",
                               (workspace_id, review_id)).fetchone()
        if row is None:
            raise _missing(review_id)
        return load_model(ReviewTask, row[0])

    def save(self, task: ReviewTask) -> ReviewTask:
        stored = task.model_copy(update={"revision": task.revision + 1})
        updated = self._db.execute(
            "UPDATE reviews SET workflow_id = ?, status = ?, queue_rank = ?, created_at = ?, due_at = ?, "
            "revision = ?, data = ? WHERE workspace_id = ? AND id = ? AND revision = ?",
            (*_columns(stored), task.workspace_id, task.id, task.revision)).rowcount
        if updated == 0:
            self.get(task.workspace_id, task.id)  # NotFound when it is not there at all
            raise Conflict(f"review {task.id} was changed by someone else (revision {task.revision} is stale)",
                           details=[{"revision": task.revision}])
        return stored

    def list(self, workspace_id: str, workflow_id: str | None, status: ReviewStatus | None, limit: int,
             cursor: str | None) -> Page[ReviewTask]:
        after = decode_review_cursor(cursor, status)
        sql = "SELECT data FROM reviews WHERE workspace_id = ?"
        params: list[Any] = [workspace_id]
        if workflow_id is not None:
            sql += " AND workflow_id = ?"
            params.append(workflow_id)
        if status is not None:
            # Equalities on the index's next columns, so the keyset range is on the rest only.
            sql += " AND queue_rank = ? AND status = ?"
            params += [rank(status), ReviewStatus(status).value]
            if after is not None:
                sql += " AND (created_at, id) > (?, ?)"
                params += [after.created_at, after.id]
        elif after is not None:
            sql += " AND (queue_rank, status, created_at, id) > (?, ?, ?, ?)"
            params += [after.rank, after.status, after.created_at, after.id]
        rows = self._db.execute(sql + _ORDER, (*params, limit + 1)).fetchall()
        return cut_page([load_model(ReviewTask, row[0]) for row in rows], limit, position_token)

    # builtins.list: in this class, `list` names the method above.
    def list_due(self, now: datetime, limit: int) -> builtins.list[ReviewTask]:
        rows = self._db.execute("SELECT data FROM reviews WHERE status = 'pending' AND due_at <= ? "
                                "ORDER BY due_at, id LIMIT ?", (sortable_time(now), limit)).fetchall()
        return [load_model(ReviewTask, row[0]) for row in rows]
