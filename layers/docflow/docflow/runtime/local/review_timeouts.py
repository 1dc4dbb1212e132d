"""Local mode's twin of the state machine's TimeoutSeconds on a review wait: a thread of `docflow
serve` that expires review tasks past their due time through the same `expire_review` as the AWS
timeout path. The due time is stored with each task, so a wait that ran out while the server was
down ends at the first tick after the restart."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from docflow.domain.clock import utc_now
from docflow.ports import DueReviews, Ports
from docflow.usecases.reviews import expire_due

log = logging.getLogger("docflow.reviews")


class ReviewTimeoutLoop:
    def __init__(self, ports: Ports, due: DueReviews, *, clock: Callable[[], datetime] = utc_now,
                 poll_seconds: float = 1.0) -> None:
        self._ports, self._due = ports, due
        self.clock = clock  # injectable: tests move time
        self._poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Expires what is due now; returns how many tasks it ended."""
        return expire_due(self._ports, self._due, self.clock())

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:  # e.g. the database busy: keep the loop alive, retried next tick
                log.exception("review timeout tick failed")
            if self._stopping.wait(self._poll_seconds):
                break

    def start(self) -> ReviewTimeoutLoop:
        if self._thread is None:
            self._thread = threading.Thread(target=self.run, name="docflow-review-timeouts", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
