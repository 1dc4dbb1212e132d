"""The drop folder: a file under `inbox/<workflow_id>/` becomes a document and a run.

One use-case for the S3 bucket (EventBridge "Object Created" → functions/ingest) and the local
inbox (runtime/local/inbox.py). Every source delivers at least once, so each write is idempotent:
the document id is derived from the delivery's idempotency key (a retried ingest finds the
document it registered), the run is started through `start_execution` with that key (a redelivery
replays it), and the file is moved last, to `processed/` or `failed/` (an event for a file that is
gone is a no-op)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from docflow.domain.clock import iso, stable_id, utc_now
from docflow.domain.errors import Conflict, DocflowError
from docflow.domain.models import Document, DocumentStatus, Workflow
from docflow.domain.sniff import sniff_content_type
from docflow.ports import IngestSource, Ports
from docflow.usecases.documents import ACCEPTED_CONTENT_TYPES
from docflow.usecases.executions import StartRequest, replay, start_execution

INBOX, PROCESSED, FAILED = "inbox", "processed", "failed"
ERROR_SUFFIX = ".error.json"

Status = Literal["started", "replayed", "failed", "gone", "ignored"]


@dataclass(frozen=True)
class IngestOutcome:
    status: Status
    key: str
    # Where the file ended (processed/… or failed/…), the run it started, the refusal's code.
    destination: str | None = None
    execution_id: str | None = None
    document_id: str | None = None
    code: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class InboxKey:
    workflow_id: str
    name: str  # the path below the workflow's folder: "invoice.pdf" or "2026/03/invoice.pdf"

    @property
    def filename(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    def under(self, prefix: str) -> str:
        return f"{prefix}/{self.workflow_id}/{self.name}"


class Refused(DocflowError):
    """Why a dropped file goes to failed/; `code` is what the .error.json says."""


def parse_inbox_key(key: str) -> InboxKey | None:
    """`inbox/<workflow_id>/<name...>`; None for anything else (a folder marker, a file put
    straight into inbox/ without a workflow folder)."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != INBOX or not parts[1] or not all(parts[2:]):
        return None
    return InboxKey(workflow_id=parts[1], name="/".join(parts[2:]))


def ingest_object(ports: Ports, source: IngestSource) -> IngestOutcome:
    key = source.key
    if not key.startswith(f"{INBOX}/") or key.endswith("/"):
        return IngestOutcome("ignored", key, message="not a file under inbox/")
    inbox_key = parse_inbox_key(key)
    if inbox_key is None:
        rest = key[len(INBOX) + 1:]
        return _fail(source, f"{FAILED}/{rest}", Refused(
            "put files into a workflow's folder: inbox/<workflow_id>/<file name>", code="missing_workflow_id"))
    size = source.size()
    if size is None:
        return _gone(key)
    try:
        workspace_id, workflow = _workflow(ports, inbox_key.workflow_id)
        _check_size(ports, size)
        data = source.read()
        if data is None:
            return _gone(key)
        content_type = _accepted_type(workflow, data, inbox_key.filename)
    except Refused as refusal:
        return _fail(source, inbox_key.under(FAILED), refusal)
    return _start(ports, source, inbox_key, workspace_id, workflow, data, content_type)


def _gone(key: str) -> IngestOutcome:
    return IngestOutcome("gone", key, message="no longer in inbox/: an earlier delivery moved it")


def _workflow(ports: Ports, workflow_id: str) -> tuple[str, Workflow]:
    workspace_id = ports.workflows.find_workspace(workflow_id)
    if workspace_id is None:
        raise Refused(f"no workflow has the id {workflow_id!r}: name the folder after a workflow id (wf_…)",
                      code="unknown_workflow")
    workflow = ports.workflows.get(workspace_id, workflow_id)
    if not workflow.enabled:
        raise Refused(f"workflow {workflow_id} is disabled; enable it and drop the file again",
                      code="workflow_disabled")
    return workspace_id, workflow


def _check_size(ports: Ports, size: int) -> None:
    """Before reading: an S3 object over the limit is never pulled into the function's memory."""
    if size == 0:
        raise Refused("the file is empty", code="empty_file")
    limit = ports.limits.max_upload_bytes
    if size > limit:
        raise Refused(f"the file is {size} bytes, over the upload limit of {limit} bytes", code="payload_too_large")


def _accepted_type(workflow: Workflow, data: bytes, filename: str) -> str:
    content_type = sniff_content_type(data, filename)
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise Refused(f"the bytes are {content_type}, which Docflow does not process; supported: "
                      f"{', '.join(sorted(ACCEPTED_CONTENT_TYPES))}", code="unsupported_media_type")
    fields = workflow.file_input_config.file_fields
    if fields and not any(not f.content_types or content_type in f.content_types for f in fields):
        allowed = sorted({t for f in fields for t in f.content_types})
        raise Refused(f"workflow {workflow.id} accepts {', '.join(allowed)}; the bytes are {content_type}",
                      code="unsupported_media_type")
    return content_type


def _start(ports: Ports, source: IngestSource, inbox_key: InboxKey, workspace_id: str, workflow: Workflow,
           data: bytes, content_type: str) -> IngestOutcome:
    idempotency_key = source.idempotency_key
    fingerprint = hashlib.sha256(idempotency_key.encode()).hexdigest()
    # A redelivery of a started file only has to finish the move: skip rewriting its bytes.
    replayed = replay(ports, workspace_id, workflow.id, idempotency_key, fingerprint)
    document_id = replayed.execution.documents[0] if replayed is not None else _register(
        ports, workspace_id, workflow.id, inbox_key, idempotency_key, data, content_type)
    request = StartRequest(document_ids=[document_id], name=inbox_key.filename, trigger_method="s3",
                           idempotency_key=idempotency_key, trigger_data=source.trigger_data,
                           fingerprint=fingerprint)
    try:
        started = start_execution(ports, workspace_id, workflow.id, request)
    except Conflict as exc:  # the workflow was disabled (or the document refused) meanwhile
        return _fail(source, inbox_key.under(FAILED), Refused(exc.message, code=exc.code))
    destination = source.free_key(inbox_key.under(PROCESSED))
    source.move(destination)
    return IngestOutcome("replayed" if started.replayed else "started", source.key, destination=destination,
                         execution_id=started.execution.id, document_id=document_id)


def _register(ports: Ports, workspace_id: str, workflow_id: str, inbox_key: InboxKey, idempotency_key: str,
              data: bytes, content_type: str) -> str:
    """Bytes first, then the record: a document never points at bytes that are not there. The id
    comes from the idempotency key, so a retry after a crash finds the document it registered."""
    document_id = stable_id("doc", f"{workflow_id}\n{idempotency_key}")
    storage_key = f"documents/{workspace_id}/{document_id}"
    ports.blobs.write(storage_key, data, content_type)
    now = utc_now()
    document = Document(id=document_id, workspace_id=workspace_id, name=inbox_key.filename,
                        content_type=content_type, declared_size=len(data), size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), status=DocumentStatus.UPLOADED,
                        storage_key=storage_key, upload_expires_at=now, created_at=now, updated_at=now)
    try:
        ports.documents.add(document)
    except Conflict:
        return document_id  # registered by an earlier delivery of the same bytes
    ports.events.publish("document.uploaded", workspace_id, {
        "document_id": document.id, "name": document.name, "content_type": document.content_type,
        "size": document.size, "sha256": document.sha256})
    return document_id


def _fail(source: IngestSource, destination: str, refusal: Refused) -> IngestOutcome:
    """The error file first, then the move: a crash in between leaves the file in inbox/, and the
    retry writes both again (moving first could lose the reason)."""
    destination = source.free_key(destination)
    error = {"code": refusal.code, "message": refusal.message, "key": source.key, "time": iso(utc_now())}
    source.write_error(destination + ERROR_SUFFIX, json.dumps(error, indent=2).encode())
    source.move(destination)
    return IngestOutcome("failed", source.key, destination=destination, code=refusal.code,
                         message=refusal.message)
