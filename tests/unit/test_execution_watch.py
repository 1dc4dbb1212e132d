"""The two ExecutionWatch adapters behind GET /v1/executions/{id}?wait=N."""

from __future__ import annotations

import threading
from pathlib import Path

from docflow.adapters.local.execution_watch import ConditionExecutionWatch
from docflow.adapters.local.files import LocalBlobStore
from docflow.adapters.local.sqlite import SqliteDatabase, SqliteExecutionRepository
from docflow.adapters.polling_watch import PollingExecutionWatch
from docflow.domain.models import Execution, ExecutionStatus


def run(revision: int = 0) -> Execution:
    return Execution(id="exe_1", workspace_id="ws", workflow_id="wf_1", workflow_version=1, revision=revision)


def test_given_a_newer_revision_saved_when_waiting_then_it_returns_at_once() -> None:
    watch = ConditionExecutionWatch()
    watch.saved(run(revision=3))
    watch.wait(run(revision=2), timeout=60)  # would block a minute if it missed the save


def test_given_a_waiter_when_another_thread_saves_the_run_then_the_waiter_wakes() -> None:
    watch = ConditionExecutionWatch()
    woke = threading.Event()

    def waiter() -> None:
        watch.wait(run(revision=1), timeout=60)
        woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    watch.saved(run(revision=1))  # the same revision: not a change
    assert not woke.wait(0.05)
    watch.saved(run(revision=2))
    assert woke.wait(10)
    thread.join()


def test_given_no_change_when_the_time_is_up_then_wait_returns() -> None:
    ConditionExecutionWatch().wait(run(), timeout=0.01)


def test_given_a_store_when_polled_then_a_saved_change_ends_the_wait(tmp_path: Path) -> None:
    repo = SqliteExecutionRepository(SqliteDatabase(tmp_path / "db.sqlite"),
                                     LocalBlobStore(tmp_path / "files", "http://x", b"0123456789abcdef"))
    stored = repo.add(run())
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:  # the run moves on while the watch sleeps
            repo.save(repo.get("ws", "exe_1").model_copy(update={"status": ExecutionStatus.PROCESSING}))

    PollingExecutionWatch(repo, sleep=sleep).wait(stored, timeout=60)
    assert len(sleeps) == 3 and sleeps[0] == 0.1 and sleeps[1] < sleeps[2] <= 1.0
