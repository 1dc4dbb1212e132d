"""The two ExecutionWatch adapters behind GET /v1/executions/{id}?wait=N."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from docflow.adapters.local.execution_watch import ConditionExecutionWatch
from docflow.adapters.local.files import LocalBlobStore
from docflow.adapters.local.sqlite import SqliteDatabase, SqliteExecutionRepository
from docflow.adapters.polling_watch import PollingExecutionWatch
from docflow.domain.models import Execution, ExecutionStatus


def run(revision: int = 0, status: ExecutionStatus = ExecutionStatus.QUEUED) -> Execution:
    return Execution(id="exe_1", workspace_id="ws", workflow_id="wf_1", workflow_version=1, revision=revision,
                     status=status)


def test_given_the_run_settled_before_the_wait_when_waiting_then_it_returns_at_once_for_a_fresh_read() -> None:
    watch = ConditionExecutionWatch()
    watch.saved(run(revision=3, status=ExecutionStatus.COMPLETED))
    # would block a minute if it missed the save; no waiter held the run then, so the caller reads it
    assert watch.wait_settled(run(revision=2, status=ExecutionStatus.PROCESSING), timeout=60) is None


def test_given_a_waiter_when_it_returns_then_the_watch_keeps_no_run_for_it() -> None:
    watch = ConditionExecutionWatch()
    thread = threading.Thread(target=watch.wait_settled, args=(run(revision=1), 60))
    thread.start()
    deadline = time.monotonic() + 10
    while not watch._waiting and time.monotonic() < deadline:  # until the waiter is registered
        time.sleep(0.001)
    watch.saved(run(revision=2, status=ExecutionStatus.FAILED))
    thread.join(10)
    assert not thread.is_alive() and watch._settled == {} and not watch._waiting


def test_given_a_waiter_when_the_run_moves_step_by_step_then_it_wakes_only_once_the_run_settles() -> None:
    watch = ConditionExecutionWatch()
    woke = threading.Event()
    answers: list[Execution | None] = []

    def waiter() -> None:
        answers.append(watch.wait_settled(run(revision=1), timeout=60))
        woke.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    watch.saved(run(revision=2, status=ExecutionStatus.PROCESSING))  # a step ended: still running
    watch.saved(run(revision=3, status=ExecutionStatus.PROCESSING))
    assert not woke.wait(0.05)
    watch.saved(run(revision=4, status=ExecutionStatus.REVIEW))  # waiting for a person: settled
    assert woke.wait(10)
    thread.join()
    assert answers[0] is not None and answers[0].revision == 4 and answers[0].status == ExecutionStatus.REVIEW


def test_given_no_change_when_the_time_is_up_then_wait_returns_none() -> None:
    assert ConditionExecutionWatch().wait_settled(run(), timeout=0.01) is None


def test_given_a_store_when_polled_then_the_run_read_once_it_settled_ends_the_wait(tmp_path: Path) -> None:
    repo = SqliteExecutionRepository(SqliteDatabase(tmp_path / "db.sqlite"),
                                     LocalBlobStore(tmp_path / "files", "http://x", b"0123456789abcdef"))
    stored = repo.add(run())
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        current = repo.get("ws", "exe_1")
        if len(sleeps) == 2:  # the run starts: not yet an answer
            repo.save(current.model_copy(update={"status": ExecutionStatus.PROCESSING}))
        if len(sleeps) == 4:  # and ends
            repo.save(current.model_copy(update={"status": ExecutionStatus.COMPLETED}))

    settled = PollingExecutionWatch(repo, sleep=sleep).wait_settled(stored, timeout=60)
    assert settled is not None and settled.status == ExecutionStatus.COMPLETED and settled.revision == 2
    assert len(sleeps) == 4 and sleeps[0] == 0.1 and sleeps[1] < sleeps[2] < sleeps[3] <= 1.0


def test_given_a_store_when_the_run_never_settles_then_the_poll_ends_at_the_timeout(tmp_path: Path) -> None:
    repo = SqliteExecutionRepository(SqliteDatabase(tmp_path / "db.sqlite"),
                                     LocalBlobStore(tmp_path / "files", "http://x", b"0123456789abcdef"))
    stored = repo.add(run())
    assert PollingExecutionWatch(repo, first=0.01, most=0.02).wait_settled(stored, timeout=0.1) is None


def test_given_a_run_that_settled_and_ran_on_before_the_watch_looked_when_waited_then_the_wait_goes_on(
        tmp_path: Path) -> None:
    """A review answered between the read and the wait: the watch says "read again", the store
    shows the run processing again, and ?wait keeps waiting for it to settle."""
    from docflow.usecases.executions import wait_for_execution

    repo = SqliteExecutionRepository(SqliteDatabase(tmp_path / "db.sqlite"),
                                     LocalBlobStore(tmp_path / "files", "http://x", b"0123456789abcdef"))
    repo.add(run(status=ExecutionStatus.PROCESSING))
    answers: list[Execution | None] = [None]  # first: lost track (read again); then the settled run

    class Watch:
        def wait_settled(self, execution: Execution, timeout: float) -> Execution | None:
            if answers:
                return answers.pop()
            return repo.save(repo.get("ws", "exe_1").model_copy(update={"status": ExecutionStatus.COMPLETED}))

    class Ports:
        executions, execution_watch = repo, Watch()

    done = wait_for_execution(Ports(), "ws", "exe_1", 20)  # type: ignore[arg-type]
    assert done.status == ExecutionStatus.COMPLETED and not answers
