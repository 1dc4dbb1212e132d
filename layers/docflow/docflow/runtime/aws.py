"""Composition root on AWS: DynamoDB, S3, EventBridge, Step Functions. Called by functions/* only.

Clients are built on first use, not at import: cold starts pay only for what a handler touches."""

from __future__ import annotations

from functools import cache

from docflow.adapters.aws.clients import make_clients, make_scheduler_client, make_ses_client
from docflow.adapters.aws.dynamodb import (
    DynamoApiKeyRepository,
    DynamoDocumentRepository,
    DynamoExecutionRepository,
    DynamoWorkflowRepository,
)
from docflow.adapters.aws.dynamodb_integrations import DynamoIntegrationRepository
from docflow.adapters.aws.dynamodb_reviews import DynamoReviewRepository
from docflow.adapters.aws.dynamodb_schedules import DynamoScheduleRepository
from docflow.adapters.aws.dynamodb_subscriptions import DynamoDeliveryRepository, DynamoWebhookSubscriptionRepository
from docflow.adapters.aws.dynamodb_webhooks import DynamoWebhookSecretRepository
from docflow.adapters.aws.events import EventBridgePublisher
from docflow.adapters.aws.s3 import S3BlobStore, S3InboxObject
from docflow.adapters.aws.scheduler import EventBridgeScheduler, ScheduleTarget
from docflow.adapters.aws.ses import SesMailer
from docflow.adapters.aws.stepfunctions import StepFunctionsCallbacks, StepFunctionsLauncher
from docflow.adapters.compute import InlineCompute
from docflow.adapters.http_out import GuardedHttp
from docflow.adapters.page_images import PageImages
from docflow.adapters.polling_watch import PollingExecutionWatch
from docflow.domain.errors import DocflowError
from docflow.domain.models import Execution
from docflow.domain.outbound_webhooks import Delivery
from docflow.domain.schedules import Schedule
from docflow.domain.usage import STATE_MACHINE_TRANSITIONS, Metering
from docflow.ports import DeliveryQueue, Ports, Scheduler
from docflow.runtime.extraction import engines_from_env
from docflow.runtime.settings import AwsSettings


class _NoLauncher:
    """For functions that never start runs (the step and upload handlers)."""

    def launch(self, execution: Execution) -> None:
        raise DocflowError("this function cannot start executions (DOCFLOW_STATE_MACHINE_ARN is not set)")

    def cancel(self, execution: Execution) -> None:
        raise DocflowError("this function cannot cancel executions (DOCFLOW_STATE_MACHINE_ARN is not set)")


class _NoScheduler:
    """For functions without the schedule settings (only the API function writes schedules)."""

    def put(self, schedule: Schedule) -> None:
        raise DocflowError("this function cannot write schedules (DOCFLOW_SCHEDULE_GROUP is not set)")

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        raise DocflowError("this function cannot delete schedules (DOCFLOW_SCHEDULE_GROUP is not set)")


class _NoDeliveryQueue:
    """For functions without the queue setting (only the webhook functions enqueue deliveries)."""

    def enqueue(self, delivery: Delivery) -> None:
        raise DocflowError("this function cannot enqueue webhook deliveries (DOCFLOW_WEBHOOK_QUEUE_URL is not set)")


def _delivery_queue(settings: AwsSettings) -> DeliveryQueue:
    if not settings.webhook_queue_url:
        return _NoDeliveryQueue()
    from docflow.adapters.aws.sqs import SqsDeliveryQueue, make_sqs_client  # only the webhook functions pay for it

    return SqsDeliveryQueue(make_sqs_client(), settings.webhook_queue_url)


def _scheduler(settings: AwsSettings) -> Scheduler:
    if not (settings.schedule_group and settings.schedule_target_arn and settings.scheduler_role_arn):
        return _NoScheduler()
    target = ScheduleTarget(group=settings.schedule_group, function_arn=settings.schedule_target_arn,
                            role_arn=settings.scheduler_role_arn, dead_letter_arn=settings.schedule_dlq_arn)
    return EventBridgeScheduler(make_scheduler_client, target)


@cache
def ports() -> Ports:
    settings = AwsSettings.from_env()
    clients = make_clients()
    blobs = S3BlobStore(clients.s3, settings.bucket)
    launcher = (StepFunctionsLauncher(clients.stepfunctions, settings.state_machine_arn)
                if settings.state_machine_arn else _NoLauncher())
    executions = DynamoExecutionRepository(clients.dynamodb, settings.table, blobs, settings.limits.inline_output_bytes)
    return Ports(
        keys=DynamoApiKeyRepository(clients.dynamodb, settings.table),
        workflows=DynamoWorkflowRepository(clients.dynamodb, settings.table),
        documents=DynamoDocumentRepository(clients.dynamodb, settings.table),
        executions=executions,
        execution_watch=PollingExecutionWatch(executions),
        blobs=blobs,
        events=EventBridgePublisher(clients.events, settings.event_bus),
        launcher=launcher,
        limits=settings.limits,
        compute=InlineCompute(),
        schedules=DynamoScheduleRepository(clients.dynamodb, settings.table),
        scheduler=_scheduler(settings),
        webhook_secrets=DynamoWebhookSecretRepository(clients.dynamodb, settings.table),
        http=GuardedHttp(settings.outbound),
        integrations=DynamoIntegrationRepository(clients.dynamodb, settings.table),
        mailer=SesMailer(make_ses_client, settings.mail_from) if settings.mail_from else None,
        webhook_subscriptions=DynamoWebhookSubscriptionRepository(clients.dynamodb, settings.table),
        webhook_deliveries=DynamoDeliveryRepository(clients.dynamodb, settings.table),
        delivery_queue=_delivery_queue(settings),
        reviews=DynamoReviewRepository(clients.dynamodb, settings.table),
        waiting_runs=StepFunctionsCallbacks(clients.stepfunctions),
        page_images=PageImages(),
        extraction_engines=engines_from_env(settings.bucket),
        metering=Metering(settings.prices, STATE_MACHINE_TRANSITIONS, bills_compute=True),
    )


def inbox_object(bucket: str, key: str, version_id: str | None, etag: str | None) -> S3InboxObject | None:
    """The drop-folder object an S3 event names; None for another bucket than the stack's."""
    blobs = ports().blobs
    if not isinstance(blobs, S3BlobStore) or blobs.bucket != bucket:
        return None
    return blobs.inbox_object(key, version_id, etag)
