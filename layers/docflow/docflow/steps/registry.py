"""The step types that exist: each registered here once, from its own module. Validation on
save, the local engine and the state machine's task handler all read `STEP_KINDS`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from docflow.domain.errors import StepFailed, ValidationFailed
from docflow.domain.flow import validate_graph
from docflow.domain.models import StepDefinition, WorkflowDefinition
from docflow.steps import condition, extract, integration, parse, review, transform
from docflow.steps.base import StepKind

STEP_KINDS: dict[str, StepKind] = {kind.name: kind for kind in (parse.STEP, extract.STEP, transform.STEP,
                                                                 condition.STEP, review.STEP, integration.STEP)}


def step_kind(step_type: str) -> StepKind:
    """The kind of a step the orchestrator is about to run; a type this build has no module for
    (a definition stored by another version) fails the run with `unsupported_step`."""
    kind = STEP_KINDS.get(step_type)
    if kind is None:
        raise StepFailed(f"step type '{step_type}' is not available in this version of Docflow; available: "
                         f"{', '.join(STEP_KINDS)}", code="unsupported_step")
    return kind


def step_config(step_type: str, config: dict[str, Any]) -> BaseModel:
    return STEP_KINDS[step_type].config(config)


def validate_workflow_definition(definition: WorkflowDefinition) -> None:
    """Every step's type exists and its config is valid, and the steps form a graph the engine
    can run (no duplicate ids, dangling targets, unreachable steps or cycles): a run never fails
    on a typo."""
    branches: dict[str, list[tuple[str, str]]] = {}
    for index, step in enumerate(definition.steps):
        loc = ["body", "definition", "steps", index]
        kind = STEP_KINDS.get(step.type)
        if kind is None:
            raise ValidationFailed(
                f"step '{step.id}': type '{step.type}' is not available yet; available: {', '.join(STEP_KINDS)}",
                details=[{"loc": [*loc, "type"], "msg": "unavailable step type"}],
            )
        config = _config(kind, step, loc)
        if kind.branches:
            branches[step.id] = kind.targets(config)
    validate_graph(definition, branches)


def _config(kind: StepKind, step: StepDefinition, loc: list[Any]) -> BaseModel:
    try:
        return kind.config(step.config)
    except ValidationError as exc:
        details = [{"loc": [*loc, "config", *err["loc"]], "msg": err["msg"], "type": err["type"]}
                   for err in exc.errors(include_url=False, include_context=False, include_input=False)]
        messages = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
                             for err in exc.errors(include_url=False))
        raise ValidationFailed(f"step '{step.id}': invalid {step.type} config: {messages}",
                               details=details) from None
