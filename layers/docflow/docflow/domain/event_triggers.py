"""Platform events as run triggers (DESIGN.md §4): the trigger config of a workflow with
`trigger_type: "event"` and the pure test of whether an event starts it.

    trigger_config = {"event": "execution.completed",
                      "filters": {"workflow_id": "wf_...", "file_type": "pdf", "metadata.customer": "acme"}}

Filters are ANDed; a filter names a field of the event's detail and matches by equality:
- `workflow_id`: the workflow whose run published the event (document.uploaded has none, so a
  `workflow_id` filter never matches it).
- `file_type`: the content type of the event's document: a MIME type (`application/pdf`, or a
  family like `image/*`) or a short name (`pdf`, `png`, `jpeg`/`jpg`, `tiff`/`tif`, `txt`,
  `csv`, `json`); a list means any of them. Parameters (`; charset=...`) are ignored.
- `metadata.<key>`: the run's `metadata[<key>]` equals the value (JSON equality, so `1` is not `"1"`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NoReturn

from docflow.domain.errors import ValidationFailed

PLATFORM_EVENTS = (
    "document.uploaded",
    "document.processed",
    "extraction.completed",
    "execution.completed",
    "execution.failed",
    "execution.review",
)

# Short file-type names a filter may use instead of a MIME type.
FILE_TYPES: dict[str, tuple[str, ...]] = {
    "pdf": ("application/pdf",),
    "png": ("image/png",),
    "jpeg": ("image/jpeg",),
    "jpg": ("image/jpeg",),
    "tiff": ("image/tiff",),
    "tif": ("image/tiff",),
    "txt": ("text/plain",),
    "csv": ("text/csv",),
    "json": ("application/json",),
}
METADATA_PREFIX = "metadata."
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class EventTrigger:
    """A validated `trigger_config` of an event-triggered workflow."""

    event: str
    workflow_id: str | None = None
    # Normalized to MIME types or families (`image/*`); empty means any file type.
    file_types: tuple[str, ...] = ()
    metadata: dict[str, Scalar] = field(default_factory=dict)

    def matches(self, detail_type: str, detail: dict[str, Any]) -> bool:
        if detail_type != self.event:
            return False
        if self.workflow_id is not None and detail.get("workflow_id") != self.workflow_id:
            return False
        if self.file_types and not _file_type_matches(self.file_types, detail.get("content_type")):
            return False
        metadata = detail.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        return all(key in metadata and _same_json(metadata[key], value) for key, value in self.metadata.items())


def parse_trigger_config(config: dict[str, Any]) -> EventTrigger:
    """Raises ValidationFailed naming `trigger_config.event` or `trigger_config.filters.<name>`."""
    unknown = sorted(set(config) - {"event", "filters"})
    if unknown:
        _fail(f"trigger_config has no field '{unknown[0]}' (it takes event and filters)",
              ["trigger_config", unknown[0]], "unknown field")
    event = config.get("event")
    if event is None:
        _fail("an event-triggered workflow needs trigger_config.event, one of " + ", ".join(PLATFORM_EVENTS),
              ["trigger_config", "event"], "required")
    if event not in PLATFORM_EVENTS:
        _fail(f"trigger_config.event {event!r} is not a platform event; use one of " + ", ".join(PLATFORM_EVENTS),
              ["trigger_config", "event"], "unknown event")
    filters = config.get("filters")
    filters = {} if filters is None else filters
    if not isinstance(filters, dict):
        _fail("trigger_config.filters must be an object", ["trigger_config", "filters"], "not an object")
    workflow_id: str | None = None
    file_types: tuple[str, ...] = ()
    metadata: dict[str, Scalar] = {}
    for name, value in filters.items():
        loc = ["trigger_config", "filters", name]
        if name == "workflow_id":
            if not isinstance(value, str) or not value:
                _fail("filters.workflow_id must be a workflow id (a string)", loc, "not a string")
            workflow_id = value
        elif name == "file_type":
            file_types = _file_types(value, loc)
        elif name.startswith(METADATA_PREFIX) and len(name) > len(METADATA_PREFIX):
            if not isinstance(value, str | int | float | bool) and value is not None:
                _fail(f"filters.{name} must be a string, number, boolean or null", loc, "not a scalar")
            metadata[name[len(METADATA_PREFIX):]] = value
        else:
            _fail(f"trigger_config.filters has no filter '{name}' (use workflow_id, file_type or metadata.<key>)",
                  loc, "unknown filter")
    return EventTrigger(event=str(event), workflow_id=workflow_id, file_types=file_types, metadata=metadata)


def _file_types(value: Any, loc: list[Any]) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not values:
        _fail("filters.file_type must name at least one file type", loc, "empty")
    normalized: list[str] = []
    for item in values:
        if not isinstance(item, str) or not item.strip():
            _fail("filters.file_type takes a MIME type or a short name like 'pdf'", loc, "not a string")
        name = item.strip().lower()
        if "/" in name:
            kind, _, sub = name.partition("/")
            if not kind or not sub:
                _fail(f"filters.file_type {item!r} is not a MIME type", loc, "not a MIME type")
            normalized.append(name)
        elif name in FILE_TYPES:
            normalized.extend(FILE_TYPES[name])
        else:
            _fail(f"filters.file_type {item!r} is neither a MIME type nor one of " + ", ".join(FILE_TYPES),
                  loc, "unknown file type")
    return tuple(dict.fromkeys(normalized))


def _file_type_matches(wanted: tuple[str, ...], content_type: Any) -> bool:
    if not isinstance(content_type, str):
        return False
    actual = content_type.split(";", 1)[0].strip().lower()
    family = actual.partition("/")[0]
    return any(w == actual or (w.endswith("/*") and w[:-2] == family) for w in wanted)


def _same_json(actual: Any, wanted: Scalar) -> bool:
    """Equality as JSON sees it: 1 == 1.0, but True is not 1 and "1" is not 1."""
    if isinstance(actual, bool) or isinstance(wanted, bool):
        return actual is wanted
    if isinstance(actual, int | float) and isinstance(wanted, int | float):
        return actual == wanted
    return type(actual) is type(wanted) and bool(actual == wanted)


def _fail(message: str, loc: list[Any], msg: str) -> NoReturn:
    raise ValidationFailed(message, details=[{"loc": loc, "msg": msg}])
