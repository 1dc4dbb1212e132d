"""Message templates of integrations ("Invoice processed: {{invoice_number}}"), rendered in
Jinja2's sandbox: no attribute access to Python internals, unknown variables render empty."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from docflow.domain.errors import StepFailed

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment


@cache
def _environment() -> SandboxedEnvironment:
    from jinja2 import ChainableUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # Plain text (Slack mrkdwn, e-mail, JSON fields), not HTML: no autoescape.
    return SandboxedEnvironment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=True)


def check_template(template: str) -> str:
    """Raises ValueError (a 422 in a config model) for a template that does not compile."""
    from jinja2 import TemplateSyntaxError

    try:
        _environment().parse(template)
    except TemplateSyntaxError as exc:
        raise ValueError(f"not a valid template: {exc.message} (line {exc.lineno})") from None
    return template


def render(template: str, context: dict[str, Any]) -> str:
    from jinja2 import TemplateError

    try:
        return _environment().from_string(template).render(context)
    except TemplateError as exc:  # SecurityError (sandbox), a filter on the wrong type, ...
        raise StepFailed(f"template failed: {exc}", code="template_failed",
                         details=[{"template": template[:200], "message": str(exc)}]) from None
