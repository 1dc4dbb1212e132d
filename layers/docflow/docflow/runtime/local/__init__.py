"""Composition root for local mode: SQLite (WAL) + files under the data dir, an in-process
event bus and the local engine. Called by `docflow serve` and the `docflow keys` commands."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from docflow.adapters.compute import InlineCompute, ProcessCompute
from docflow.adapters.http_out import GuardedHttp
from docflow.adapters.local.events import InProcessEventBus
from docflow.adapters.local.execution_watch import ConditionExecutionWatch
from docflow.adapters.local.files import LocalBlobStore
from docflow.adapters.local.mail import OutboxMailer, SmtpMailer
from docflow.adapters.local.scheduler import LocalScheduler
from docflow.adapters.local.sqlite import (
    SqliteApiKeyRepository,
    SqliteDatabase,
    SqliteDocumentRepository,
    SqliteExecutionRepository,
    SqliteWorkflowRepository,
)
from docflow.adapters.local.sqlite_integrations import SqliteIntegrationRepository
from docflow.adapters.local.sqlite_reviews import SqliteReviewRepository
from docflow.adapters.local.sqlite_schedules import SqliteScheduleRepository
from docflow.adapters.local.sqlite_subscriptions import SqliteDeliveryRepository, SqliteWebhookSubscriptionRepository
from docflow.adapters.local.sqlite_webhooks import SqliteWebhookSecretRepository
from docflow.adapters.page_images import PageImages
from docflow.domain.usage import Metering
from docflow.ports import Ports
from docflow.runtime.engine import LocalEngine
from docflow.runtime.extraction import engines_from_env
from docflow.runtime.local.event_triggers import EventTriggerDispatcher
from docflow.runtime.local.webhook_deliverer import WebhookDeliverer
from docflow.runtime.settings import LocalSettings


def _signing_secret(data_dir: Path) -> bytes:
    """Kept on disk so upload URLs handed out before a restart still work after it."""
    path = data_dir / "signing.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class LocalRuntime:
    def __init__(self, settings: LocalSettings, base_url: str | None = None) -> None:
        self.settings = settings
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.base_url = base_url or f"http://{settings.host}:{settings.port}"
        self.db = SqliteDatabase(data_dir / "docflow.sqlite3")
        self.blobs = LocalBlobStore(data_dir / "files", self.base_url, _signing_secret(data_dir),
                                    max_upload_bytes=settings.limits.max_upload_bytes)
        self.events = InProcessEventBus()
        self.engine = LocalEngine(settings.workers)
        self.compute = ProcessCompute(settings.step_processes) if settings.step_processes > 0 else InlineCompute()
        self.execution_watch = ConditionExecutionWatch()
        executions = SqliteExecutionRepository(self.db, self.blobs, settings.limits.inline_output_bytes,
                                               on_saved=self.execution_watch.saved)
        self.schedules = SqliteScheduleRepository(self.db)
        self.deliveries = SqliteDeliveryRepository(self.db)
        # Also the DueReviews the review timeout loop reads (local mode only).
        self.reviews = SqliteReviewRepository(self.db)
        self.ports = Ports(
            keys=SqliteApiKeyRepository(self.db),
            workflows=SqliteWorkflowRepository(self.db),
            documents=SqliteDocumentRepository(self.db),
            executions=executions,
            execution_watch=self.execution_watch,
            blobs=self.blobs,
            events=self.events,
            launcher=self.engine,
            limits=settings.limits,
            compute=self.compute,
            schedules=self.schedules,
            scheduler=LocalScheduler(),
            webhook_secrets=SqliteWebhookSecretRepository(self.db),
            http=GuardedHttp(settings.outbound),
            integrations=SqliteIntegrationRepository(self.db),
            mailer=(SmtpMailer(settings.smtp, settings.mail_from) if settings.smtp is not None
                    else OutboxMailer(data_dir / "outbox", settings.mail_from)),
            webhook_subscriptions=SqliteWebhookSubscriptionRepository(self.db),
            webhook_deliveries=self.deliveries,
            reviews=self.reviews,
            waiting_runs=self.engine,
            page_images=PageImages(),
            # Textract and Bedrock with the user's AWS credentials (none needed until a step uses them).
            extraction_engines=engines_from_env(),
            metering=Metering(settings.prices),
        )
        self.engine.attach(self.ports, executions)
        # Platform events start event-triggered workflows, as the dispatch function does on AWS.
        self.event_triggers = EventTriggerDispatcher(self.ports, self.events).start()
        # Execution events become stored webhook deliveries; the server starts the loop that sends them.
        self.webhooks = WebhookDeliverer(self.ports, self.events, self.deliveries).listen()
        self.ports.delivery_queue = self.webhooks

    def close(self) -> None:
        self.engine.shutdown()
        self.event_triggers.close()  # after the engine: events its last steps published are dispatched
        self.webhooks.close()  # likewise stored as deliveries (sent after the next start)
        self.compute.close()
        self.db.close()
