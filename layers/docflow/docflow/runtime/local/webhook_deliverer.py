"""Local mode's twin of the AWS webhook fan-out and deliverer functions: execution events of the
in-process bus become stored deliveries (usecases.outbound_webhooks.fan_out), and a loop thread
sends the ones that are due (attempt_delivery), retrying on the same schedule as on AWS.

The bus calls subscribers in the publisher's thread (an engine worker, or an API request that
canceled a run), so the subscriber only queues the event; a fan-out thread stores the deliveries,
and the loop thread makes the HTTP calls. Deliveries are SQLite rows: one pending when the server
stops is sent after the next start, at its `next_attempt_at`."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from docflow.adapters.local.events import InProcessEventBus, PublishedEvent
from docflow.api.schemas_webhook_subscriptions import execution_data
from docflow.domain.clock import utc_now
from docflow.domain.errors import Conflict
from docflow.domain.outbound_webhooks import EVENT_TYPES, Delivery
from docflow.ports import DueDeliveries, Ports
from docflow.usecases.outbound_webhooks import PlatformEvent, attempt_delivery, fan_out

log = logging.getLogger("docflow.webhooks")
BATCH = 20


class WebhookDeliverer:
    def __init__(self, ports: Ports, bus: InProcessEventBus, due: DueDeliveries, *,
                 clock: Callable[[], datetime] = utc_now, poll_seconds: float = 1.0) -> None:
        self._ports = ports
        self._bus = bus
        self._due = due
        self.clock = clock  # injectable: tests move time to make retries due
        self._poll_seconds = poll_seconds
        self._events: queue.Queue[PublishedEvent | None] = queue.Queue()
        self._unsubscribe: Callable[[], None] | None = None
        self._fan_out_thread: threading.Thread | None = None
        self._loop_thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._wake = threading.Event()

    # --- the fan-out: events → stored deliveries ---------------------------------------------

    def listen(self) -> WebhookDeliverer:
        self._fan_out_thread = threading.Thread(target=self._fan_out_work, name="docflow-webhook-fanout", daemon=True)
        self._fan_out_thread.start()
        self._unsubscribe = self._bus.subscribe(self._on_event)
        return self

    def _on_event(self, event: PublishedEvent) -> None:
        if event.detail_type in EVENT_TYPES:
            self._events.put(event)

    def _fan_out_work(self) -> None:
        while (event := self._events.get()) is not None:
            try:
                fan_out(self._ports, PlatformEvent(event.id, event.detail_type, event.workspace_id, event.detail),
                        execution_data)
            except Exception:  # an in-process event is delivered once: log it, keep serving the others
                log.exception("webhook fan-out failed for %s %s", event.detail_type, event.id)

    # --- DeliveryQueue: a new delivery wakes the loop -----------------------------------------

    def enqueue(self, delivery: Delivery) -> None:
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    # --- the loop: due deliveries → attempts --------------------------------------------------

    def tick(self) -> list[Delivery]:
        """Sends every delivery due at `clock()`; returns them as stored after their attempt."""
        sent: list[Delivery] = []
        while not self._stopping.is_set():
            due = self._due.list_due(self.clock(), BATCH)
            for delivery in due:
                try:
                    sent.append(attempt_delivery(self._ports, delivery, self.clock()))
                except Conflict:
                    continue  # recorded meanwhile by another attempt
                except Exception:  # e.g. the database busy: this delivery stays due, the loop goes on
                    log.exception("webhook delivery %s: attempt failed", delivery.id)
                    return sent
            if len(due) < BATCH:
                return sent
        return sent

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("webhook deliverer tick failed")
            self._wake.wait(self._poll_seconds)  # a new delivery or stop() wakes it at once
            self._wake.clear()

    def start(self) -> WebhookDeliverer:
        if self._loop_thread is None:
            self._loop_thread = threading.Thread(target=self.run, name="docflow-webhook-deliverer", daemon=True)
            self._loop_thread.start()
        return self

    def stop(self, timeout: float = 15) -> None:
        """Stops the loop (an attempt under way finishes: at most one send timeout)."""
        self._stopping.set()
        self._wake.set()
        if self._loop_thread is not None:
            self._loop_thread.join(timeout=timeout)
            self._loop_thread = None

    def close(self, timeout: float = 30) -> None:
        """Stops listening, stores the deliveries of the events already queued, stops both threads."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._fan_out_thread is not None:
            self._events.put(None)
            self._fan_out_thread.join(timeout=timeout)
            self._fan_out_thread = None
        self.stop()
