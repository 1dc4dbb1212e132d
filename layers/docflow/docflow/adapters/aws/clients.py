"""Building boto3 clients, and turning their throttling errors into the domain's `Throttled`.

boto3 is imported inside `make_clients` only: importing it costs a Lambda cold start, and
handlers that never touch AWS (or tests passing their own clients) should not pay it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import ClientError

from docflow.domain.errors import Throttled

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_scheduler import EventBridgeSchedulerClient
    from mypy_boto3_stepfunctions import SFNClient

# Codes that mean "slow down" across DynamoDB, S3, EventBridge and Step Functions.
THROTTLING_CODES = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
})
# Reasons a DynamoDB transaction was cancelled for load, not for a failed condition.
THROTTLING_CANCELLATION_CODES = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})


@dataclass(frozen=True)
class AwsClients:
    dynamodb: DynamoDBClient
    s3: S3Client
    events: EventBridgeClient
    stepfunctions: SFNClient


def make_clients(region_name: str | None = None, *, retry_mode: Literal["standard", "adaptive"] = "standard",
                 max_attempts: int = 8, session: Any = None) -> AwsClients:
    """Clients with botocore's own backoff ("standard": up to `max_attempts` tries with jittered
    exponential backoff on throttling; "adaptive" also rate-limits the caller). Adapters only see
    a throttling error once those retries are spent, and then raise `Throttled`. S3 uses SigV4
    so presigned PUTs can sign Content-Type and Content-Length."""
    import boto3
    from botocore.config import Config

    base = Config(retries={"mode": retry_mode, "max_attempts": max_attempts},
                  connect_timeout=5, read_timeout=30, tcp_keepalive=True)
    s3_config = base.merge(Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    sess = session or boto3.session.Session(region_name=region_name)
    return AwsClients(
        dynamodb=sess.client("dynamodb", config=base),
        s3=sess.client("s3", config=s3_config),
        events=sess.client("events", config=base),
        stepfunctions=sess.client("stepfunctions", config=base),
    )


def make_scheduler_client(region_name: str | None = None, *, max_attempts: int = 8,
                          session: Any = None) -> EventBridgeSchedulerClient:
    """EventBridge Scheduler, built apart from `make_clients`: only the schedule routes need it,
    so only they pay for it (on first use)."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=5, read_timeout=30)
    sess = session or boto3.session.Session(region_name=region_name)
    return sess.client("scheduler", config=config)


def make_ses_client(region_name: str | None = None, *, max_attempts: int = 8, session: Any = None) -> Any:
    """Amazon SES, built on the first e-mail an integration step sends."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": max_attempts}, connect_timeout=5, read_timeout=30)
    sess = session or boto3.session.Session(region_name=region_name)
    return sess.client("ses", config=config)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translate_throttling(service: str) -> Iterator[None]:
    """Re-raise a throttling ClientError as `Throttled` so callers (API → 429, step handler →
    a retried ASL error) handle load the same way for every dependency."""
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in THROTTLING_CODES:
            raise Throttled(f"{service} is throttling requests; retry later",
                            details=[{"service": service, "code": error_code(exc)}]) from exc
        raise
