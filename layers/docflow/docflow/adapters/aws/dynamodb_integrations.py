"""Integrations in the single DynamoDB table: `PK = WS#<ws>`, `SK = INT#<id>`, and for the list of
one workflow's integrations `GSI1PK = WS#<ws>#WF#<wf>#INT`, `GSI1SK = <id>` (a Query, newest
first; the executions' GSI1 partitions are `WS#<ws>#WF#<wf>`, so the two never share one).

A read by id needs no workflow id (PUT/DELETE `?id=` carry none), and both keys start with the
workspace, so no read can cross it."""

from __future__ import annotations

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code
from docflow.adapters.aws.dynamodb import GSI1, Item, _condition_failed_item, _key, _n, _Repository, _s, _ws
from docflow.adapters.common import cut_page, decode_cursor, dump_model, load_model
from docflow.domain.errors import Conflict, NotFound
from docflow.domain.integrations import Integration
from docflow.domain.models import Page


def _sk(integration_id: str) -> str:
    return f"INT#{integration_id}"


def _gsi1(workspace_id: str, workflow_id: str) -> str:
    return f"{_ws(workspace_id)}#WF#{workflow_id}#INT"


def _missing(integration_id: str) -> NotFound:
    return NotFound(f"integration {integration_id} not found")


class DynamoIntegrationRepository(_Repository):
    def _item(self, integration: Integration) -> Item:
        return {**_key(_ws(integration.workspace_id), _sk(integration.id)),
                "GSI1PK": _s(_gsi1(integration.workspace_id, integration.workflow_id)),
                "GSI1SK": _s(integration.id),
                "revision": _n(integration.revision), "data": _s(dump_model(integration))}

    def add(self, integration: Integration) -> Integration:
        try:
            self._table.put(self._item(integration), "attribute_not_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise Conflict(f"integration {integration.id} already exists") from exc
            raise
        return integration

    def get(self, workspace_id: str, integration_id: str) -> Integration:
        data = self._table.get_data(_ws(workspace_id), _sk(integration_id))
        if data is None:
            raise _missing(integration_id)
        return load_model(Integration, data)

    def list_for_workflow(self, workspace_id: str, workflow_id: str, limit: int,
                          cursor: str | None) -> Page[Integration]:
        after = decode_cursor(cursor)
        pk = _gsi1(workspace_id, workflow_id)
        start_key: Item | None = None
        if after is not None:
            start_key = {"GSI1PK": _s(pk), "GSI1SK": _s(after), **_key(_ws(workspace_id), _sk(after))}
        rows = self._table.query_data(key_condition="GSI1PK = :pk", values={":pk": _s(pk)},
                                      start_key=start_key, limit=limit, index=GSI1)
        return cut_page([load_model(Integration, row) for row in rows], limit, lambda i: i.id)

    def save(self, integration: Integration) -> Integration:
        stored = integration.model_copy(update={"revision": integration.revision + 1})
        try:
            self._table.put(self._item(stored), "attribute_exists(PK) AND revision = :read",
                            values={":read": _n(integration.revision)})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if _condition_failed_item(exc) is None:
                raise _missing(integration.id) from exc
            raise Conflict(f"integration {integration.id} was changed by someone else",
                           details=[{"revision": integration.revision}]) from exc
        return stored

    def delete(self, workspace_id: str, integration_id: str) -> None:
        try:
            with self._table.calling():
                self._table.client.delete_item(TableName=self._table.name,
                                               Key=_key(_ws(workspace_id), _sk(integration_id)),
                                               ConditionExpression="attribute_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _missing(integration_id) from exc
            raise
