"""Human review: the task a `review` step leaves for a person, and the pure rules about it
(which fields a person sees, when a step may pass without one, what a correction must look like,
who may act on a task and when). Storage is the ReviewRepository port; the flow is usecases/reviews.py."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from docflow.domain.clock import stable_id
from docflow.domain.errors import Conflict, ValidationFailed
from docflow.domain.extraction import FieldType
from docflow.domain.models import Record

OnTimeout = Literal["fail", "approve"]
# How long a claim hides a task from other reviewers' queues.
CLAIM_TTL = timedelta(minutes=15)


class ReviewStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Reviewer(Record):
    """Who acted: the API key's id and name."""

    key_id: str
    name: str


class ReviewField(Record):
    name: str
    type: FieldType = "string"
    required: bool = False
    predicted: Any = None
    confidence: float = 0.0
    page: int | None = None
    # x0, top, x1, bottom in the page's coordinates (PDF points, origin top-left), as extracted.
    bbox: list[float] | None = None
    # The document text the value was read from (untrusted: shown escaped).
    source_text: str | None = None


class ReviewTask(Record):
    id: str
    workspace_id: str
    workflow_id: str
    execution_id: str
    step_id: str
    document_id: str | None = None
    status: ReviewStatus = ReviewStatus.PENDING
    fields: list[ReviewField] = Field(default_factory=list)
    on_timeout: OnTimeout = "fail"
    # The step's auto-approve threshold: fields below it are the ones a person should look at first.
    confidence_threshold: float | None = None
    created_at: datetime
    due_at: datetime
    claimed_by: Reviewer | None = None
    claimed_until: datetime | None = None
    completed_by: Reviewer | None = None
    completed_at: datetime | None = None
    # The values a person confirmed (completed), and the names of those they changed.
    values: dict[str, Any] | None = None
    changed_fields: list[str] = Field(default_factory=list)
    reason: str | None = None
    # AWS only: the Step Functions task token the run waits on (never shown by the API).
    task_token: str | None = None
    # Optimistic locking: every save is conditional on the revision it read.
    revision: int = 0

    def claimed_by_other(self, key_id: str | None, now: datetime) -> Reviewer | None:
        """The reviewer whose live claim hides this task from `key_id`, if any."""
        if self.claimed_by is None or self.claimed_until is None or self.claimed_until <= now:
            return None
        return None if self.claimed_by.key_id == key_id else self.claimed_by

    def predicted_values(self) -> dict[str, Any]:
        return {f.name: f.predicted for f in self.fields}


def review_id(workspace_id: str, execution_id: str, step_id: str) -> str:
    """One task per (run, step): a retried step stores the same task, never a second one."""
    return stable_id("rev", f"{workspace_id}/{execution_id}/{step_id}")


def auto_approvable(fields: list[ReviewField], threshold: float | None) -> bool:
    """Every field at or above the threshold, and every required field has a value."""
    if threshold is None:
        return False
    return all(f.confidence >= threshold and not (f.required and _empty(f.predicted)) for f in fields)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


# --- corrections ---------------------------------------------------------------------------

def corrected_values(task: ReviewTask, submitted: dict[str, Any]) -> dict[str, Any]:
    """The task's values with a person's corrections applied: fields not submitted keep their
    prediction. ValidationFailed names every bad field (unknown, wrong type, required but empty)."""
    by_name = {f.name: f for f in task.fields}
    problems: list[dict[str, Any]] = []
    values = task.predicted_values()
    for name, value in submitted.items():
        spec = by_name.get(name)
        if spec is None:
            problems.append({"loc": ["body", "values", name], "field": name,
                             "msg": f"'{name}' is not a field of this review; fields: {', '.join(by_name) or 'none'}"})
            continue
        checked = _typed(spec, value)
        if isinstance(checked, _Bad):
            problems.append({"loc": ["body", "values", name], "field": name, "msg": checked.message})
        else:
            values[name] = checked
    for spec in task.fields:
        if spec.required and _empty(values.get(spec.name)) and spec.name not in {p["field"] for p in problems}:
            problems.append({"loc": ["body", "values", spec.name], "field": spec.name,
                             "msg": f"'{spec.name}' is required and has no value"})
    if problems:
        names = ", ".join(p["field"] for p in problems)
        raise ValidationFailed(f"invalid review values: {names}", details=problems)
    return values


class _Bad:
    def __init__(self, message: str) -> None:
        self.message = message


def _typed(spec: ReviewField, value: Any) -> Any:
    """The value as stored for the field's type, or _Bad saying what was expected."""
    if value is None:
        return None
    if spec.type in ("number", "currency"):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            return _Bad(f"'{spec.name}' must be a number (a {spec.type} field), got {_kind(value)}")
        return value
    if spec.type == "boolean":
        return value if isinstance(value, bool) else _Bad(f"'{spec.name}' must be true or false, got {_kind(value)}")
    if spec.type == "date":
        if not isinstance(value, str):
            return _Bad(f"'{spec.name}' must be a date as YYYY-MM-DD, got {_kind(value)}")
        try:
            return date.fromisoformat(value).isoformat() if len(value) == 10 else _Bad(
                f"'{spec.name}' must be a date as YYYY-MM-DD, got '{value[:40]}'")
        except ValueError:
            return _Bad(f"'{spec.name}' must be a date as YYYY-MM-DD, got '{value[:40]}'")
    if spec.type == "list":
        if not isinstance(value, list) or not (all(isinstance(v, str) for v in value)
                                               or all(isinstance(v, dict) for v in value)):
            return _Bad(f"'{spec.name}' must be a list of strings or of objects (line items), got {_kind(value)}")
        return value
    return value if isinstance(value, str) else _Bad(f"'{spec.name}' must be a string, got {_kind(value)}")


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def changed_fields(task: ReviewTask, values: dict[str, Any]) -> list[str]:
    return [f.name for f in task.fields if values.get(f.name) != f.predicted]


# --- who may act, and when -------------------------------------------------------------------

def ensure_open(task: ReviewTask, now: datetime) -> None:
    """Conflict (409) unless the task still waits for an answer: a task ends once."""
    if task.status != ReviewStatus.PENDING:
        raise Conflict(f"review {task.id} is already {task.status.value}",
                       details=[{"status": task.status.value}])
    if now >= task.due_at:
        raise Conflict(f"review {task.id} expired at {task.due_at.isoformat()}",
                       details=[{"status": ReviewStatus.EXPIRED.value, "due_at": task.due_at.isoformat()}])


def ensure_not_claimed_by_other(task: ReviewTask, key_id: str | None, now: datetime) -> None:
    other = task.claimed_by_other(key_id, now)
    if other is not None:
        until = task.claimed_until.isoformat() if task.claimed_until else ""
        raise Conflict(f"review {task.id} is claimed by '{other.name}' until {until}",
                       details=[{"claimed_by": other.model_dump(), "claimed_until": until}])
