"""Stopping local mode while a response is being flushed: waitress's task threads pull the same
trigger to wake the loop, and such a wake-up may run the stop thunk before the stop's own write to
the trigger pipe (seen in CI as EBADF from `server.stop()` after the generated-client test)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from docflow_testing import start_local


def test_given_a_wakeup_between_queuing_the_stop_and_pulling_the_trigger_when_stopped_then_it_stops_cleanly(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = start_local(tmp_path / "data")
    trigger = server._server.trigger
    pull = trigger._physical_pull

    def wakeup_first() -> None:
        # What a task thread finishing a response does: a byte on the pipe, and the loop reading it.
        os.write(trigger.trigger, b"x")
        racer = threading.Thread(target=trigger.handle_read)
        racer.start()
        racer.join(timeout=0.5)
        pull()

    monkeypatch.setattr(trigger, "_physical_pull", wakeup_first)
    server.stop()
    assert trigger._closed
