"""Storage rules shared by the AWS and local adapters, written once so the two cannot drift:
the opaque list cursor, how a page is cut, how models and step outputs are serialised, and
when a step output is too big to keep inline."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pydantic_core
from pydantic import BaseModel

from docflow.domain.errors import BadRequest
from docflow.domain.models import Page

if TYPE_CHECKING:
    from docflow.ports import BlobStore

# Step Functions caps a state's payload at 256 KB; keep outputs inline only well below that.
DEFAULT_INLINE_OUTPUT_BYTES = 200 * 1024

_CURSOR_VERSION = 1
_MAX_CURSOR_CHARS = 512
_B64URL = re.compile(r"^[A-Za-z0-9_-]+$")
# Ids are `<prefix>_<ulid>`; refusing anything else keeps `#` (our key separator) out of keys.
_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


# --- cursors -------------------------------------------------------------------------------

def encode_cursor(last_id: str) -> str:
    """The position after `last_id`. Only the id travels: the workspace, workflow and status
    come from the request, so a cursor can never reach into another workspace's items."""
    raw = json.dumps({"v": _CURSOR_VERSION, "id": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None) -> str | None:
    """The id to continue after, or None for the first page; BadRequest for anything we did not
    issue (a 400 beats a 500 or, worse, a silently restarted list)."""
    if cursor is None:
        return None
    try:
        if not cursor or len(cursor) > _MAX_CURSOR_CHARS or not _B64URL.match(cursor):
            raise ValueError(cursor)
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body = json.loads(raw)
        last_id = body["id"]
        if body.get("v") != _CURSOR_VERSION or not isinstance(last_id, str) or not _ID.match(last_id):
            raise ValueError(cursor)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("invalid cursor", details=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}]) from exc
    return last_id


def cut_page[T](rows: Sequence[T], limit: int, id_of: Callable[[T], str]) -> Page[T]:
    """Both stores fetch `limit + 1` rows: the extra one only says whether a next page exists,
    so the last page never ends with a cursor that leads to an empty page."""
    items = list(rows[:limit])
    more = len(rows) > limit and bool(items)
    return Page(items=items, next_cursor=encode_cursor(id_of(items[-1])) if more else None)


# --- serialisation -------------------------------------------------------------------------

def dump_model(model: BaseModel) -> str:
    """The whole model as one JSON string: stored as text, floats and nested dicts round-trip
    exactly (no DynamoDB Decimal conversion, no SQLite column per field)."""
    return model.model_dump_json()


def load_model[M: BaseModel](cls: type[M], data: str | bytes) -> M:
    return cls.model_validate_json(data)


def dump_json(value: Any, *, exact_floats: bool = False) -> bytes:
    """Compact JSON; datetimes, enums and models become JSON the way pydantic writes them.
    `exact_floats` keeps NaN/Infinity (as Python's json reads them back) for stored step outputs;
    without it they become null, as anything sent to other systems must be strict JSON."""
    return pydantic_core.to_json(value, inf_nan_mode="constants" if exact_floats else "null")


def event_detail(workspace_id: str, detail: dict[str, Any]) -> dict[str, Any]:
    """The detail every publisher sends: JSON-shaped (as an EventBridge rule target sees it) and
    always naming the workspace, which wins over a `workspace_id` in `detail`."""
    shaped: dict[str, Any] = json.loads(dump_json(detail))
    shaped["workspace_id"] = workspace_id
    return shaped


def upload_headers(content_type: str) -> dict[str, str]:
    """The headers a client sends with its PUT to an upload URL, the same on S3 and in local mode."""
    return {"Content-Type": content_type, "If-None-Match": "*"}


# --- step outputs ----------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredStepOutput:
    """What a repository keeps in its own row: the JSON inline, or a pointer into the blob store."""

    inline: str | None
    blob_key: str | None


def step_output_key(workspace_id: str, execution_id: str, step_id: str) -> str:
    return f"outputs/{workspace_id}/{execution_id}/{step_id}.json"


def pack_step_output(blobs: BlobStore, inline_limit: int, workspace_id: str, execution_id: str, step_id: str,
                     body: bytes) -> StoredStepOutput:
    """Inline up to `inline_limit` bytes of JSON; larger outputs are written to the blob store
    first, so a stored pointer always points at something."""
    if len(body) <= inline_limit:
        return StoredStepOutput(inline=body.decode("utf-8"), blob_key=None)
    key = step_output_key(workspace_id, execution_id, step_id)
    blobs.write(key, body, "application/json")
    return StoredStepOutput(inline=None, blob_key=key)


def unpack_step_output(blobs: BlobStore, stored: StoredStepOutput) -> bytes:
    if stored.inline is not None:
        return stored.inline.encode("utf-8")
    if stored.blob_key is not None:
        return blobs.read(stored.blob_key)
    raise ValueError("stored step output has neither inline data nor a blob key")


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 5987 `filename*` (HTTP
    headers are Latin-1: a raw "文件.txt" cannot go in one), for S3 and the local file server alike."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
