"""Start, read, list, acknowledge and cancel executions. Every start path converges on `start_execution`."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from docflow.domain.clock import utc_now
from docflow.domain.errors import Conflict, IdempotencyKeyReused, IllegalTransition, NotFound, ValidationFailed
from docflow.domain.flow import validate_bounds
from docflow.domain.models import (
    DocumentStatus,
    Execution,
    ExecutionError,
    ExecutionStatus,
    Page,
    RunInput,
    StatusChange,
    TriggerMethod,
)
from docflow.domain.status import move
from docflow.ports import Ports
from docflow.usecases.documents import refresh_upload

MAX_SAVE_ATTEMPTS = 20


@dataclass(frozen=True)
class StartRequest:
    document_ids: list[str]
    name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    trigger_data: dict[str, Any] = field(default_factory=dict)
    start_step: str | None = None
    end_step: str | None = None
    result_step: str | None = None
    trigger_method: TriggerMethod = "api"
    triggered_by: str | None = None
    idempotency_key: str | None = None
    # Per-document field key, metadata and guidance (multipart runs); defaults to one per document id.
    inputs: list[RunInput] = field(default_factory=list)
    # How many event-triggered runs led to this one (0 for a run a person or a schedule started).
    trigger_depth: int = 0
    # What the idempotency key stands for when the request is more than these fields (e.g. the
    # sha256 of uploaded files); computed from the fields otherwise.
    fingerprint: str | None = None

    def request_fingerprint(self, workflow_id: str) -> str:
        if self.fingerprint is not None:
            return self.fingerprint
        return fingerprint_of({
            "workflow_id": workflow_id, "document_ids": self.document_ids, "name": self.name,
            "metadata": self.metadata, "trigger_data": self.trigger_data, "start_step": self.start_step,
            "end_step": self.end_step, "result_step": self.result_step, "trigger_method": self.trigger_method,
            "inputs": [i.model_dump(mode="json") for i in self.inputs],
        })


@dataclass(frozen=True)
class Started:
    execution: Execution
    # True when the Idempotency-Key had already started this run: nothing new was started.
    replayed: bool = False


def fingerprint_of(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_scope(workflow_id: str, key: str) -> str:
    """Keys are scoped to the workflow, and hashed so any caller string fits the store's key limits."""
    return hashlib.sha256(f"{workflow_id}\n{key}".encode()).hexdigest()


def replay(ports: Ports, workspace_id: str, workflow_id: str, idempotency_key: str | None,
           fingerprint: str) -> Started | None:
    """The run this key already started for the same request, None for a fresh key; the same key
    with another request is refused (IETF Idempotency-Key draft). Lets a start path check before
    it stores anything (a multipart run checks before it stores its files)."""
    if idempotency_key is None:
        return None
    stored = ports.executions.find_by_idempotency_key(workspace_id, idempotency_scope(workflow_id, idempotency_key))
    if stored is None:
        return None
    _same_request(stored, fingerprint)
    return _relaunched(ports, stored)


def _same_request(stored: Execution, fingerprint: str) -> None:
    if stored.request_fingerprint is not None and stored.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"this Idempotency-Key was already used for another request (execution {stored.id}); "
            "use a new key for a new request",
            details=[{"loc": ["header", "Idempotency-Key"], "msg": "already used for a different request"}])


def start_execution(ports: Ports, workspace_id: str, workflow_id: str, request: StartRequest) -> Started:
    """Stores the run once per idempotency key and hands it to the orchestrator."""
    fingerprint = request.request_fingerprint(workflow_id)
    replayed = replay(ports, workspace_id, workflow_id, request.idempotency_key, fingerprint)
    if replayed is not None:
        return replayed
    workflow = ports.workflows.get(workspace_id, workflow_id)
    if not workflow.enabled:
        raise Conflict(f"workflow {workflow_id} is disabled; enable it to start runs")
    validate_bounds(workflow.definition, start_step=request.start_step, end_step=request.end_step,
                    result_step=request.result_step)
    if not request.document_ids:
        raise ValidationFailed("give document_id (or document_ids) of an uploaded document",
                               details=[{"loc": ["body", "document_id"], "msg": "required"}])
    for document_id in request.document_ids:
        document = refresh_upload(ports, ports.documents.get(workspace_id, document_id))
        if document.status == DocumentStatus.PENDING_UPLOAD:
            raise Conflict(f"document {document_id} has not been uploaded yet: PUT its bytes to file_url first")
        if document.status == DocumentStatus.REJECTED:
            raise Conflict(f"document {document_id} was rejected: {document.rejection_reason}")
    now = utc_now()
    execution = Execution(
        workflow_id=workflow.id, workflow_version=workflow.version, definition=workflow.definition,
        workspace_id=workspace_id, name=request.name,
        metadata=request.metadata, trigger_method=request.trigger_method, triggered_by=request.triggered_by,
        trigger_data=request.trigger_data, documents=request.document_ids, start_step=request.start_step,
        end_step=request.end_step, result_step=request.result_step,
        inputs=request.inputs or [RunInput(document_id=d) for d in request.document_ids],
        idempotency_key=idempotency_scope(workflow.id, request.idempotency_key) if request.idempotency_key else None,
        request_fingerprint=fingerprint if request.idempotency_key else None, trigger_depth=request.trigger_depth,
        created_at=now, updated_at=now,
        status_history=[StatusChange(status=ExecutionStatus.QUEUED, time=now,
                                     message=f"started by {request.trigger_method}")],
    )
    stored = ports.executions.add(execution)
    if stored.id != execution.id:  # a concurrent start with the same key won
        _same_request(stored, fingerprint)
        return _relaunched(ports, stored)
    ports.launcher.launch(stored)
    return Started(stored)


def _relaunched(ports: Ports, stored: Execution) -> Started:
    if stored.status == ExecutionStatus.QUEUED:
        # A retried start re-launches a run that may never have reached the orchestrator;
        # the launcher itself refuses to start one run twice.
        ports.launcher.launch(stored)
    return Started(stored, replayed=True)


def get_execution(ports: Ports, workspace_id: str, execution_id: str, workflow_id: str | None = None) -> Execution:
    execution = ports.executions.get(workspace_id, execution_id)
    if workflow_id is not None and execution.workflow_id != workflow_id:
        raise NotFound(f"execution {execution_id} not found in workflow {workflow_id}")
    return execution


MAX_WAIT_SECONDS = 20  # within API Gateway's 30 s, with room for the request itself


def wait_for_execution(ports: Ports, workspace_id: str, execution_id: str, seconds: float,
                       workflow_id: str | None = None) -> Execution:
    """The execution as soon as it leaves queued/processing, or as it is after `seconds`."""
    execution = get_execution(ports, workspace_id, execution_id, workflow_id)
    watch = ports.execution_watch
    deadline = time.monotonic() + min(seconds, MAX_WAIT_SECONDS)
    # Again while it runs: a run can settle and run on (a review answered) before the watch looks.
    while (watch is not None and execution.status in (ExecutionStatus.QUEUED, ExecutionStatus.PROCESSING)
           and (left := deadline - time.monotonic()) > 0):
        settled = watch.wait_settled(execution, left)
        execution = settled if settled is not None else get_execution(ports, workspace_id, execution_id, workflow_id)
    return execution


def list_executions(ports: Ports, workspace_id: str, workflow_id: str, status: ExecutionStatus | None,
                    limit: int, cursor: str | None) -> Page[Execution]:
    ports.workflows.get(workspace_id, workflow_id)  # 404 for an unknown or foreign workflow
    return ports.executions.list_for_workflow(workspace_id, workflow_id, status, limit, cursor)


def change_execution(ports: Ports, workspace_id: str, execution_id: str,
                     change: Callable[[Execution], Execution | None],
                     known: Execution | None = None) -> tuple[Execution, bool]:
    """Read-modify-conditional-write, retried on a concurrent change: no update is ever lost.
    `change` returns None for "nothing to do"; the flag says whether this call wrote. `known`, the
    execution as the caller last read or saved it, spares the first read: a save over a stale
    revision is refused (Conflict) and the next attempt reads; so is a "nothing to do" decided
    on it (the store may know better)."""
    for _ in range(MAX_SAVE_ATTEMPTS + (known is not None)):
        guessed, current = known is not None, known or ports.executions.get(workspace_id, execution_id)
        known = None
        updated = change(current)
        if updated is None:
            if guessed:
                continue
            return current, False
        try:
            return ports.executions.save(updated), True
        except Conflict:
            continue
    raise Conflict(f"execution {execution_id} is changing too often; try again")


def update_execution(ports: Ports, workspace_id: str, execution_id: str,
                     change: Callable[[Execution], Execution | None], known: Execution | None = None) -> Execution:
    return change_execution(ports, workspace_id, execution_id, change, known)[0]


def acknowledge_execution(ports: Ports, workspace_id: str, workflow_id: str, execution_id: str) -> Execution:
    get_execution(ports, workspace_id, execution_id, workflow_id)

    def acknowledge(current: Execution) -> Execution | None:
        if not current.status.is_final:
            raise IllegalTransition(
                f"execution {execution_id} is {current.status.value}; only a finished run can be marked consumed")
        if current.acknowledged:
            return None
        return current.model_copy(update={"acknowledged": True, "updated_at": utc_now()})

    return update_execution(ports, workspace_id, execution_id, acknowledge)


def cancel_execution(ports: Ports, workspace_id: str, workflow_id: str, execution_id: str) -> Execution:
    get_execution(ports, workspace_id, execution_id, workflow_id)

    def cancel(current: Execution) -> Execution | None:
        if current.status == ExecutionStatus.CANCELED:
            return None
        return move(current, ExecutionStatus.CANCELED, utc_now(), "canceled by request").model_copy(
            update={"error": ExecutionError(code="canceled", message="canceled by request")})

    canceled, changed = change_execution(ports, workspace_id, execution_id, cancel)
    ports.launcher.cancel(canceled)
    if changed:  # only the request that canceled it announces it
        from docflow.usecases.reviews import close_for_canceled_run  # reviews import run, run imports this
        from docflow.usecases.run import _event_detail

        close_for_canceled_run(ports, canceled)
        ports.events.publish("execution.canceled", workspace_id, _event_detail(ports, canceled))
    return canceled
