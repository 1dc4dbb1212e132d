"""The ScheduleRepository contract, run against DynamoDB (moto) and SQLite by the `store` fixture:
one schedule per workflow, revision-checked saves, workspace-scoped reads."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from docflow.domain.errors import Conflict, NotFound
from docflow.domain.schedules import Schedule
from docflow.ports import ScheduleRepository

if TYPE_CHECKING:
    from conftest import Store

WS, OTHER = "ws_alpha", "ws_beta"


def repo(store: Store) -> ScheduleRepository:
    assert store.schedules is not None
    return store.schedules


def make(ws: str = WS, workflow_id: str = "wf_one", **changes: object) -> Schedule:
    return Schedule(workspace_id=ws, workflow_id=workflow_id, cron_expression="30 2 * * *",
                    timezone="America/New_York", input={"document_id": "doc_1", "ratio": 0.1}, **changes)


def test_given_a_schedule_when_added_then_it_reads_back_whole(store: Store) -> None:
    schedule = make(last_fire_time=datetime(2026, 3, 9, 6, 30, tzinfo=UTC))
    repo(store).add(schedule)
    assert repo(store).get(WS, "wf_one") == schedule


def test_given_a_workflow_with_a_schedule_when_a_second_is_added_then_conflict_names_workflow_id(
        store: Store) -> None:
    repo(store).add(make())
    with pytest.raises(Conflict) as caught:
        repo(store).add(make())
    assert "wf_one" in caught.value.message
    assert caught.value.details[0]["loc"] == ["path", "workflow_id"]


def test_given_another_workspace_when_reading_then_not_found(store: Store) -> None:
    repo(store).add(make())
    with pytest.raises(NotFound):
        repo(store).get(OTHER, "wf_one")
    with pytest.raises(NotFound):
        repo(store).delete(OTHER, "wf_one")
    repo(store).add(make(OTHER))  # the same workflow id in another workspace is another key
    assert repo(store).get(WS, "wf_one").workspace_id == WS


def test_given_a_read_schedule_when_saved_then_revision_moves_and_a_stale_save_conflicts(store: Store) -> None:
    first = repo(store).add(make())
    saved = repo(store).save(first.model_copy(update={"enabled": False}))
    assert saved.revision == first.revision + 1
    assert repo(store).get(WS, "wf_one") == saved
    with pytest.raises(Conflict):
        repo(store).save(first.model_copy(update={"cron_expression": "0 9 * * *"}))
    assert repo(store).get(WS, "wf_one").cron_expression == "30 2 * * *"


def test_given_no_schedule_when_saved_or_deleted_then_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        repo(store).save(make())
    with pytest.raises(NotFound):
        repo(store).delete(WS, "wf_one")


def test_given_a_schedule_when_deleted_then_it_is_gone_and_can_be_created_again(store: Store) -> None:
    repo(store).add(make())
    repo(store).delete(WS, "wf_one")
    with pytest.raises(NotFound):
        repo(store).get(WS, "wf_one")
    repo(store).add(make())


def test_given_concurrent_savers_of_one_revision_when_racing_then_exactly_one_wins(store: Store) -> None:
    base = repo(store).add(make())
    wins: list[int] = []
    conflicts: list[int] = []
    barrier = threading.Barrier(4)

    def save(i: int) -> None:
        barrier.wait()
        try:
            repo(store).save(base.model_copy(update={"input": {"document_id": f"doc_{i}"}}))
            wins.append(i)
        except Conflict:
            conflicts.append(i)

    threads = [threading.Thread(target=save, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(conflicts) == 3
    assert repo(store).get(WS, "wf_one").input == {"document_id": f"doc_{wins[0]}"}


def test_given_enabled_and_disabled_schedules_when_the_local_loop_lists_then_only_enabled_come(
        tmp_path: Path) -> None:
    """SQLite only: on AWS, EventBridge Scheduler holds the timetable (no cross-workspace list)."""
    from docflow.adapters.local.sqlite import SqliteDatabase
    from docflow.adapters.local.sqlite_schedules import SqliteScheduleRepository

    local = SqliteScheduleRepository(SqliteDatabase(tmp_path / "db.sqlite3"))
    local.add(make(WS, "wf_a"))
    local.add(make(OTHER, "wf_b"))
    off = local.add(make(WS, "wf_c", enabled=False))
    assert {s.workflow_id for s in local.list_enabled()} == {"wf_a", "wf_b"}
    local.save(off.model_copy(update={"enabled": True}))
    assert {s.workflow_id for s in local.list_enabled()} == {"wf_a", "wf_b", "wf_c"}
