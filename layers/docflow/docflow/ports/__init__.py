"""Ports: what the use-cases need from the outside world, as Protocols.

`adapters/aws` (DynamoDB, S3, EventBridge, Step Functions) and `adapters/local` (SQLite, files,
in-process bus and engine) implement them; `tests/contract` runs one suite against both."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from docflow.domain.errors import DocflowError
from docflow.domain.limits import Limits
from docflow.domain.models import ApiKey, Document, Execution, ExecutionError, ExecutionStatus, Page, Workflow
from docflow.domain.usage import Metering

if TYPE_CHECKING:  # annotations only: the handlers that never touch schedules don't import them
    from docflow.domain.extraction import EngineAnswer, EngineRequest
    from docflow.domain.integrations import Integration
    from docflow.domain.outbound_webhooks import Delivery, Subscription
    from docflow.domain.reviews import ReviewStatus, ReviewTask
    from docflow.domain.schedules import Schedule
    from docflow.domain.webhooks import WebhookSecret


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None: ...
    def find_by_hash(self, key_hash: str) -> ApiKey | None:
        """The active (not revoked) key with this hash, from any workspace."""
    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[ApiKey]: ...
    def revoke(self, workspace_id: str, key_id: str, at: datetime) -> ApiKey:
        """Raises NotFound when the key is unknown in this workspace."""
    def mark_used(self, key: ApiKey, at: datetime) -> bool:
        """Stamps last_used_at on `key` as it was read; False (nothing written) when the stored
        key changed meanwhile (another request stamped it, or it was revoked)."""
    def workspace_exists(self, workspace_id: str) -> bool: ...


class WorkflowRepository(Protocol):
    def add(self, workflow: Workflow) -> None: ...
    def get(self, workspace_id: str, workflow_id: str) -> Workflow:
        """Raises NotFound."""
    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Workflow]:
        """Newest first."""
    def list_event_triggered(self, workspace_id: str) -> Sequence[Workflow]:
        """Every enabled workflow of the workspace whose trigger is a platform event, newest first
        (read for each platform event: the store filters, where it can, before decoding)."""
    def replace(self, workflow: Workflow, expected_version: int) -> None:
        """Raises Conflict when the stored version is not `expected_version`."""
    def delete(self, workspace_id: str, workflow_id: str) -> None:
        """Raises NotFound."""
    def find_workspace(self, workflow_id: str) -> str | None:
        """The workspace that owns this workflow id, for entry points that carry no API key (S3 drop
        folder, inbound webhooks, schedule targets); None when no workspace has it."""


class WebhookSecretRepository(Protocol):
    """The signing secret of each webhook workflow (inbound webhooks)."""

    def get(self, workspace_id: str, workflow_id: str) -> WebhookSecret | None: ...
    def put(self, secret: WebhookSecret) -> None:
        """Conditional write: version 1 only where no secret is stored, version n only over
        version n - 1; raises Conflict otherwise (a concurrent create or rotation won)."""
    def delete(self, workspace_id: str, workflow_id: str) -> None:
        """Idempotent: deleting a missing secret is not an error."""


class IntegrationRepository(Protocol):
    """Integrations of workflows, keyed by (workspace, integration id), listed per workflow."""

    def add(self, integration: Integration) -> Integration: ...
    def get(self, workspace_id: str, integration_id: str) -> Integration:
        """Raises NotFound."""
    def list_for_workflow(self, workspace_id: str, workflow_id: str, limit: int,
                          cursor: str | None) -> Page[Integration]:
        """Newest first."""
    def save(self, integration: Integration) -> Integration:
        """Conditional write: raises Conflict unless the stored revision is integration.revision,
        NotFound when there is none. Returns the integration as stored (revision + 1)."""
    def delete(self, workspace_id: str, integration_id: str) -> None:
        """Raises NotFound."""


class DocumentRepository(Protocol):
    def add(self, document: Document) -> None: ...
    def get(self, workspace_id: str, document_id: str) -> Document:
        """Raises NotFound."""
    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Document]:
        """Newest first (ids grow with time)."""
    def delete(self, workspace_id: str, document_id: str) -> None:
        """Raises NotFound."""
    def save(self, document: Document) -> Document:
        """Conditional write: raises Conflict unless the stored revision is document.revision.
        Returns the document as stored (revision + 1)."""


class ExecutionRepository(Protocol):
    def add(self, execution: Execution) -> Execution:
        """Stores a new execution, once per (workspace, idempotency_key): when the key is taken,
        returns the execution stored under it and stores nothing."""
    def find_by_idempotency_key(self, workspace_id: str, key: str) -> Execution | None:
        """The execution stored under this (scoped) idempotency key, if any."""
    def get(self, workspace_id: str, execution_id: str) -> Execution:
        """Raises NotFound."""
    def save(self, execution: Execution) -> Execution:
        """Conditional write: raises Conflict unless the stored revision is execution.revision.
        Returns the execution as stored (revision + 1)."""
    def list_for_workflow(self, workspace_id: str, workflow_id: str, status: ExecutionStatus | None,
                          limit: int, cursor: str | None) -> Page[Execution]:
        """Newest first."""
    def put_step_output(self, workspace_id: str, execution_id: str, step_id: str, output_json: bytes) -> None:
        """Step outputs are stored as the JSON document the step wrote: the orchestrator passes
        them on without parsing them (a parsed PDF can be megabytes)."""
    def get_step_output(self, workspace_id: str, execution_id: str, step_id: str) -> bytes | None: ...


class ScheduleRepository(Protocol):
    """One schedule per workflow, keyed by (workspace, workflow id)."""

    def add(self, schedule: Schedule) -> Schedule:
        """Raises Conflict (naming workflow_id) when the workflow already has a schedule."""
    def get(self, workspace_id: str, workflow_id: str) -> Schedule:
        """Raises NotFound."""
    def save(self, schedule: Schedule) -> Schedule:
        """Conditional write: raises Conflict unless the stored revision is schedule.revision,
        NotFound when there is none. Returns the schedule as stored (revision + 1)."""
    def delete(self, workspace_id: str, workflow_id: str) -> None:
        """Raises NotFound."""


class EnabledSchedules(Protocol):
    """Local mode only (the scheduler loop): on AWS, EventBridge Scheduler holds the timetable,
    and finding these would take a cross-workspace Scan."""

    def list_enabled(self) -> list[Schedule]:
        """Enabled schedules of every workspace."""


class Scheduler(Protocol):
    """What fires schedules: EventBridge Scheduler on AWS; locally a no-op (the loop reads the store)."""

    def put(self, schedule: Schedule) -> None:
        """Creates or updates the schedule of schedule.workflow_id (safe to repeat)."""
    def delete(self, workspace_id: str, workflow_id: str) -> None:
        """Removes it; no error when there is none (safe to repeat)."""


class UnfinishedExecutions(Protocol):
    """Local mode only: on AWS the state machine owns progress, and finding these would take a
    cross-workspace Scan."""

    def list_unfinished(self) -> list[Execution]:
        """Queued or processing executions of every workspace, oldest first."""


@dataclass(frozen=True)
class UploadTarget:
    url: str
    method: str
    headers: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class StoredObject:
    size: int
    content_type: str | None


class BlobStore(Protocol):
    def presign_upload(self, key: str, content_type: str, size: int | None, expires_at: datetime) -> UploadTarget: ...
    def presign_download(self, key: str, expires_at: datetime, filename: str | None = None) -> str: ...
    def head(self, key: str) -> StoredObject | None: ...
    def read(self, key: str) -> bytes: ...
    def write(self, key: str, data: bytes, content_type: str) -> None: ...
    def delete(self, key: str) -> None:
        """Removes the object; no error when it is not there."""
    def sha256(self, key: str) -> str: ...


class IngestSource(Protocol):
    """One file dropped into an inbox, as the ingest use-case sees it: an S3 object version under
    `inbox/` (adapters/aws/s3.py) or a file under `<data-dir>/inbox/` (adapters/local/inbox.py).
    Keys are bucket-style: `inbox/<workflow_id>/<name...>`, `processed/...`, `failed/...`."""

    @property
    def key(self) -> str: ...
    @property
    def idempotency_key(self) -> str:
        """Names this one delivery of bytes (S3: bucket + key + version id or ETag)."""
    @property
    def trigger_data(self) -> dict[str, Any]: ...
    def size(self) -> int | None:
        """None when the file is no longer there (already moved by an earlier delivery)."""
    def read(self) -> bytes | None:
        """None when the file is no longer there."""
    def free_key(self, destination_key: str) -> str:
        """`destination_key`, or a sibling name when moving there would replace another file (S3's
        versioning keeps replaced objects; a local folder does not)."""
    def move(self, destination_key: str) -> None:
        """Moves the file (this version of it) to `destination_key`; a no-op when it is already gone."""
    def write_error(self, key: str, body: bytes) -> None:
        """Writes the `.error.json` beside a failed file."""


class EventPublisher(Protocol):
    def publish(self, detail_type: str, workspace_id: str, detail: dict[str, Any]) -> None: ...


class ExecutionLauncher(Protocol):
    def launch(self, execution: Execution) -> None:
        """Hands a stored, queued execution to the orchestrator. Safe to call twice for one run."""
    def cancel(self, execution: Execution) -> None: ...


class WaitingRuns(Protocol):
    """Hands a run that waited for a person (a review) back to its orchestrator: on AWS the
    state machine waits on a task token; locally the engine holds nothing while a run waits."""

    def resume(self, execution: Execution, task_token: str | None, progress: dict[str, Any]) -> None:
        """Go on with `progress` (usecases.run.Progress.to_payload()). AWS: SendTaskSuccess when a
        token is stored (without one, the waiting Task sends it itself once it stores its token);
        locally: the engine drives the run on. Safe to call twice."""
    def abort(self, execution: Execution, task_token: str | None, error: ExecutionError) -> None:
        """The run was failed while it waited (rejected): AWS SendTaskFailure; locally nothing."""


class ReviewRepository(Protocol):
    """Review tasks, keyed by (workspace, review id)."""

    def add(self, task: ReviewTask) -> ReviewTask:
        """Stores a new task once per id: when the id is taken, returns the stored task and
        writes nothing (a retried review step stores one task)."""
    def get(self, workspace_id: str, review_id: str) -> ReviewTask:
        """Raises NotFound."""
    def save(self, task: ReviewTask) -> ReviewTask:
        """Conditional write: raises Conflict unless the stored revision is task.revision,
        NotFound when there is none. Returns the task as stored (revision + 1)."""
    def list(self, workspace_id: str, workflow_id: str | None, status: ReviewStatus | None, limit: int,
             cursor: str | None) -> Page[ReviewTask]:
        """Pending tasks first, then the others; oldest first within each (created_at, then id).
        A Query on DynamoDB, never a Scan."""


class DueReviews(Protocol):
    """Local mode only (the review timeout loop): on AWS the state machine's TimeoutSeconds
    ends a wait, and finding these would take a cross-workspace Scan."""

    def list_due(self, now: datetime, limit: int) -> list[ReviewTask]:
        """Pending tasks of every workspace whose due_at is at or before `now`, earliest due first."""


class PageImages(Protocol):
    """The pages of a document as pictures, for a reviewer (pypdfium2 for PDFs, Pillow for images)."""

    def pages(self, data: bytes, content_type: str) -> list[tuple[float, float]]:
        """(width, height) of each page in the coordinates of extracted boxes (PDF points; pixels
        for images); [] for a document with no pages to show (text)."""
    def render(self, data: bytes, content_type: str, page: int) -> bytes:
        """Page `page` (1-based) as a PNG about 1100 px wide; NotFound for a page the document
        does not have."""


class ExtractionEngine(Protocol):
    """An outside extraction service (`textract`, `bedrock`): the same answer shape as the rules engine."""

    def extract(self, request: EngineRequest) -> EngineAnswer:
        """Raises DeliveryTransient when a retry may succeed (throttling after the client's own
        retries), StepFailed with a clear `code` otherwise (access denied, a malformed answer)."""


class StepCompute(Protocol):
    """Runs a step job (a picklable function of plain data, docflow.steps.jobs) somewhere."""

    def run[T](self, job: Callable[..., T], *args: Any) -> T: ...


@dataclass(frozen=True)
class OutboundRequest:
    """An HTTP request to a URL a user supplied (an integration, a webhook subscription)."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class OutboundResponse:
    status: int
    headers: dict[str, str]
    # At most the adapter's response-size cap: enough for an error message, never a whole download.
    body: bytes


class OutboundHttp(Protocol):
    """Every request to a user-supplied URL goes through here: the SSRF guard decides, at save
    time (`check_url`) and again at send time (DNS may have changed since)."""

    def check_url(self, url: str, field: str) -> None:
        """Raises UrlRefused (a 422 naming `field` and the reason) for a URL that may not be called:
        not http(s), or resolving to a loopback, private, link-local, CGNAT, multicast or
        cloud-metadata address (IPv4 and IPv6, IPv4-mapped included), unless allowlisted."""
    def send(self, request: OutboundRequest) -> OutboundResponse:
        """Sends once: refuses a URL (UrlRefused) or a redirect to a refused address; connect/read
        timeouts; raises DeliveryTransient for timeouts, connection errors, 429 and 5xx, answers
        any other status (the caller decides what a 4xx means)."""


class Mailer(Protocol):
    """Where an e-mail integration's messages go: SES on AWS; locally SMTP, or an outbox folder."""

    def send(self, to: list[str], subject: str, body: str) -> None:
        """Raises DeliveryTransient when a retry may succeed, StepFailed when the message is refused."""


class WebhookSubscriptionRepository(Protocol):
    """Outbound webhook subscriptions, per workspace."""

    def add(self, subscription: Subscription) -> None: ...
    def get(self, workspace_id: str, subscription_id: str) -> Subscription:
        """Raises NotFound."""
    def list(self, workspace_id: str, limit: int, cursor: str | None) -> Page[Subscription]:
        """Newest first (a Query of the workspace, never a Scan)."""
    def delete(self, workspace_id: str, subscription_id: str) -> None:
        """Raises NotFound."""


class DeliveryRepository(Protocol):
    """Deliveries of outbound webhooks, per subscription."""

    def add(self, delivery: Delivery) -> bool:
        """Stores a new delivery once per id: False (and nothing written) when the id is taken."""
    def get(self, workspace_id: str, subscription_id: str, delivery_id: str) -> Delivery:
        """Raises NotFound."""
    def save(self, delivery: Delivery) -> Delivery:
        """Conditional write: raises Conflict unless the stored revision is delivery.revision.
        Returns the delivery as stored (revision + 1)."""
    def list_for_subscription(self, workspace_id: str, subscription_id: str, limit: int,
                              cursor: str | None) -> Page[Delivery]:
        """Newest first."""


class DueDeliveries(Protocol):
    """Local mode only (the deliverer loop): on AWS the queue holds what is due, and finding
    these would take a cross-workspace Scan."""

    def list_due(self, now: datetime, limit: int) -> list[Delivery]:
        """Pending deliveries of every workspace whose next attempt is at or before `now`, oldest first."""


class DeliveryQueue(Protocol):
    """What makes a pending delivery's next attempt happen at its `next_attempt_at`: an SQS
    message (delayed) on AWS; locally a nudge to the deliverer loop, which reads the store."""

    def enqueue(self, delivery: Delivery) -> None: ...


class _NoWebhookSecrets:
    """The default until a composition root provides a store: fails loudly, never forgets a secret silently."""

    def get(self, workspace_id: str, workflow_id: str) -> WebhookSecret | None:
        raise DocflowError("this runtime has no webhook secret store")

    def put(self, secret: WebhookSecret) -> None:
        raise DocflowError("this runtime has no webhook secret store")

    def delete(self, workspace_id: str, workflow_id: str) -> None:
        raise DocflowError("this runtime has no webhook secret store")



class ExecutionWatch(Protocol):
    def wait_settled(self, execution: Execution, timeout: float) -> Execution | None:
        """`execution` (as read, still queued or processing) as soon as it has left queued and
        processing: as saved or read then. None after `timeout` seconds, or when the watch
        lost track of the run: the caller reads it again."""


@dataclass
class Ports:
    """Everything a use-case may touch, built by one composition root per runtime."""

    keys: ApiKeyRepository
    workflows: WorkflowRepository
    documents: DocumentRepository
    executions: ExecutionRepository
    blobs: BlobStore
    events: EventPublisher
    launcher: ExecutionLauncher
    limits: Limits
    compute: StepCompute
    # Cron schedules (usecases/schedules.py); None where a runtime has not wired them.
    schedules: ScheduleRepository | None = None
    scheduler: Scheduler | None = None
    webhook_secrets: WebhookSecretRepository = field(default_factory=_NoWebhookSecrets)
    # Every request to a user-supplied URL (integrations, outbound webhooks): the SSRF guard.
    # None where a runtime has not wired it: then nothing is sent (never an unguarded client).
    http: OutboundHttp | None = None
    # Integrations of workflows (usecases/integrations.py); None where a runtime has not wired them.
    integrations: IntegrationRepository | None = None
    # E-mail integrations (steps/integration.py); None where a runtime has no mailer.
    mailer: Mailer | None = None
    # Outbound webhooks (usecases/outbound_webhooks.py); None where a runtime has not wired them.
    webhook_subscriptions: WebhookSubscriptionRepository | None = None
    webhook_deliveries: DeliveryRepository | None = None
    delivery_queue: DeliveryQueue | None = None
    # Human review (usecases/reviews.py); None where a runtime has not wired them.
    reviews: ReviewRepository | None = None
    waiting_runs: WaitingRuns | None = None
    page_images: PageImages | None = None
    # Outside extraction engines by name ("textract", "bedrock"); the rules engine needs no port.
    extraction_engines: dict[str, ExtractionEngine] = field(default_factory=dict)
    # What orchestrator calls cost this runtime (state transitions, Lambda time) and the prices.
    metering: Metering = field(default_factory=Metering)
    # GET /v1/executions/{id}?wait=N; None where a runtime has none: the answer does not wait.
    execution_watch: ExecutionWatch | None = None


def wired[P](port: P | None, what: str) -> P:
    """A port a runtime may leave unset (None): the port, or a clear error naming what is missing."""
    if port is None:
        raise DocflowError(f"{what} are not available in this runtime")
    return port

