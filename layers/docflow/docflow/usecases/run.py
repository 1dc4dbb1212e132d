"""Running an execution, one step at a time. Both orchestrators call exactly these functions:
the local engine in a loop, the state machine once per Task. What runs next comes from
`domain.flow.next_step` over the stored log, so a retried or resumed call never runs a step twice."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from docflow.domain.clock import utc_now
from docflow.domain.errors import Conflict, DocflowError, NotFound, StepFailed
from docflow.domain.flow import NextStep, next_step
from docflow.domain.models import (
    DocumentStatus,
    Execution,
    ExecutionError,
    ExecutionLogEntry,
    ExecutionOutput,
    ExecutionStatus,
    StepDefinition,
    StepStatus,
)
from docflow.domain.status import move
from docflow.ports import Ports
from docflow.steps.jobs import extract_job, parse_job
from docflow.usecases.executions import change_execution, update_execution

DONE = "done"


@dataclass(frozen=True)
class Progress:
    """What the orchestrator does next: run `step`, or stop (`step` is None)."""

    workspace_id: str
    execution_id: str
    step: NextStep | None

    def to_payload(self) -> dict[str, Any]:
        nxt = {"type": DONE, "step_id": None} if self.step is None else {"type": self.step.type,
                                                                          "step_id": self.step.step_id}
        return {"workspace_id": self.workspace_id, "execution_id": self.execution_id, "next": nxt}


def _progress(execution: Execution) -> Progress:
    if execution.status != ExecutionStatus.PROCESSING:
        return Progress(execution.workspace_id, execution.id, None)
    return Progress(execution.workspace_id, execution.id, next_step(execution))


def begin(ports: Ports, workspace_id: str, execution_id: str) -> Progress:
    """queued → processing; idempotent, so a redelivered start just reports the next step."""
    def start(current: Execution) -> Execution | None:
        if current.status != ExecutionStatus.QUEUED:
            return None
        return move(current, ExecutionStatus.PROCESSING, utc_now())

    execution = update_execution(ports, workspace_id, execution_id, start)
    if execution.status == ExecutionStatus.PROCESSING:  # repeated on a redelivered begin: consumers dedupe
        ports.events.publish("execution.processing", workspace_id, _event_detail(ports, execution))
    progress = _progress(execution)
    if progress.step is None and execution.status == ExecutionStatus.PROCESSING:
        return finish(ports, execution)
    return progress


def run_step(ports: Ports, workspace_id: str, execution_id: str, step_id: str) -> Progress:
    execution = ports.executions.get(workspace_id, execution_id)
    progress = _progress(execution)
    if progress.step is None or progress.step.step_id != step_id:
        return progress  # canceled meanwhile, or a retried call for a step that already ran
    step = execution.definition.step(step_id)
    assert step is not None  # next_step only names steps of the run's definition
    started, clock = utc_now(), time.perf_counter()
    try:
        output = _execute(ports, execution, step)
    except StepFailed as exc:
        _record_failure(ports, execution, step, started, clock, exc)
        raise
    ports.executions.put_step_output(workspace_id, execution_id, step_id, output)
    entry = _log_entry(step, StepStatus.COMPLETED, started, clock)

    def record(current: Execution) -> Execution | None:
        if current.status != ExecutionStatus.PROCESSING:
            return None
        return current.model_copy(update={"execution_log": [*current.execution_log, entry], "updated_at": utc_now()})

    execution = update_execution(ports, workspace_id, execution_id, record)
    if step.type == "extract":
        ports.events.publish("extraction.completed", workspace_id, {
            **_run_context(ports, execution), "step_id": step_id, "values": json.loads(output).get("values", {})})
    progress = _progress(execution)
    if progress.step is None and execution.status == ExecutionStatus.PROCESSING:
        return finish(ports, execution)
    return progress


def finish(ports: Ports, execution: Execution) -> Progress:
    output = _output(ports, execution)

    def complete(current: Execution) -> Execution | None:
        if current.status != ExecutionStatus.PROCESSING:
            return None
        return move(current, ExecutionStatus.COMPLETED, utc_now()).model_copy(update={"output": output})

    done, changed = change_execution(ports, execution.workspace_id, execution.id, complete)
    if changed:  # only the writer that made the change announces it
        _mark_documents_processed(ports, done)
        ports.events.publish("execution.completed", done.workspace_id, _event_detail(ports, done))
    return Progress(done.workspace_id, done.id, None)


def fail(ports: Ports, workspace_id: str, execution_id: str, error: ExecutionError) -> Execution:
    """Marks a run failed (no-op when it already ended): the orchestrator's catch-all."""

    def mark(current: Execution) -> Execution | None:
        if current.status.is_final:
            return None
        return move(current, ExecutionStatus.FAILED, utc_now(), error.message).model_copy(update={"error": error})

    failed, changed = change_execution(ports, workspace_id, execution_id, mark)
    if changed:
        ports.events.publish("execution.failed", workspace_id, _event_detail(ports, failed))
    return failed


def error_of(exc: BaseException, step_id: str | None = None) -> ExecutionError:
    if isinstance(exc, DocflowError):
        return ExecutionError(code=exc.code, message=exc.message, step_id=step_id)
    return ExecutionError(code="internal_error", message=f"{type(exc).__name__}: {exc}", step_id=step_id)


def _record_failure(ports: Ports, execution: Execution, step: StepDefinition, started: Any, clock: float,
                    exc: StepFailed) -> None:
    error = error_of(exc, step.id)
    entry = _log_entry(step, StepStatus.FAILED, started, clock, error)

    def mark(current: Execution) -> Execution | None:
        if current.status.is_final:
            return None
        return move(current, ExecutionStatus.FAILED, utc_now(), error.message).model_copy(
            update={"error": error, "execution_log": [*current.execution_log, entry]})

    failed, changed = change_execution(ports, execution.workspace_id, execution.id, mark)
    if changed:
        ports.events.publish("execution.failed", failed.workspace_id, _event_detail(ports, failed))


def _log_entry(step: StepDefinition, status: StepStatus, started: Any, clock: float,
               error: ExecutionError | None = None) -> ExecutionLogEntry:
    return ExecutionLogEntry(step_id=step.id, type=step.type, status=status, started_at=started,
                             completed_at=utc_now(), duration_ms=int((time.perf_counter() - clock) * 1000),
                             error=error)


def _execute(ports: Ports, execution: Execution, step: StepDefinition) -> bytes:
    if step.type == "parse":
        return _parse(ports, execution, step.config)
    if step.type == "extract":
        parsed = _latest_parse_output(ports, execution)
        if parsed is None:  # no parse step before this one: parse with defaults
            parsed = _parse(ports, execution, {})
        return ports.compute.run(extract_job, parsed, step.config, _document_input(execution))
    raise StepFailed(f"step type '{step.type}' is not available yet", code="unsupported_step")


def _document_input(execution: Execution) -> dict[str, Any] | None:
    """Per-file metadata and guidance of the document the steps work on (the run's first)."""
    for run_input in execution.inputs[:1]:
        if run_input.metadata or run_input.guidance:
            return {"key": run_input.key, "metadata": run_input.metadata, "guidance": run_input.guidance}
    return None


def _parse(ports: Ports, execution: Execution, config: dict[str, Any]) -> bytes:
    document = ports.documents.get(execution.workspace_id, execution.documents[0])
    data = ports.blobs.read(document.storage_key)
    return ports.compute.run(parse_job, data, document.content_type, config, ports.limits)


def _latest_parse_output(ports: Ports, execution: Execution) -> bytes | None:
    for entry in reversed(execution.execution_log):
        if entry.type == "parse" and entry.status == StepStatus.COMPLETED:
            stored = ports.executions.get_step_output(execution.workspace_id, execution.id, entry.step_id)
            if stored is not None:
                return stored
    return None


def _output(ports: Ports, execution: Execution) -> ExecutionOutput:
    """`result_step`'s values, else those of the last completed step that produced values."""
    candidates = [e.step_id for e in execution.execution_log if e.status == StepStatus.COMPLETED]
    if execution.result_step is not None:
        candidates = [s for s in candidates if s == execution.result_step]
    document_id = execution.documents[0] if execution.documents else None
    for step_id in reversed(candidates):
        raw = ports.executions.get_step_output(execution.workspace_id, execution.id, step_id)
        stored = json.loads(raw) if raw is not None else None
        if isinstance(stored, dict) and isinstance(stored.get("values"), dict):
            return ExecutionOutput(document_id=document_id, values=stored["values"],
                                   confidence=stored.get("confidence", {}))
    return ExecutionOutput(document_id=document_id)


def _mark_documents_processed(ports: Ports, execution: Execution) -> None:
    for document_id in execution.documents:
        document = ports.documents.get(execution.workspace_id, document_id)
        if document.status != DocumentStatus.UPLOADED:
            continue
        try:
            ports.documents.save(document.model_copy(update={"status": DocumentStatus.PROCESSED,
                                                             "updated_at": utc_now()}))
        except Conflict:
            continue  # another run finishing on the same document marked it first
        ports.events.publish("document.processed", execution.workspace_id, {
            **_run_context(ports, execution), "document_id": document_id, "content_type": document.content_type})


def _event_detail(ports: Ports, execution: Execution) -> dict[str, Any]:
    return {
        **_run_context(ports, execution), "status": execution.status.value,
        "output": execution.output.model_dump(mode="json") if execution.output else None,
        "error": execution.error.model_dump(mode="json") if execution.error else None,
    }


def _run_context(ports: Ports, execution: Execution) -> dict[str, Any]:
    """What every event of a run carries, so event triggers can filter on it and tell which run
    (and how deep a chain of event-triggered runs) published it."""
    document_id = execution.documents[0] if execution.documents else None
    content_type = None
    if document_id is not None:
        try:
            content_type = ports.documents.get(execution.workspace_id, document_id).content_type
        except NotFound:
            content_type = None
    return {
        "execution_id": execution.id, "workflow_id": execution.workflow_id, "document_id": document_id,
        "document_ids": list(execution.documents), "content_type": content_type, "metadata": execution.metadata,
        "trigger_method": execution.trigger_method, "trigger_depth": execution.trigger_depth,
    }
