"""What runs next: one pure function that both orchestrators (local engine, Step Functions) use."""

from __future__ import annotations

from dataclasses import dataclass

from docflow.domain.errors import ValidationFailed
from docflow.domain.models import Execution, StepDefinition, StepStatus, WorkflowDefinition


@dataclass(frozen=True)
class NextStep:
    step_id: str
    type: str


def validate_definition(definition: WorkflowDefinition) -> None:
    """Reject definitions the engine could not run: empty, duplicate ids, dangling `next`."""
    steps = definition.steps
    if not steps:
        raise ValidationFailed("definition.steps must name at least one step",
                               details=[{"loc": ["definition", "steps"], "msg": "empty"}])
    seen: set[str] = set()
    for index, step in enumerate(steps):
        if step.id in seen:
            raise ValidationFailed(f"step id '{step.id}' is used twice",
                                   details=[{"loc": ["definition", "steps", index, "id"], "msg": "duplicate"}])
        seen.add(step.id)
    for index, step in enumerate(steps):
        if step.next is not None and step.next not in seen:
            raise ValidationFailed(f"step '{step.id}' has next '{step.next}', which is not a step of this workflow",
                                   details=[{"loc": ["definition", "steps", index, "next"], "msg": "unknown step"}])


def validate_bounds(definition: WorkflowDefinition, **bounds: str | None) -> None:
    ids = [s.id for s in definition.steps]
    for name, step_id in bounds.items():
        if step_id is not None and step_id not in ids:
            raise ValidationFailed(f"{name} '{step_id}' is not a step of this workflow",
                                   details=[{"loc": ["body", name], "msg": "unknown step"}])
    start, end = bounds.get("start_step"), bounds.get("end_step")
    if start and end and ids.index(start) > ids.index(end):
        raise ValidationFailed("start_step comes after end_step",
                               details=[{"loc": ["body", "start_step"], "msg": "order"}])


def _successor(steps: list[StepDefinition], step: StepDefinition) -> StepDefinition | None:
    if step.next is not None:
        return next(s for s in steps if s.id == step.next)
    index = steps.index(step)
    return steps[index + 1] if index + 1 < len(steps) else None


def next_step(execution: Execution) -> NextStep | None:
    """The step to run now, or None when the run is over.

    Derived from the execution's own definition and log alone, so a resumed or redelivered run
    picks up exactly where the last completed step left it."""
    definition = execution.definition
    steps = definition.steps
    if not steps:
        return None
    log = [e for e in execution.execution_log if e.status == StepStatus.COMPLETED]
    if not log:
        first = definition.step(execution.start_step) if execution.start_step else steps[0]
        return NextStep(first.id, first.type) if first else None
    last = definition.step(log[-1].step_id)
    if last is None or last.id == execution.end_step:
        return None
    following = _successor(steps, last)
    if following is None:
        return None
    if len(log) > len(steps) * 4:
        # A `next` cycle that never ends: stop instead of looping forever.
        return None
    return NextStep(following.id, following.type)
