"""Human review: list, read, claim, complete and reject review tasks, and the two ways a wait ends
without a person (timeout; on AWS, a task token that arrives after the answer). Completing or
expiring resumes the run through `usecases.run` and the WaitingRuns port, the same on both
orchestrators; a task ends exactly once (every change is a conditional save of the task)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from docflow.domain.clock import utc_now
from docflow.domain.errors import Conflict, NotFound, StepFailed
from docflow.domain.flow import next_step
from docflow.domain.models import Document, Execution, ExecutionError, ExecutionStatus, Page, ReviewOutcome
from docflow.domain.reviews import (
    CLAIM_TTL,
    Reviewer,
    ReviewStatus,
    ReviewTask,
    changed_fields,
    corrected_values,
    ensure_not_claimed_by_other,
    ensure_open,
    review_id,
)
from docflow.ports import DueReviews, Ports, ReviewRepository, wired
from docflow.usecases import run

log = logging.getLogger("docflow.reviews")
MAX_SAVE_ATTEMPTS = 20
# How many stored pages a queue read may look through to fill one page past others' claims.
MAX_LIST_READS = 5
# Text documents are shown as text in the review page; beyond this they are cut.
MAX_TEXT_CHARS = 200_000


def _reviews(ports: Ports) -> ReviewRepository:
    return wired(ports.reviews, "reviews")


def _change(ports: Ports, workspace_id: str, review_id: str,
            change: Callable[[ReviewTask], ReviewTask | None]) -> tuple[ReviewTask, bool]:
    """Read-modify-conditional-write, retried on a concurrent change (like executions)."""
    reviews = _reviews(ports)
    for _ in range(MAX_SAVE_ATTEMPTS):
        current = reviews.get(workspace_id, review_id)
        updated = change(current)
        if updated is None:
            return current, False
        try:
            return reviews.save(updated), True
        except Conflict:
            continue
    raise Conflict(f"review {review_id} is changing too often; try again")


# --- reading --------------------------------------------------------------------------------

def list_reviews(ports: Ports, workspace_id: str, workflow_id: str | None, status: ReviewStatus | None,
                 limit: int, cursor: str | None, key_id: str | None) -> Page[ReviewTask]:
    """Pending first, oldest first; a task another reviewer claimed stays out of the queue
    until the claim lapses."""
    if workflow_id is not None:
        ports.workflows.get(workspace_id, workflow_id)  # 404 for an unknown or foreign workflow
    now, items = utc_now(), list[ReviewTask]()
    for _ in range(MAX_LIST_READS):
        # Never more than the page still needs: the cursor then stands right after the last item kept.
        page = _reviews(ports).list(workspace_id, workflow_id, status, limit - len(items), cursor)
        items.extend(t for t in page.items if t.claimed_by_other(key_id, now) is None)
        cursor = page.next_cursor
        if len(items) >= limit or cursor is None:
            break
    return Page(items=items, next_cursor=cursor)


def get_review(ports: Ports, workspace_id: str, review_id: str) -> ReviewTask:
    return _reviews(ports).get(workspace_id, review_id)


@dataclass(frozen=True)
class PageInfo:
    number: int
    width: float
    height: float


@dataclass(frozen=True)
class ReviewDocument:
    document: Document | None
    pages: list[PageInfo]
    # The document's text when it has no pages to show (a text document).
    text: str | None


def review_document(ports: Ports, task: ReviewTask) -> ReviewDocument:
    """The document a task is about: its pages' sizes (images come from `page_image`), or its text."""
    document = _document(ports, task)
    if document is None:
        return ReviewDocument(None, [], None)
    data = ports.blobs.read(document.storage_key)
    if document.content_type.startswith("text/"):
        return ReviewDocument(document, [], data.decode("utf-8", errors="replace")[:MAX_TEXT_CHARS])
    sizes = wired(ports.page_images, "page images").pages(data, document.content_type)
    return ReviewDocument(document, [PageInfo(i + 1, w, h) for i, (w, h) in enumerate(sizes)], None)


def page_image(ports: Ports, workspace_id: str, review_id: str, page: int) -> bytes:
    """Page `page` of the task's document as a PNG, rendered once and kept beside the document."""
    task = get_review(ports, workspace_id, review_id)
    document = _document(ports, task)
    if document is None:
        raise NotFound(f"review {review_id} has no document")
    # Not under documents/: writes there are upload events (S3 notifications, the uploads function).
    key = f"renders/{document.workspace_id}/{document.id}/page-{page}.png"
    if ports.blobs.head(key) is not None:
        return ports.blobs.read(key)
    if document.content_type.startswith("text/"):
        raise NotFound(f"document {document.id} is text: it has no page images")
    image = wired(ports.page_images, "page images").render(ports.blobs.read(document.storage_key),
                                                           document.content_type, page)
    ports.blobs.write(key, image, "image/png")
    return image


def _document(ports: Ports, task: ReviewTask) -> Document | None:
    if task.document_id is None:
        return None
    try:
        return ports.documents.get(task.workspace_id, task.document_id)
    except NotFound:
        return None


# --- claims ---------------------------------------------------------------------------------

def claim_review(ports: Ports, workspace_id: str, review_id: str, reviewer: Reviewer) -> ReviewTask:
    """Hides the task from other reviewers' queues for CLAIM_TTL (renewed by claiming again)."""
    def claim(current: ReviewTask) -> ReviewTask:
        now = utc_now()
        ensure_open(current, now)
        ensure_not_claimed_by_other(current, reviewer.key_id, now)
        return current.model_copy(update={"claimed_by": reviewer, "claimed_until": now + CLAIM_TTL})

    return _change(ports, workspace_id, review_id, claim)[0]


def release_review(ports: Ports, workspace_id: str, review_id: str, reviewer: Reviewer) -> ReviewTask:
    def release(current: ReviewTask) -> ReviewTask | None:
        ensure_not_claimed_by_other(current, reviewer.key_id, utc_now())
        if current.claimed_by is None:
            return None
        return current.model_copy(update={"claimed_by": None, "claimed_until": None})

    return _change(ports, workspace_id, review_id, release)[0]


# --- answers --------------------------------------------------------------------------------

def complete_review(ports: Ports, workspace_id: str, review_id: str, submitted: dict[str, Any],
                    reviewer: Reviewer) -> ReviewTask:
    """Stores the corrected values (422 naming each bad field), ends the task (409 when it already
    ended or expired) and resumes the run with them."""
    def complete(current: ReviewTask) -> ReviewTask:
        now = utc_now()
        _ensure_answerable(ports, current, now)
        ensure_not_claimed_by_other(current, reviewer.key_id, now)
        values = corrected_values(current, submitted)
        return current.model_copy(update={
            "status": ReviewStatus.COMPLETED, "values": values, "changed_fields": changed_fields(current, values),
            "completed_by": reviewer, "completed_at": now, "claimed_by": None, "claimed_until": None})

    task, _ = _change(ports, workspace_id, review_id, complete)
    _resume(ports, task)
    return task


def reject_review(ports: Ports, workspace_id: str, review_id: str, reason: str, reviewer: Reviewer) -> ReviewTask:
    """Ends the task and fails the run with `review_rejected` and the reason."""
    def reject(current: ReviewTask) -> ReviewTask:
        now = utc_now()
        _ensure_answerable(ports, current, now)
        ensure_not_claimed_by_other(current, reviewer.key_id, now)
        return current.model_copy(update={"status": ReviewStatus.REJECTED, "reason": reason,
                                          "completed_by": reviewer, "completed_at": now,
                                          "claimed_by": None, "claimed_until": None})

    task, _ = _change(ports, workspace_id, review_id, reject)
    _abort(ports, task)
    return task


def _ensure_answerable(ports: Ports, task: ReviewTask, now: datetime) -> None:
    """Open, and its run still waits for it: a canceled run's task cannot be answered."""
    ensure_open(task, now)
    execution = ports.executions.get(task.workspace_id, task.execution_id)
    if execution.status != ExecutionStatus.REVIEW:
        raise Conflict(f"execution {execution.id} is {execution.status.value}; review {task.id} no longer "
                       f"waits for an answer", details=[{"execution_status": execution.status.value}])


def _outcome(task: ReviewTask) -> ReviewOutcome:
    if task.status == ReviewStatus.EXPIRED:
        return ReviewOutcome(review_id=task.id, outcome="timeout_approved", predicted=task.predicted_values())
    return ReviewOutcome(review_id=task.id, outcome="approved", predicted=task.predicted_values(),
                         changed_fields=task.changed_fields,
                         reviewed_by=task.completed_by.model_dump() if task.completed_by else None,
                         reviewed_at=task.completed_at)


def _message(task: ReviewTask) -> str:
    if task.status == ReviewStatus.EXPIRED:
        return f"review {task.id} timed out: going on with the predicted values (on_timeout: approve)"
    who = task.completed_by.name if task.completed_by else "a reviewer"
    changed = ", ".join(task.changed_fields) or "none"
    return f"review {task.id} approved by {who} (changed: {changed})"


def _error(task: ReviewTask) -> ExecutionError:
    if task.status == ReviewStatus.REJECTED:
        who = task.completed_by.name if task.completed_by else "a reviewer"
        return ExecutionError(code="review_rejected", message=f"rejected by {who}: {task.reason}",
                              step_id=task.step_id)
    return ExecutionError(code="review_timeout", step_id=task.step_id,
                          message=f"review {task.id} was not answered by {task.due_at.isoformat()}")


def _continues(task: ReviewTask) -> bool:
    return task.status == ReviewStatus.COMPLETED or (task.status == ReviewStatus.EXPIRED
                                                     and task.on_timeout == "approve")


def _resume(ports: Ports, task: ReviewTask) -> run.Progress:
    """The run goes on with the task's values; its orchestrator is told (a token on AWS)."""
    progress = run.resume_after_review(ports, task, _outcome(task), _message(task))
    execution = ports.executions.get(task.workspace_id, task.execution_id)
    wired(ports.waiting_runs, "waiting runs").resume(execution, task.task_token, progress.to_payload())
    return progress


def _abort(ports: Ports, task: ReviewTask) -> None:
    error = _error(task)
    execution = run.fail_waiting(ports, task, error)
    wired(ports.waiting_runs, "waiting runs").abort(execution, task.task_token, error)


# --- the orchestrator's side ------------------------------------------------------------------

def run_waiting_step(ports: Ports, workspace_id: str, execution_id: str, step_id: str, task_token: str) -> None:
    """AWS: the `.waitForTaskToken` Task runs a step that waits (review). When it parks the run,
    the token is stored with its task and the state machine waits for the answer; when it passes
    without a person (or a retried call finds the run moved on), the token is sent back at once
    with what comes next."""
    progress = run.run_step(ports, workspace_id, execution_id, step_id)
    if progress.awaiting is not None and progress.awaiting.step_id == step_id:
        await_review(ports, workspace_id, progress.awaiting.review_id, task_token)
        return
    execution = ports.executions.get(workspace_id, execution_id)
    wired(ports.waiting_runs, "waiting runs").resume(execution, task_token, progress.to_payload())


def await_review(ports: Ports, workspace_id: str, review_id: str, task_token: str) -> None:
    """AWS: the Task that waits stores its token with the task. When a person answered before the
    token arrived, nobody could tell the state machine: this call does, so exactly one of the two
    (the answer or the token) sends it."""
    def store(current: ReviewTask) -> ReviewTask | None:
        if current.status != ReviewStatus.PENDING or current.task_token == task_token:
            return None
        return current.model_copy(update={"task_token": task_token})

    task, stored = _change(ports, workspace_id, review_id, store)
    if stored or task.status == ReviewStatus.PENDING:
        return
    waiting = wired(ports.waiting_runs, "waiting runs")
    execution = ports.executions.get(workspace_id, task.execution_id)
    if _continues(task):
        waiting.resume(execution, task_token, run.resume_after_review(ports, task, _outcome(task),
                                                                      _message(task)).to_payload())
    else:
        waiting.abort(execution, task_token, execution.error or _error(task))


def expire_review(ports: Ports, workspace_id: str, review_id: str) -> run.Progress:
    """The wait timed out (the state machine's TimeoutSeconds, or the local timeout loop): the
    task expires, and the run goes on with the predicted values (`on_timeout: approve`) or fails
    with `review_timeout` (StepFailed, after the failure is recorded). A task answered just before
    keeps its answer: the run goes on (or stays failed) as that answer says."""
    def expire(current: ReviewTask) -> ReviewTask | None:
        if current.status != ReviewStatus.PENDING:
            return None
        return current.model_copy(update={"status": ReviewStatus.EXPIRED, "completed_at": utc_now(),
                                          "claimed_by": None, "claimed_until": None})

    task, _ = _change(ports, workspace_id, review_id, expire)
    if _continues(task):
        return run.resume_after_review(ports, task, _outcome(task), _message(task))
    error = _error(task)
    run.fail_waiting(ports, task, error)
    raise StepFailed(error.message, code=error.code)


def close_for_canceled_run(ports: Ports, execution: Execution) -> None:
    """A run canceled while it waited for a review takes its task out of the queue (expired,
    with the reason), so nobody reviews a run that will never use the answer."""
    history = execution.status_history
    step = next_step(execution)
    if ports.reviews is None or step is None or len(history) < 2 or history[-2].status != ExecutionStatus.REVIEW:
        return

    def close(current: ReviewTask) -> ReviewTask | None:
        if current.status != ReviewStatus.PENDING:
            return None
        return current.model_copy(update={"status": ReviewStatus.EXPIRED, "completed_at": utc_now(),
                                          "reason": "the run was canceled", "claimed_by": None,
                                          "claimed_until": None})

    with suppress(NotFound):
        _change(ports, execution.workspace_id, review_id(execution.workspace_id, execution.id, step.step_id), close)


def expire_waiting_step(ports: Ports, workspace_id: str, execution_id: str, step_id: str) -> run.Progress:
    """AWS: the wait of a review step timed out (TimeoutSecondsPath)."""
    try:
        return expire_review(ports, workspace_id, review_id(workspace_id, execution_id, step_id))
    except NotFound:  # timed out before the step stored its task: nobody could have answered
        error = ExecutionError(code="review_timeout", step_id=step_id,
                               message=f"step '{step_id}' timed out before its review task was stored")
        run.fail(ports, workspace_id, execution_id, error)
        raise StepFailed(error.message, code=error.code) from None


def expire_due(ports: Ports, due: DueReviews, now: datetime, limit: int = 100) -> int:
    """Local mode's timeout loop: expires every task past its due time and tells the engine."""
    expired = 0
    for task in due.list_due(now, limit):
        try:
            _expire_due_task(ports, task)
        except Exception:  # one task's trouble (a busy database) must not hold up the others: next tick
            log.exception("review %s: expiring it failed", task.id)
            continue
        expired += 1
    return expired


def _expire_due_task(ports: Ports, task: ReviewTask) -> None:
    with suppress(StepFailed):  # a failed run is recorded on the execution: nothing left to drive
        expire_review(ports, task.workspace_id, task.id)
    execution = ports.executions.get(task.workspace_id, task.execution_id)
    if execution.status == ExecutionStatus.PROCESSING:
        progress = run.progress_of(ports, task.workspace_id, task.execution_id)
        wired(ports.waiting_runs, "waiting runs").resume(execution, None, progress.to_payload())
