"""The execution status machine: queued → processing → (review ⇄ processing)* → final."""

from __future__ import annotations

from datetime import datetime

from docflow.domain.errors import IllegalTransition
from docflow.domain.models import Execution, ExecutionStatus, StatusChange

S = ExecutionStatus
ALLOWED: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    S.QUEUED: frozenset({S.PROCESSING, S.FAILED, S.CANCELED}),
    S.PROCESSING: frozenset({S.REVIEW, S.COMPLETED, S.FAILED, S.CANCELED}),
    S.REVIEW: frozenset({S.PROCESSING, S.FAILED, S.CANCELED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
}


def can_move(current: ExecutionStatus, target: ExecutionStatus) -> bool:
    return target in ALLOWED[current]


def move(execution: Execution, target: ExecutionStatus, at: datetime, message: str | None = None) -> Execution:
    """A copy of `execution` in status `target`, with the change appended to its history."""
    if not can_move(execution.status, target):
        raise IllegalTransition(
            f"execution {execution.id} is {execution.status.value} and cannot become {target.value}",
            details=[{"from": execution.status.value, "to": target.value}],
        )
    changes: dict[str, object] = {
        "status": target,
        "status_history": [*execution.status_history, StatusChange(status=target, time=at, message=message)],
        "updated_at": at,
    }
    if target == S.PROCESSING and execution.start_time is None:
        changes["start_time"] = at
    if target.is_final:
        changes["end_time"] = at
    return execution.model_copy(update=changes)
