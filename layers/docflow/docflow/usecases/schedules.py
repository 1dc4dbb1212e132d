"""Cron schedules: CRUD that keeps the store and the Scheduler (EventBridge Scheduler on AWS) in
step, and `fire_schedule`, which every runtime's trigger (the schedule-target function, the local
loop) calls to start a scheduled run through `start_execution`.

A scheduled run processes the documents named in the schedule's `input` (`document_id` or
`document_ids`): the same document(s) on every run. A schedule whose input names none is refused
when it is saved (422 naming `input.document_id`), because a run needs a document."""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from docflow.domain.clock import iso, utc_now
from docflow.domain.errors import Conflict, DocflowError, NotFound, Throttled, ValidationFailed
from docflow.domain.schedules import Schedule, validate_schedule
from docflow.ports import Ports, Scheduler, ScheduleRepository, wired
from docflow.usecases.executions import Started, StartRequest, fingerprint_of, start_execution

log = logging.getLogger("docflow.schedules")
MAX_SAVE_ATTEMPTS = 10


@dataclass(frozen=True)
class ScheduleFields:
    """What a caller sets (POST and PUT bodies)."""

    cron_expression: str
    timezone: str = "UTC"
    enabled: bool = True
    input: dict[str, Any] | None = None


@dataclass(frozen=True)
class Fired:
    """The outcome of one scheduled time: the run it started (or replayed), or why it started none."""

    started: Started | None
    skipped: str | None = None


def _repository(ports: Ports) -> ScheduleRepository:
    return wired(ports.schedules, "schedules")


def _scheduler(ports: Ports) -> Scheduler:
    return wired(ports.scheduler, "schedulers")


def _input_error(loc: list[str], message: str) -> ValidationFailed:
    return ValidationFailed(f"invalid schedule input: {message}", details=[{"loc": ["body", *loc], "msg": message}])


def _checked_input(ports: Ports, workspace_id: str, raw: dict[str, Any] | None) -> dict[str, Any]:
    """`input` names at least one existing document of this workspace; the other keys become the
    run's trigger_data."""
    data = dict(raw or {})
    if "document_id" in data and "document_ids" in data:
        raise _input_error(["input"], "give document_id or document_ids, not both")
    if "document_ids" in data:
        ids = data["document_ids"]
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
            raise _input_error(["input", "document_ids"], "must be a non-empty list of document ids")
        loc = ["input", "document_ids"]
    else:
        single = data.get("document_id")
        if not isinstance(single, str) or not single:
            raise _input_error(["input", "document_id"],
                               "a scheduled run processes the documents named here: give input.document_id "
                               "(or input.document_ids) of an uploaded document")
        ids, loc = [single], ["input", "document_id"]
    for document_id in ids:
        try:
            ports.documents.get(workspace_id, document_id)
        except NotFound as exc:
            raise _input_error(loc, f"document {document_id} not found") from exc
    return data


def _validated(ports: Ports, workspace_id: str, fields: ScheduleFields) -> dict[str, Any]:
    validate_schedule(fields.cron_expression, fields.timezone)
    return {"cron_expression": fields.cron_expression, "timezone": fields.timezone, "enabled": fields.enabled,
            "input": _checked_input(ports, workspace_id, fields.input)}


def create_schedule(ports: Ports, workspace_id: str, workflow_id: str, fields: ScheduleFields) -> Schedule:
    ports.workflows.get(workspace_id, workflow_id)  # 404 for an unknown or foreign workflow
    values = _validated(ports, workspace_id, fields)
    repository = _repository(ports)
    now = utc_now()
    stored = repository.add(Schedule(workspace_id=workspace_id, workflow_id=workflow_id, created_at=now,
                                     updated_at=now, **values))
    try:
        _scheduler(ports).put(stored)
    except Exception:
        # Undo, so the caller's retry of the same POST is a fresh create, not a 409.
        try:
            repository.delete(workspace_id, workflow_id)
        except DocflowError:
            log.exception("could not undo schedule %s after the scheduler failed", stored.id)
        raise
    return stored


def get_schedule(ports: Ports, workspace_id: str, workflow_id: str) -> Schedule:
    ports.workflows.get(workspace_id, workflow_id)
    return _repository(ports).get(workspace_id, workflow_id)


def replace_schedule(ports: Ports, workspace_id: str, workflow_id: str, fields: ScheduleFields) -> Schedule:
    """PUT: the writable fields are replaced (id, created_at and last_fire_time stay)."""
    ports.workflows.get(workspace_id, workflow_id)
    values = _validated(ports, workspace_id, fields)
    repository = _repository(ports)
    for _ in range(MAX_SAVE_ATTEMPTS):
        current = repository.get(workspace_id, workflow_id)
        try:
            stored = repository.save(current.model_copy(update={**values, "updated_at": utc_now()}))
        except Conflict:
            continue  # a fire recorded last_fire_time meanwhile: apply the change to that
        break
    else:
        raise Conflict(f"the schedule of workflow {workflow_id} is changing too often; retry")
    try:
        _scheduler(ports).put(stored)
    except Exception:
        # Put the previous definition back so the store says what the Scheduler still does.
        try:
            repository.save(current.model_copy(update={"revision": stored.revision,
                                                       "last_fire_time": stored.last_fire_time}))
        except DocflowError:
            log.exception("could not restore schedule %s after the scheduler failed", stored.id)
        raise
    return stored


def delete_schedule(ports: Ports, workspace_id: str, workflow_id: str) -> None:
    """The Scheduler first: if the store delete then fails, a retried DELETE converges (the
    Scheduler delete is idempotent); the reverse order could leave a timer no DELETE can reach."""
    ports.workflows.get(workspace_id, workflow_id)
    repository = _repository(ports)
    repository.get(workspace_id, workflow_id)  # 404 before touching the Scheduler
    _scheduler(ports).delete(workspace_id, workflow_id)
    repository.delete(workspace_id, workflow_id)


def forget_schedule(ports: Ports, workspace_id: str, workflow_id: str) -> None:
    """For a workflow being deleted: its schedule goes too, if it has one (no error otherwise)."""
    if ports.schedules is None:
        return
    try:
        ports.schedules.get(workspace_id, workflow_id)
    except NotFound:
        return
    _scheduler(ports).delete(workspace_id, workflow_id)
    with suppress(NotFound):  # deleted concurrently: the outcome is the same
        ports.schedules.delete(workspace_id, workflow_id)


# --- firing --------------------------------------------------------------------------------

def parse_scheduled_time(value: datetime | str) -> datetime:
    """Scheduler's `<aws.scheduler.scheduled-time>` (ISO 8601, `Z`) or a datetime, as aware UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValidationFailed(f"scheduled_time {value!r} is not an ISO 8601 time") from exc
    if value.tzinfo is None:
        raise ValidationFailed("scheduled_time has no UTC offset")
    return value.astimezone(UTC).replace(microsecond=0)


def idempotency_key(schedule_id: str, scheduled_time: datetime) -> str:
    """One run per (schedule, scheduled time), whoever delivers it and however often."""
    return f"schedule:{schedule_id}:{iso(scheduled_time)}"


def fire_schedule(ports: Ports, workspace_id: str, workflow_id: str, schedule_id: str,
                  scheduled_time: datetime | str, catch_up: bool = False) -> Fired:
    """Starts the run of one scheduled time. A redelivery replays the first run (same key, same
    fingerprint: `catch_up` is left out of it so a restart's catch-up of a time already started
    replays too). A permanent refusal (workflow disabled or gone, document gone) is recorded as
    fired and returned as skipped, so no trigger retries it forever; throttling and outages raise."""
    moment = parse_scheduled_time(scheduled_time)
    repository = _repository(ports)
    try:
        schedule = repository.get(workspace_id, workflow_id)
    except NotFound:
        return Fired(None, f"workflow {workflow_id} has no schedule")
    if schedule.id != schedule_id:
        return Fired(None, f"schedule {schedule_id} was replaced by {schedule.id}")
    if not schedule.enabled:
        return Fired(None, f"schedule {schedule_id} is disabled")
    when = iso(moment)
    request = StartRequest(
        document_ids=schedule.document_ids(),
        trigger_data={**schedule.trigger_data(), "schedule_id": schedule.id, "scheduled_time": when,
                      "catch_up": catch_up},
        trigger_method="schedule", triggered_by=schedule.id,
        idempotency_key=idempotency_key(schedule.id, moment),
        fingerprint=fingerprint_of({"schedule_id": schedule.id, "scheduled_time": when}),
    )
    try:
        started = start_execution(ports, workspace_id, workflow_id, request)
    except Throttled:
        raise
    except DocflowError as exc:
        if exc.status >= 500:
            raise
        record_fire(ports, workspace_id, workflow_id, schedule.id, moment)
        return Fired(None, f"{exc.code}: {exc.message}")
    record_fire(ports, workspace_id, workflow_id, schedule.id, moment)
    return Fired(started)


def record_fire(ports: Ports, workspace_id: str, workflow_id: str, schedule_id: str, moment: datetime) -> None:
    """last_fire_time moves forward only, with a conditional write (a PUT may race it)."""
    repository = _repository(ports)
    for _ in range(MAX_SAVE_ATTEMPTS):
        try:
            current = repository.get(workspace_id, workflow_id)
        except NotFound:
            return
        if current.id != schedule_id or (current.last_fire_time is not None and current.last_fire_time >= moment):
            return
        try:
            repository.save(current.model_copy(update={"last_fire_time": moment}))
            return
        except Conflict:
            continue
    raise Conflict(f"could not record the fire time of schedule {schedule_id}; it is changing too often")

