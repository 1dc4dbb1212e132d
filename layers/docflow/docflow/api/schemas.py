"""Request and response bodies of the public API (DESIGN.md §1): snake_case, every field present.

Request models forbid unknown fields (a typo is a 422 naming it); read-only fields may be sent
back unchanged and are ignored."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, model_validator

from docflow.domain.clock import iso, unix_seconds
from docflow.domain.models import (
    ApiKey,
    Document,
    DocumentStatus,
    Execution,
    ExecutionError,
    ExecutionLogEntry,
    ExecutionOutput,
    ExecutionStatus,
    FileInputConfig,
    StepStatus,
    TriggerMethod,
    TriggerType,
    Workflow,
    WorkflowDefinition,
)
from docflow.domain.usage import Usage
from docflow.domain.webhooks import WebhookSecret


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: list[dict[str, Any]] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorDetail


# --- API keys ---------------------------------------------------------------------------------

class ApiKeyCreate(RequestBody):
    name: str = Field(min_length=1, max_length=100)


class ApiKeyOut(BaseModel):
    id: str
    name: str
    prefix: str
    workspace_id: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @classmethod
    def of(cls, key: ApiKey) -> ApiKeyOut:
        return cls(id=key.id, name=key.name, prefix=key.prefix, workspace_id=key.workspace_id,
                   created_at=iso(key.created_at) or "", last_used_at=iso(key.last_used_at),
                   revoked_at=iso(key.revoked_at))


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret. Shown in this response only: store it now.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None
    api_keys: list[ApiKeyOut]


# --- Workflows --------------------------------------------------------------------------------

READ_ONLY_WORKFLOW_FIELDS = ("id", "workspace_id", "version", "created_at", "updated_at", "webhook_secret",
                             "webhook_secret_prefix")


class WorkflowIn(RequestBody):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    definition: WorkflowDefinition
    file_input_config: FileInputConfig = Field(default_factory=FileInputConfig)
    trigger_type: TriggerType = "manual"
    trigger_config: dict[str, Any] = Field(default_factory=dict)
    enabled: StrictBool = True
    # Read-only: accepted so a GET body can be PUT back, then ignored; strict, so a value of the
    # wrong type (`"version": false`) is a 422 rather than silently coerced.
    id: StrictStr | None = None
    workspace_id: StrictStr | None = None
    version: Annotated[StrictInt, Field(ge=1)] | None = None
    created_at: StrictStr | None = None
    updated_at: StrictStr | None = None
    webhook_secret: StrictStr | None = None
    webhook_secret_prefix: StrictStr | None = None

    def writable(self) -> dict[str, Any]:
        return self.model_dump(exclude=set(READ_ONLY_WORKFLOW_FIELDS))


class WorkflowOut(BaseModel):
    id: str
    workspace_id: str
    name: str
    description: str | None
    definition: WorkflowDefinition
    file_input_config: FileInputConfig
    trigger_type: TriggerType
    trigger_config: dict[str, Any]
    enabled: bool
    version: int
    created_at: str
    updated_at: str
    webhook_secret: str | None = Field(default=None, description=(
        "Signing secret (whsec_…) of a webhook workflow: only in the response that created it. Store it now."))
    webhook_secret_prefix: str | None = Field(default=None, description="First characters of the signing secret")

    @classmethod
    def of(cls, workflow: Workflow, secret: WebhookSecret | None = None, *, show_secret: bool = False) -> WorkflowOut:
        data = workflow.model_dump()
        data["created_at"], data["updated_at"] = iso(workflow.created_at), iso(workflow.updated_at)
        if secret is not None:
            data["webhook_secret_prefix"] = secret.prefix
            data["webhook_secret"] = secret.secret if show_secret else None
        return cls.model_validate(data)


class WorkflowList(BaseModel):
    items: list[WorkflowOut]
    next_cursor: str | None
    workflows: list[WorkflowOut]


# --- Documents --------------------------------------------------------------------------------

class DocumentCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=3, max_length=255)
    size: int | None = Field(default=None, description="Bytes; when given, the upload must be exactly this size")


class DocumentHandleOut(BaseModel):
    id: str
    document_id: str
    file_url: str
    upload_method: Literal["PUT"]
    upload_headers: dict[str, str]
    expires_at: str


class DocumentOut(BaseModel):
    id: str
    document_id: str
    workspace_id: str
    name: str
    content_type: str
    status: DocumentStatus
    size: int | None
    declared_size: int | None
    sha256: str | None
    rejection_reason: str | None
    download_url: str | None
    upload_expires_at: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, document: Document, download_url: str | None) -> DocumentOut:
        return cls(id=document.id, document_id=document.id, workspace_id=document.workspace_id, name=document.name,
                   content_type=document.content_type, status=document.status, size=document.size,
                   declared_size=document.declared_size, sha256=document.sha256,
                   rejection_reason=document.rejection_reason, download_url=download_url,
                   upload_expires_at=iso(document.upload_expires_at) or "",
                   created_at=iso(document.created_at) or "", updated_at=iso(document.updated_at) or "")


# --- Executions -------------------------------------------------------------------------------

class ExecutionStart(RequestBody):
    document_id: str | None = None
    document_ids: list[str] | None = Field(default=None, max_length=50)
    title: str | None = Field(default=None, max_length=500)
    name: str | None = Field(default=None, max_length=500)
    metadata: dict[str, Any] = Field(default_factory=dict)
    trigger_data: dict[str, Any] = Field(default_factory=dict)
    start_step: str | None = None
    end_step: str | None = None
    result_step: str | None = None

    @model_validator(mode="after")
    def _one_name(self) -> ExecutionStart:
        if self.title is not None and self.name is not None and self.title != self.name:
            raise ValueError("give title or name, not two different values")
        return self

    def all_document_ids(self) -> list[str]:
        ids = list(self.document_ids or [])
        if self.document_id is not None and self.document_id not in ids:
            ids.insert(0, self.document_id)
        seed = self.trigger_data.get("document_id")
        if not ids and isinstance(seed, str):
            ids.append(seed)
        return ids


class ExecutionPatch(RequestBody):
    status: Literal["completed", "canceled"]


class StatusChangeOut(BaseModel):
    status: ExecutionStatus
    time: str
    message: str | None


class LogEntryOut(BaseModel):
    step_id: str
    type: str
    status: StepStatus
    started_at: str
    completed_at: str
    duration_ms: int
    error: ExecutionError | None
    branch: str | None = Field(description="The step a condition chose: where the run went on")
    summary: dict[str, Any] = Field(description="Names and counts of the step's input and output")


class RunInputOut(BaseModel):
    document_id: str
    key: str | None = Field(description="The file field the document came in (multipart runs)")
    metadata: dict[str, Any]
    guidance: str | None


class ExecutionOut(BaseModel):
    id: str
    execution_id: str
    workflow_id: str
    flow_id: str = Field(description="The same as workflow_id (TableFlow's name)")
    workflow_version: int
    workspace_id: str
    name: str | None
    status: ExecutionStatus
    status_history: list[StatusChangeOut]
    error: ExecutionError | None
    metadata: dict[str, Any]
    trigger_method: TriggerMethod
    triggered_by: str | None
    trigger_data: dict[str, Any]
    documents: list[str]
    inputs: list[RunInputOut]
    start_step: str | None
    end_step: str | None
    result_step: str | None
    output: ExecutionOutput | None
    execution_log: list[LogEntryOut]
    acknowledged: bool
    usage: Usage = Field(description="what the run consumed: pages, OCR pages, Textract pages by API, Bedrock "
                                     "tokens, state transitions and Lambda time (these two 0 in local mode)")
    cost_usd: float = Field(description="the usage at the runtime's price table (DOCFLOW_PRICE_*), in US dollars")
    start_time: float | None = Field(description="unix seconds")
    end_time: float | None = Field(description="unix seconds")
    duration: int | None = Field(description="milliseconds from processing to the end")
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, e: Execution) -> ExecutionOut:
        return cls(
            id=e.id, execution_id=e.id, workflow_id=e.workflow_id, flow_id=e.workflow_id,
            workflow_version=e.workflow_version,
            workspace_id=e.workspace_id, name=e.name, status=e.status,
            status_history=[StatusChangeOut(status=c.status, time=iso(c.time) or "", message=c.message)
                            for c in e.status_history],
            error=e.error, metadata=e.metadata, trigger_method=e.trigger_method, triggered_by=e.triggered_by,
            trigger_data=e.trigger_data, documents=e.documents,
            inputs=[RunInputOut(**i.model_dump()) for i in e.inputs], start_step=e.start_step, end_step=e.end_step,
            result_step=e.result_step, output=e.output, execution_log=[_log(x) for x in e.execution_log],
            acknowledged=e.acknowledged, usage=e.usage, cost_usd=e.cost_usd,
            start_time=unix_seconds(e.start_time), end_time=unix_seconds(e.end_time),
            duration=e.duration_ms, created_at=iso(e.created_at) or "", updated_at=iso(e.updated_at) or "")


def _log(entry: ExecutionLogEntry) -> LogEntryOut:
    return LogEntryOut(step_id=entry.step_id, type=entry.type, status=entry.status,
                       started_at=iso(entry.started_at) or "", completed_at=iso(entry.completed_at) or "",
                       duration_ms=entry.duration_ms, error=entry.error, branch=entry.branch,
                       summary=entry.summary)


class ExecutionList(BaseModel):
    items: list[ExecutionOut]
    next_cursor: str | None
    executions: list[ExecutionOut]


class ExecuteAccepted(BaseModel):
    execution_id: str
    status: Literal["running"]
    started_at: str


