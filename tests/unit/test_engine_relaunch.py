"""The local engine drives one run with one worker; a launch that arrives while that worker is
still returning (a review answered right after the run parked) must not be lost."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from docflow.domain.models import Execution
from docflow.runtime.engine import LocalEngine
from docflow.usecases import run


def test_given_a_run_launched_again_while_its_worker_returns_then_it_is_driven_once_more(
        monkeypatch: pytest.MonkeyPatch) -> None:
    first_running, release_first, second_ran = threading.Event(), threading.Event(), threading.Event()
    drives: list[str] = []

    def begin(ports: Any, workspace_id: str, execution_id: str) -> run.Progress:
        drives.append(execution_id)
        if len(drives) == 1:
            first_running.set()
            assert release_first.wait(10)
        else:
            second_ran.set()
        return run.Progress(workspace_id, execution_id, None)  # parked or done: the worker returns

    monkeypatch.setattr(run, "begin", begin)
    engine = LocalEngine(workers=2)
    engine.attach(object(), object())  # type: ignore[arg-type]  # begin is replaced: no store is read
    execution = Execution(workflow_id="wf_1", workflow_version=1, workspace_id="w")
    try:
        engine.launch(execution)
        assert first_running.wait(10)
        engine.launch(execution)  # the answer's relaunch, while the first worker still holds the run
        assert not second_ran.is_set()  # never two workers on one run
        release_first.set()
        assert second_ran.wait(10), "the relaunch was dropped"
        assert drives == [execution.id, execution.id]
    finally:
        release_first.set()
        engine.shutdown()
