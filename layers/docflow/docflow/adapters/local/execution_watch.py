"""Local mode's ExecutionWatch: a condition variable the execution store signals on every save,
so `GET /v1/executions/{id}?wait=N` answers the moment a run settles (never a sleep loop), with
the execution as it was saved: the waiter neither wakes at each step nor reads the store again."""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict

from docflow.domain.models import Execution, ExecutionStatus

_REMEMBERED = 10_000  # latest revisions kept (newest runs); an older run's waiter reads the store again
RUNNING = (ExecutionStatus.QUEUED, ExecutionStatus.PROCESSING)


class ConditionExecutionWatch:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._revisions: OrderedDict[str, int] = OrderedDict()  # of runs saved settled
        self._waiting: Counter[str] = Counter()  # waiters per run
        self._settled: dict[str, Execution] = {}  # handed to the waiters of a run, while it has any

    def saved(self, execution: Execution) -> None:
        """The store's hook: `execution` was just saved at its new revision."""
        if execution.status in RUNNING:
            return  # nobody is told about a step: waiters wait for the run to settle
        with self._changed:
            self._revisions[execution.id] = execution.revision
            self._revisions.move_to_end(execution.id)
            while len(self._revisions) > _REMEMBERED:
                self._revisions.popitem(last=False)
            if self._waiting[execution.id]:
                self._settled[execution.id] = execution
                self._changed.notify_all()

    def wait_settled(self, execution: Execution, timeout: float) -> Execution | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            self._waiting[execution.id] += 1
            try:
                while self._revisions.get(execution.id, execution.revision) <= execution.revision:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    self._changed.wait(left)
                # settled since it was read: saved while this waiter waited, or just before (read again)
                return self._settled.get(execution.id)
            finally:
                self._waiting[execution.id] -= 1
                if not self._waiting[execution.id]:
                    del self._waiting[execution.id]
                    self._settled.pop(execution.id, None)
