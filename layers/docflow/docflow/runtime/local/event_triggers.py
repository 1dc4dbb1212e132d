"""Local mode's twin of the AWS dispatch function: platform events of the in-process bus start
the workflows they trigger (usecases.dispatch).

The bus calls subscribers in the publisher's thread, which is an engine worker in the middle of a
run; dispatching there would start runs from inside another run's step. So the subscriber only
queues the event, and one worker thread of its own dispatches them in order."""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Callable

from docflow.adapters.local.events import InProcessEventBus, PublishedEvent
from docflow.ports import Ports
from docflow.usecases.dispatch import dispatch_event

log = logging.getLogger("docflow.triggers")


class EventTriggerDispatcher:
    def __init__(self, ports: Ports, bus: InProcessEventBus) -> None:
        self._ports = ports
        self._bus = bus
        self._queue: queue.Queue[PublishedEvent | None] = queue.Queue()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        # Ids of the latest events dispatched (or failed), oldest first: what has been handled.
        self.handled: deque[str] = deque(maxlen=1000)

    def start(self) -> EventTriggerDispatcher:
        self._thread = threading.Thread(target=self._work, name="docflow-event-triggers", daemon=True)
        self._thread.start()
        self._unsubscribe = self._bus.subscribe(self._enqueue)
        return self

    def close(self, timeout: float = 30) -> None:
        """Stops listening, dispatches the events already queued, then stops the thread. Runs
        those events start after the engine stopped stay queued and resume at the next start."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=timeout)
            self._thread = None

    def wait_handled(self, event_id: str, timeout: float) -> bool:
        """True once the event with this id has been dispatched (tests wait on it, never sleep)."""
        with self._idle:
            return self._idle.wait_for(lambda: event_id in self.handled, timeout=timeout)

    def _enqueue(self, event: PublishedEvent) -> None:
        self._queue.put(event)

    def _work(self) -> None:
        while (event := self._queue.get()) is not None:
            try:
                dispatch_event(self._ports, event.id, event.detail_type, event.workspace_id, event.detail,
                               self._ports.limits.max_trigger_depth)
            except Exception:  # an in-process event is delivered once: log it, keep serving the others
                log.exception("event trigger dispatch failed for %s %s", event.detail_type, event.id)
            finally:
                with self._idle:
                    self.handled.append(event.id)
                    self._idle.notify_all()
