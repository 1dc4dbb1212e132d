"""How the Textract and Bedrock engines turn botocore's errors into the domain's.

One rule for both: a call that may pass if retried (throttling, a service hiccup, a dropped
connection) is `DeliveryTransient`, raised only after botocore's own retries (the client's
`retries` config) are spent, so the orchestrator retries the step with backoff (the state
machine's Retry on `Docflow.delivery_transient`, the local engine's loop) and the run never fails
for load. Everything else is a `StepFailed` with a code a user can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from docflow.domain.errors import DeliveryTransient, StepFailed

if TYPE_CHECKING:
    from botocore.config import _RetryDict

# Codes that mean "not now" across Textract and Bedrock Runtime.
TRANSIENT_CODES = frozenset({
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ModelNotReadyException",
    "ModelTimeoutException",
    "InternalServerError",
    "InternalServerException",
    "RequestTimeout",
})
REJECTED_CODES = frozenset({
    "ValidationException",
    "UnsupportedDocumentException",
    "BadDocumentException",
    "DocumentTooLargeException",
    "InvalidS3ObjectException",
})
DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnrecognizedClientException"})

# The retry policy of the engines' clients: botocore's "standard" mode (jittered exponential
# backoff on throttling and 5xx) before a transient error reaches the orchestrator.
RETRIES: _RetryDict = {"mode": "standard", "max_attempts": 5}


@dataclass(frozen=True)
class CallContext:
    """What a failed call names in its error: the engine, the IAM action it needs, where."""

    engine: str
    action: str
    region: str | None = None
    resource: str | None = None

    def details(self, code: str | None = None) -> list[dict[str, Any]]:
        detail: dict[str, Any] = {"engine": self.engine, "iam_action": self.action}
        if self.region:
            detail["region"] = self.region
        if self.resource:
            detail["resource"] = self.resource
        if code:
            detail["aws_error"] = code
        return [detail]

    @property
    def where(self) -> str:
        parts = [f"region {self.region}" if self.region else "", self.resource or ""]
        return ", ".join(p for p in parts if p)


def client_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def translate(exc: Exception, ctx: CallContext) -> Exception:
    """The domain error for an exception raised by a boto3 call (or the exception itself when it
    is already a domain error)."""
    if isinstance(exc, DeliveryTransient | StepFailed):
        return exc
    if isinstance(exc, ClientError):
        return _translate_client_error(exc, ctx)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return StepFailed(f"the {ctx.engine} engine found no AWS credentials: configure them (environment, "
                          f"profile or role) with permission for {ctx.action}", code="engine_credentials_missing",
                          details=ctx.details())
    if isinstance(exc, NoRegionError):
        return StepFailed(f"the {ctx.engine} engine needs an AWS region: set AWS_REGION",
                          code="engine_unavailable", details=ctx.details())
    if isinstance(exc, ConnectionError | ReadTimeoutError):
        return DeliveryTransient(f"{ctx.engine}: {exc}", details=ctx.details())
    if isinstance(exc, BotoCoreError):
        return StepFailed(f"the {ctx.engine} call failed: {exc}", code="engine_failed", details=ctx.details())
    return exc


def _translate_client_error(exc: ClientError, ctx: CallContext) -> Exception:
    code, message = client_error_code(exc), _message(exc)
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    if code in TRANSIENT_CODES or (status in (429, 500, 502, 503, 504) and code not in DENIED_CODES | REJECTED_CODES):
        return DeliveryTransient(f"{ctx.engine} is busy ({code or status}): {message}; the step is retried",
                                 details=ctx.details(code))
    if code in DENIED_CODES:
        where = f" ({ctx.where})" if ctx.where else ""
        return StepFailed(f"the {ctx.engine} engine was denied access{where}: the role or user needs "
                          f"{ctx.action}. AWS said: {message}", code="engine_access_denied",
                          details=ctx.details(code))
    if code in REJECTED_CODES:
        return StepFailed(f"{ctx.engine} rejected the document ({code}): {message}",
                          code="engine_rejected_document", details=ctx.details(code))
    return StepFailed(f"the {ctx.engine} call failed ({code or status}): {message}", code="engine_failed",
                      details=ctx.details(code))


@contextmanager
def engine_call(ctx: CallContext) -> Iterator[None]:
    """Re-raises what a boto3 call raises inside it as the domain's error."""
    try:
        yield
    except Exception as exc:
        translated = translate(exc, ctx)
        if translated is exc:
            raise
        raise translated from exc
