"""Outbound webhook subscriptions and deliveries in the local SQLite file, with the DynamoDB
adapter's semantics (workspace-scoped reads, newest first, revision-checked saves, one delivery
per id). Deliveries are rows, so a pending one survives a restart of `docflow serve`; the
deliverer loop finds what is due with `list_due` (on AWS the queue holds that instead)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from docflow.adapters.common import cut_page, decode_cursor, dump_model, load_model
from docflow.adapters.local.sqlite import SqliteDatabase
from docflow.domain.errors import Conflict, NotFound
from docflow.domain.models import Page
from docflow.domain.outbound_webhooks import Delivery, DeliveryStatus, Subscription

# Created on first use, beside the tables of sqlite.py (IF NOT EXISTS: no schema version bump).
_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS webhook_subscriptions (
        workspace_id TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (workspace_id, id)
    )""",
    """CREATE TABLE IF NOT EXISTS webhook_deliveries (
        id TEXT PRIMARY KEY,
        workspace_id TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        status TEXT NOT NULL,
        next_attempt_at REAL,
        revision INTEGER NOT NULL,
        data TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_log ON webhook_deliveries (workspace_id, subscription_id, id)",
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (next_attempt_at) "
    "WHERE status = 'pending'",
)


def _create(db: SqliteDatabase) -> None:
    with db.transaction() as conn:
        for statement in _SCHEMA:
            conn.execute(statement)


def _at(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


class SqliteWebhookSubscriptionRepository:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        _create(db)

    def add(self, subscription: Subscription) -> None:
        try:
            self._db.execute("INSERT INTO webhook_subscriptions (workspace_id, id, data) VALUES (?, ?, ?)",
                             (subscription.workspace_id, subscription.id, dump_model(subscription)))
        except sqlite3.IntegrityError as exc:
            raise Conflict(f"webhook subscription {subscription.id} already exists") from exc

    def get(self, workspace_id: str, subscription_id: str) -> Subscription:
        row = self._db.execute("SELECT data FROM webhook_subscriptions WHERE workspace_id = ? AND id = ?",
                               (workspace_id, subscription_id)).fetchone()
        if row is None:
            raise NotFound(f"webhook subscription {subscription_id} not found")
        return load_model(Subscription, row[0])

    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Subscription]:
        after = decode_cursor(cursor)
        sql, params = "SELECT data FROM webhook_subscriptions WHERE workspace_id = ?", [workspace_id]
        if after is not None:
            sql += " AND id < ?"
            params.append(after)
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit + 1)).fetchall()
        return cut_page([load_model(Subscription, row[0]) for row in rows], limit, lambda s: s.id)

    def delete(self, workspace_id: str, subscription_id: str) -> None:
        cursor = self._db.execute("DELETE FROM webhook_subscriptions WHERE workspace_id = ? AND id = ?",
                                  (workspace_id, subscription_id))
        if cursor.rowcount == 0:
            raise NotFound(f"webhook subscription {subscription_id} not found")


class SqliteDeliveryRepository:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db
        _create(db)

    def add(self, delivery: Delivery) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO webhook_deliveries (id, workspace_id, subscription_id, status, next_attempt_at, "
            "revision, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (delivery.id, delivery.workspace_id, delivery.subscription_id, delivery.status.value,
             _at(delivery.next_attempt_at), delivery.revision, dump_model(delivery)))
        return cursor.rowcount == 1

    def get(self, workspace_id: str, subscription_id: str, delivery_id: str) -> Delivery:
        row = self._db.execute("SELECT data FROM webhook_deliveries WHERE workspace_id = ? AND subscription_id = ? "
                               "AND id = ?", (workspace_id, subscription_id, delivery_id)).fetchone()
        if row is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        return load_model(Delivery, row[0])

    def save(self, delivery: Delivery) -> Delivery:
        stored = delivery.model_copy(update={"revision": delivery.revision + 1})
        with self._db.transaction() as conn:
            row = conn.execute("SELECT revision FROM webhook_deliveries WHERE workspace_id = ? AND id = ?",
                               (delivery.workspace_id, delivery.id)).fetchone()
            if row is None:
                raise NotFound(f"webhook delivery {delivery.id} not found")
            if row[0] != delivery.revision:
                raise Conflict(f"webhook delivery {delivery.id} was changed by someone else",
                               details=[{"revision": delivery.revision}])
            conn.execute("UPDATE webhook_deliveries SET status = ?, next_attempt_at = ?, revision = ?, data = ? "
                         "WHERE id = ?", (stored.status.value, _at(stored.next_attempt_at), stored.revision,
                                          dump_model(stored), stored.id))
        return stored

    def list_for_subscription(self, workspace_id: str, subscription_id: str, limit: int,
                              cursor: str | None) -> Page[Delivery]:
        after = decode_cursor(cursor)
        sql = "SELECT data FROM webhook_deliveries WHERE workspace_id = ? AND subscription_id = ?"
        params: list[object] = [workspace_id, subscription_id]
        if after is not None:
            sql += " AND id < ?"
            params.append(after)
        rows = self._db.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit + 1)).fetchall()
        return cut_page([load_model(Delivery, row[0]) for row in rows], limit, lambda d: d.id)

    def list_due(self, now: datetime, limit: int) -> list[Delivery]:
        rows = self._db.execute("SELECT data FROM webhook_deliveries WHERE status = ? AND next_attempt_at <= ? "
                                "ORDER BY next_attempt_at LIMIT ?",
                                (DeliveryStatus.PENDING.value, now.timestamp(), limit)).fetchall()
        return [load_model(Delivery, row[0]) for row in rows]
