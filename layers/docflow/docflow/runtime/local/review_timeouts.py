"""Local mode's twin of the state machine's TimeoutSeconds on a review wait: a thread of `docflow
serve` that expires review tasks past their due time through the same `expire_review` as the AWS
timeout path. The due time is stored with each task, so a wait that ran out while the server was
down ends at the first tick after the restart."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from docflow.domain.clock import utc_now
from docflow.ports import DueReviews, Ports
from docflow.runtime.local.ticking import TickLoop
from docflow.usecases.reviews import expire_due

log = logging.getLogger("docflow.reviews")


class ReviewTimeoutLoop(TickLoop):
    thread_name = "docflow-review-timeouts"

    def __init__(self, ports: Ports, due: DueReviews, *, clock: Callable[[], datetime] = utc_now,
                 poll_seconds: float = 1.0) -> None:
        super().__init__(poll_seconds, log)
        self._ports, self._due = ports, due
        self.clock = clock  # injectable: tests move time

    def tick(self) -> int:
        """Expires what is due now; returns how many tasks it ended."""
        return expire_due(self._ports, self._due, self.clock())
