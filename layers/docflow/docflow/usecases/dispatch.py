"""Platform events as triggers: one event starts every enabled, event-triggered workflow of its
workspace whose trigger config matches (domain.event_triggers), through `start_execution`.

Both runtimes call `dispatch_event`: the AWS dispatch function for each event the stack's rule
routes to it, local mode for each event of the in-process bus. Delivery is at least once, so the
idempotency key is the event id + the workflow id: a redelivered event replays, it starts nothing."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from docflow.domain.errors import Conflict, DocflowError, NotFound, ValidationFailed
from docflow.domain.event_triggers import PLATFORM_EVENTS, parse_trigger_config
from docflow.domain.models import Workflow
from docflow.ports import Ports
from docflow.usecases.executions import StartRequest, start_execution

log = logging.getLogger("docflow.triggers")

# Refusals that a redelivery would only repeat: logged and skipped, so they cannot block the
# other workflows the event starts (and on AWS cannot fill the dead-letter queue with retries).
PERMANENT = (NotFound, Conflict, ValidationFailed)


@dataclass(frozen=True)
class Triggered:
    workflow_id: str
    execution_id: str
    replayed: bool


@dataclass(frozen=True)
class Skipped:
    workflow_id: str
    reason: str


@dataclass
class Dispatched:
    started: list[Triggered] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class DispatchIncomplete(DocflowError):
    """A start failed for a reason that may pass (throttling, a store error): the event is
    delivered again, and the starts that did succeed replay."""

    code = "dispatch_incomplete"


def idempotency_key(event_id: str, workflow_id: str) -> str:
    return f"event:{event_id}:{workflow_id}"


def dispatch_event(ports: Ports, event_id: str, detail_type: str, workspace_id: str, detail: dict[str, Any],
                   max_depth: int) -> Dispatched:
    result = Dispatched()
    if detail_type not in PLATFORM_EVENTS:
        return result
    candidates = [w for w in ports.workflows.list_event_triggered(workspace_id) if _matches(w, detail_type, detail)]
    if not candidates:
        return result
    depth = _depth_of(detail) + 1
    source_workflow = detail.get("workflow_id")
    failures: list[str] = []
    for workflow in candidates:
        if workflow.id == source_workflow:
            # Its own run published this event: starting it again would loop forever.
            result.skipped.append(Skipped(workflow.id, "the event was published by a run of this workflow"))
            continue
        if depth > max_depth:
            log.warning("event trigger stopped: %s %s would start workflow %s at trigger depth %d, over the "
                        "limit of %d (DOCFLOW_MAX_TRIGGER_DEPTH); chain: execution %s of workflow %s",
                        detail_type, event_id, workflow.id, depth, max_depth, detail.get("execution_id"),
                        source_workflow)
            result.skipped.append(Skipped(workflow.id, f"trigger depth {depth} is over the limit of {max_depth}"))
            continue
        document_id = detail.get("document_id")
        if not isinstance(document_id, str):
            log.warning("event trigger skipped: %s %s carries no document_id for workflow %s",
                        detail_type, event_id, workflow.id)
            result.skipped.append(Skipped(workflow.id, "the event names no document"))
            continue
        try:
            started = start_execution(ports, workspace_id, workflow.id, _request(event_id, detail_type, detail,
                                                                                 workflow.id, document_id, depth))
        except PERMANENT as exc:
            log.warning("event trigger skipped: %s %s did not start workflow %s: %s",
                        detail_type, event_id, workflow.id, exc.message)
            result.skipped.append(Skipped(workflow.id, exc.message))
            continue
        except Exception as exc:  # transient: try the other workflows, then ask for a redelivery
            log.exception("event trigger failed: %s %s on workflow %s", detail_type, event_id, workflow.id)
            failures.append(f"{workflow.id}: {exc}")
            continue
        result.started.append(Triggered(workflow.id, started.execution.id, started.replayed))
        log.info("event trigger: %s %s started execution %s of workflow %s (depth %d%s)", detail_type, event_id,
                 started.execution.id, workflow.id, depth, ", replayed" if started.replayed else "")
    if failures:
        raise DispatchIncomplete(f"{detail_type} {event_id} could not start every workflow: " + "; ".join(failures))
    return result


def _matches(workflow: Workflow, detail_type: str, detail: dict[str, Any]) -> bool:
    try:
        trigger = parse_trigger_config(workflow.trigger_config)
    except ValidationFailed:
        return False  # stored before configs were validated: it cannot match anything
    return trigger.matches(detail_type, detail)


def _depth_of(detail: dict[str, Any]) -> int:
    depth = detail.get("trigger_depth")
    return depth if isinstance(depth, int) and not isinstance(depth, bool) and depth >= 0 else 0


def _request(event_id: str, detail_type: str, detail: dict[str, Any], workflow_id: str, document_id: str,
             depth: int) -> StartRequest:
    key = idempotency_key(event_id, workflow_id)
    metadata = detail.get("metadata")
    return StartRequest(
        document_ids=[document_id],
        metadata=dict(metadata) if isinstance(metadata, dict) else {},
        trigger_data={**detail, "detail_type": detail_type, "event_id": event_id},
        trigger_method="event",
        triggered_by=f"{detail_type}:{event_id}",
        idempotency_key=key,
        # The key stands for the event: a redelivery is the same request, whatever its envelope.
        fingerprint=hashlib.sha256(key.encode()).hexdigest(),
        trigger_depth=depth,
    )
