"""The WebhookSecretRepository contract, run against DynamoDB (moto) and SQLite by the `store` fixture."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from docflow.domain.errors import Conflict
from docflow.domain.webhooks import WebhookSecret

if TYPE_CHECKING:
    from conftest import Store

WS, OTHER = "ws_alpha", "ws_beta"
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_given_no_secret_when_put_then_get_returns_it_only_in_its_workspace(store: Store) -> None:
    secret = WebhookSecret.issue(WS, "wf_1", T0)
    assert store.webhook_secrets.get(WS, "wf_1") is None
    store.webhook_secrets.put(secret)
    assert store.webhook_secrets.get(WS, "wf_1") == secret
    assert store.webhook_secrets.get(OTHER, "wf_1") is None
    assert store.webhook_secrets.get(WS, "wf_2") is None


def test_given_a_secret_when_a_second_first_version_is_put_then_conflict_and_the_first_stays(store: Store) -> None:
    first = WebhookSecret.issue(WS, "wf_1", T0)
    store.webhook_secrets.put(first)
    with pytest.raises(Conflict):
        store.webhook_secrets.put(WebhookSecret.issue(WS, "wf_1", T0))
    assert store.webhook_secrets.get(WS, "wf_1") == first


def test_given_a_secret_when_rotated_then_only_the_next_version_is_written(store: Store) -> None:
    first = WebhookSecret.issue(WS, "wf_1", T0)
    store.webhook_secrets.put(first)
    second = first.rotated(T0)
    store.webhook_secrets.put(second)
    assert store.webhook_secrets.get(WS, "wf_1") == second
    # A rotation computed from the old version lost the race: refused, nothing overwritten.
    with pytest.raises(Conflict):
        store.webhook_secrets.put(first.rotated(T0))
    assert store.webhook_secrets.get(WS, "wf_1") == second


def test_given_no_secret_when_a_later_version_is_put_then_conflict(store: Store) -> None:
    with pytest.raises(Conflict):
        store.webhook_secrets.put(WebhookSecret.issue(WS, "wf_1", T0).rotated(T0))
    assert store.webhook_secrets.get(WS, "wf_1") is None


def test_given_secrets_in_two_workspaces_when_one_is_deleted_then_the_other_stays(store: Store) -> None:
    mine, theirs = WebhookSecret.issue(WS, "wf_1", T0), WebhookSecret.issue(OTHER, "wf_1", T0)
    store.webhook_secrets.put(mine)
    store.webhook_secrets.put(theirs)
    store.webhook_secrets.delete(WS, "wf_1")
    store.webhook_secrets.delete(WS, "wf_1")  # idempotent
    assert store.webhook_secrets.get(WS, "wf_1") is None
    assert store.webhook_secrets.get(OTHER, "wf_1") == theirs
