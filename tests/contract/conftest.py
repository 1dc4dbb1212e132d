"""One repository contract, two implementations: every test in this folder that takes `store`
runs against DynamoDB+S3 (moto) and against SQLite+files, so the adapters cannot drift apart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from docflow.ports import (
    ApiKeyRepository,
    BlobStore,
    DeliveryRepository,
    DocumentRepository,
    DueReviews,
    ExecutionRepository,
    IntegrationRepository,
    ReviewRepository,
    ScheduleRepository,
    WebhookSecretRepository,
    WebhookSubscriptionRepository,
    WorkflowRepository,
)

TABLE = "docflow-contract"
BUCKET = "docflow-contract"


@dataclass
class Store:
    kind: str
    keys: ApiKeyRepository
    workflows: WorkflowRepository
    documents: DocumentRepository
    executions: ExecutionRepository
    blobs: BlobStore
    webhook_secrets: WebhookSecretRepository
    # AWS operation names called during the test (empty for the local store).
    operations: list[str] = field(default_factory=list)
    schedules: ScheduleRepository | None = None
    integrations: IntegrationRepository | None = None
    webhook_subscriptions: WebhookSubscriptionRepository | None = None
    webhook_deliveries: DeliveryRepository | None = None
    reviews: ReviewRepository | None = None
    # Local mode only (the review timeout loop): on AWS the state machine times a wait out.
    due_reviews: DueReviews | None = None


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials so nothing can ever reach a real account."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def _aws_store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    import botocore.client
    from docflow_testing import serialize_moto_dynamodb
    from moto import mock_aws

    from docflow.adapters.aws.clients import make_clients
    from docflow.adapters.aws.dynamodb import (
        DynamoApiKeyRepository,
        DynamoDocumentRepository,
        DynamoExecutionRepository,
        DynamoWorkflowRepository,
        create_table,
    )
    from docflow.adapters.aws.dynamodb_integrations import DynamoIntegrationRepository
    from docflow.adapters.aws.dynamodb_reviews import DynamoReviewRepository
    from docflow.adapters.aws.dynamodb_schedules import DynamoScheduleRepository
    from docflow.adapters.aws.dynamodb_subscriptions import (
        DynamoDeliveryRepository,
        DynamoWebhookSubscriptionRepository,
    )
    from docflow.adapters.aws.dynamodb_webhooks import DynamoWebhookSecretRepository
    from docflow.adapters.aws.s3 import S3BlobStore

    operations: list[str] = []
    serialize_moto_dynamodb(monkeypatch)
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: Any) -> Any:
        operations.append(operation_name)
        # DESIGN.md §3/§8: every list is a Query; a Scan anywhere is a failure.
        assert operation_name != "Scan", "DynamoDB Scan called: lists must be Queries"
        return original(self, operation_name, api_params)

    with mock_aws():
        clients = make_clients("us-east-1")
        create_table(clients.dynamodb, TABLE)
        clients.s3.create_bucket(Bucket=BUCKET)
        # Installed after setup, so the operations list holds only what the adapters called.
        monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
        blobs = S3BlobStore(clients.s3, BUCKET)
        yield Store(
            kind="aws",
            keys=DynamoApiKeyRepository(clients.dynamodb, TABLE),
            workflows=DynamoWorkflowRepository(clients.dynamodb, TABLE),
            documents=DynamoDocumentRepository(clients.dynamodb, TABLE),
            executions=DynamoExecutionRepository(clients.dynamodb, TABLE, blobs),
            blobs=blobs,
            webhook_secrets=DynamoWebhookSecretRepository(clients.dynamodb, TABLE),
            operations=operations,
            schedules=DynamoScheduleRepository(clients.dynamodb, TABLE),
            integrations=DynamoIntegrationRepository(clients.dynamodb, TABLE),
            webhook_subscriptions=DynamoWebhookSubscriptionRepository(clients.dynamodb, TABLE),
            webhook_deliveries=DynamoDeliveryRepository(clients.dynamodb, TABLE),
            reviews=DynamoReviewRepository(clients.dynamodb, TABLE),
        )
    assert "Scan" not in operations


def _local_store(tmp_path: Path) -> Iterator[Store]:
    from docflow.adapters.local.files import LocalBlobStore
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
    from docflow.adapters.local.sqlite_subscriptions import (
        SqliteDeliveryRepository,
        SqliteWebhookSubscriptionRepository,
    )
    from docflow.adapters.local.sqlite_webhooks import SqliteWebhookSecretRepository

    db = SqliteDatabase(tmp_path / "docflow.sqlite3")
    reviews = SqliteReviewRepository(db)
    blobs = LocalBlobStore(tmp_path / "files", "http://127.0.0.1:8080", b"contract-test-secret-32-bytes!!!")
    try:
        yield Store(
            kind="local",
            keys=SqliteApiKeyRepository(db),
            workflows=SqliteWorkflowRepository(db),
            documents=SqliteDocumentRepository(db),
            executions=SqliteExecutionRepository(db, blobs),
            blobs=blobs,
            schedules=SqliteScheduleRepository(db),
            webhook_secrets=SqliteWebhookSecretRepository(db),
            integrations=SqliteIntegrationRepository(db),
            webhook_subscriptions=SqliteWebhookSubscriptionRepository(db),
            webhook_deliveries=SqliteDeliveryRepository(db),
            reviews=reviews,
            due_reviews=reviews,
        )
    finally:
        db.close()


@pytest.fixture(params=["aws", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          aws_env: None) -> Iterator[Store]:
    if request.param == "aws":
        yield from _aws_store(monkeypatch)
    else:
        yield from _local_store(tmp_path)
