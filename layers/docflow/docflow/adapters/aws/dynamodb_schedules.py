"""Cron schedules in the single DynamoDB table: `PK = WS#<ws>`, `SK = SCHED#<workflow_id>`.

Keyed by the workflow, so "one schedule per workflow" is the key itself and a second create is a
failed `attribute_not_exists` condition. There is no list: on AWS, EventBridge Scheduler holds the
timetable and calls the schedule-target function, which reads one item by key."""

from __future__ import annotations

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code
from docflow.adapters.aws.dynamodb import Item, _condition_failed_item, _key, _n, _Repository, _s, _ws
from docflow.adapters.common import dump_model, load_model
from docflow.domain.errors import Conflict, NotFound
from docflow.domain.schedules import Schedule


def _sk(workflow_id: str) -> str:
    return f"SCHED#{workflow_id}"


def _exists(workflow_id: str) -> Conflict:
    return Conflict(f"workflow {workflow_id} already has a schedule: change it with PUT or DELETE it first",
                    details=[{"loc": ["path", "workflow_id"], "msg": "already has a schedule"}])


class DynamoScheduleRepository(_Repository):
    def _item(self, schedule: Schedule) -> Item:
        return {**_key(_ws(schedule.workspace_id), _sk(schedule.workflow_id)),
                "revision": _n(schedule.revision), "data": _s(dump_model(schedule))}

    def add(self, schedule: Schedule) -> Schedule:
        try:
            self._table.put(self._item(schedule), "attribute_not_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise _exists(schedule.workflow_id) from exc
            raise
        return schedule

    def get(self, workspace_id: str, workflow_id: str) -> Schedule:
        data = self._table.get_data(_ws(workspace_id), _sk(workflow_id))
        if data is None:
            raise NotFound(f"workflow {workflow_id} has no schedule")
        return load_model(Schedule, data)

    def save(self, schedule: Schedule) -> Schedule:
        stored = schedule.model_copy(update={"revision": schedule.revision + 1})
        try:
            self._table.put(self._item(stored), "attribute_exists(PK) AND revision = :read",
                            values={":read": _n(schedule.revision)})
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            if _condition_failed_item(exc) is None:
                raise NotFound(f"workflow {schedule.workflow_id} has no schedule") from exc
            raise Conflict(f"the schedule of workflow {schedule.workflow_id} was changed by someone else",
                           details=[{"revision": schedule.revision}]) from exc
        return stored

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        try:
            with self._table.calling():
                self._table.client.delete_item(TableName=self._table.name,
                                               Key=_key(_ws(workspace_id), _sk(workflow_id)),
                                               ConditionExpression="attribute_exists(PK)")
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise NotFound(f"workflow {workflow_id} has no schedule") from exc
            raise
