"""Who is calling: the workspace and key id the authorizer put in the request context (the Lambda
authorizer on AWS, the local server's same check in local mode)."""

from __future__ import annotations

from typing import Any

from docflow.domain.errors import Unauthorized
from docflow.domain.reviews import Reviewer

# The authorizer's context key for why a request carries no workspace (a bad or revoked key).
REFUSAL = "refused"


def _authorizer(router: Any) -> dict[str, Any]:
    return dict(router.current_event.request_context.authorizer.get_lambda or {})


def workspace_of(router: Any) -> str:
    """The caller's workspace; Unauthorized when the request carries none (never a default)."""
    workspace_id = _authorizer(router).get("workspace_id")
    if not workspace_id:
        raise Unauthorized("missing or invalid API key")
    return str(workspace_id)


def refusal_of(event: dict[str, Any]) -> Unauthorized | None:
    """Unauthorized unless the authorizer named a workspace: for every route that is not public."""
    context = ((event.get("requestContext") or {}).get("authorizer") or {}).get("lambda") or {}
    if context.get("workspace_id"):
        return None
    return Unauthorized(str(context.get(REFUSAL) or "missing API key: send Authorization: Bearer <key>"))


def key_id_of(router: Any) -> str | None:
    key_id = _authorizer(router).get("key_id")
    return None if key_id is None else str(key_id)


def reviewer_of(router: Any) -> Reviewer:
    """The API key acting on a review: its id and name (what the task records)."""
    context = _authorizer(router)
    key_id = context.get("key_id")
    if not key_id:
        raise Unauthorized("missing or invalid API key")
    return Reviewer(key_id=str(key_id), name=str(context.get("key_name") or key_id))
