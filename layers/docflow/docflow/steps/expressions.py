"""JMESPath, the expression language of `transform` and `condition` (never `eval`): compiled on
save so a typo is a 422, searched at run time over the run's current values."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jmespath
import jmespath.exceptions
import jmespath.parser

from docflow.domain.errors import StepFailed


@lru_cache(maxsize=512)
def compiled(expression: str) -> jmespath.parser.ParsedResult:
    """Raises ValueError (a pydantic validation error in a config model) naming the problem."""
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"not a valid JMESPath expression: {exc}") from None


def search(expression: str, data: dict[str, Any], step_code: str) -> Any:
    try:
        return compiled(expression).search(data)
    except jmespath.exceptions.JMESPathError as exc:
        raise StepFailed(f"expression {expression!r} failed: {exc}", code=step_code,
                         details=[{"expression": expression, "message": str(exc)}]) from None


def truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, and empty strings, lists and objects are false; 0 is true."""
    if value is None or value is False:
        return False
    if isinstance(value, str | list | dict):
        return len(value) > 0
    return True
