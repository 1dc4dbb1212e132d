"""Review tasks in the single DynamoDB table, listed in the order of adapters/review_order.py
(pending first, then by status; oldest first within each):

| item | PK | SK | GSI1PK / GSI1SK | GSI2PK / GSI2SK |
|---|---|---|---|---|
| review task | WS#<ws> | REVIEW#<id> | WS#<ws>#REVIEW / <pos> | WS#<ws>#WF#<wf>#REVIEW / <pos> |

`<pos>` = `<rank><status>#<created_at>#<id>` (rank 0 for pending, 1 otherwise; created_at fixed-width
UTC), so the workspace's queue is a GSI1 Query read forward, the per-workflow queue the same on
GSI2, and a status filter `begins_with(<rank><status>#)`: never a Scan, never a FilterExpression.
The GSI keys move when the status changes (a save rewrites the item). Partitions never shared:
the executions' GSI1 partitions are `WS#<ws>#WF#<wf>`, their GSI2 ones `WS#<ws>#WF#<wf>#ST#<status>`,
the integrations' GSI1 ones `WS#<ws>#WF#<wf>#INT`.

A read by id needs no workflow id, and every key starts with the workspace, so no read can cross it.
There is no DueReviews here: on AWS the state machine's TimeoutSeconds ends a wait."""

from __future__ import annotations

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code
from docflow.adapters.aws.dynamodb import GSI1, GSI2, Item, _condition_failed_item, _key, _n, _Repository, _s, _ws
from docflow.adapters.common import cut_page, dump_model, load_model
from docflow.adapters.review_order import ReviewPosition, decode_review_cursor, position_token, status_prefix
from docflow.domain.errors import Conflict, NotFound
from docflow.domain.models import Page
from docflow.domain.reviews import ReviewStatus, ReviewTask


def _sk(review_id: str) -> str:
    return f"REVIEW#{review_id}"


def _gsi1(workspace_id: str) -> str:
    return f"{_ws(workspace_id)}#REVIEW"


def _gsi2(workspace_id: str, workflow_id: str) -> str:
    return f"{_ws(workspace_id)}#WF#{workflow_id}#REVIEW"


def _missing(review_id: str) -> NotFound:
    return NotFound(f"review {review_id} not found")


class DynamoReviewRepository(_Repository):
    def _item(self, task: ReviewTask) -> Item:
        position = ReviewPosition.of(task).sort_key()
        return {**_key(_ws(task.workspace_id), _sk(task.id)),
                "GSI1PK": _s(_gsi1(task.workspace_id)), "GSI1SK": _s(position),
                "GSI2PK": _s(_gsi2(task.workspace_id, task.workflow_id)), "GSI2SK": _s(position),
                "revision": _n(task.revision), "data": _s(dump_model(task))}

    def add(self, task: ReviewTask) -> ReviewTask:
        try:
            self._table.put(self._item(task), "attribute_not_exists(PK)")
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            # A retried review step: the task stored the first time, unchanged (ALL_OLD has it).
            stored = _condition_failed_item(exc)
            return load_model(ReviewTask, stored["data"]["S"]) if stored else self.get(task.workspace_id, task.id)
        return task

    def get(self, workspace_id: str, review_id: str) -> ReviewTask:
        data = self._table.get_data(_ws(workspace_id), _sk(review_id))
        if data is None:
            raise _missing(review_id)
        return load_model(ReviewTask, data)

    def save(self, task: ReviewTask) -> ReviewTask:
        stored = task.model_copy(update={"revision": task.revision + 1})
        try:
            self._table.put(self._item(stored), "attribute_exists(PK) AND revision = :read",
                            values={":read": _n(task.revision)})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if _condition_failed_item(exc) is None:
                raise _missing(task.id) from exc
            raise Conflict(f"review {task.id} was changed by someone else (revision {task.revision} is stale)",
                           details=[{"revision": task.revision}]) from exc
        return stored

    def list(self, workspace_id: str, workflow_id: str | None, status: ReviewStatus | None, limit: int,
             cursor: str | None) -> Page[ReviewTask]:
        after = decode_review_cursor(cursor, status)
        index, pk = (GSI1, _gsi1(workspace_id)) if workflow_id is None else (GSI2, _gsi2(workspace_id, workflow_id))
        condition, values = f"{index}PK = :pk", {":pk": _s(pk)}
        if status is not None:
            condition += f" AND begins_with({index}SK, :prefix)"
            values[":prefix"] = _s(status_prefix(status))
        start_key: Item | None = None
        if after is not None:
            # The table key comes from the request's workspace: a cursor names a position, never an item elsewhere.
            start_key = {f"{index}PK": _s(pk), f"{index}SK": _s(after.sort_key()),
                         **_key(_ws(workspace_id), _sk(after.id))}
        rows = self._table.query_data(key_condition=condition, values=values, start_key=start_key, limit=limit,
                                      index=index, ascending=True)
        return cut_page([load_model(ReviewTask, row) for row in rows], limit, position_token)
