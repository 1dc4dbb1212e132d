"""Request and response bodies of /v1/reviews."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from docflow.api.schemas import RequestBody
from docflow.domain.clock import iso
from docflow.domain.reviews import FieldType, Reviewer, ReviewStatus, ReviewTask

# Fields below this (when the step set no threshold) are the ones the page lists first.
DEFAULT_ATTENTION_THRESHOLD = 0.8


class ReviewerOut(BaseModel):
    key_id: str = Field(description="The API key that acted (key_…)")
    name: str = Field(description="That key's name")


class ReviewFieldOut(BaseModel):
    name: str
    type: FieldType
    required: bool
    predicted: Any = Field(description="The value the steps before the review produced")
    confidence: float = Field(ge=0, le=1)
    low_confidence: bool = Field(description="Below the step's confidence_threshold (or 0.8): check it first")
    page: int | None = Field(description="1-based page the value was read on")
    bbox: list[float] | None = Field(description="x0, top, x1, bottom on that page, in the page's coordinates "
                                                 "(the `width` and `height` of `pages`, origin top-left)")
    source_text: str | None = Field(description="The document text the value was read from")


class ReviewOut(BaseModel):
    id: str
    workflow_id: str
    execution_id: str
    step_id: str
    document_id: str | None
    status: ReviewStatus
    fields: list[ReviewFieldOut]
    confidence_threshold: float | None
    on_timeout: str
    created_at: str
    due_at: str
    claimed_by: ReviewerOut | None
    claimed_until: str | None
    completed_by: ReviewerOut | None
    completed_at: str | None
    values: dict[str, Any] | None = Field(description="What the reviewer confirmed (status completed)")
    changed_fields: list[str] = Field(description="Fields whose confirmed value differs from the prediction")
    reason: str | None = Field(description="Why it was rejected")

    @classmethod
    def of(cls, task: ReviewTask) -> ReviewOut:
        threshold = task.confidence_threshold if task.confidence_threshold is not None else DEFAULT_ATTENTION_THRESHOLD
        return cls(
            id=task.id, workflow_id=task.workflow_id, execution_id=task.execution_id, step_id=task.step_id,
            document_id=task.document_id, status=task.status,
            fields=[ReviewFieldOut(name=f.name, type=f.type, required=f.required, predicted=f.predicted,
                                   confidence=f.confidence, low_confidence=f.confidence < threshold, page=f.page,
                                   bbox=f.bbox, source_text=f.source_text) for f in task.fields],
            confidence_threshold=task.confidence_threshold, on_timeout=task.on_timeout,
            created_at=iso(task.created_at) or "", due_at=iso(task.due_at) or "",
            claimed_by=_reviewer(task.claimed_by), claimed_until=iso(task.claimed_until),
            completed_by=_reviewer(task.completed_by), completed_at=iso(task.completed_at),
            values=task.values, changed_fields=task.changed_fields, reason=task.reason)


def _reviewer(reviewer: Reviewer | None) -> ReviewerOut | None:
    return None if reviewer is None else ReviewerOut(key_id=reviewer.key_id, name=reviewer.name)


class ReviewList(BaseModel):
    items: list[ReviewOut]
    next_cursor: str | None


class ReviewDocumentOut(BaseModel):
    id: str
    name: str
    content_type: str
    text: str | None = Field(description="The document's text, for documents without pages to show (text)")


class ReviewPageOut(BaseModel):
    number: int
    width: float
    height: float
    image_url: str = Field(description="The page as a PNG (send the API key with it)")


class ReviewDetail(ReviewOut):
    document: ReviewDocumentOut | None
    pages: list[ReviewPageOut]


class ReviewCompletion(RequestBody):
    values: dict[str, Any] = Field(
        default_factory=dict,
        description="Corrected values by field name, typed as the field: number/currency a JSON number, "
                    "boolean true/false, date YYYY-MM-DD, list an array of strings; fields left out keep "
                    "their prediction", examples=[{"invoice_number": "INV-1042", "total": 1234.5}])


class ReviewRejection(RequestBody):
    reason: str = Field(min_length=1, max_length=2000, examples=["not an invoice"])
