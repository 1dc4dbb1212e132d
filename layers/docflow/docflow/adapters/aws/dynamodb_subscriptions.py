"""Outbound webhook subscriptions and their deliveries in the single table.

| item | PK | SK |
|---|---|---|
| subscription | WS#<ws> | WHSUB#<subscription id> |
| delivery | WS#<ws> | WHDLV#<subscription id>#<delivery id> |

Workspace-first like every other item. A workspace's subscriptions (the fan-out reads them on
every execution event) and a subscription's delivery log are each one Query on a key prefix;
ids are ULIDs, so `ScanIndexForward=False` is newest first. What is due is not queried: on AWS
the delivery queue holds each next attempt as a delayed message."""

from __future__ import annotations

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code
from docflow.adapters.aws.dynamodb import Item, _condition_failed_item, _key, _n, _Repository, _s, _ws
from docflow.adapters.common import cut_page, decode_cursor, dump_model, load_model
from docflow.domain.errors import Conflict, NotFound
from docflow.domain.models import Page
from docflow.domain.outbound_webhooks import Delivery, Subscription

SUB_PREFIX = "WHSUB#"
DELIVERY_PREFIX = "WHDLV#"


def _sub_sk(subscription_id: str) -> str:
    return f"{SUB_PREFIX}{subscription_id}"


def _delivery_prefix(subscription_id: str) -> str:
    return f"{DELIVERY_PREFIX}{subscription_id}#"


def _missing_subscription(subscription_id: str) -> NotFound:
    return NotFound(f"webhook subscription {subscription_id} not found")


class DynamoWebhookSubscriptionRepository(_Repository):
    def add(self, subscription: Subscription) -> None:
        item = {**_key(_ws(subscription.workspace_id), _sub_sk(subscription.id)), "data": _s(dump_model(subscription))}
        try:
            self._table.put(item, "attribute_not_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Conflict(f"webhook subscription {subscription.id} already exists") from exc
            raise

    def get(self, workspace_id: str, subscription_id: str) -> Subscription:
        data = self._table.get_data(_ws(workspace_id), _sub_sk(subscription_id))
        if data is None:
            raise _missing_subscription(subscription_id)
        return load_model(Subscription, data)

    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Subscription]:
        after = decode_cursor(cursor)
        pk = _ws(workspace_id)
        rows = self._table.query_data(
            key_condition="PK = :pk AND begins_with(SK, :prefix)",
            values={":pk": _s(pk), ":prefix": _s(SUB_PREFIX)},
            start_key=None if after is None else _key(pk, _sub_sk(after)), limit=limit)
        return cut_page([load_model(Subscription, row) for row in rows], limit, lambda s: s.id)

    def delete(self, workspace_id: str, subscription_id: str) -> None:
        try:
            with self._table.calling():
                self._table.client.delete_item(TableName=self._table.name,
                                               Key=_key(_ws(workspace_id), _sub_sk(subscription_id)),
                                               ConditionExpression="attribute_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _missing_subscription(subscription_id) from exc
            raise


class DynamoDeliveryRepository(_Repository):
    def _item(self, delivery: Delivery) -> Item:
        return {**_key(_ws(delivery.workspace_id), _delivery_prefix(delivery.subscription_id) + delivery.id),
                "revision": _n(delivery.revision), "data": _s(dump_model(delivery))}

    def add(self, delivery: Delivery) -> bool:
        try:
            self._table.put(self._item(delivery), "attribute_not_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get(self, workspace_id: str, subscription_id: str, delivery_id: str) -> Delivery:
        data = self._table.get_data(_ws(workspace_id), _delivery_prefix(subscription_id) + delivery_id)
        if data is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        return load_model(Delivery, data)

    def save(self, delivery: Delivery) -> Delivery:
        stored = delivery.model_copy(update={"revision": delivery.revision + 1})
        try:
            self._table.put(self._item(stored), "attribute_exists(PK) AND revision = :read",
                            values={":read": _n(delivery.revision)})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if _condition_failed_item(exc) is None:
                raise NotFound(f"webhook delivery {delivery.id} not found") from exc
            raise Conflict(f"webhook delivery {delivery.id} was changed by someone else",
                           details=[{"revision": delivery.revision}]) from exc
        return stored

    def list_for_subscription(self, workspace_id: str, subscription_id: str, limit: int,
                              cursor: str | None) -> Page[Delivery]:
        after = decode_cursor(cursor)
        pk, prefix = _ws(workspace_id), _delivery_prefix(subscription_id)
        rows = self._table.query_data(
            key_condition="PK = :pk AND begins_with(SK, :prefix)",
            values={":pk": _s(pk), ":prefix": _s(prefix)},
            start_key=None if after is None else _key(pk, prefix + after), limit=limit)
        return cut_page([load_model(Delivery, row) for row in rows], limit, lambda d: d.id)
