"""Local mode's step worker processes (adapters.compute.ProcessCompute), with real processes."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import worker_jobs

from docflow.adapters.compute import ProcessCompute, WorkersStopped
from docflow.domain.errors import DocumentCorrupt, StepWorkerLost


@pytest.fixture
def compute() -> Iterator[ProcessCompute]:
    pool = ProcessCompute(2)
    try:
        yield pool
    finally:
        pool.close()


def test_given_a_job_when_run_then_its_answer_comes_back_from_another_process(compute: ProcessCompute) -> None:
    payload = {"pages": [b"%PDF-1.7" * 1000, "text"], "n": 3}
    assert compute.run(worker_jobs.echo, payload) == payload
    assert compute.run(worker_jobs.worker_pid) != os.getpid()


def test_given_a_step_that_refuses_its_input_when_run_then_the_same_error_is_raised_with_the_worker_traceback(
        compute: ProcessCompute) -> None:
    with pytest.raises(DocumentCorrupt, match="cross-reference table is damaged") as refused:
        compute.run(worker_jobs.refuse_document)
    assert refused.value.code == "document_corrupt"
    assert "refuse_document" in str(refused.value.__cause__)  # where in the worker it happened
    with pytest.raises(ZeroDivisionError):
        compute.run(worker_jobs.divide_by_zero)
    with pytest.raises(RuntimeError, match="could not be sent back"):
        compute.run(worker_jobs.unpicklable_answer)
    assert compute.run(worker_jobs.echo, 7) == 7  # errors leave the workers usable


def test_given_a_worker_that_dies_mid_step_when_run_then_that_step_fails_and_the_next_job_gets_a_new_worker(
        compute: ProcessCompute) -> None:
    lost_pid = compute.run(worker_jobs.worker_pid)  # one caller at a time: always the one worker started
    with pytest.raises(StepWorkerLost, match=r"exit code 9") as lost:
        compute.run(worker_jobs.crash, 9)
    assert lost.value.code == "step_worker_lost"
    assert not Path(f"/proc/{lost_pid}").exists()  # ended and reaped
    assert compute.run(worker_jobs.worker_pid) != lost_pid  # a new worker took its place
    assert all(compute.run(worker_jobs.echo, i) == i for i in range(4))


def test_given_more_callers_than_workers_when_run_together_then_each_waits_for_a_free_worker(
        compute: ProcessCompute) -> None:
    answers: list[int] = []

    def call() -> None:
        answers.append(compute.run(worker_jobs.hold, 0.2))

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4 and len(set(answers)) == 2  # two processes, never a third
    assert time.monotonic() - started >= 0.4  # two rounds of two


def test_given_warm_when_called_then_every_worker_is_started_before_the_first_job(compute: ProcessCompute) -> None:
    others = set(multiprocessing.active_children())  # of other tests in this process, if any
    compute.warm()
    assert len(set(multiprocessing.active_children()) - others) == 2
    assert compute.run(worker_jobs.echo, "warm") == "warm"
    assert len(set(multiprocessing.active_children()) - others) == 2  # the job started no third


def test_given_the_server_is_killed_when_its_workers_notice_then_they_exit(tmp_path: Path) -> None:
    script = tmp_path / "server.py"
    script.write_text(
        "import os, sys\n"
        f"sys.path[:0] = {[str(Path(worker_jobs.__file__).parent)]!r}\n"
        "import worker_jobs\n"
        "from docflow.adapters.compute import ProcessCompute\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessCompute(1)\n"
        "    print(pool.run(worker_jobs.worker_pid), flush=True)\n"
        "    os._exit(0)  # like kill -9: nothing is cleaned up\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
    worker = int(done.stdout.strip())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}").exists() and _state(worker) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{worker}").exists() or _state(worker) == "Z"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def test_given_the_workers_closed_when_warmed_or_run_then_warm_is_quiet_and_a_job_is_refused() -> None:
    pool = ProcessCompute(1)
    pool.close()
    pool.warm()  # a server stopping while it warms up: nothing to do, no error
    with pytest.raises(WorkersStopped):
        pool.run(worker_jobs.echo, 1)


def test_given_a_worker_killed_while_idle_when_warmed_again_then_the_others_are_kept_and_its_place_refilled(
        compute: ProcessCompute) -> None:
    others = set(multiprocessing.active_children())
    compute.warm()
    victim = next(iter(set(multiprocessing.active_children()) - others))
    victim.kill()
    victim.join(10)
    with pytest.raises(StepWorkerLost):
        compute.warm()  # the dead one's pipe refuses the job; the live one still answers and is given back
    answers: list[int] = []
    threads = [threading.Thread(target=lambda: answers.append(compute.run(worker_jobs.hold, 0.3))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(set(answers)) == 2 and victim.pid not in answers  # full capacity again, with a new worker
