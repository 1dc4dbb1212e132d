"""Reading a request body by its Content-Type: JSON into a request model, multipart/form-data
into parts. For routes that take either (the start routes); other routes let powertools read JSON."""

from __future__ import annotations

import base64
import binascii
import io
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from docflow.domain.errors import BadRequest, UnsupportedMediaType, ValidationFailed

if TYPE_CHECKING:
    from docflow.usecases.form_runs import FormPart

JSON = "application/json"
MULTIPART = "multipart/form-data"
MAX_PARTS = 128


def raw_body(event: Any) -> bytes:
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise BadRequest("request body is not valid base64") from None
    return body.encode()


def media_type(event: Any) -> str:
    return (event.headers.get("content-type") or "").split(";", 1)[0].strip().lower()


def json_model[M: BaseModel](model: type[M], data: bytes) -> M:
    try:
        return model.model_validate_json(data or b"{}")
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise BadRequest("request body is not valid JSON") from None
        details = [{"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
                   for e in exc.errors(include_url=False, include_context=False, include_input=False)]
        names = ", ".join(".".join(str(p) for p in d["loc"]) for d in details)
        raise ValidationFailed(f"invalid request: {names}", details=details) from None


def form_parts(content_type: str, data: bytes) -> list[FormPart]:
    import multipart  # only multipart runs pay for these imports

    from docflow.usecases.form_runs import FormPart

    boundary = multipart.parse_options_header(content_type)[1].get("boundary")
    if not boundary:
        raise BadRequest("multipart/form-data body without a boundary in its Content-Type")
    try:
        parser = multipart.MultipartParser(io.BytesIO(data), boundary, content_length=len(data), strict=True,
                                           part_limit=MAX_PARTS, memory_limit=len(data) + 1,
                                           spool_limit=len(data) + 1)
        return [FormPart(name=part.name, data=part.raw, filename=part.filename or None,
                         content_type=part.headers.get("Content-Type")) for part in parser]
    except multipart.MultipartError as exc:
        raise BadRequest(f"malformed multipart/form-data body: {exc}") from None


def unsupported(content_type: str, accepted: tuple[str, ...]) -> UnsupportedMediaType:
    return UnsupportedMediaType(f"Content-Type '{content_type or 'none'}' is not accepted here; send "
                                + " or ".join(f"'{a}'" for a in accepted))
