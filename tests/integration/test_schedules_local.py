"""Schedules in local mode over the real SQLite store: the use-cases (store and Scheduler kept in
step), `fire_schedule`'s exactly-once rule, and the scheduler loop driven by a fake clock across
both 2026 New York DST changes, downtime and a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from docflow.adapters.compute import InlineCompute
from docflow.adapters.local.events import InProcessEventBus
from docflow.adapters.local.files import LocalBlobStore
from docflow.adapters.local.scheduler import LocalScheduler
from docflow.adapters.local.sqlite import (
    SqliteApiKeyRepository,
    SqliteDatabase,
    SqliteDocumentRepository,
    SqliteExecutionRepository,
    SqliteWorkflowRepository,
)
from docflow.adapters.local.sqlite_schedules import SqliteScheduleRepository
from docflow.domain.errors import Conflict, NotFound, ValidationFailed
from docflow.domain.limits import Limits
from docflow.domain.models import Document, DocumentStatus, Execution, StepDefinition, Workflow, WorkflowDefinition
from docflow.domain.schedules import Schedule
from docflow.ports import Ports
from docflow.runtime.local.scheduler import ScheduleLoop
from docflow.usecases import schedules as cases

WS = "ws_alpha"
NY = "America/New_York"
NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


@dataclass
class RecordingLauncher:
    launched: list[str] = field(default_factory=list)

    def launch(self, execution: Execution) -> None:
        self.launched.append(execution.id)

    def cancel(self, execution: Execution) -> None:
        pass


class FailingScheduler:
    def put(self, schedule: Schedule) -> None:
        raise RuntimeError("scheduler unavailable")

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        raise RuntimeError("scheduler unavailable")


@dataclass
class FakeClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Env:
    path: Path
    db: SqliteDatabase
    ports: Ports
    schedules: SqliteScheduleRepository
    launcher: RecordingLauncher
    workflow: Workflow
    document: Document

    def reopen(self) -> Env:
        """A process restart: a new connection to the same file, new adapters."""
        self.db.close()
        return build(self.path, self.workflow, self.document, add=False)

    def runs(self) -> list[Execution]:
        return self.ports.executions.list_for_workflow(WS, self.workflow.id, None, 100, None).items

    def schedule(self, expression: str, zone: str = NY, at: datetime = NEW_YEAR,
                 **changes: Any) -> Schedule:
        """Created (so also last changed) at `at`."""
        return self.schedules.add(Schedule(workspace_id=WS, workflow_id=self.workflow.id, cron_expression=expression,
                                           timezone=zone, input={"document_id": self.document.id, "batch": "n"},
                                           created_at=at, updated_at=at, **changes))


def build(path: Path, workflow: Workflow | None = None, document: Document | None = None, add: bool = True) -> Env:
    db = SqliteDatabase(path / "docflow.sqlite3")
    blobs = LocalBlobStore(path / "files", "http://127.0.0.1:8080", b"schedule-test-secret-32-bytes!!!")
    launcher = RecordingLauncher()
    schedules = SqliteScheduleRepository(db)
    ports = Ports(keys=SqliteApiKeyRepository(db), workflows=SqliteWorkflowRepository(db),
                  documents=SqliteDocumentRepository(db), executions=SqliteExecutionRepository(db, blobs),
                  blobs=blobs, events=InProcessEventBus(), launcher=launcher, limits=Limits(),
                  compute=InlineCompute(), schedules=schedules, scheduler=LocalScheduler())
    workflow = workflow or Workflow(workspace_id=WS, name="nightly", definition=WorkflowDefinition(
        steps=[StepDefinition(id="parse", type="parse")]))
    document = document or Document(workspace_id=WS, name="a.txt", content_type="text/plain",
                                    storage_key=f"documents/{WS}/x", upload_expires_at=utc(2030, 1, 1),
                                    status=DocumentStatus.UPLOADED, size=3)
    if add:
        ports.workflows.add(workflow)
        ports.documents.add(document)
    return Env(path, db, ports, schedules, launcher, workflow, document)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    built = build(tmp_path)
    yield built
    built.db.close()


def walk(loop: ScheduleLoop, clock: FakeClock, start: datetime, end: datetime,
         step: timedelta = timedelta(minutes=1)) -> list[tuple[datetime, datetime, bool]]:
    """Ticks the loop every `step`; returns (clock at fire, scheduled time, catch_up) per run started."""
    fired: list[tuple[datetime, datetime, bool]] = []
    clock.now = start
    while clock.now <= end:
        for outcome in loop.tick():
            assert outcome.started is not None, outcome.skipped
            data = outcome.started.execution.trigger_data
            fired.append((clock.now, datetime.fromisoformat(data["scheduled_time"]), data["catch_up"]))
        clock.now += step
    return fired


def nights(loop: ScheduleLoop, clock: FakeClock, days: list[datetime]) -> list[tuple[datetime, datetime, bool]]:
    """Every minute from 04:00Z to 09:00Z (local night in New York) of each day."""
    fired = []
    for day in days:
        fired += walk(loop, clock, day.replace(hour=4), day.replace(hour=9))
    return fired


# --- the loop across DST ---------------------------------------------------------------------

def test_given_0230_new_york_when_the_loop_runs_across_spring_forward_then_the_missing_day_is_skipped(
        env: Env) -> None:
    env.schedule("30 2 * * *", at=utc(2026, 3, 6, 12))
    clock = FakeClock(utc(2026, 3, 6, 12))
    loop = ScheduleLoop(env.ports, env.schedules, clock=clock)
    fired = nights(loop, clock, [utc(2026, 3, d) for d in (7, 8, 9)])
    assert fired == [
        (utc(2026, 3, 7, 7, 30), utc(2026, 3, 7, 7, 30), False),  # 02:30 EST
        # 8 March: 02:30 does not exist in New York; nothing fires (as on EventBridge Scheduler)
        (utc(2026, 3, 9, 6, 30), utc(2026, 3, 9, 6, 30), False),  # 02:30 EDT
    ]
    assert len(env.runs()) == 2 and {r.trigger_method for r in env.runs()} == {"schedule"}


def test_given_0230_and_0130_new_york_when_the_loop_runs_across_fall_back_then_each_fires_once_a_day(
        env: Env, tmp_path: Path) -> None:
    env.schedule("30 2 * * *", at=utc(2026, 10, 30, 12))
    other = build(tmp_path / "second")  # a second workflow's schedule at 01:30 (repeated that night)
    other.schedule("30 1 * * *", at=utc(2026, 10, 30, 12))
    clock = FakeClock(utc(2026, 10, 30, 12))
    days = [utc(2026, 10, 31), utc(2026, 11, 1), utc(2026, 11, 2)]
    assert nights(ScheduleLoop(env.ports, env.schedules, clock=clock), clock, days) == [
        (utc(2026, 10, 31, 6, 30), utc(2026, 10, 31, 6, 30), False),  # 02:30 EDT
        (utc(2026, 11, 1, 7, 30), utc(2026, 11, 1, 7, 30), False),  # 02:30 EST, once
        (utc(2026, 11, 2, 7, 30), utc(2026, 11, 2, 7, 30), False),
    ]
    assert nights(ScheduleLoop(other.ports, other.schedules, clock=clock), clock, days) == [
        (utc(2026, 10, 31, 5, 30), utc(2026, 10, 31, 5, 30), False),
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 5, 30), False),  # first pass of 01:30; not again at 06:30Z
        (utc(2026, 11, 2, 6, 30), utc(2026, 11, 2, 6, 30), False),
    ]
    other.db.close()


# --- downtime and restarts ---------------------------------------------------------------------

def test_given_days_of_downtime_when_the_loop_starts_then_one_catch_up_run_fires_for_the_latest_time(
        env: Env) -> None:
    env.schedule("0 9 * * *", zone="UTC", at=utc(2026, 1, 1))
    clock = FakeClock(utc(2026, 1, 5, 12))  # 1, 2, 3, 4 and 5 January 09:00 all missed
    loop = ScheduleLoop(env.ports, env.schedules, clock=clock)
    fired = walk(loop, clock, utc(2026, 1, 5, 12), utc(2026, 1, 5, 12, 10))
    assert fired == [(utc(2026, 1, 5, 12), utc(2026, 1, 5, 9), True)]
    (run,) = env.runs()
    assert run.trigger_data == {"batch": "n", "schedule_id": env.schedules.get(WS, env.workflow.id).id,
                                "scheduled_time": "2026-01-05T09:00:00Z", "catch_up": True}
    assert run.documents == [env.document.id]
    assert env.schedules.get(WS, env.workflow.id).last_fire_time == utc(2026, 1, 5, 9)
    # The next day is on time again.
    assert walk(loop, clock, utc(2026, 1, 6, 8, 59), utc(2026, 1, 6, 9, 1)) == [
        (utc(2026, 1, 6, 9), utc(2026, 1, 6, 9), False)]


def test_given_a_fired_time_when_the_process_restarts_then_that_time_never_fires_again(env: Env) -> None:
    env.schedule("0 9 * * *", zone="UTC", at=utc(2026, 1, 1))
    clock = FakeClock(utc(2026, 1, 2, 9))
    assert len(walk(ScheduleLoop(env.ports, env.schedules, clock=clock), clock, clock.now, clock.now)) == 1
    restarted = env.reopen()
    try:
        loop = ScheduleLoop(restarted.ports, restarted.schedules, clock=clock)
        assert walk(loop, clock, utc(2026, 1, 2, 9, 0, 30), utc(2026, 1, 2, 12)) == []
        assert len(restarted.runs()) == 1
    finally:
        restarted.db.close()


def test_given_a_crash_between_start_and_record_when_restarted_then_the_catch_up_replays_the_same_run(
        env: Env) -> None:
    schedule = env.schedule("0 9 * * *", zone="UTC", at=utc(2026, 1, 1))
    first = cases.fire_schedule(env.ports, WS, env.workflow.id, schedule.id, utc(2026, 1, 2, 9))
    assert first.started is not None and not first.started.replayed
    # The crash: last_fire_time never recorded.
    current = env.schedules.get(WS, env.workflow.id)
    env.schedules.save(current.model_copy(update={"last_fire_time": None}))
    restarted = env.reopen()
    try:
        clock = FakeClock(utc(2026, 1, 2, 9, 5))
        (outcome,) = ScheduleLoop(restarted.ports, restarted.schedules, clock=clock).tick()
        assert outcome.started is not None and outcome.started.replayed
        assert outcome.started.execution.id == first.started.execution.id
        assert [r.id for r in restarted.runs()] == [first.started.execution.id]
        assert restarted.schedules.get(WS, env.workflow.id).last_fire_time == utc(2026, 1, 2, 9)
    finally:
        restarted.db.close()


def test_given_a_schedule_changed_after_its_time_when_ticking_then_the_old_time_does_not_fire(env: Env) -> None:
    env.schedule("0 9 * * *", zone="UTC", at=utc(2026, 1, 2, 10))  # created after today's 09:00
    clock = FakeClock(utc(2026, 1, 2, 10, 1))
    assert ScheduleLoop(env.ports, env.schedules, clock=clock).tick() == []


def test_given_a_disabled_workflow_when_due_then_it_is_skipped_recorded_and_not_retried(env: Env) -> None:
    env.schedule("0 9 * * *", zone="UTC", at=utc(2026, 1, 1))
    env.ports.workflows.replace(env.workflow.model_copy(update={"enabled": False, "version": 2}), 1)
    clock = FakeClock(utc(2026, 1, 2, 9))
    loop = ScheduleLoop(env.ports, env.schedules, clock=clock)
    (outcome,) = loop.tick()
    assert outcome.started is None and "disabled" in (outcome.skipped or "")
    assert loop.tick() == []
    assert env.runs() == []


def test_given_a_running_loop_when_stopped_then_it_wakes_from_its_sleep_at_once(env: Env) -> None:
    ticks = threading.Event()

    class Counting(SqliteScheduleRepository):
        def list_enabled(self) -> list[Schedule]:
            ticks.set()
            return super().list_enabled()

    loop = ScheduleLoop(env.ports, Counting(env.db), poll_seconds=3600).start()
    assert ticks.wait(10)
    started = time.monotonic()
    loop.stop()
    assert time.monotonic() - started < 5  # not the hour it was sleeping


# --- use-cases: store and Scheduler in step ----------------------------------------------------

def fields(env: Env, **changes: Any) -> cases.ScheduleFields:
    values: dict[str, Any] = {"cron_expression": "0 9 * * 1-5", "timezone": NY,
                              "input": {"document_id": env.document.id}}
    return cases.ScheduleFields(**{**values, **changes})


def test_given_a_workflow_when_a_second_schedule_is_created_then_409(env: Env) -> None:
    cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    with pytest.raises(Conflict):
        cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))


@pytest.mark.parametrize(("changes", "loc"), [
    ({"input": None}, ["body", "input", "document_id"]),
    ({"input": {"batch": 1}}, ["body", "input", "document_id"]),
    ({"input": {"document_id": "doc_unknown"}}, ["body", "input", "document_id"]),
    ({"input": {"document_ids": []}}, ["body", "input", "document_ids"]),
    ({"cron_expression": "0 9 1 * 1"}, ["body", "cron_expression"]),
    ({"timezone": "Nowhere/City"}, ["body", "timezone"]),
])
def test_given_an_invalid_schedule_when_created_then_422_names_the_field_and_nothing_is_stored(
        env: Env, changes: dict[str, Any], loc: list[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        cases.create_schedule(env.ports, WS, env.workflow.id, fields(env, **changes))
    assert caught.value.details[0]["loc"] == loc
    with pytest.raises(NotFound):
        env.schedules.get(WS, env.workflow.id)


def test_given_a_failing_scheduler_when_creating_then_the_store_write_is_undone(env: Env) -> None:
    env.ports.scheduler = FailingScheduler()
    with pytest.raises(RuntimeError):
        cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    with pytest.raises(NotFound):
        env.schedules.get(WS, env.workflow.id)
    env.ports.scheduler = LocalScheduler()
    cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))  # the retry is a fresh create


def test_given_a_failing_scheduler_when_replacing_then_the_previous_definition_is_restored(env: Env) -> None:
    created = cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    env.ports.scheduler = FailingScheduler()
    with pytest.raises(RuntimeError):
        cases.replace_schedule(env.ports, WS, env.workflow.id, fields(env, cron_expression="*/5 * * * *"))
    stored = env.schedules.get(WS, env.workflow.id)
    assert (stored.id, stored.cron_expression) == (created.id, "0 9 * * 1-5")


def test_given_a_failing_scheduler_when_deleting_then_the_schedule_stays_and_a_retry_converges(env: Env) -> None:
    cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    env.ports.scheduler = FailingScheduler()
    with pytest.raises(RuntimeError):
        cases.delete_schedule(env.ports, WS, env.workflow.id)
    env.schedules.get(WS, env.workflow.id)  # still there: a DELETE retry can reach it
    env.ports.scheduler = LocalScheduler()
    cases.delete_schedule(env.ports, WS, env.workflow.id)
    with pytest.raises(NotFound):
        cases.get_schedule(env.ports, WS, env.workflow.id)


def test_given_a_replaced_schedule_when_read_then_id_created_at_and_last_fire_time_stay(env: Env) -> None:
    created = cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    cases.fire_schedule(env.ports, WS, env.workflow.id, created.id, "2026-01-05T14:00:00Z")
    replaced = cases.replace_schedule(env.ports, WS, env.workflow.id, fields(env, enabled=False))
    assert (replaced.id, replaced.created_at, replaced.enabled) == (created.id, created.created_at, False)
    assert replaced.last_fire_time == utc(2026, 1, 5, 14)


def test_given_one_scheduled_time_delivered_three_times_then_one_run(env: Env) -> None:
    created = cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    outcomes = [cases.fire_schedule(env.ports, WS, env.workflow.id, created.id, when, catch_up=catch_up)
                for when, catch_up in (("2026-01-05T14:00:00Z", False), ("2026-01-05T14:00:00+00:00", False),
                                       (utc(2026, 1, 5, 14), True))]
    assert [o.started.replayed for o in outcomes if o.started] == [False, True, True]
    assert len(env.runs()) == 1 and env.launcher.launched == [env.runs()[0].id] * 3  # relaunch is harmless
    # Another scheduled time is another run.
    cases.fire_schedule(env.ports, WS, env.workflow.id, created.id, "2026-01-06T14:00:00Z")
    assert len(env.runs()) == 2


def test_given_a_deleted_or_replaced_schedule_when_an_old_delivery_arrives_then_nothing_starts(env: Env) -> None:
    created = cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    cases.delete_schedule(env.ports, WS, env.workflow.id)
    assert cases.fire_schedule(env.ports, WS, env.workflow.id, created.id, "2026-01-05T14:00:00Z").started is None
    cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    assert cases.fire_schedule(env.ports, WS, env.workflow.id, created.id, "2026-01-05T14:00:00Z").started is None
    assert env.runs() == []


def test_given_a_workflow_being_deleted_when_its_schedule_is_forgotten_then_it_is_gone_and_twice_is_harmless(
        env: Env) -> None:
    cases.create_schedule(env.ports, WS, env.workflow.id, fields(env))
    cases.forget_schedule(env.ports, WS, env.workflow.id)
    cases.forget_schedule(env.ports, WS, env.workflow.id)
    with pytest.raises(NotFound):
        env.schedules.get(WS, env.workflow.id)
