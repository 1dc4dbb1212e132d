"""`transform`: reshape and compute the run's values with JMESPath.

`{"expression": "<expr>"}` replaces the values with the object the expression yields;
`{"set": {"name": "<expr>", ...}}` adds or replaces those names and keeps the other values.
Either way the result is what later steps and `output.values` see."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from docflow.domain.errors import StepFailed
from docflow.steps.base import StepKind, StepResult, StepRun
from docflow.steps.expressions import compiled, search

CODE = "transform_failed"


class TransformConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expression: str | None = Field(default=None, min_length=1, max_length=4000,
                                   description="A JMESPath expression yielding an object: the new values")
    set: dict[str, str] | None = Field(default=None, min_length=1, max_length=200,
                                       description="name → JMESPath expression: values to add or replace")

    @model_validator(mode="after")
    def _one_mode(self) -> TransformConfig:
        if (self.expression is None) == (self.set is None):
            raise ValueError("give either expression or set")
        return self

    @field_validator("expression")
    @classmethod
    def _compiles(cls, expression: str | None) -> str | None:
        if expression is not None:
            compiled(expression)
        return expression

    @field_validator("set")
    @classmethod
    def _each_compiles(cls, assignments: dict[str, str] | None) -> dict[str, str] | None:
        for name, expression in (assignments or {}).items():
            if not name:
                raise ValueError("a value name may not be empty")
            try:
                compiled(expression)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return assignments


def _execute(run: StepRun, config: TransformConfig) -> StepResult:
    values, confidence = run.values()
    if config.expression is not None:
        result = search(config.expression, values, CODE)
        if not isinstance(result, dict):
            raise StepFailed(f"expression {config.expression!r} yielded {type(result).__name__}, not an object: "
                             "a transform's result becomes the run's values", code=CODE,
                             details=[{"expression": config.expression, "result_type": type(result).__name__}])
        new_values: dict[str, Any] = result
    else:
        assert config.set is not None
        new_values = {**values, **{name: search(expr, values, CODE) for name, expr in config.set.items()}}
    kept = {name: score for name, score in confidence.items() if name in new_values
            and (config.set is None or name not in config.set) and new_values[name] == values.get(name)}
    output = json.dumps({"values": new_values, "confidence": kept}, default=str).encode()
    return StepResult(output, summary={"input": {"fields": sorted(values)}, "output": {"fields": sorted(new_values)}})


STEP = StepKind("transform", TransformConfig, "inline", _execute,
                description="reshape or compute values with JMESPath")
