"""The shape of local mode's background loops (the schedule loop, the review timeout loop): a
daemon thread that calls `tick()` every `poll_seconds` until stopped, and survives a failing tick
(a busy database, say: what was due stays due and is retried at the next one)."""

from __future__ import annotations

import logging
import threading
from typing import Any, Self


class TickLoop:
    thread_name = "docflow-loop"

    def __init__(self, poll_seconds: float, log: logging.Logger) -> None:
        self._poll_seconds = poll_seconds
        self._log = log
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> Any:
        raise NotImplementedError

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                self._log.exception("%s: tick failed", self.thread_name)
            if self._stopping.wait(self._poll_seconds):  # wakes at once on stop()
                break

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
