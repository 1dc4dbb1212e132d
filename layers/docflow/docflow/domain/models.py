"""The stored resources. Pure data: no I/O, no framework."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from docflow.domain.clock import new_id, utc_now
from docflow.domain.usage import Usage

StepType = Literal["parse", "extract", "transform", "condition", "review", "integration"]
TriggerType = Literal["manual", "scheduled", "webhook", "event"]
TriggerMethod = Literal["api", "manual", "schedule", "webhook", "event", "s3"]


class Record(BaseModel):
    """Base of stored items: strict about unknown fields so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class ApiKey(Record):
    id: str = Field(default_factory=lambda: new_id("key"))
    workspace_id: str
    name: str
    prefix: str
    key_hash: str
    created_at: datetime = Field(default_factory=utc_now)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class StepDefinition(Record):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    type: StepType
    config: dict[str, Any] = Field(default_factory=dict)
    next: str | None = None


class WorkflowDefinition(Record):
    steps: list[StepDefinition] = Field(default_factory=list)

    def step(self, step_id: str) -> StepDefinition | None:
        return next((s for s in self.steps if s.id == step_id), None)


class FileField(Record):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    required: bool = True
    multiple: bool = False
    # Empty: any type documents accept.
    content_types: list[str] = Field(default_factory=list)
    # Per-file size limit of a multipart run (the request limit applies on top of it).
    max_bytes: int | None = Field(default=None, ge=1)


class FileInputConfig(Record):
    file_fields: list[FileField] = Field(default_factory=lambda: [FileField(key="file")])


class Workflow(Record):
    id: str = Field(default_factory=lambda: new_id("wf"))
    workspace_id: str
    name: str
    description: str | None = None
    definition: WorkflowDefinition
    file_input_config: FileInputConfig = Field(default_factory=FileInputConfig)
    trigger_type: TriggerType = "manual"
    trigger_config: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    version: int = 1
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)

    def step(self, step_id: str) -> StepDefinition | None:
        return self.definition.step(step_id)


class DocumentStatus(StrEnum):
    PENDING_UPLOAD = "pending_upload"
    UPLOADED = "uploaded"
    PROCESSED = "processed"
    REJECTED = "rejected"


class Document(Record):
    id: str = Field(default_factory=lambda: new_id("doc"))
    workspace_id: str
    name: str
    content_type: str
    declared_size: int | None = None
    size: int | None = None
    sha256: str | None = None
    status: DocumentStatus = DocumentStatus.PENDING_UPLOAD
    rejection_reason: str | None = None
    storage_key: str
    upload_expires_at: datetime
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    # Optimistic locking, as for executions: an upload event and a status refresh may race.
    revision: int = 0
    # The caller's own JSON about the document (the Cradl surface's `metadata`).
    metadata: dict[str, Any] = Field(default_factory=dict)


class ExecutionStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    REVIEW = "review"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        return self in (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELED)


class StatusChange(Record):
    status: ExecutionStatus
    time: datetime
    message: str | None = None


class ExecutionError(Record):
    code: str
    message: str
    step_id: str | None = None


class StepStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class ExecutionLogEntry(Record):
    step_id: str
    type: StepType
    status: StepStatus
    started_at: datetime
    completed_at: datetime
    duration_ms: int
    error: ExecutionError | None = None
    # The step a branching step (condition) chose: where the run went on.
    branch: str | None = None
    # Names and counts of the step's input and output (never document text or values).
    summary: dict[str, Any] = Field(default_factory=dict)


class ReviewOutcome(Record):
    """How the values passed a review step: what was predicted, and what a person changed."""

    review_id: str | None = None
    # approved (by a person), auto_approved (above the confidence threshold), timeout_approved.
    outcome: Literal["approved", "auto_approved", "timeout_approved"]
    predicted: dict[str, Any] = Field(default_factory=dict)
    changed_fields: list[str] = Field(default_factory=list)
    # {"key_id", "name"} of the API key that approved, when a person did.
    reviewed_by: dict[str, str] | None = None
    reviewed_at: datetime | None = None


class ExecutionOutput(Record):
    document_id: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)
    confidence: dict[str, float] = Field(default_factory=dict)
    # Set when the values went through a review step (the latest one).
    review: ReviewOutcome | None = None


class RunInput(Record):
    """One document of a run as it arrived: the file field it came in (multipart runs), and the
    caller's metadata and guidance for it, which the extract step receives."""

    document_id: str
    key: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    guidance: str | None = None


class Execution(Record):
    id: str = Field(default_factory=lambda: new_id("exe"))
    workflow_id: str
    workflow_version: int
    # The steps as they were when the run started: editing or deleting the workflow later (while a
    # run waits, say, in review) never changes what an accepted run does.
    definition: WorkflowDefinition = Field(default_factory=WorkflowDefinition)
    workspace_id: str
    name: str | None = None
    status: ExecutionStatus = ExecutionStatus.QUEUED
    status_history: list[StatusChange] = Field(default_factory=list)
    error: ExecutionError | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    trigger_method: TriggerMethod = "api"
    triggered_by: str | None = None
    trigger_data: dict[str, Any] = Field(default_factory=dict)
    documents: list[str] = Field(default_factory=list)
    start_step: str | None = None
    end_step: str | None = None
    result_step: str | None = None
    output: ExecutionOutput | None = None
    execution_log: list[ExecutionLogEntry] = Field(default_factory=list)
    acknowledged: bool = False
    inputs: list[RunInput] = Field(default_factory=list)
    idempotency_key: str | None = None
    # What the idempotency key was first used for: the same key with another request is refused.
    request_fingerprint: str | None = None
    # Runs started by a platform event of another run are one deeper than it (chains stop at a limit).
    trigger_depth: int = 0
    # What the run consumed so far, and its cost at the runtime's price table (domain/usage.py).
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float = 0.0
    start_time: datetime | None = None
    end_time: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    # Optimistic-locking counter: every save is conditional on the revision it read.
    revision: int = 0

    @property
    def duration_ms(self) -> int | None:
        if self.start_time is None or self.end_time is None:
            return None
        return int((self.end_time - self.start_time).total_seconds() * 1000)

    def completed_step_ids(self) -> list[str]:
        return [e.step_id for e in self.execution_log if e.status == StepStatus.COMPLETED]


class Page[T](BaseModel):
    """One page of a keyset-paginated list; `next_cursor` is opaque to callers."""

    items: list[T]
    next_cursor: str | None = None
