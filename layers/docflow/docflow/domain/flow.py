"""What runs next: one pure function that both orchestrators (local engine, Step Functions) use."""

from __future__ import annotations

from dataclasses import dataclass

from docflow.domain.errors import ValidationFailed
from docflow.domain.models import Execution, StepDefinition, StepStatus, WorkflowDefinition


@dataclass(frozen=True)
class NextStep:
    step_id: str
    type: str


Branches = dict[str, list[tuple[str, str]]]


def _invalid(index: int, field: str | list[str], message: str, msg: str) -> ValidationFailed:
    loc = ["body", "definition", "steps", index, *([field] if isinstance(field, str) else field)]
    return ValidationFailed(message, details=[{"loc": loc, "msg": msg}])


def validate_graph(definition: WorkflowDefinition, branches: Branches) -> None:
    """Reject step graphs the engine could not run: no steps, duplicate ids, `next` or branch
    targets that name no step, steps no path reaches, and cycles. `branches` holds, per
    branching step (condition), the (config field, target id) pairs its kind declares."""
    steps = definition.steps
    if not steps:
        raise ValidationFailed("definition.steps must name at least one step",
                               details=[{"loc": ["body", "definition", "steps"], "msg": "empty"}])
    index_of: dict[str, int] = {}
    for index, step in enumerate(steps):
        if step.id in index_of:
            raise _invalid(index, "id", f"step id '{step.id}' is used twice", "duplicate")
        index_of[step.id] = index
    for index, step in enumerate(steps):
        if step.next is not None and step.next not in index_of:
            raise _invalid(index, "next", f"step '{step.id}' has next '{step.next}', which is not a step of this "
                                          "workflow", "unknown step")
        if step.id in branches and step.next is not None:
            raise _invalid(index, "next", f"step '{step.id}' branches ({step.type}): it goes on at its branch "
                                          "targets, so it cannot also have next", "next on a branching step")
        for field, target in branches.get(step.id, []):
            if target not in index_of:
                raise _invalid(index, ["config", field], f"step '{step.id}' has {field} '{target}', which is not a "
                                                         "step of this workflow", "unknown step")
    _check_reachable(steps, branches)
    _check_acyclic(steps, branches, index_of)


def successors(steps: list[StepDefinition], step: StepDefinition, branches: Branches) -> list[str]:
    """Where a step may go on: its branch targets, else `next`, else the step after it."""
    if step.id in branches:
        return [target for _, target in branches[step.id]]
    if step.next is not None:
        return [step.next]
    index = steps.index(step)
    return [steps[index + 1].id] if index + 1 < len(steps) else []


def _check_reachable(steps: list[StepDefinition], branches: Branches) -> None:
    by_id = {s.id: s for s in steps}
    seen, todo = {steps[0].id}, [steps[0].id]
    while todo:
        for following in successors(steps, by_id[todo.pop()], branches):
            if following not in seen:
                seen.add(following)
                todo.append(following)
    for index, step in enumerate(steps):
        if step.id not in seen:
            raise _invalid(index, "id", f"step '{step.id}' is unreachable: no path from the first step "
                                        f"'{steps[0].id}' leads to it", "unreachable")


def _check_acyclic(steps: list[StepDefinition], branches: Branches, index_of: dict[str, int]) -> None:
    by_id = {s.id: s for s in steps}
    done: set[str] = set()

    def visit(step_id: str, path: list[str]) -> None:
        if step_id in path:
            cycle = [*path[path.index(step_id):], step_id]
            raise _invalid(index_of[step_id], "id", f"steps form a cycle: {' → '.join(cycle)}; a run must end",
                           "cycle")
        if step_id in done:
            return
        for following in successors(steps, by_id[step_id], branches):
            visit(following, [*path, step_id])
        done.add(step_id)

    visit(steps[0].id, [])


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


def next_step(execution: Execution) -> NextStep | None:
    """The step to run now, or None when the run is over.

    Derived from the execution's own definition and log alone, so a resumed or redelivered run
    picks up exactly where the last completed step left it, and both orchestrators follow the
    same branch: a branching step's log entry names the step it chose."""
    definition = execution.definition
    steps = definition.steps
    if not steps:
        return None
    log = [e for e in execution.execution_log if e.status == StepStatus.COMPLETED]
    if not log:
        first = definition.step(execution.start_step) if execution.start_step else steps[0]
        return NextStep(first.id, first.type) if first else None
    last_entry = log[-1]
    last = definition.step(last_entry.step_id)
    if last is None or last.id == execution.end_step:
        return None
    if last_entry.branch is not None:
        following = definition.step(last_entry.branch)
    else:
        ids = successors(steps, last, {})
        following = definition.step(ids[0]) if ids else None
    return None if following is None else NextStep(following.id, following.type)
