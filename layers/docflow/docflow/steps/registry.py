"""Which step types exist now, and the config model each one validates against."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from docflow.domain.errors import ValidationFailed
from docflow.domain.models import WorkflowDefinition
from docflow.steps.extract import ExtractConfig
from docflow.steps.parse import ParseConfig

STEP_CONFIGS: dict[str, type[BaseModel]] = {"parse": ParseConfig, "extract": ExtractConfig}


def step_config(step_type: str, config: dict[str, Any]) -> BaseModel:
    return STEP_CONFIGS[step_type].model_validate(config)


def validate_step_configs(definition: WorkflowDefinition) -> None:
    """Every step's type is available and its config is valid, so a run never fails on a typo."""
    for index, step in enumerate(definition.steps):
        loc = ["body", "definition", "steps", index]
        if step.type not in STEP_CONFIGS:
            raise ValidationFailed(
                f"step '{step.id}': type '{step.type}' is not available yet; available: {', '.join(STEP_CONFIGS)}",
                details=[{"loc": [*loc, "type"], "msg": "unavailable step type"}],
            )
        try:
            step_config(step.type, step.config)
        except ValidationError as exc:
            details = [{"loc": [*loc, "config", *err["loc"]], "msg": err["msg"], "type": err["type"]}
                       for err in exc.errors(include_url=False, include_context=False, include_input=False)]
            raise ValidationFailed(f"step '{step.id}': invalid {step.type} config", details=details) from None
