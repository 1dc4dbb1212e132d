"""Local mode's ExecutionWatch: a condition variable the execution store signals on every save,
so `GET /v1/executions/{id}?wait=N` answers the moment a run moves on (never a sleep loop)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from docflow.domain.models import Execution

_REMEMBERED = 10_000  # latest revisions kept (newest runs); an older run's waiter reads the store again


class ConditionExecutionWatch:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._revisions: OrderedDict[str, int] = OrderedDict()

    def saved(self, execution: Execution) -> None:
        """The store's hook: `execution` was just saved at its new revision."""
        with self._changed:
            self._revisions[execution.id] = execution.revision
            self._revisions.move_to_end(execution.id)
            while len(self._revisions) > _REMEMBERED:
                self._revisions.popitem(last=False)
            self._changed.notify_all()

    def wait(self, execution: Execution, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._revisions.get(execution.id, execution.revision) <= execution.revision:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(left)
