"""An ExecutionWatch for stores that cannot signal (DynamoDB on AWS): it reads the execution
again at a short, growing interval until it has left queued/processing or the time is up. Bounded by the
caller's timeout, which stays under API Gateway's 30 s limit (GET /v1/executions/{id}?wait=20)."""

from __future__ import annotations

import time
from collections.abc import Callable

from docflow.domain.models import Execution, ExecutionStatus
from docflow.ports import ExecutionRepository


class PollingExecutionWatch:
    def __init__(self, executions: ExecutionRepository, *, first: float = 0.1, most: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._executions = executions
        self._first, self._most, self._sleep = first, most, sleep

    def wait_settled(self, execution: Execution, timeout: float) -> Execution | None:
        deadline = time.monotonic() + timeout
        interval = self._first
        while (left := deadline - time.monotonic()) > 0:
            self._sleep(min(interval, left))
            current = self._executions.get(execution.workspace_id, execution.id)
            if current.status not in (ExecutionStatus.QUEUED, ExecutionStatus.PROCESSING):
                return current
            interval = min(interval * 1.5, self._most)  # a GetItem every second at most, once it settles
        return None
