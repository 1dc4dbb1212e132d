"""The outbound-webhook stores' contract (subscriptions and deliveries), run against DynamoDB
(moto) and SQLite by the `store` fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from docflow.domain.errors import Conflict, NotFound
from docflow.domain.outbound_webhooks import Attempt, Delivery, DeliveryStatus, Subscription, delivery_id
from docflow.ports import DeliveryRepository, WebhookSubscriptionRepository

if TYPE_CHECKING:
    from conftest import Store

WS, OTHER = "ws_alpha", "ws_beta"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _subscriptions(store: Store) -> WebhookSubscriptionRepository:
    assert store.webhook_subscriptions is not None
    return store.webhook_subscriptions


def _deliveries(store: Store) -> DeliveryRepository:
    assert store.webhook_deliveries is not None
    return store.webhook_deliveries


def _delivery(subscription_id: str, n: int, workspace_id: str = WS) -> Delivery:
    at = T0 + timedelta(seconds=n)
    return Delivery(id=delivery_id(f"event-{n}", subscription_id, at), workspace_id=workspace_id,
                    subscription_id=subscription_id, event_type="execution.completed", execution_id=f"exe_{n}",
                    payload='{"type":"execution.completed"}', next_attempt_at=at, created_at=at, updated_at=at)


def test_given_subscriptions_in_two_workspaces_when_listed_then_each_sees_its_own_newest_first(store: Store) -> None:
    repo = _subscriptions(store)
    # Ids made within one millisecond do not sort by creation: give them in order.
    mine = [Subscription(id=f"whk_{i:026d}", workspace_id=WS, url=f"https://example.com/{i}", events=["*"])
            for i in range(3)]
    for subscription in mine:
        repo.add(subscription)
    repo.add(Subscription(workspace_id=OTHER, url="https://example.com/other", events=["*"]))
    first = repo.list(WS, 2, None)
    assert [s.id for s in first.items] == [mine[2].id, mine[1].id] and first.next_cursor is not None
    second = repo.list(WS, 2, first.next_cursor)
    assert [s.id for s in second.items] == [mine[0].id] and second.next_cursor is None
    assert repo.get(WS, mine[0].id) == mine[0]
    with pytest.raises(NotFound):
        repo.get(OTHER, mine[0].id)
    if store.kind == "aws":
        assert "Query" in store.operations  # a Query of the workspace's partition, never a Scan


def test_given_a_subscription_when_deleted_from_another_workspace_then_not_found_and_it_stays(store: Store) -> None:
    repo = _subscriptions(store)
    subscription = Subscription(workspace_id=WS, url="https://example.com/a", events=["execution.failed"])
    repo.add(subscription)
    with pytest.raises(NotFound):
        repo.delete(OTHER, subscription.id)
    repo.delete(WS, subscription.id)
    with pytest.raises(NotFound):
        repo.get(WS, subscription.id)
    with pytest.raises(NotFound):
        repo.delete(WS, subscription.id)


def test_given_a_delivery_when_added_twice_then_the_second_stores_nothing(store: Store) -> None:
    repo = _deliveries(store)
    delivery = _delivery("whk_1", 1)
    assert repo.add(delivery) is True
    assert repo.add(delivery.model_copy(update={"payload": "{}"})) is False
    assert repo.get(WS, "whk_1", delivery.id) == delivery
    with pytest.raises(NotFound):
        repo.get(OTHER, "whk_1", delivery.id)


def test_given_a_delivery_when_saved_from_a_stale_read_then_conflict(store: Store) -> None:
    repo = _deliveries(store)
    delivery = _delivery("whk_1", 1)
    repo.add(delivery)
    attempt = Attempt(at=T0, status_code=503, error="HTTP 503", duration_ms=12)
    stored = repo.save(delivery.recorded(attempt, False, T0, rand=lambda: 0.5))
    assert stored.revision == 1 and stored.attempts == [attempt] and stored.status == DeliveryStatus.PENDING
    assert repo.get(WS, "whk_1", delivery.id) == stored
    with pytest.raises(Conflict):
        repo.save(delivery.recorded(attempt, True, T0))  # revision 0: another worker's attempt won
    with pytest.raises(NotFound):
        repo.save(_delivery("whk_1", 99))


def test_given_deliveries_of_two_subscriptions_when_listed_then_one_log_newest_first_paginated(store: Store) -> None:
    repo = _deliveries(store)
    log = [_delivery("whk_1", n) for n in range(3)]
    for delivery in [log[1], log[0], log[2], _delivery("whk_2", 5), _delivery("whk_1", 7, workspace_id=OTHER)]:
        repo.add(delivery)
    first = repo.list_for_subscription(WS, "whk_1", 2, None)
    assert [d.id for d in first.items] == [log[2].id, log[1].id] and first.next_cursor is not None
    second = repo.list_for_subscription(WS, "whk_1", 2, first.next_cursor)
    assert [d.id for d in second.items] == [log[0].id] and second.next_cursor is None
    assert repo.list_for_subscription(OTHER, "whk_2", 10, None).items == []
