"""Single-table DynamoDB repositories (DESIGN.md §3).

Layout (every key starts with the workspace, so no read can cross it):

| item | PK | SK | GSI1PK / GSI1SK | GSI2PK / GSI2SK |
|---|---|---|---|---|
| workspace marker | WS#<ws> | WORKSPACE | | |
| api key | WS#<ws> | KEY#<id> | | |
| api key lookup | KEYHASH#<sha256> | KEYHASH | | |
| workflow | WS#<ws> | WF#<id> | | |
| workflow owner lookup | WFID#<id> | WFID | | |
| document | WS#<ws> | DOC#<id> | | |
| execution | WS#<ws> | EXEC#<id> | WS#<ws>#WF#<wf> / <id> | WS#<ws>#WF#<wf>#ST#<status> / <id> |
| idempotency | WS#<ws> | IDEM#<key> | | |
| step output | WS#<ws> | EXEC#<id>#STEP#<step> | | |

Each model is stored whole as the JSON string attribute `data` next to its key attributes
(plus `version`/`revision` as numbers for condition expressions). That keeps floats and nested
dicts exact (no Decimal conversion) and lets a model gain fields without a migration; the cost is
that we cannot filter on model fields server-side, which we never do (lists are key Queries).

Ids are `<prefix>_<ulid>`, so sort keys order by creation time and "newest first" is
`ScanIndexForward=False`. Lists are Queries only, paginated by `adapters.common` cursors from
which the ExclusiveStartKey is rebuilt here.
"""

from __future__ import annotations

import builtins
import random
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import THROTTLING_CANCELLATION_CODES, error_code, translate_throttling
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
from docflow.domain.errors import Conflict, NotFound, PayloadTooLarge, Throttled
from docflow.domain.models import ApiKey, Document, Execution, ExecutionStatus, Page, Workflow

if TYPE_CHECKING:
    from datetime import datetime

    from mypy_boto3_dynamodb import DynamoDBClient

    from docflow.ports import BlobStore

Item = dict[str, Any]

GSI1 = "GSI1"
GSI2 = "GSI2"
_TRANSACTION_ATTEMPTS = 5


def create_table(client: DynamoDBClient, name: str, *, wait: bool = True) -> None:
    """The table exactly as template.yaml declares it (for tests and local tools)."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"}
                              for a in ("PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [{"AttributeName": f"{index}PK", "KeyType": "HASH"},
                              {"AttributeName": f"{index}SK", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in (GSI1, GSI2)
        ],
    )
    if wait:
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})


# --- keys ----------------------------------------------------------------------------------

def _ws(workspace_id: str) -> str:
    return f"WS#{workspace_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _key(pk: str, sk: str) -> Item:
    return {"PK": _s(pk), "SK": _s(sk)}


def _execution_gsi1(workspace_id: str, workflow_id: str) -> str:
    return f"{_ws(workspace_id)}#WF#{workflow_id}"


def _execution_gsi2(workspace_id: str, workflow_id: str, status: ExecutionStatus | str) -> str:
    return f"{_execution_gsi1(workspace_id, workflow_id)}#ST#{ExecutionStatus(status).value}"


def _response(exc: ClientError) -> dict[str, Any]:
    """The error response as a plain dict: the stubs do not declare the DynamoDB extras
    (Item, CancellationReasons) that ReturnValuesOnConditionCheckFailure adds."""
    return cast(dict[str, Any], exc.response)


def _condition_failed_item(exc: ClientError) -> Item | None:
    """The stored item returned by ReturnValuesOnConditionCheckFailure=ALL_OLD (None: no item)."""
    item: Item | None = _response(exc).get("Item")
    return item or None


def _cancellation_codes(exc: ClientError) -> list[str]:
    reasons = _response(exc).get("CancellationReasons", [])
    return [str(reason.get("Code", "None")) for reason in reasons]


class _Table:
    """The calls every repository makes, with throttling and item-size errors translated."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.name = table_name

    @contextmanager
    def calling(self) -> Iterator[None]:
        try:
            with translate_throttling("dynamodb"):
                yield
        except ClientError as exc:
            code = error_code(exc)
            message = str(exc.response.get("Error", {}).get("Message", ""))
            if code == "ValidationException" and "item size" in message.lower():
                raise PayloadTooLarge("the record is larger than DynamoDB's 400 KB item limit",
                                      details=[{"service": "dynamodb", "message": message}]) from exc
            if code == "TransactionCanceledException" and set(_cancellation_codes(exc)) & THROTTLING_CANCELLATION_CODES:
                raise Throttled("dynamodb is throttling requests; retry later",
                                details=[{"service": "dynamodb", "code": code}]) from exc
            raise

    def get(self, pk: str, sk: str) -> Item | None:
        with self.calling():
            response = self.client.get_item(TableName=self.name, Key=_key(pk, sk), ConsistentRead=True)
        return response.get("Item")

    def get_data(self, pk: str, sk: str) -> str | None:
        item = self.get(pk, sk)
        return None if item is None else str(item["data"]["S"])

    def put(self, item: Item, condition: str | None = None, values: Item | None = None,
            names: dict[str, str] | None = None) -> None:
        """PutItem; a failed condition raises ClientError carrying the old item (ALL_OLD)."""
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": item}
        if condition is not None:
            kwargs["ConditionExpression"] = condition
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if names:
            kwargs["ExpressionAttributeNames"] = names
        with self.calling():
            self.client.put_item(**kwargs)

    def delete(self, pk: str, sk: str, condition: str | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Key": _key(pk, sk)}
        if condition is not None:
            kwargs["ConditionExpression"] = condition
        with self.calling():
            self.client.delete_item(**kwargs)

    def transact(self, items: list[Item]) -> None:
        with self.calling():
            self.client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    def query_data(self, *, key_condition: str, values: Item, start_key: Item | None, limit: int,
                   index: str | None = None, ascending: bool = False) -> list[str]:
        """Up to `limit + 1` `data` strings, newest first (descending sort key) unless `ascending`;
        follows LastEvaluatedKey only when DynamoDB's 1 MB response cap cut a page short."""
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": values,
            "ExpressionAttributeNames": {"#d": "data"},
            "ProjectionExpression": "#d",
            "ScanIndexForward": ascending,
            "Limit": limit + 1,
        }
        if index is None:
            kwargs["ConsistentRead"] = True  # a list right after a create shows it
        else:
            kwargs["IndexName"] = index  # GSIs are eventually consistent by nature
        if start_key is not None:
            kwargs["ExclusiveStartKey"] = start_key
        found: list[str] = []
        while True:
            with self.calling():
                response = self.client.query(**kwargs)
            found.extend(str(item["data"]["S"]) for item in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if len(found) > limit or not last:
                return found[: limit + 1]
            kwargs["ExclusiveStartKey"] = last
            kwargs["Limit"] = limit + 1 - len(found)


class _Repository:
    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._table = _Table(client, table_name)

    def _list_prefix[M: (ApiKey, Workflow, Document)](self, cls: type[M], workspace_id: str, prefix: str, limit: int,
                                            cursor: str | None) -> Page[M]:
        after = decode_cursor(cursor)
        pk = _ws(workspace_id)
        rows = self._table.query_data(
            key_condition="PK = :pk AND begins_with(SK, :prefix)",
            values={":pk": _s(pk), ":prefix": _s(prefix)},
            start_key=None if after is None else _key(pk, prefix + after),
            limit=limit,
        )
        return cut_page([load_model(cls, row) for row in rows], limit, lambda m: m.id)


# --- API keys ------------------------------------------------------------------------------

class DynamoApiKeyRepository(_Repository):
    """Keys live in their workspace (for lists) and under a `KEYHASH#` lookup item holding a copy
    of the key, so authenticating a request is one strongly consistent GetItem."""

    @staticmethod
    def _lookup_pk(key_hash: str) -> str:
        return f"KEYHASH#{key_hash}"

    def add(self, key: ApiKey) -> None:
        data = dump_model(key)
        items: list[Item] = [
            {"Put": {"TableName": self._table.name, "ConditionExpression": "attribute_not_exists(PK)",
                     "Item": {**_key(_ws(key.workspace_id), f"KEY#{key.id}"), "data": _s(data)}}},
            {"Update": {"TableName": self._table.name, "Key": _key(_ws(key.workspace_id), "WORKSPACE"),
                        "UpdateExpression": "SET created_at = if_not_exists(created_at, :now)",
                        "ExpressionAttributeValues": {":now": _s(iso(utc_now()) or "")}}},
        ]
        if key.revoked_at is None:
            items.append({"Put": {"TableName": self._table.name, "ConditionExpression": "attribute_not_exists(PK)",
                                  "Item": {**_key(self._lookup_pk(key.key_hash), "KEYHASH"), "data": _s(data)}}})
        try:
            self._table.transact(items)
        except ClientError as exc:
            if "ConditionalCheckFailed" in _cancellation_codes(exc):
                raise Conflict("an api key with this id or secret already exists") from exc
            raise

    def find_by_hash(self, key_hash: str) -> ApiKey | None:
        data = self._table.get_data(self._lookup_pk(key_hash), "KEYHASH")
        if data is None:
            return None
        key = load_model(ApiKey, data)
        return key if key.revoked_at is None else None

    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[ApiKey]:
        return self._list_prefix(ApiKey, workspace_id, "KEY#", limit, cursor)

    def revoke(self, workspace_id: str, key_id: str, at: datetime) -> ApiKey:
        """Stamps revoked_at and deletes the lookup item in one transaction; revoking twice
        returns the key as first revoked."""
        pk, sk = _ws(workspace_id), f"KEY#{key_id}"
        for _ in range(_TRANSACTION_ATTEMPTS):
            old = self._table.get_data(pk, sk)
            if old is None:
                raise NotFound(f"api key {key_id} not found")
            key = load_model(ApiKey, old)
            if key.revoked_at is not None:
                return key
            revoked = key.model_copy(update={"revoked_at": at})
            try:
                self._table.transact([
                    {"Put": {"TableName": self._table.name, "Item": {**_key(pk, sk), "data": _s(dump_model(revoked))},
                             "ConditionExpression": "#d = :old",
                             "ExpressionAttributeNames": {"#d": "data"},
                             "ExpressionAttributeValues": {":old": _s(old)}}},
                    {"Delete": {"TableName": self._table.name, "Key": _key(self._lookup_pk(key.key_hash), "KEYHASH")}},
                ])
            except ClientError as exc:
                codes = _cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                    continue  # changed under us: read again
                raise
            return revoked
        raise Conflict(f"api key {key_id} is being changed concurrently; retry")

    def mark_used(self, key: ApiKey, at: datetime) -> bool:
        """Both copies at once, each only if it is still the key as read (compare-and-set on `data`)."""
        old, new = _s(dump_model(key)), _s(dump_model(key.model_copy(update={"last_used_at": at})))
        guarded = {"ConditionExpression": "#d = :old", "ExpressionAttributeNames": {"#d": "data"},
                   "ExpressionAttributeValues": {":old": old}}
        try:
            self._table.transact([
                {"Put": {"TableName": self._table.name,
                         "Item": {**_key(_ws(key.workspace_id), f"KEY#{key.id}"), "data": new}, **guarded}},
                {"Put": {"TableName": self._table.name,
                         "Item": {**_key(self._lookup_pk(key.key_hash), "KEYHASH"), "data": new}, **guarded}},
            ])
        except ClientError as exc:
            codes = _cancellation_codes(exc)
            if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                return False  # stamped by another request, or revoked: nothing to do
            raise
        return True

    def workspace_exists(self, workspace_id: str) -> bool:
        return self._table.get(_ws(workspace_id), "WORKSPACE") is not None


# --- workflows -----------------------------------------------------------------------------

_EVENT_PAGE_SIZE = 100


class DynamoWorkflowRepository(_Repository):
    def _item(self, workflow: Workflow) -> Item:
        return {**_key(_ws(workflow.workspace_id), f"WF#{workflow.id}"),
                "version": _n(workflow.version), "data": _s(dump_model(workflow))}

    @staticmethod
    def _owner_key(workflow_id: str) -> Item:
        return _key(f"WFID#{workflow_id}", "WFID")

    def add(self, workflow: Workflow) -> None:
        """The workflow and its owner lookup item, written together."""
        try:
            self._table.transact([
                {"Put": {"TableName": self._table.name, "Item": self._item(workflow),
                         "ConditionExpression": "attribute_not_exists(PK)"}},
                {"Put": {"TableName": self._table.name,
                         "Item": {**self._owner_key(workflow.id), "workspace_id": _s(workflow.workspace_id)},
                         "ConditionExpression": "attribute_not_exists(PK)"}},
            ])
        except ClientError as exc:
            if "ConditionalCheckFailed" in _cancellation_codes(exc):
                raise Conflict(f"workflow {workflow.id} already exists") from exc
            raise

    def find_workspace(self, workflow_id: str) -> str | None:
        item = self._table.get(f"WFID#{workflow_id}", "WFID")
        return None if item is None else str(item["workspace_id"]["S"])

    def get(self, workspace_id: str, workflow_id: str) -> Workflow:
        data = self._table.get_data(_ws(workspace_id), f"WF#{workflow_id}")
        if data is None:
            raise NotFound(f"workflow {workflow_id} not found")
        return load_model(Workflow, data)

    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Workflow]:
        return self._list_prefix(Workflow, workspace_id, "WF#", limit, cursor)

    def list_event_triggered(self, workspace_id: str) -> Sequence[Workflow]:
        """The workspace's workflows page by page (a Query, never a Scan), kept when enabled and
        event-triggered: the item's `data` is opaque to a FilterExpression."""
        found: builtins.list[Workflow] = []
        cursor: str | None = None
        while True:
            page = self.list(workspace_id, _EVENT_PAGE_SIZE, cursor)
            found.extend(w for w in page.items if w.enabled and w.trigger_type == "event")
            cursor = page.next_cursor
            if cursor is None:
                return found

    def replace(self, workflow: Workflow, expected_version: int) -> None:
        try:
            self._table.put(self._item(workflow), "attribute_exists(PK) AND version = :expected",
                            values={":expected": _n(expected_version)})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if _condition_failed_item(exc) is None:
                raise NotFound(f"workflow {workflow.id} not found") from exc
            raise Conflict(f"workflow {workflow.id} was changed since version {expected_version}",
                           details=[{"expected_version": expected_version}]) from exc

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        try:
            self._table.transact([
                {"Delete": {"TableName": self._table.name, "Key": _key(_ws(workspace_id), f"WF#{workflow_id}"),
                            "ConditionExpression": "attribute_exists(PK)"}},
                {"Delete": {"TableName": self._table.name, "Key": self._owner_key(workflow_id),
                            "ConditionExpression": "workspace_id = :ws",
                            "ExpressionAttributeValues": {":ws": _s(workspace_id)}}},
            ])
        except ClientError as exc:
            if "ConditionalCheckFailed" in _cancellation_codes(exc):
                raise NotFound(f"workflow {workflow_id} not found") from exc
            raise


# --- documents -----------------------------------------------------------------------------

class DynamoDocumentRepository(_Repository):
    def _item(self, document: Document) -> Item:
        return {**_key(_ws(document.workspace_id), f"DOC#{document.id}"), "revision": _n(document.revision),
                "data": _s(dump_model(document))}

    def add(self, document: Document) -> None:
        try:
            self._table.put(self._item(document), "attribute_not_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Conflict(f"document {document.id} already exists") from exc
            raise

    def get(self, workspace_id: str, document_id: str) -> Document:
        data = self._table.get_data(_ws(workspace_id), f"DOC#{document_id}")
        if data is None:
            raise NotFound(f"document {document_id} not found")
        return load_model(Document, data)

    def save(self, document: Document) -> Document:
        """Updates an existing document at the revision it was read; never resurrects an unknown one."""
        stored = document.model_copy(update={"revision": document.revision + 1})
        try:
            self._table.put(self._item(stored), "attribute_exists(PK) AND revision = :read",
                            values={":read": _n(document.revision)})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if _condition_failed_item(exc) is None:
                raise NotFound(f"document {document.id} not found") from exc
            raise Conflict(f"document {document.id} was changed by someone else") from exc
        return stored

    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Document]:
        return self._list_prefix(Document, workspace_id, "DOC#", limit, cursor)

    def delete(self, workspace_id: str, document_id: str) -> None:
        try:
            self._table.delete(_ws(workspace_id), f"DOC#{document_id}", "attribute_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFound(f"document {document_id} not found") from exc
            raise


# --- executions ----------------------------------------------------------------------------

class DynamoExecutionRepository(_Repository):
    """Executions with exactly-once creation per idempotency key and revision-checked saves."""

    def __init__(self, client: DynamoDBClient, table_name: str, blobs: BlobStore,
                 inline_output_bytes: int = DEFAULT_INLINE_OUTPUT_BYTES) -> None:
        super().__init__(client, table_name)
        self._blobs = blobs
        self._inline_output_bytes = inline_output_bytes

    def _item(self, execution: Execution) -> Item:
        ws, wf = execution.workspace_id, execution.workflow_id
        return {
            **_key(_ws(ws), f"EXEC#{execution.id}"),
            "GSI1PK": _s(_execution_gsi1(ws, wf)), "GSI1SK": _s(execution.id),
            "GSI2PK": _s(_execution_gsi2(ws, wf, execution.status)), "GSI2SK": _s(execution.id),
            "revision": _n(execution.revision),
            "data": _s(dump_model(execution)),
        }

    def add(self, execution: Execution) -> Execution:
        if execution.idempotency_key is None:  # a plain conditional put costs half a transaction
            try:
                self._table.put(self._item(execution), "attribute_not_exists(PK)")
            except ClientError as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    raise Conflict(f"execution {execution.id} already exists") from exc
                raise
            return execution
        items: list[Item] = [
            {"Put": {"TableName": self._table.name, "Item": self._item(execution),
                     "ConditionExpression": "attribute_not_exists(PK)"}},
            {"Put": {"TableName": self._table.name,
                     "Item": {**_key(_ws(execution.workspace_id), f"IDEM#{execution.idempotency_key}"),
                              "execution_id": _s(execution.id), "created_at": _s(iso(execution.created_at) or "")},
                     "ConditionExpression": "attribute_not_exists(PK)",
                     "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
        ]
        for attempt in range(_TRANSACTION_ATTEMPTS):
            try:
                self._table.transact(items)
                return execution
            except ClientError as exc:
                codes = _cancellation_codes(exc)
                if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                    return self._stored_for_key(exc, execution)
                if codes and codes[0] == "ConditionalCheckFailed":
                    raise Conflict(f"execution {execution.id} already exists") from exc
                if "TransactionConflict" not in codes:
                    raise
                # A concurrent start with the same key is in flight: once it commits, our retry
                # fails its condition and returns that run.
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise Conflict("a concurrent start with the same idempotency key did not settle; retry")

    def _stored_for_key(self, exc: ClientError, execution: Execution) -> Execution:
        reasons = _response(exc).get("CancellationReasons", [])
        old = reasons[1].get("Item") if len(reasons) > 1 else None
        if old and "execution_id" in old:
            stored_id = str(old["execution_id"]["S"])
        else:  # the service did not return the old item: read it ourselves (consistently)
            idem = self._table.get(_ws(execution.workspace_id), f"IDEM#{execution.idempotency_key}")
            if idem is None:
                raise Conflict("idempotency record vanished; retry") from exc
            stored_id = str(idem["execution_id"]["S"])
        return self.get(execution.workspace_id, stored_id)

    def find_by_idempotency_key(self, workspace_id: str, key: str) -> Execution | None:
        idem = self._table.get(_ws(workspace_id), f"IDEM#{key}")
        return None if idem is None else self.get(workspace_id, str(idem["execution_id"]["S"]))

    def get(self, workspace_id: str, execution_id: str) -> Execution:
        data = self._table.get_data(_ws(workspace_id), f"EXEC#{execution_id}")
        if data is None:
            raise NotFound(f"execution {execution_id} not found")
        return load_model(Execution, data)

    def save(self, execution: Execution) -> Execution:
        stored = execution.model_copy(update={"revision": execution.revision + 1})
        try:
            self._table.put(self._item(stored), "attribute_exists(PK) AND revision = :read",
                            values={":read": _n(execution.revision)})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if _condition_failed_item(exc) is None:
                raise NotFound(f"execution {execution.id} not found") from exc
            raise Conflict(f"execution {execution.id} was changed by someone else (revision {execution.revision} "
                           "is stale)", details=[{"revision": execution.revision}]) from exc
        return stored

    def list_for_workflow(self, workspace_id: str, workflow_id: str, status: ExecutionStatus | None,
                          limit: int, cursor: str | None) -> Page[Execution]:
        after = decode_cursor(cursor)
        if status is None:
            index, pk = GSI1, _execution_gsi1(workspace_id, workflow_id)
        else:
            index, pk = GSI2, _execution_gsi2(workspace_id, workflow_id, status)
        start_key: Item | None = None
        if after is not None:
            start_key = {f"{index}PK": _s(pk), f"{index}SK": _s(after), **_key(_ws(workspace_id), f"EXEC#{after}")}
        rows = self._table.query_data(key_condition=f"{index}PK = :pk", values={":pk": _s(pk)},
                                      start_key=start_key, limit=limit, index=index)
        return cut_page([load_model(Execution, row) for row in rows], limit, lambda e: e.id)

    def put_step_output(self, workspace_id: str, execution_id: str, step_id: str, output_json: bytes) -> None:
        stored = pack_step_output(self._blobs, self._inline_output_bytes, workspace_id, execution_id, step_id,
                                  output_json)
        item: Item = _key(_ws(workspace_id), f"EXEC#{execution_id}#STEP#{step_id}")
        if stored.inline is not None:
            item["data"] = _s(stored.inline)
        else:
            item["blob_key"] = _s(stored.blob_key or "")
        self._table.put(item)

    def get_step_output(self, workspace_id: str, execution_id: str, step_id: str) -> bytes | None:
        item = self._table.get(_ws(workspace_id), f"EXEC#{execution_id}#STEP#{step_id}")
        if item is None:
            return None
        return unpack_step_output(self._blobs, StoredStepOutput(
            inline=item["data"]["S"] if "data" in item else None,
            blob_key=item["blob_key"]["S"] if "blob_key" in item else None,
        ))
