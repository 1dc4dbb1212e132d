"""Integrations CRUD (DESIGN.md §1). An integration belongs to one workflow of the caller's
workspace (404 otherwise, the same as an unknown id). Every URL in a config passes the SSRF guard
at save (`ports.http.check_url`: a 422 naming `config.<field>` and the reason); the guard checks
again when a step sends. Secrets are stored whole and shown masked (domain/integrations.py); a PUT
that sends a masked value back unchanged keeps the stored secret."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from docflow.domain.clock import utc_now
from docflow.domain.errors import NotFound, ValidationFailed
from docflow.domain.integrations import MASK, SPEC, TYPES, URL_FIELDS, Integration, unmask_config
from docflow.domain.models import Page
from docflow.ports import IntegrationRepository, Ports, wired


@dataclass(frozen=True)
class IntegrationChange:
    """A PUT body: the fields it carries replace the stored ones; the others stay."""

    name: str | None = None
    integration_type: str | None = None
    config: dict[str, Any] | None = None


def _repository(ports: Ports) -> IntegrationRepository:
    return wired(ports.integrations, "integrations")


def _invalid(error: ValidationError) -> ValidationFailed:
    """pydantic's errors with the union's tag dropped from each loc: `body.config.url`, as sent."""
    details = []
    for e in error.errors():
        loc = list(e["loc"])
        if loc and loc[0] in TYPES:  # the tag of the discriminated union, not a field
            loc = loc[1:]
        details.append({"loc": ["body", *loc], "msg": e["msg"], "type": e["type"]})
    names = ", ".join(".".join(str(p) for p in d["loc"][1:]) for d in details)
    return ValidationFailed(f"invalid integration: {names}", details=details)


def _masked_leftovers(integration_type: str, config: dict[str, Any]) -> None:
    """A masked value that is not exactly the stored secret's mask would be saved as the secret."""
    fields = [f"config.{name}" for name in URL_FIELDS[integration_type] if MASK in str(config.get(name, ""))]
    headers = config.get("headers") if integration_type == "webhook" else None
    fields += [f"config.headers.{name}" for name, value in (headers or {}).items() if str(value).startswith(MASK)]
    if fields:
        msg = ("a masked value that is not the stored secret's: send the secret itself, or the masked form "
               "exactly as a GET shows it to keep the stored one")
        raise ValidationFailed(f"{', '.join(fields)}: {msg}",
                               details=[{"loc": ["body", *f.split(".")], "msg": msg} for f in fields])


def _checked_config(ports: Ports, integration_type: str, sent: dict[str, Any],
                    stored: Integration | None) -> dict[str, Any]:
    config = unmask_config(integration_type, sent, stored)
    try:
        spec = SPEC.validate_python({"integration_type": integration_type, "config": config})
    except ValidationError as exc:
        raise _invalid(exc) from None
    checked: dict[str, Any] = spec.config.model_dump(mode="json")
    _masked_leftovers(integration_type, checked)
    for name in URL_FIELDS[integration_type]:
        wired(ports.http, "outbound calls").check_url(checked[name], f"config.{name}")
    return checked


def create_integration(ports: Ports, workspace_id: str, workflow_id: str, name: str, integration_type: str,
                       config: dict[str, Any]) -> Integration:
    ports.workflows.get(workspace_id, workflow_id)  # 404 for an unknown or foreign workflow
    checked = _checked_config(ports, integration_type, config, None)
    integration = Integration(workspace_id=workspace_id, workflow_id=workflow_id, name=name,
                              integration_type=integration_type, config=checked)
    return _repository(ports).add(integration)


def list_integrations(ports: Ports, workspace_id: str, workflow_id: str, limit: int,
                      cursor: str | None) -> Page[Integration]:
    ports.workflows.get(workspace_id, workflow_id)
    return _repository(ports).list_for_workflow(workspace_id, workflow_id, limit, cursor)


def get_integration(ports: Ports, workspace_id: str, integration_id: str) -> Integration:
    return _repository(ports).get(workspace_id, integration_id)


def replace_integration(ports: Ports, workspace_id: str, integration_id: str,
                        change: IntegrationChange) -> Integration:
    """PUT: name, integration_type and config replace the stored ones when sent. A new type needs
    its config; a config without a type is read as the stored type's."""
    repository = _repository(ports)
    current = repository.get(workspace_id, integration_id)
    integration_type = change.integration_type or current.integration_type
    if change.config is None and integration_type != current.integration_type:
        raise ValidationFailed(f"a {integration_type} integration needs its config",
                               details=[{"loc": ["body", "config"], "msg": "required when integration_type changes"}])
    sent = current.config if change.config is None else change.config
    config = _checked_config(ports, integration_type, sent, current)
    updated = current.model_copy(update={"name": change.name or current.name, "integration_type": integration_type,
                                         "config": config, "updated_at": utc_now()})
    return repository.save(updated)


def delete_integration(ports: Ports, workspace_id: str, integration_id: str) -> None:
    _repository(ports).delete(workspace_id, integration_id)


def forget_integrations(ports: Ports, workspace_id: str, workflow_id: str) -> None:
    """For a workflow being deleted: its integrations go too (no error when it has none)."""
    if ports.integrations is None:
        return
    cursor: str | None = None
    while True:  # page by cursor: a list index that still shows a deleted item cannot loop this
        page = ports.integrations.list_for_workflow(workspace_id, workflow_id, 100, cursor)
        for integration in page.items:
            with suppress(NotFound):  # deleted concurrently: the outcome is the same
                ports.integrations.delete(workspace_id, integration.id)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
