"""Running an execution, one step at a time. Both orchestrators call exactly these functions:
the local engine in a loop, the state machine once per Task. What runs next comes from
`domain.flow.next_step` over the stored log, so a retried or resumed call never runs a step twice."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from docflow.domain.clock import utc_now
from docflow.domain.errors import Conflict, DocflowError, NotFound, StepFailed
from docflow.domain.extraction import FieldSpec, merge_fields
from docflow.domain.flow import NextStep, next_step
from docflow.domain.integrations import Integration
from docflow.domain.limits import Limits
from docflow.domain.models import (
    DocumentStatus,
    Execution,
    ExecutionError,
    ExecutionLogEntry,
    ExecutionOutput,
    ExecutionStatus,
    ReviewOutcome,
    StepDefinition,
    StepStatus,
)
from docflow.domain.reviews import ReviewTask, review_id
from docflow.domain.status import move
from docflow.ports import ExtractionEngine, OutboundRequest, Ports, wired
from docflow.steps.base import StepResult, Wait
from docflow.usecases.executions import change_execution, update_execution

DONE = "done"


@dataclass(frozen=True)
class Awaiting:
    """A run parked at a review step until the task is answered or `timeout_seconds` pass."""

    step_id: str
    review_id: str
    timeout_seconds: int


@dataclass(frozen=True)
class Progress:
    """What the orchestrator does next: run `step`, wait for a review (`awaiting`), or stop."""

    workspace_id: str
    execution_id: str
    step: NextStep | None
    awaiting: Awaiting | None = None
    # The next step's config, for a step that waits (its timeout bounds the state machine's wait).
    wait_seconds: int | None = None

    def to_payload(self) -> dict[str, Any]:
        """For the state machine: `next.type` done ends the run, `next.needs` wait goes to the Task
        that waits on a task token (a review step, run there, or a run parked at one), anything else
        to the one Task that runs steps; so a new step type needs no new state."""
        if self.awaiting is not None:
            wait = self.awaiting
            nxt: dict[str, Any] = {"type": "review", "step_id": wait.step_id, "needs": "wait",
                                   "timeout_seconds": wait.timeout_seconds}
        elif self.step is None:
            nxt = {"type": DONE, "step_id": None, "needs": DONE}
        else:
            nxt = {"type": self.step.type, "step_id": self.step.step_id, "needs": _needs(self.step.type)}
            if self.wait_seconds is not None:
                nxt["timeout_seconds"] = self.wait_seconds
        return {"workspace_id": self.workspace_id, "execution_id": self.execution_id, "next": nxt}


def _needs(step_type: str) -> str:
    from docflow.steps.registry import STEP_KINDS

    kind = STEP_KINDS.get(step_type)
    return kind.needs if kind is not None else "unsupported"


class StepLimitExceeded(StepFailed):
    code = "step_limit_exceeded"


def _progress(ports: Ports, execution: Execution, limits: Limits) -> Progress:
    if execution.status == ExecutionStatus.REVIEW:
        return _awaiting(ports, execution)
    if execution.status != ExecutionStatus.PROCESSING:
        return Progress(execution.workspace_id, execution.id, None)
    step = next_step(execution)
    completed = sum(1 for e in execution.execution_log if e.status == StepStatus.COMPLETED)
    if step is not None and completed >= limits.max_steps_per_run:
        # A second guard behind the validation of definitions (a stored definition may predate it).
        raise StepLimitExceeded(f"the run has taken {completed} steps, the limit (DOCFLOW_MAX_STEPS_PER_RUN); "
                                f"it would go on at step '{step.step_id}'",
                                details=[{"limit": limits.max_steps_per_run, "next_step": step.step_id}])
    return Progress(execution.workspace_id, execution.id, step, wait_seconds=_wait_seconds(execution, step))


def _wait_seconds(execution: Execution, step: NextStep | None) -> int | None:
    """How long the next step may wait for a person, for a step that waits (review)."""
    from docflow.steps.registry import STEP_KINDS

    kind = STEP_KINDS.get(step.type) if step is not None else None
    definition = execution.definition.step(step.step_id) if step is not None else None
    if kind is None or kind.wait_seconds is None or definition is None:
        return None
    return kind.wait_seconds(kind.config(definition.config))


def begin(ports: Ports, workspace_id: str, execution_id: str) -> Progress:
    """queued → processing; idempotent, so a redelivered start just reports the next step."""
    clock = time.perf_counter()

    def start(current: Execution) -> Execution | None:
        if current.status != ExecutionStatus.QUEUED:
            return None
        return _consumed(ports, move(current, ExecutionStatus.PROCESSING, utc_now()), "begin", clock)

    execution = update_execution(ports, workspace_id, execution_id, start)
    if execution.status == ExecutionStatus.PROCESSING:  # repeated on a redelivered begin: consumers dedupe
        ports.events.publish("execution.processing", workspace_id, _event_detail(ports, execution))
    return _go_on(ports, execution)


def _checked_progress(ports: Ports, execution: Execution) -> Progress:
    """The next step; a run over the step limit is marked failed before the error goes up."""
    try:
        return _progress(ports, execution, ports.limits)
    except StepFailed as exc:
        fail(ports, execution.workspace_id, execution.id, error_of(exc))
        raise


def _go_on(ports: Ports, execution: Execution) -> Progress:
    """The next step, or the end of the run: completed, or failed over the step limit."""
    progress = _checked_progress(ports, execution)
    if progress.step is None and execution.status == ExecutionStatus.PROCESSING:
        return finish(ports, execution)
    return progress


def run_step(ports: Ports, workspace_id: str, execution_id: str, step_id: str) -> Progress:
    execution = ports.executions.get(workspace_id, execution_id)
    progress = _checked_progress(ports, execution)
    if progress.step is None or progress.step.step_id != step_id:
        return progress  # canceled meanwhile, or a retried call for a step that already ran
    step = execution.definition.step(step_id)
    assert step is not None  # next_step only names steps of the run's definition
    started, clock = utc_now(), time.perf_counter()
    try:
        result = _execute(ports, execution, step)
    except StepFailed as exc:
        _record_failure(ports, execution, step, started, clock, exc)
        raise
    if result.wait is not None:
        return _park(ports, execution, step, result.wait, result.summary, clock)
    output = result.output
    ports.executions.put_step_output(workspace_id, execution_id, step_id, output)
    entry = _log_entry(step, StepStatus.COMPLETED, started, clock).model_copy(
        update={"branch": result.branch, "summary": result.summary})

    def record(current: Execution) -> Execution | None:
        if current.status != ExecutionStatus.PROCESSING:
            return None
        logged = current.model_copy(update={"execution_log": [*current.execution_log, entry], "updated_at": utc_now()})
        return _consumed(ports, logged, "step", clock, result.usage)

    execution = update_execution(ports, workspace_id, execution_id, record, known=execution)
    if step.type == "extract":
        ports.events.publish("extraction.completed", workspace_id, {
            **_run_context(ports, execution), "step_id": step_id, "values": json.loads(output).get("values", {})})
    return _go_on(ports, execution)


# --- waiting for a person ---------------------------------------------------------------------

def _awaiting(ports: Ports, execution: Execution) -> Progress:
    """A run in status review waits at the next step (a review step that has not completed)."""
    step = next_step(execution)
    if step is None:
        return Progress(execution.workspace_id, execution.id, None)
    task = wired(ports.reviews, "reviews").get(execution.workspace_id,
                                               review_id(execution.workspace_id, execution.id, step.step_id))
    remaining = math.ceil((task.due_at - utc_now()).total_seconds())
    return Progress(execution.workspace_id, execution.id, None,
                    Awaiting(step.step_id, task.id, max(1, remaining)))


def _park(ports: Ports, execution: Execution, step: StepDefinition, wait: Wait,
          summary: dict[str, Any], clock: float) -> Progress:
    """Stores the review task (once per run and step: a retried call finds it) and moves the run
    to status review; nothing holds the run while it waits."""
    now = utc_now()
    task = wired(ports.reviews, "reviews").add(ReviewTask(
        id=review_id(execution.workspace_id, execution.id, step.id), workspace_id=execution.workspace_id,
        workflow_id=execution.workflow_id, execution_id=execution.id, step_id=step.id,
        document_id=execution.documents[0] if execution.documents else None, fields=wait.fields,
        on_timeout=wait.on_timeout, confidence_threshold=wait.confidence_threshold, created_at=now,
        due_at=now + timedelta(seconds=wait.timeout_seconds)))

    def to_review(current: Execution) -> Execution | None:
        if current.status != ExecutionStatus.PROCESSING:
            return None
        return _consumed(ports, move(current, ExecutionStatus.REVIEW, now, f"waiting for review {task.id}"),
                         "step", clock)

    parked, changed = change_execution(ports, execution.workspace_id, execution.id, to_review)
    if changed:
        ports.events.publish("execution.review", parked.workspace_id, {
            **_event_detail(ports, parked), "review_id": task.id, "step_id": step.id,
            "due_at": task.due_at.isoformat(), "fields": [f.name for f in task.fields], **summary})
    return _checked_progress(ports, parked)


def resume_after_review(ports: Ports, task: ReviewTask, outcome: ReviewOutcome, message: str) -> Progress:
    """review → processing with the review step recorded (its output: the run's values with the
    task's, and how they passed), then the next step. A task that was already resumed (a retry)
    records nothing twice and just reports where the run is."""
    execution = ports.executions.get(task.workspace_id, task.execution_id)
    step = execution.definition.step(task.step_id)
    if step is None or execution.status != ExecutionStatus.REVIEW or task.step_id in execution.completed_step_ids():
        return _checked_progress(ports, execution)
    current = _current_values(ports, execution, None)
    values = {**(current.values if current else {}), **(task.values or task.predicted_values())}
    confidence = dict(current.confidence if current else {})
    if outcome.outcome == "approved":  # a person confirmed them
        confidence.update({f.name: 1.0 for f in task.fields})
    output = {"values": values, "confidence": confidence, "review": outcome.model_dump(mode="json")}
    ports.executions.put_step_output(task.workspace_id, task.execution_id, task.step_id, json.dumps(output).encode())
    now = utc_now()
    entry = ExecutionLogEntry(
        step_id=step.id, type=step.type, status=StepStatus.COMPLETED, started_at=task.created_at, completed_at=now,
        duration_ms=_millis(task.created_at, now),
        summary={"review_id": task.id, "outcome": outcome.outcome, "fields": len(task.fields),
                 "changed": outcome.changed_fields, "message": message})

    def go_on(current: Execution) -> Execution | None:
        if current.status != ExecutionStatus.REVIEW or task.step_id in current.completed_step_ids():
            return None
        moved = move(current, ExecutionStatus.PROCESSING, now, message)
        return moved.model_copy(update={"execution_log": [*moved.execution_log, entry]})

    resumed = update_execution(ports, task.workspace_id, task.execution_id, go_on)
    return _go_on(ports, resumed)


def fail_waiting(ports: Ports, task: ReviewTask, error: ExecutionError) -> Execution:
    """Fails a run parked at `task` (rejected, timed out): the review step's log entry says why."""
    now = utc_now()
    entry = ExecutionLogEntry(step_id=task.step_id, type="review", status=StepStatus.FAILED,
                              started_at=task.created_at, completed_at=now,
                              duration_ms=_millis(task.created_at, now), error=error,
                              summary={"review_id": task.id, "outcome": task.status.value})

    def mark(current: Execution) -> Execution | None:
        if current.status.is_final:
            return None
        return move(current, ExecutionStatus.FAILED, now, error.message).model_copy(
            update={"error": error, "execution_log": [*current.execution_log, entry]})

    failed, changed = change_execution(ports, task.workspace_id, task.execution_id, mark)
    if changed:
        ports.events.publish("execution.failed", failed.workspace_id, _event_detail(ports, failed))
    return failed


def progress_of(ports: Ports, workspace_id: str, execution_id: str) -> Progress:
    """Where a run is now (what its orchestrator should do next)."""
    return _checked_progress(ports, ports.executions.get(workspace_id, execution_id))


def _millis(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() * 1000))


def finish(ports: Ports, execution: Execution) -> Progress:
    output = _output(ports, execution)

    def complete(current: Execution) -> Execution | None:
        if current.status != ExecutionStatus.PROCESSING:
            return None
        completed = move(current, ExecutionStatus.COMPLETED, utc_now()).model_copy(update={"output": output})
        return _consumed(ports, completed, "done", None)

    done, changed = change_execution(ports, execution.workspace_id, execution.id, complete, known=execution)
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
        failed = move(current, ExecutionStatus.FAILED, utc_now(), error.message).model_copy(
            update={"error": error, "execution_log": [*current.execution_log, entry]})
        return _consumed(ports, _consumed(ports, failed, "step", clock), "failed", None)

    failed, changed = change_execution(ports, execution.workspace_id, execution.id, mark)
    if changed:
        ports.events.publish("execution.failed", failed.workspace_id, _event_detail(ports, failed))


def _consumed(ports: Ports, execution: Execution, call: str, clock: float | None,
              step_usage: dict[str, Any] | None = None) -> Execution:
    """`execution` with what this orchestrator call consumed added (the step's own usage, and the
    call's state transitions and compute time), recorded in the write that records the call."""
    elapsed_ms = int((time.perf_counter() - clock) * 1000) if clock is not None else 0
    usage = execution.usage.plus(step_usage or {}).plus(ports.metering.of_call(call, elapsed_ms))
    return execution.model_copy(update={"usage": usage, "cost_usd": ports.metering.prices.cost_usd(usage)})


def _log_entry(step: StepDefinition, status: StepStatus, started: Any, clock: float,
               error: ExecutionError | None = None) -> ExecutionLogEntry:
    return ExecutionLogEntry(step_id=step.id, type=step.type, status=status, started_at=started,
                             completed_at=utc_now(), duration_ms=int((time.perf_counter() - clock) * 1000),
                             error=error)


def _execute(ports: Ports, execution: Execution, step: StepDefinition) -> StepResult:
    from docflow.steps.registry import step_kind

    kind = step_kind(step.type)
    return kind.execute(_Run(ports, execution), kind.config(step.config))


class _Run:
    """The `StepRun` an executor sees: this run's documents, parse output and current values."""

    def __init__(self, ports: Ports, execution: Execution) -> None:
        self._ports, self._execution = ports, execution

    @property
    def execution_id(self) -> str:
        return self._execution.id

    @property
    def workflow_id(self) -> str:
        return self._execution.workflow_id

    @property
    def document_name(self) -> str | None:
        execution = self._execution
        if not execution.documents:
            return None
        try:
            return self._ports.documents.get(execution.workspace_id, execution.documents[0]).name
        except NotFound:
            return None

    @property
    def metadata(self) -> dict[str, Any]:
        return self._execution.metadata

    @property
    def limits(self) -> Limits:
        return self._ports.limits

    @property
    def document_input(self) -> dict[str, Any] | None:
        """Per-file metadata and guidance of the document the steps work on (the run's first)."""
        for run_input in self._execution.inputs[:1]:
            if run_input.metadata or run_input.guidance:
                return {"key": run_input.key, "metadata": run_input.metadata, "guidance": run_input.guidance}
        return None

    def values(self) -> tuple[dict[str, Any], dict[str, float]]:
        current = _current_values(self._ports, self._execution, None)
        return (current.values, current.confidence) if current is not None else ({}, {})

    def field_details(self) -> dict[str, dict[str, Any]]:
        execution, details = self._execution, {}
        for entry in execution.execution_log:
            step = execution.definition.step(entry.step_id)
            if entry.type != "extract" or entry.status != StepStatus.COMPLETED or step is None:
                continue
            for spec in merge_fields(step.config.get("preset"),
                                     [FieldSpec.model_validate(f) for f in step.config.get("fields", [])]):
                details[spec.name] = {"type": spec.type, "required": spec.required}
            raw = self._ports.executions.get_step_output(execution.workspace_id, execution.id, entry.step_id)
            found = (json.loads(raw) if raw is not None else {}).get("fields", {})
            for name, result in found.items():
                details.setdefault(name, {}).update(
                    {key: result.get(key) for key in ("page", "bbox", "source_text")})
        return details

    @property
    def storage_key(self) -> str | None:
        execution = self._execution
        if not execution.documents:
            return None
        return self._ports.documents.get(execution.workspace_id, execution.documents[0]).storage_key

    def extraction_engine(self, name: str) -> ExtractionEngine:
        engine = self._ports.extraction_engines.get(name)
        if engine is None:
            raise StepFailed(f"the extract engine {name!r} is not configured in this runtime",
                             code="engine_unavailable", details=[{"engine": name}])
        return engine

    def document(self) -> tuple[bytes, str]:
        execution = self._execution
        document = self._ports.documents.get(execution.workspace_id, execution.documents[0])
        return self._ports.blobs.read(document.storage_key), document.content_type

    def parsed(self) -> bytes:
        from docflow.steps.parse import parse_job

        stored = _latest_parse_output(self._ports, self._execution)
        if stored is not None:
            return stored
        data, content_type = self.document()  # no parse step before this one: parse with defaults
        return self.compute(parse_job, data, content_type, {}, self.limits)[0]

    def compute[T](self, job: Callable[..., T], *args: Any) -> T:
        return self._ports.compute.run(job, *args)

    def integration(self, integration_id: str) -> Integration | None:
        if self._ports.integrations is None:
            return None
        try:
            found = self._ports.integrations.get(self._execution.workspace_id, integration_id)
        except NotFound:
            return None
        return found if found.workflow_id == self._execution.workflow_id else None

    def integrations_of_type(self, integration_type: str) -> list[Integration]:
        if self._ports.integrations is None:
            return []
        execution = self._execution
        found: list[Integration] = []
        cursor: str | None = None
        while True:
            page = self._ports.integrations.list_for_workflow(execution.workspace_id, execution.workflow_id, 100,
                                                              cursor)
            found.extend(i for i in page.items if i.integration_type == integration_type)
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    def http(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        request = OutboundRequest(method=method, url=url, headers=headers, body=body)
        response = wired(self._ports.http, "outbound calls").send(request)
        return response.status, response.body

    def mail(self, to: list[str], subject: str, body: str) -> None:
        if self._ports.mailer is None:
            raise StepFailed("this runtime has no mailer configured for e-mail integrations", code="email_unavailable")
        self._ports.mailer.send(to, subject, body)


def _latest_parse_output(ports: Ports, execution: Execution) -> bytes | None:
    for entry in reversed(execution.execution_log):
        if entry.type == "parse" and entry.status == StepStatus.COMPLETED:
            stored = ports.executions.get_step_output(execution.workspace_id, execution.id, entry.step_id)
            if stored is not None:
                return stored
    return None


def _current_values(ports: Ports, execution: Execution, only_step: str | None) -> ExecutionOutput | None:
    """The values of the last completed step that produced values (or of `only_step`)."""
    candidates = [e.step_id for e in execution.execution_log if e.status == StepStatus.COMPLETED
                  and e.type != "parse"]  # parse output is a document, megabytes, never values
    if only_step is not None:
        candidates = [s for s in candidates if s == only_step]
    document_id = execution.documents[0] if execution.documents else None
    for step_id in reversed(candidates):
        raw = ports.executions.get_step_output(execution.workspace_id, execution.id, step_id)
        stored = json.loads(raw) if raw is not None else None
        if isinstance(stored, dict) and isinstance(stored.get("values"), dict):
            return ExecutionOutput(document_id=document_id, values=stored["values"],
                                   confidence=stored.get("confidence", {}))
    return None


def _output(ports: Ports, execution: Execution) -> ExecutionOutput:
    """`result_step`'s values, else those of the last completed step that produced values; with
    how the latest review step passed them, when the run had one."""
    current = _current_values(ports, execution, execution.result_step)
    if current is None:
        current = ExecutionOutput(document_id=execution.documents[0] if execution.documents else None)
    review = _latest_review(ports, execution)
    return current.model_copy(update={"review": review}) if review is not None else current


def _latest_review(ports: Ports, execution: Execution) -> ReviewOutcome | None:
    for entry in reversed(execution.execution_log):
        if entry.type == "review" and entry.status == StepStatus.COMPLETED:
            raw = ports.executions.get_step_output(execution.workspace_id, execution.id, entry.step_id)
            stored = json.loads(raw) if raw is not None else None
            if isinstance(stored, dict) and isinstance(stored.get("review"), dict):
                return ReviewOutcome.model_validate(stored["review"])
    return None


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
