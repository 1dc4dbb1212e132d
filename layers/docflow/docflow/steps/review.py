"""The `review` step: a person checks the values before the run goes on (DESIGN.md §2).

The executor only decides: pass without a person when every field is at or above
`confidence_threshold` (and every required field has a value), else ask for one (`Wait`). Storing
the task, parking the run and resuming it are the use-cases' (usecases/run.py, usecases/reviews.py),
so the local engine and the state machine share them."""

from __future__ import annotations

import json
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from docflow.domain.reviews import FieldType, ReviewField, auto_approvable
from docflow.steps.base import StepKind, StepResult, StepRun, Wait


class ReviewConfig(BaseModel):
    """Configuration of a `review` step."""

    model_config = ConfigDict(extra="forbid")

    fields: list[str] | None = Field(
        default=None, min_length=1,
        description="Only these fields are reviewed (default: every value the run has so far).")
    confidence_threshold: float | None = Field(
        default=None, ge=0, le=1,
        description="Pass without a person when every reviewed field's confidence is at or above this.")
    timeout_hours: float = Field(default=72, gt=0, le=24 * 365,
                                 description="How long the task waits for a person.")
    on_timeout: Literal["fail", "approve"] = Field(
        default="fail", description="On timeout: fail the run (review_timeout) or go on with the predicted values.")

    @field_validator("fields")
    @classmethod
    def _unique(cls, names: list[str] | None) -> list[str] | None:
        if names is not None and len(set(names)) != len(names):
            raise ValueError("field names must be unique")
        return names

    @property
    def timeout_seconds(self) -> int:
        return max(1, math.ceil(self.timeout_hours * 3600))


def review_fields(values: dict[str, Any], confidence: dict[str, float], details: dict[str, dict[str, Any]],
                  names: list[str] | None) -> list[ReviewField]:
    fields: list[ReviewField] = []
    for name in names if names is not None else list(values):
        detail = details.get(name, {})
        value = values.get(name)
        fields.append(ReviewField(
            name=name, type=detail.get("type") or _type_of(value), required=bool(detail.get("required", False)),
            predicted=value, confidence=float(confidence.get(name, 0.0 if value is None else 1.0)),
            page=detail.get("page"), bbox=detail.get("bbox"), source_text=detail.get("source_text")))
    return fields


def _type_of(value: Any) -> FieldType:
    """The type of a value no extract step declared (a transform's, say)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "list"
    return "string"


def _execute(run: StepRun, config: ReviewConfig) -> StepResult:
    values, confidence = run.values()
    fields = review_fields(values, confidence, run.field_details(), config.fields)
    counts = {"fields": len(fields), "threshold": config.confidence_threshold}
    if auto_approvable(fields, config.confidence_threshold):
        output = {"values": values, "confidence": confidence,
                  "review": {"outcome": "auto_approved", "predicted": {f.name: f.predicted for f in fields},
                             "changed_fields": []}}
        return StepResult(json.dumps(output).encode(), summary={
            **counts, "outcome": "auto_approved",
            "message": f"every field at or above confidence {config.confidence_threshold}: no person needed"})
    return StepResult(b"", summary=counts, wait=Wait(fields=fields, timeout_seconds=config.timeout_seconds,
                                                     on_timeout=config.on_timeout,
                                                     confidence_threshold=config.confidence_threshold))


def _wait_seconds(config: ReviewConfig) -> int:
    return config.timeout_seconds


STEP = StepKind("review", ReviewConfig, "wait", _execute,
                description="a person checks the values in the review page; passes alone above a confidence",
                wait_seconds=_wait_seconds)
