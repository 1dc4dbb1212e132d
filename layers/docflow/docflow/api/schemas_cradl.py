"""The Cradl-compatible surface's request and response bodies: Cradl's camelCase names over
Docflow's records (api/routers/compat_cradl.py). Docflow's own API keeps its snake_case."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from docflow.domain.clock import iso
from docflow.domain.models import Document, Execution, ExecutionStatus, Workflow

# Cradl's execution statuses ⇄ Docflow's. A finished run is `succeeded` until its caller marks it
# consumed (`completed`, Docflow's `acknowledged`); a canceled run reads as Cradl's `rejected`.
CradlStatus = Literal["running", "succeeded", "completed", "failed", "rejected"]
RUNNING = (ExecutionStatus.QUEUED, ExecutionStatus.PROCESSING, ExecutionStatus.REVIEW)


def cradl_status(execution: Execution) -> CradlStatus:
    if execution.status in RUNNING:
        return "running"
    if execution.status == ExecutionStatus.COMPLETED:
        return "completed" if execution.acknowledged else "succeeded"
    return "failed" if execution.status == ExecutionStatus.FAILED else "rejected"


class CradlBody(BaseModel):
    # The SDK sends fields Docflow has no use for (consentId, datasetId, groundTruth, ...): taken, ignored.
    model_config = ConfigDict(extra="allow")


class CradlDocumentCreate(CradlBody):
    name: str | None = Field(default=None, max_length=255)
    metadata: dict[str, Any] | None = None


class CradlDocument(BaseModel):
    documentId: str
    name: str
    contentType: str | None = Field(description="sniffed from the bytes when they arrive; null before")
    fileUrl: str = Field(description="PUT the bytes here (with the same Bearer key), GET them back from here")
    status: str = Field(description="Docflow's document status: pending_upload, uploaded, rejected, processed")
    createdTime: str
    updatedTime: str
    metadata: dict[str, Any]
    size: int | None
    datasetId: None = None
    consentId: None = None
    groundTruth: list[Any] = Field(default_factory=list)

    @classmethod
    def of(cls, document: Document, file_url: str) -> CradlDocument:
        pending = document.content_type == "application/octet-stream"
        return cls(documentId=document.id, name=document.name, contentType=None if pending else document.content_type,
                   fileUrl=file_url, status=document.status.value, createdTime=iso(document.created_at) or "",
                   updatedTime=iso(document.updated_at) or "", metadata=document.metadata, size=document.size)


class CradlDocumentList(BaseModel):
    documents: list[CradlDocument]
    nextToken: str | None


class CradlWorkflow(BaseModel):
    workflowId: str
    name: str
    description: str | None
    status: Literal["active", "disabled"]
    createdTime: str
    updatedTime: str

    @classmethod
    def of(cls, workflow: Workflow) -> CradlWorkflow:
        return cls(workflowId=workflow.id, name=workflow.name, description=workflow.description,
                   status="active" if workflow.enabled else "disabled", createdTime=iso(workflow.created_at) or "",
                   updatedTime=iso(workflow.updated_at) or "")


class CradlWorkflowList(BaseModel):
    workflows: list[CradlWorkflow]
    nextToken: str | None


class CradlExecutionInput(CradlBody):
    documentId: str | None = Field(default=None, description="the uploaded document to run on")
    documentIds: list[str] | None = Field(default=None, description="several documents in one run")
    title: str | None = Field(default=None, max_length=255)
    metadata: dict[str, Any] | None = None


class CradlExecutionStart(CradlBody):
    input: CradlExecutionInput


class CradlExecutionPatch(CradlBody):
    status: Literal["completed"] | None = Field(
        default=None, description="`completed` marks a finished run consumed (Docflow's acknowledged)")
    nextTransitionId: str | None = Field(default=None, description="not supported: Docflow retries steps itself")


class CradlExecution(BaseModel):
    executionId: str
    workflowId: str
    status: CradlStatus
    docflowStatus: ExecutionStatus = Field(description="Docflow's own status (review: waiting for a person)")
    startTime: str
    endTime: str | None
    input: dict[str, Any]
    output: dict[str, Any]
    error: dict[str, Any] | None
    completedBy: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, execution: Execution) -> CradlExecution:
        finished = execution.status not in RUNNING
        first = execution.documents[0] if execution.documents else None
        input_: dict[str, Any] = {"documentId": first, "title": execution.name, "metadata": execution.metadata}
        if len(execution.documents) > 1:
            input_["documentIds"] = list(execution.documents)
        output = execution.output.model_dump(mode="json") if execution.output is not None else {}
        error = execution.error.model_dump(mode="json") if execution.error is not None else None
        return cls(executionId=execution.id, workflowId=execution.workflow_id, status=cradl_status(execution),
                   docflowStatus=execution.status, startTime=iso(execution.created_at) or "",
                   endTime=iso(execution.updated_at) if finished else None, input=input_, output=output,
                   error=error, completedBy=[execution.triggered_by] if execution.acknowledged and
                   execution.triggered_by else [])


class CradlExecutionList(BaseModel):
    workflowId: str
    executions: list[CradlExecution]
    nextToken: str | None
