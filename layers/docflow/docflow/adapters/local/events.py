"""The in-process event bus of local mode: the same events as EventBridge (DESIGN.md §4)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from docflow.adapters.common import event_detail
from docflow.domain.clock import utc_now

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PublishedEvent:
    detail_type: str
    workspace_id: str
    detail: dict[str, Any]
    source: str = "docflow"
    time: datetime = field(default_factory=utc_now)
    # Like an EventBridge event id: what a consumer deduplicates redeliveries by.
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


Subscriber = Callable[[PublishedEvent], None]


class InProcessEventBus:
    """Subscribers run synchronously in the publishing thread; one that raises is logged and
    does not fail the publisher, as an EventBridge target's failure does not fail put_events."""

    def __init__(self, source: str = "docflow", history: int = 1000) -> None:
        self._source = source
        self._lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        self.recent: deque[PublishedEvent] = deque(maxlen=history)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Returns the function that unsubscribes `callback`."""
        with self._lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    def publish(self, detail_type: str, workspace_id: str, detail: dict[str, Any]) -> None:
        # JSON-shaped like an EventBridge detail (and a copy: subscribers cannot alias our caller's dict).
        event = PublishedEvent(detail_type=detail_type, workspace_id=workspace_id,
                               detail=event_detail(workspace_id, detail), source=self._source)
        with self._lock:
            self.recent.append(event)
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(event)
            except Exception:
                logger.exception("event subscriber %r failed on %s", callback, detail_type)
