"""`condition`: branch on the run's values. `{"expression": "total > `1000`", "if_true": "<step
id>", "if_false": "<step id>"}`; the branch taken is in the step's execution log entry, and the
pure `next_step` follows it, so both orchestrators take the same one."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field, field_validator

from docflow.steps.base import StepKind, StepResult, StepRun
from docflow.steps.expressions import compiled, search, truthy

CODE = "condition_failed"


class ConditionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str = Field(min_length=1, max_length=4000,
                            description="A JMESPath expression over the values; JMESPath truth decides")
    if_true: str = Field(min_length=1, max_length=64, description="The step to run when the expression is true")
    if_false: str = Field(min_length=1, max_length=64, description="The step to run when it is false")

    @field_validator("expression")
    @classmethod
    def _compiles(cls, expression: str) -> str:
        compiled(expression)
        return expression


def _targets(config: ConditionConfig) -> list[tuple[str, str]]:
    return [("if_true", config.if_true), ("if_false", config.if_false)]


def _execute(run: StepRun, config: ConditionConfig) -> StepResult:
    values, _ = run.values()
    result = truthy(search(config.expression, values, CODE))
    branch = config.if_true if result else config.if_false
    output = json.dumps({"result": result, "branch": branch}).encode()
    return StepResult(output, branch=branch, summary={"input": {"fields": sorted(values)},
                                                      "output": {"result": result, "branch": branch}})


STEP = StepKind("condition", ConditionConfig, "inline", _execute, targets=_targets,
                description="branch to one of two steps on a JMESPath expression")
