"""Time and identifiers: the only sources of 'now' and of new ids in the domain."""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """`<prefix>_<ulid>`: unique, and sorts by creation time (lists are keyset-paginated on it)."""
    return f"{prefix}_{str(ULID()).lower()}"


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def unix_seconds(moment: datetime | None) -> float | None:
    return None if moment is None else round(moment.timestamp(), 3)
