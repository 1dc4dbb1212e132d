"""The pure domain: status rules and the 'what runs next' function both orchestrators share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from docflow.domain.errors import IllegalTransition, ValidationFailed
from docflow.domain.flow import NextStep, next_step, validate_bounds
from docflow.domain.models import (
    Execution,
    ExecutionLogEntry,
    ExecutionStatus,
    StepStatus,
    Workflow,
    WorkflowDefinition,
)
from docflow.domain.status import can_move, move

NOW = datetime(2026, 1, 1, tzinfo=UTC)
S = ExecutionStatus


def workflow(*steps: dict[str, object]) -> Workflow:
    return Workflow(workspace_id="w", name="n", definition=WorkflowDefinition.model_validate({"steps": list(steps)}))


def ran(execution: Execution, *step_ids: str, status: StepStatus = StepStatus.COMPLETED) -> Execution:
    entries = [ExecutionLogEntry(step_id=s, type="parse", status=status, started_at=NOW, completed_at=NOW,
                                 duration_ms=1) for s in step_ids]
    return execution.model_copy(update={"execution_log": [*execution.execution_log, *entries]})


def execution(**fields: object) -> Execution:
    return Execution.model_validate({"workflow_id": "wf", "workflow_version": 1, "workspace_id": "w", **fields})


@pytest.mark.parametrize(("current", "target", "allowed"), [
    (S.QUEUED, S.PROCESSING, True), (S.PROCESSING, S.REVIEW, True), (S.REVIEW, S.PROCESSING, True),
    (S.PROCESSING, S.COMPLETED, True), (S.QUEUED, S.CANCELED, True), (S.QUEUED, S.COMPLETED, False),
    (S.COMPLETED, S.PROCESSING, False), (S.FAILED, S.COMPLETED, False), (S.CANCELED, S.PROCESSING, False),
    (S.REVIEW, S.COMPLETED, False),
])
def test_status_moves_only_along_the_design(current: S, target: S, allowed: bool) -> None:
    assert can_move(current, target) is allowed


def test_move_appends_history_and_sets_times() -> None:
    started = move(execution(), S.PROCESSING, NOW, "go")
    assert started.status_history[-1].status == S.PROCESSING and started.start_time == NOW
    done = move(started, S.COMPLETED, NOW)
    assert done.end_time == NOW and [c.status for c in done.status_history] == [S.PROCESSING, S.COMPLETED]
    with pytest.raises(IllegalTransition):
        move(done, S.PROCESSING, NOW)


def test_next_step_walks_the_list_in_order() -> None:
    run = execution(definition=workflow({"id": "p", "type": "parse"}, {"id": "e", "type": "extract"}).definition)
    assert next_step(run) == NextStep("p", "parse")
    assert next_step(ran(run, "p")) == NextStep("e", "extract")
    assert next_step(ran(run, "p", "e")) is None


def test_next_step_ignores_failed_entries_and_honours_next_and_bounds() -> None:
    flow = workflow({"id": "a", "type": "parse", "next": "c"}, {"id": "b", "type": "parse"},
                    {"id": "c", "type": "extract"}).definition
    run = execution(definition=flow)
    assert next_step(ran(run, "a", status=StepStatus.FAILED)) == NextStep("a", "parse")
    assert next_step(ran(run, "a")) == NextStep("c", "extract")
    bounded = execution(definition=flow, start_step="b", end_step="b")
    assert next_step(bounded) == NextStep("b", "parse")
    assert next_step(ran(bounded, "b")) is None


def test_given_run_bounds_that_name_no_step_or_run_backwards_when_started_then_refused() -> None:
    flow = workflow({"id": "a", "type": "parse"}, {"id": "b", "type": "extract"}).definition
    with pytest.raises(ValidationFailed, match="result_step 'x'"):
        validate_bounds(flow, result_step="x")
    with pytest.raises(ValidationFailed, match="after end_step"):
        validate_bounds(flow, start_step="b", end_step="a")


def test_ids_are_ulids_that_sort_by_creation_time() -> None:
    import re
    import time

    from docflow.domain.clock import new_id, ulid

    first = ulid()
    time.sleep(0.002)
    second = ulid()
    assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{26}", first) and first < second
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    millis = sum(alphabet.index(c) << (5 * (9 - i)) for i, c in enumerate(second[:10]))
    assert abs(millis / 1000 - time.time()) < 5
    assert new_id("wf").startswith("wf_") and len({new_id("x") for _ in range(1000)}) == 1000
