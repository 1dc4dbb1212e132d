"""Typed errors. Mapped to HTTP in api/errors.py and to ASL errorType in the step handler."""

from __future__ import annotations

from typing import Any


class DocflowError(Exception):
    """Base of every error Docflow raises on purpose."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, *, details: list[dict[str, Any]] | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []
        if code is not None:
            self.code = code

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keeps code and details when a step's error crosses a process boundary (local step workers).
        return (_rebuild, (type(self), self.message, self.details, self.code))


def _rebuild(cls: type[DocflowError], message: str, details: list[dict[str, Any]], code: str) -> DocflowError:
    return cls(message, details=details, code=code)


class BadRequest(DocflowError):
    code, status = "bad_request", 400


class Unauthorized(DocflowError):
    code, status = "unauthorized", 401


class Forbidden(DocflowError):
    code, status = "forbidden", 403


class NotFound(DocflowError):
    code, status = "not_found", 404


class MethodNotAllowed(DocflowError):
    code, status = "method_not_allowed", 405


class Conflict(DocflowError):
    code, status = "conflict", 409


class IllegalTransition(Conflict):
    code = "illegal_transition"


class PreconditionFailed(DocflowError):
    code, status = "precondition_failed", 412


class PayloadTooLarge(DocflowError):
    code, status = "payload_too_large", 413


class UnsupportedMediaType(DocflowError):
    code, status = "unsupported_media_type", 415


class ValidationFailed(DocflowError):
    code, status = "validation_error", 422


class IdempotencyKeyReused(ValidationFailed):
    """The Idempotency-Key was first used for another request (IETF Idempotency-Key draft)."""

    code = "idempotency_key_reused"


class Throttled(DocflowError):
    """A dependency asked us to slow down: retried with backoff, never a run failure."""

    code, status = "throttled", 429


class StepFailed(DocflowError):
    """A step could not do its work on this input. Fails the execution, never retried."""

    code, status = "step_failed", 422


class DocumentEncrypted(StepFailed):
    code = "document_encrypted"


class DocumentCorrupt(StepFailed):
    code = "document_corrupt"


class DocumentEmpty(StepFailed):
    code = "document_empty"


class DocumentDisguised(StepFailed):
    code = "document_type_mismatch"


class DocumentTooLarge(StepFailed):
    code = "document_too_large"


class UnsupportedDocumentType(StepFailed):
    code = "unsupported_document_type"


class StepWorkerLost(StepFailed):
    """The process running a step ended mid-step (killed for memory, a crash in a native parser)."""

    code = "step_worker_lost"


class UrlRefused(ValidationFailed):
    """A user-supplied URL the SSRF guard will not call (at save: a 422 naming the field)."""

    code = "url_refused"


class ServiceUnavailable(DocflowError):
    code, status = "service_unavailable", 503


class DeliveryTransient(DocflowError):
    """An outbound call that may succeed if retried: a timeout, a connection error, 429 or 5xx."""

    code, status = "delivery_transient", 502
