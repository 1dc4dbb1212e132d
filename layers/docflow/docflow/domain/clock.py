"""Time and identifiers: the only sources of 'now' and of new ids in the domain."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import UTC, datetime, timedelta

_ZERO = timedelta(0)

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def utc_now() -> datetime:
    return datetime.now(UTC)


def ulid(millis: int | None = None) -> str:
    """A ULID (48-bit millisecond time + 80 random bits, Crockford base32, lower case).

    Written out rather than imported: python-ulid pulls in importlib.metadata, ~45 ms on every
    Lambda cold start, for these few lines."""
    if millis is None:
        millis = time.time_ns() // 1_000_000
    number = millis << 80 | int.from_bytes(os.urandom(10), "big")
    return "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(125, -1, -5))


def new_id(prefix: str) -> str:
    """`<prefix>_<ulid>`: unique, and sorts by creation time (lists are keyset-paginated on it)."""
    return f"{prefix}_{ulid()}"


def stable_id(prefix: str, seed: str) -> str:
    """`<prefix>_<26 characters>` derived from `seed`: the same seed always names the same item, so
    an entry point that is delivered twice (an S3 event, a retried ingest) writes one record."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:17], "big") >> 6  # 130 bits
    return f"{prefix}_" + "".join(_CROCKFORD[(number >> shift) & 31] for shift in range(125, -1, -5))


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.utcoffset() == _ZERO:  # the common case, without a conversion (rendering lists calls this a lot)
        return moment.replace(tzinfo=None).isoformat() + "Z"
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def unix_seconds(moment: datetime | None) -> float | None:
    return None if moment is None else round(moment.timestamp(), 3)
