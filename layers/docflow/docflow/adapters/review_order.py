"""The order of a review list, written once for the SQLite and DynamoDB adapters so they cannot
drift: pending tasks first, then the others grouped by status (completed, expired, rejected);
oldest first within each status (created_at, then id).

A task's place in that order is its `ReviewPosition` — (rank, status, created_at, id), rank 0 for
pending and 1 for every other status. SQLite keeps it as indexed columns; DynamoDB as one GSI
sort key, `<rank><status>#<created_at>#<id>` (so a status filter is a `begins_with` and the
unfiltered Query is pending-first). The list cursor carries the position of the last item shown,
not just its id: a task that changed status since keeps its old place, so paging neither skips
nor repeats what was already listed. The cursor holds no workspace, workflow or table key: those
come from the request, so it can only position a list the caller may read anyway."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from docflow.adapters.common import decode_cursor
from docflow.domain.errors import BadRequest
from docflow.domain.reviews import ReviewStatus, ReviewTask

# Fixed width, so text order is time order (isoformat() drops zero microseconds; this never does).
_SORTABLE = "%Y-%m-%dT%H:%M:%S.%fZ"
_COMPACT = "%Y%m%dT%H%M%S%f"
# `<rank><status>_<compact created_at>_<id>`: only [A-Za-z0-9_-], as adapters.common cursors require.
_TOKEN = re.compile(r"^([01])([a-z]{1,16})_(\d{8}T\d{12})_([A-Za-z0-9_-]{1,95})$")


def sortable_time(moment: datetime) -> str:
    """UTC, microseconds, fixed width; a naive datetime is taken as UTC."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.strftime(_SORTABLE)


def rank(status: ReviewStatus | str) -> int:
    return 0 if ReviewStatus(status) == ReviewStatus.PENDING else 1


@dataclass(frozen=True)
class ReviewPosition:
    rank: int
    status: str
    created_at: str  # sortable_time()
    id: str

    @classmethod
    def of(cls, task: ReviewTask) -> ReviewPosition:
        return cls(rank(task.status), ReviewStatus(task.status).value, sortable_time(task.created_at), task.id)

    def sort_key(self) -> str:
        """The DynamoDB GSI sort key."""
        return f"{status_prefix(self.status)}{self.created_at}#{self.id}"

    def token(self) -> str:
        compact = datetime.strptime(self.created_at, _SORTABLE).strftime(_COMPACT)
        return f"{self.rank}{self.status}_{compact}_{self.id}"


def status_prefix(status: ReviewStatus | str) -> str:
    """The sort-key prefix of every task in this status."""
    return f"{rank(status)}{ReviewStatus(status).value}#"


def position_token(task: ReviewTask) -> str:
    """What the cursor after `task` carries (see adapters.common.cut_page)."""
    return ReviewPosition.of(task).token()


def decode_review_cursor(cursor: str | None, status: ReviewStatus | None) -> ReviewPosition | None:
    """The position to continue after, or None for the first page. BadRequest for a cursor we did
    not issue, or one from a list of another status (DynamoDB would refuse a start key outside the
    key condition; SQLite answers the same, so the two cannot differ)."""
    token = decode_cursor(cursor)
    if token is None:
        return None
    match = _TOKEN.match(token)
    try:
        if match is None:
            raise ValueError(token)
        rank_text, status_text, compact, review_id = match.groups()
        found = ReviewStatus(status_text)
        if int(rank_text) != rank(found) or (status is not None and found != ReviewStatus(status)):
            raise ValueError(token)
        created = datetime.strptime(compact, _COMPACT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise BadRequest("invalid cursor", details=[{"loc": ["query", "cursor"], "msg": "invalid cursor"}]) from exc
    return ReviewPosition(int(rank_text), found.value, sortable_time(created), review_id)
