"""/v1/workflows/{id}/schedule: one cron schedule per workflow."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from docflow.api.context import workspace_of
from docflow.api.openapi import PROTECTED, no_content, responses
from docflow.api.params import WorkflowId
from docflow.api.schemas_schedules import ScheduleIn, ScheduleOut
from docflow.domain.clock import utc_now
from docflow.ports import Ports
from docflow.usecases import schedules as schedule_cases

TAGS = ["schedules"]
PATH = "/v1/workflows/<workflow_id>/schedule"


def _fields(body: ScheduleIn) -> schedule_cases.ScheduleFields:
    return schedule_cases.ScheduleFields(cron_expression=body.cron_expression, timezone=body.timezone,
                                         enabled=body.enabled, input=body.input)


def build(ports: Ports) -> Router:
    router = Router()

    @router.post(PATH, status_code=201, operation_id="createSchedule", summary="Give a workflow its cron schedule",
                 tags=TAGS, security=PROTECTED, responses=responses(201, ScheduleOut, 404, 409))
    def create_schedule(workflow_id: WorkflowId, body: Annotated[ScheduleIn, Body()]) -> ScheduleOut:
        schedule = schedule_cases.create_schedule(ports, workspace_of(router), workflow_id, _fields(body))
        return ScheduleOut.of(schedule, utc_now())

    @router.get(PATH, operation_id="getSchedule", summary="Get a workflow's schedule and its next fire times",
                tags=TAGS, security=PROTECTED, responses=responses(200, ScheduleOut, 404))
    def get_schedule(workflow_id: WorkflowId) -> ScheduleOut:
        return ScheduleOut.of(schedule_cases.get_schedule(ports, workspace_of(router), workflow_id), utc_now())

    @router.put(PATH, operation_id="replaceSchedule", summary="Replace a workflow's schedule",
                tags=TAGS, security=PROTECTED, responses=responses(200, ScheduleOut, 404, 409))
    def replace_schedule(workflow_id: WorkflowId, body: Annotated[ScheduleIn, Body()]) -> ScheduleOut:
        schedule = schedule_cases.replace_schedule(ports, workspace_of(router), workflow_id, _fields(body))
        return ScheduleOut.of(schedule, utc_now())

    @router.delete(PATH, status_code=204, operation_id="deleteSchedule", summary="Delete a workflow's schedule",
                   tags=TAGS, security=PROTECTED, responses=responses(204, None, 404))
    def delete_schedule(workflow_id: WorkflowId) -> Response[None]:
        schedule_cases.delete_schedule(ports, workspace_of(router), workflow_id)
        return no_content()

    return router
