"""Document handles: a record plus a signed, expiring upload URL; status follows the upload."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from docflow.domain.clock import iso, utc_now
from docflow.domain.errors import Conflict, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from docflow.domain.models import Document, DocumentStatus, Page
from docflow.domain.sniff import OCTET_STREAM, sniff_content_type
from docflow.ports import Ports, UploadTarget

# Types a document may have. Parse handles PDF and text today; images wait for OCR.
ACCEPTED_CONTENT_TYPES = frozenset({
    "application/pdf", "text/plain", "text/csv", "text/markdown", "text/tab-separated-values",
    "image/png", "image/jpeg", "image/tiff",
})


@dataclass(frozen=True)
class DocumentHandle:
    document: Document
    upload: UploadTarget


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def create_document(ports: Ports, workspace_id: str, name: str, content_type: str,
                    size: int | None) -> DocumentHandle:
    if media_type(content_type) not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"content_type '{content_type}' is not supported; use one of {', '.join(sorted(ACCEPTED_CONTENT_TYPES))}")
    limit = ports.limits.max_upload_bytes
    if size is not None and size > limit:
        raise PayloadTooLarge(f"size {size} bytes is over the upload limit of {limit} bytes")
    if size is not None and size <= 0:
        raise ValidationFailed("size must be a positive number of bytes",
                               details=[{"loc": ["body", "size"], "msg": "must be > 0"}])
    now = utc_now()
    document = Document(workspace_id=workspace_id, name=name, content_type=content_type, declared_size=size,
                        storage_key="", upload_expires_at=now + timedelta(seconds=ports.limits.upload_url_ttl_seconds))
    document = document.model_copy(update={"storage_key": f"documents/{workspace_id}/{document.id}"})
    upload = ports.blobs.presign_upload(document.storage_key, content_type, size, document.upload_expires_at)
    ports.documents.add(document)
    return DocumentHandle(document=document, upload=upload)


def store_document(ports: Ports, workspace_id: str, name: str, content_type: str, data: bytes,
                   document_id: str | None = None) -> Document:
    """A document whose bytes arrived with the request (a multipart run, a drop-folder file):
    stored and recorded as uploaded at once, announced like any upload. Bytes first, then the
    record, so a record never points at missing bytes. With a `document_id` (derived from an
    idempotency key), a second call for the same id returns the document the first one stored."""
    now = utc_now()
    document = Document(workspace_id=workspace_id, name=name, content_type=content_type, storage_key="",
                        upload_expires_at=now, declared_size=len(data), size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), status=DocumentStatus.UPLOADED,
                        **({"id": document_id} if document_id else {}))
    document = document.model_copy(update={"storage_key": f"documents/{workspace_id}/{document.id}"})
    ports.blobs.write(document.storage_key, data, content_type)
    try:
        ports.documents.add(document)
    except Conflict:
        if document_id is None:
            raise
        return ports.documents.get(workspace_id, document_id)  # stored by an earlier delivery
    _announce_upload(ports, document)
    return document


def create_document_for_content(ports: Ports, workspace_id: str, name: str | None,
                                metadata: dict[str, Any] | None = None) -> Document:
    """A handle whose bytes are sent to Docflow itself (`put_content`), with no type or size
    declared: the type is sniffed from the bytes when they come (the Cradl surface)."""
    now = utc_now()
    document = Document(workspace_id=workspace_id, name=name or "document", content_type=OCTET_STREAM,
                        storage_key="", metadata=metadata or {},
                        upload_expires_at=now + timedelta(seconds=ports.limits.upload_url_ttl_seconds))
    document = document.model_copy(update={"storage_key": f"documents/{workspace_id}/{document.id}",
                                           "name": name or document.id})
    ports.documents.add(document)
    return document


def put_content(ports: Ports, workspace_id: str, document_id: str, data: bytes) -> Document:
    """The bytes of a handle from `create_document_for_content`: checked, typed from what they
    are, stored, and announced like any upload. Once only, as on S3 with If-None-Match: *."""
    document = ports.documents.get(workspace_id, document_id)
    if document.status != DocumentStatus.PENDING_UPLOAD or ports.blobs.head(document.storage_key) is not None:
        raise Conflict(f"document {document_id} has its bytes already; create a new document for other bytes")
    if utc_now() > document.upload_expires_at:
        raise Conflict(f"the upload of document {document_id} expired at {iso(document.upload_expires_at)}; "
                       "create a new document")
    if not data:
        raise ValidationFailed("the request body is empty: send the document's bytes",
                               details=[{"loc": ["body"], "msg": "empty"}])
    limit = ports.limits.max_upload_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"the document is {len(data)} bytes, over the upload limit of {limit} bytes")
    content_type = sniff_content_type(data, document.name)
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaType(f"the bytes are {content_type}, which Docflow does not process; "
                                   f"supported: {', '.join(sorted(ACCEPTED_CONTENT_TYPES))}")
    ports.blobs.write(document.storage_key, data, content_type)
    uploaded = {"content_type": content_type, "status": DocumentStatus.UPLOADED, "size": len(data),
                "declared_size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "updated_at": utc_now()}
    try:
        saved = ports.documents.save(document.model_copy(update=uploaded))
    except Conflict:
        # A status refresh saw the bytes first and recorded them (as untyped): give them their type.
        current = ports.documents.get(workspace_id, document_id)
        return ports.documents.save(current.model_copy(update={"content_type": content_type}))
    _announce_upload(ports, saved)
    return saved


def read_content(ports: Ports, workspace_id: str, document_id: str) -> tuple[Document, bytes]:
    document = get_document(ports, workspace_id, document_id)
    if document.status not in (DocumentStatus.UPLOADED, DocumentStatus.PROCESSED):
        raise Conflict(f"document {document_id} is {document.status.value}: it has no bytes to read")
    return document, ports.blobs.read(document.storage_key)


def list_documents(ports: Ports, workspace_id: str, limit: int, cursor: str | None) -> Page[Document]:
    return ports.documents.list(workspace_id, limit, cursor)


def delete_document(ports: Ports, workspace_id: str, document_id: str) -> Document:
    """The record, then its bytes (bytes without a record are unreachable, never the reverse).
    Runs that already read the document keep their results."""
    document = ports.documents.get(workspace_id, document_id)
    ports.documents.delete(workspace_id, document_id)
    ports.blobs.delete(document.storage_key)
    return document


def _announce_upload(ports: Ports, document: Document) -> None:
    ports.events.publish("document.uploaded", document.workspace_id, {
        "document_id": document.id, "name": document.name, "content_type": document.content_type,
        "size": document.size, "sha256": document.sha256,
        # No run published it: runs this event triggers start a chain at depth 1.
        "metadata": {}, "trigger_depth": 0})


def get_document(ports: Ports, workspace_id: str, document_id: str) -> Document:
    return refresh_upload(ports, ports.documents.get(workspace_id, document_id))


def download_url(ports: Ports, document: Document) -> str | None:
    if document.status not in (DocumentStatus.UPLOADED, DocumentStatus.PROCESSED):
        return None
    expires = utc_now() + timedelta(seconds=ports.limits.download_url_ttl_seconds)
    return ports.blobs.presign_download(document.storage_key, expires, filename=document.name)


def refresh_upload(ports: Ports, document: Document) -> Document:
    """Records an upload that has landed but not been seen yet (the S3 event may still be on its way)."""
    if document.status != DocumentStatus.PENDING_UPLOAD:
        return document
    stored = ports.blobs.head(document.storage_key)
    return document if stored is None else record_upload(ports, document)


def record_upload(ports: Ports, document: Document) -> Document:
    """Checks the stored bytes against the handle and moves the document to uploaded or rejected.
    The S3 event and a status refresh may both get here: the conditional save lets one of them
    record the upload (and announce it), and the other reads what it recorded."""
    try:
        return _record_upload(ports, document)
    except Conflict:
        return ports.documents.get(document.workspace_id, document.id)


def _record_upload(ports: Ports, document: Document) -> Document:
    if document.status != DocumentStatus.PENDING_UPLOAD:
        return document  # redelivered upload event: already recorded
    stored = ports.blobs.head(document.storage_key)
    if stored is None:
        return document
    now = utc_now()
    reason = None
    if document.declared_size is not None and stored.size != document.declared_size:
        reason = f"uploaded {stored.size} bytes, the handle declared {document.declared_size}"
    elif stored.size > ports.limits.max_upload_bytes:
        reason = f"uploaded {stored.size} bytes, over the limit of {ports.limits.max_upload_bytes}"
    elif stored.size == 0:
        reason = "the uploaded file is empty"
    if reason is not None:
        updated = document.model_copy(update={"status": DocumentStatus.REJECTED, "rejection_reason": reason,
                                              "size": stored.size, "updated_at": now})
    else:
        updated = document.model_copy(update={"status": DocumentStatus.UPLOADED, "size": stored.size,
                                              "sha256": ports.blobs.sha256(document.storage_key), "updated_at": now})
    updated = ports.documents.save(updated)
    if updated.status == DocumentStatus.UPLOADED:
        _announce_upload(ports, updated)
    return updated


def record_upload_by_key(ports: Ports, storage_key: str) -> Document | None:
    """Entry point for storage events: `documents/<workspace>/<document id>`."""
    parts = storage_key.split("/")
    if len(parts) != 3 or parts[0] != "documents":
        return None
    return record_upload(ports, ports.documents.get(parts[1], parts[2]))
