"""SQLite repositories for local mode, with the DynamoDB adapter's semantics (DESIGN.md §3).

Each row keeps the whole model as JSON text in `data` (written and read by the same helpers as
the DynamoDB `data` attribute) plus the few columns that are queried, indexed for keyset
pagination: lists are `WHERE … AND id < ? ORDER BY id DESC LIMIT n+1` on a composite index, so
the first page costs the same at 1,000 or 100,000 rows (no OFFSET, no COUNT).

One connection per thread (sqlite3 connections must not be shared across threads), WAL so
readers never block the writer, and a busy timeout so writers queue instead of failing."""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docflow.adapters.common import (
    DEFAULT_INLINE_OUTPUT_BYTES,
    StoredStepOutput,
    cut_page,
    decode_cursor,
    dump_model,
    load_model,
    pack_step_output,
    unpack_step_output,
)
from docflow.domain.clock import iso, utc_now
from docflow.domain.errors import Conflict, NotFound, Throttled
from docflow.domain.models import ApiKey, Document, Execution, ExecutionStatus, Page, Workflow

if TYPE_CHECKING:
    from datetime import datetime

    from docflow.ports import BlobStore

SCHEMA_VERSION = 1

# Tables are keyed by (workspace_id, id) like the DynamoDB items (PK=WS#<ws>, SK=<kind>#<id>).
_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
-- Unique among active keys, as on DynamoDB where revoking deletes the hash lookup item.
CREATE UNIQUE INDEX IF NOT EXISTS api_keys_active_hash ON api_keys (key_hash) WHERE revoked = 0;
CREATE TABLE IF NOT EXISTS workflows (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
-- Entry points without an API key (drop folder, inbound webhooks, schedules) find a workflow's owner by id.
CREATE UNIQUE INDEX IF NOT EXISTS workflows_by_id ON workflows (id);
CREATE TABLE IF NOT EXISTS documents (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE TABLE IF NOT EXISTS executions (
    workspace_id TEXT NOT NULL,
    id TEXT NOT NULL,
    workflow_id TEXT NOT NULL,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (workspace_id, id)
);
CREATE INDEX IF NOT EXISTS executions_by_workflow ON executions (workspace_id, workflow_id, id);
CREATE INDEX IF NOT EXISTS executions_by_workflow_status ON executions (workspace_id, workflow_id, status, id);
CREATE INDEX IF NOT EXISTS executions_unfinished ON executions (id) WHERE status IN ('queued', 'processing');
CREATE TABLE IF NOT EXISTS step_outputs (
    workspace_id TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    data TEXT,
    blob_key TEXT,
    PRIMARY KEY (workspace_id, execution_id, step_id)
);
CREATE TABLE IF NOT EXISTS idempotency (
    workspace_id TEXT NOT NULL,
    key TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (workspace_id, key)
);
"""


class SqliteDatabase:
    """One SQLite file shared by the repositories (and by every thread of the server)."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._lock = threading.Lock()
        # One writer at a time within this process: SQLite would make the others wait in its busy
        # handler, which sleeps 1 to 100 ms per retry; a lock hands over the moment the writer is done.
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            # Autocommit (isolation_level=None): single statements commit on their own and
            # `transaction()` issues BEGIN IMMEDIATE itself, taking the write lock up front.
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=self._busy_timeout_ms / 1000)
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: the write lock is taken before the first read, so a read-then-write
        (idempotency check, then insert) cannot interleave with another writer."""
        conn = self.connection()
        with self._write_lock:
            with busy_as_throttled():
                conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                with busy_as_throttled():
                    conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:  # also after a failed COMMIT: never leave the connection mid-transaction
                    conn.execute("ROLLBACK")
                raise

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        conn = self.connection()
        if conn.in_transaction or not _WRITES.match(sql):
            with busy_as_throttled():
                return conn.execute(sql, params)  # reads never wait for writers (WAL)
        with self._write_lock, busy_as_throttled():
            return conn.execute(sql, params)

    def close(self) -> None:
        """Closes every thread's connection (call once, when the process is done with the file)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()

    def _migrate(self) -> None:
        with self.transaction() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} has schema version {version}; this Docflow knows {SCHEMA_VERSION}")
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


_WRITES = re.compile(r"\s*(?:INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


@contextmanager
def busy_as_throttled() -> Iterator[None]:
    """A lock still held after busy_timeout is load, not a bug: answer it like DynamoDB throttling."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise Throttled("the local database is busy; retry later") from exc
        raise


class _Repository:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    def _one(self, sql: str, params: tuple[Any, ...]) -> str | None:
        row = self._db.execute(sql, params).fetchone()
        return None if row is None else str(row[0])

    def _page[M: (ApiKey, Workflow, Execution, Document)](self, cls: type[M], sql: str, params: tuple[Any, ...],
                                                limit: int, cursor: str | None) -> Page[M]:
        """`sql` selects `data` and ends in its WHERE clause; the keyset condition, order and
        limit are appended here so every list pages the same way."""
        after = decode_cursor(cursor)
        if after is not None:
            sql += " AND id < ?"
            params = (*params, after)
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit + 1)).fetchall()
        return cut_page([load_model(cls, row[0]) for row in rows], limit, lambda m: m.id)


class SqliteApiKeyRepository(_Repository):
    def add(self, key: ApiKey) -> None:
        try:
            with self._db.transaction() as conn:
                conn.execute("INSERT INTO api_keys (workspace_id, id, key_hash, revoked, data) VALUES (?, ?, ?, ?, ?)",
                             (key.workspace_id, key.id, key.key_hash, int(key.revoked_at is not None),
                              dump_model(key)))
                conn.execute("INSERT OR IGNORE INTO workspaces (id, created_at) VALUES (?, ?)",
                             (key.workspace_id, iso(utc_now())))
        except sqlite3.IntegrityError as exc:
            raise Conflict("an api key with this id or secret already exists") from exc

    def find_by_hash(self, key_hash: str) -> ApiKey | None:
        data = self._one("SELECT data FROM api_keys WHERE key_hash = ? AND revoked = 0", (key_hash,))
        return None if data is None else load_model(ApiKey, data)

    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[ApiKey]:
        return self._page(ApiKey, "SELECT data FROM api_keys WHERE workspace_id = ?", (workspace_id,), limit, cursor)

    def revoke(self, workspace_id: str, key_id: str, at: datetime) -> ApiKey:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT data FROM api_keys WHERE workspace_id = ? AND id = ?",
                               (workspace_id, key_id)).fetchone()
            if row is None:
                raise NotFound(f"api key {key_id} not found")
            key = load_model(ApiKey, row[0])
            if key.revoked_at is not None:
                return key
            revoked = key.model_copy(update={"revoked_at": at})
            conn.execute("UPDATE api_keys SET revoked = 1, data = ? WHERE workspace_id = ? AND id = ?",
                         (dump_model(revoked), workspace_id, key_id))
        return revoked

    def mark_used(self, key: ApiKey, at: datetime) -> bool:
        used = key.model_copy(update={"last_used_at": at})
        return bool(self._db.execute(
            "UPDATE api_keys SET data = ? WHERE workspace_id = ? AND id = ? AND revoked = 0 AND data = ?",
            (dump_model(used), key.workspace_id, key.id, dump_model(key))).rowcount)

    def workspace_exists(self, workspace_id: str) -> bool:
        return self._one("SELECT id FROM workspaces WHERE id = ?", (workspace_id,)) is not None


class SqliteWorkflowRepository(_Repository):
    def add(self, workflow: Workflow) -> None:
        try:
            self._db.execute("INSERT INTO workflows (workspace_id, id, version, data) VALUES (?, ?, ?, ?)",
                             (workflow.workspace_id, workflow.id, workflow.version, dump_model(workflow)))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"workflow {workflow.id} already exists") from exc

    def get(self, workspace_id: str, workflow_id: str) -> Workflow:
        data = self._one("SELECT data FROM workflows WHERE workspace_id = ? AND id = ?", (workspace_id, workflow_id))
        if data is None:
            raise NotFound(f"workflow {workflow_id} not found")
        return load_model(Workflow, data)

    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Workflow]:
        return self._page(Workflow, "SELECT data FROM workflows WHERE workspace_id = ?", (workspace_id,), limit, cursor)

    def list_event_triggered(self, workspace_id: str) -> Sequence[Workflow]:
        # json_extract in SQLite's C code: the other workflows are never decoded (defaults of
        # rows written before a field existed: enabled, manual)
        rows = self._db.execute(
            "SELECT data FROM workflows WHERE workspace_id = ? "
            "AND json_extract(data, '$.trigger_type') = 'event' AND coalesce(json_extract(data, '$.enabled'), 1) "
            "ORDER BY id DESC", (workspace_id,)).fetchall()
        return [load_model(Workflow, row[0]) for row in rows]

    def replace(self, workflow: Workflow, expected_version: int) -> None:
        updated = self._db.execute(
            "UPDATE workflows SET version = ?, data = ? WHERE workspace_id = ? AND id = ? AND version = ?",
            (workflow.version, dump_model(workflow), workflow.workspace_id, workflow.id, expected_version),
        ).rowcount
        if updated == 0:
            self.get(workflow.workspace_id, workflow.id)  # NotFound when it is not there at all
            raise Conflict(f"workflow {workflow.id} was changed since version {expected_version}",
                           details=[{"expected_version": expected_version}])

    def find_workspace(self, workflow_id: str) -> str | None:
        return self._one("SELECT workspace_id FROM workflows WHERE id = ?", (workflow_id,))

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        deleted = self._db.execute("DELETE FROM workflows WHERE workspace_id = ? AND id = ?",
                                   (workspace_id, workflow_id)).rowcount
        if deleted == 0:
            raise NotFound(f"workflow {workflow_id} not found")


class SqliteDocumentRepository(_Repository):
    def add(self, document: Document) -> None:
        try:
            self._db.execute("INSERT INTO documents (workspace_id, id, data) VALUES (?, ?, ?)",
                             (document.workspace_id, document.id, dump_model(document)))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"document {document.id} already exists") from exc

    def get(self, workspace_id: str, document_id: str) -> Document:
        data = self._one("SELECT data FROM documents WHERE workspace_id = ? AND id = ?", (workspace_id, document_id))
        if data is None:
            raise NotFound(f"document {document_id} not found")
        return load_model(Document, data)

    def save(self, document: Document) -> Document:
        stored = document.model_copy(update={"revision": document.revision + 1})
        updated = self._db.execute(
            "UPDATE documents SET data = ? WHERE workspace_id = ? AND id = ? AND json_extract(data, '$.revision') = ?",
            (dump_model(stored), document.workspace_id, document.id, document.revision)).rowcount
        if updated == 0:
            self.get(document.workspace_id, document.id)  # NotFound when it is not there at all
            raise Conflict(f"document {document.id} was changed by someone else")
        return stored

    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Document]:
        return self._page(Document, "SELECT data FROM documents WHERE workspace_id = ?", (workspace_id,), limit, cursor)

    def delete(self, workspace_id: str, document_id: str) -> None:
        deleted = self._db.execute("DELETE FROM documents WHERE workspace_id = ? AND id = ?",
                                   (workspace_id, document_id)).rowcount
        if deleted == 0:
            raise NotFound(f"document {document_id} not found")


class SqliteExecutionRepository(_Repository):
    def __init__(self, db: SqliteDatabase, blobs: BlobStore,
                 inline_output_bytes: int = DEFAULT_INLINE_OUTPUT_BYTES,
                 on_saved: Callable[[Execution], None] | None = None) -> None:
        super().__init__(db)
        self._blobs = blobs
        self._inline_output_bytes = inline_output_bytes
        self.on_saved = on_saved  # told after each save (local mode's ExecutionWatch)

    def add(self, execution: Execution) -> Execution:
        with self._db.transaction() as conn:
            key = execution.idempotency_key
            if key is not None:
                row = conn.execute("SELECT e.data FROM idempotency i JOIN executions e "
                                   "ON e.workspace_id = i.workspace_id AND e.id = i.execution_id "
                                   "WHERE i.workspace_id = ? AND i.key = ?", (execution.workspace_id, key)).fetchone()
                if row is not None:
                    return load_model(Execution, row[0])
            try:
                conn.execute("INSERT INTO executions (workspace_id, id, workflow_id, status, revision, data) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             (execution.workspace_id, execution.id, execution.workflow_id, execution.status.value,
                              execution.revision, dump_model(execution)))
            except sqlite3.IntegrityError as exc:
                raise Conflict(f"execution {execution.id} already exists") from exc
            if key is not None:
                conn.execute("INSERT INTO idempotency (workspace_id, key, execution_id, created_at) "
                             "VALUES (?, ?, ?, ?)",
                             (execution.workspace_id, key, execution.id, iso(execution.created_at)))
        return execution

    def find_by_idempotency_key(self, workspace_id: str, key: str) -> Execution | None:
        data = self._one("SELECT e.data FROM idempotency i JOIN executions e "
                         "ON e.workspace_id = i.workspace_id AND e.id = i.execution_id "
                         "WHERE i.workspace_id = ? AND i.key = ?", (workspace_id, key))
        return None if data is None else load_model(Execution, data)

    def get(self, workspace_id: str, execution_id: str) -> Execution:
        data = self._one("SELECT data FROM executions WHERE workspace_id = ? AND id = ?", (workspace_id, execution_id))
        if data is None:
            raise NotFound(f"execution {execution_id} not found")
        return load_model(Execution, data)

    def save(self, execution: Execution) -> Execution:
        stored = execution.model_copy(update={"revision": execution.revision + 1})
        updated = self._db.execute(
            "UPDATE executions SET status = ?, revision = ?, data = ? "
            "WHERE workspace_id = ? AND id = ? AND revision = ?",
            (stored.status.value, stored.revision, dump_model(stored), execution.workspace_id, execution.id,
             execution.revision),
        ).rowcount
        if updated == 0:
            self.get(execution.workspace_id, execution.id)  # NotFound when it is not there at all
            raise Conflict(f"execution {execution.id} was changed by someone else (revision {execution.revision} "
                           "is stale)", details=[{"revision": execution.revision}])
        if self.on_saved is not None:
            self.on_saved(stored)
        return stored

    def list_for_workflow(self, workspace_id: str, workflow_id: str, status: ExecutionStatus | None,
                          limit: int, cursor: str | None) -> Page[Execution]:
        sql = "SELECT data FROM executions WHERE workspace_id = ? AND workflow_id = ?"
        params: tuple[Any, ...] = (workspace_id, workflow_id)
        if status is not None:
            sql += " AND status = ?"
            params = (*params, ExecutionStatus(status).value)
        return self._page(Execution, sql, params, limit, cursor)

    def list_unfinished(self) -> list[Execution]:
        """Oldest first, so a restarted engine resumes runs in the order they were started."""
        rows = self._db.execute("SELECT data FROM executions WHERE status IN ('queued', 'processing') "
                                "ORDER BY id").fetchall()
        return [load_model(Execution, row[0]) for row in rows]

    def put_step_output(self, workspace_id: str, execution_id: str, step_id: str, output_json: bytes) -> None:
        stored = pack_step_output(self._blobs, self._inline_output_bytes, workspace_id, execution_id, step_id,
                                  output_json)
        self._db.execute("INSERT OR REPLACE INTO step_outputs (workspace_id, execution_id, step_id, data, blob_key) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (workspace_id, execution_id, step_id, stored.inline, stored.blob_key))

    def get_step_output(self, workspace_id: str, execution_id: str, step_id: str) -> bytes | None:
        row = self._db.execute("SELECT data, blob_key FROM step_outputs "
                               "WHERE workspace_id = ? AND execution_id = ? AND step_id = ?",
                               (workspace_id, execution_id, step_id)).fetchone()
        if row is None:
            return None
        return unpack_step_output(self._blobs, StoredStepOutput(inline=row[0], blob_key=row[1]))
