"""Platform events on the stack's own EventBridge bus (DESIGN.md §4)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from docflow.adapters.aws.clients import THROTTLING_CODES, translate_throttling
from docflow.adapters.common import event_detail
from docflow.domain.errors import DocflowError, Throttled

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient


class EventPublishFailed(DocflowError):
    """EventBridge accepted the call but refused the entry."""

    code = "event_publish_failed"


class EventBridgePublisher:
    def __init__(self, client: EventBridgeClient, bus_name: str, source: str = "docflow") -> None:
        self._client = client
        self._bus_name = bus_name
        self._source = source

    def publish(self, detail_type: str, workspace_id: str, detail: dict[str, Any]) -> None:
        """put_events answers 200 even when an entry is refused; FailedEntryCount is the truth,
        and a lost event must not pass silently."""
        entry = {
            "Source": self._source,
            "DetailType": detail_type,
            "Detail": json.dumps(event_detail(workspace_id, detail), separators=(",", ":")),
            "EventBusName": self._bus_name,
        }
        with translate_throttling("events"):
            response = self._client.put_events(Entries=[entry])  # type: ignore[list-item]
        if response.get("FailedEntryCount", 0):
            failed: dict[str, Any] = next((dict(e) for e in response.get("Entries", []) if e.get("ErrorCode")), {})
            code, message = str(failed.get("ErrorCode", "unknown")), str(failed.get("ErrorMessage", ""))
            details = [{"service": "events", "code": code, "message": message}]
            if code in THROTTLING_CODES:
                raise Throttled("events is throttling requests; retry later", details=details)
            raise EventPublishFailed(f"EventBridge refused the {detail_type} event: {code} {message}".strip(),
                                     details=details)
