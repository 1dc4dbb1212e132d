"""The ReviewRepository contract, run against DynamoDB (moto) and SQLite by the `store` fixture:
one task per id, workspace-scoped reads, revision-checked saves, and the queue order (pending
first, then by status; oldest first within each, then id) with workflow and status filters and
keyset cursors (a Query on AWS: the fixture fails on any Scan). DueReviews is local mode only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from docflow.adapters.common import encode_cursor
from docflow.domain.errors import BadRequest, Conflict, NotFound
from docflow.domain.models import Page
from docflow.domain.reviews import Reviewer, ReviewField, ReviewStatus, ReviewTask, review_id
from docflow.ports import DueReviews, ReviewRepository

if TYPE_CHECKING:
    from conftest import Store

WS, OTHER = "ws_alpha", "ws_beta"
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PENDING, COMPLETED, REJECTED, EXPIRED = (ReviewStatus.PENDING, ReviewStatus.COMPLETED, ReviewStatus.REJECTED,
                                         ReviewStatus.EXPIRED)


def repo(store: Store) -> ReviewRepository:
    assert store.reviews is not None
    return store.reviews


def make(n: int, *, ws: str = WS, workflow_id: str = "wf_one", status: ReviewStatus = PENDING,
         created: datetime | None = None, due: datetime | None = None, **changes: object) -> ReviewTask:
    created_at = created if created is not None else T0 + timedelta(minutes=n)
    values: dict[str, object] = {
        "id": review_id(ws, f"exe_{n:03d}", "review"), "workspace_id": ws, "workflow_id": workflow_id,
        "execution_id": f"exe_{n:03d}", "step_id": "review", "document_id": f"doc_{n:03d}", "status": status,
        "fields": [ReviewField(name="total", type="currency", predicted=12.5, confidence=0.42, page=1,
                               bbox=[10.0, 20.5, 30.25, 40.0], source_text="<script>alert(1)</script>")],
        "created_at": created_at, "due_at": due if due is not None else created_at + timedelta(hours=72),
    }
    return ReviewTask.model_validate({**values, **changes})


def order(tasks: list[ReviewTask]) -> list[str]:
    """The contract's order, computed independently of the adapters' keys."""
    def key(t: ReviewTask) -> tuple[int, str, datetime, str]:
        return (0 if t.status == PENDING else 1, t.status.value, t.created_at, t.id)
    return [t.id for t in sorted(tasks, key=key)]


def all_pages(fetch: Callable[[int, str | None], Page[ReviewTask]], limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = fetch(limit, cursor)
        pages.append([t.id for t in page.items])
        if page.next_cursor is None:
            return pages
        assert len(page.items) == limit  # a cursor only after a full page, never to an empty one
        cursor = page.next_cursor


def ids(page: Page[ReviewTask]) -> list[str]:
    return [t.id for t in page.items]


# --- add, get, save ----------------------------------------------------------------------------

def test_given_a_task_when_added_then_it_reads_back_whole(store: Store) -> None:
    task = make(1, claimed_by=Reviewer(key_id="key_1", name="Ana"), claimed_until=T0 + timedelta(minutes=15),
                task_token="AAAA+token/with=odd#chars", confidence_threshold=0.9)
    assert repo(store).add(task) == task
    assert repo(store).get(WS, task.id) == task


def test_given_a_stored_id_when_added_again_then_the_first_task_is_returned_and_nothing_written(
        store: Store) -> None:
    first = repo(store).add(make(1))
    again = repo(store).add(make(1, document_id="doc_other", status=COMPLETED))
    assert again == first
    assert repo(store).get(WS, first.id) == first
    assert ids(repo(store).list(WS, None, None, 10, None)) == [first.id]


def test_given_the_same_id_in_another_workspace_when_added_then_both_are_kept(store: Store) -> None:
    mine = repo(store).add(make(1, id="rev_shared"))
    theirs = repo(store).add(make(1, id="rev_shared", ws=OTHER, document_id="doc_theirs"))
    assert repo(store).get(WS, "rev_shared") == mine
    assert repo(store).get(OTHER, "rev_shared") == theirs


def test_given_another_workspace_when_reading_or_saving_then_not_found(store: Store) -> None:
    task = repo(store).add(make(1))
    with pytest.raises(NotFound):
        repo(store).get(OTHER, task.id)
    with pytest.raises(NotFound):
        repo(store).save(task.model_copy(update={"workspace_id": OTHER}))
    assert repo(store).list(OTHER, None, None, 10, None).items == []
    assert repo(store).list(OTHER, "wf_one", PENDING, 10, None).items == []
    assert repo(store).get(WS, task.id) == task


def test_given_a_read_task_when_saved_then_revision_moves_and_a_stale_save_conflicts(store: Store) -> None:
    first = repo(store).add(make(1))
    done = first.model_copy(update={"status": COMPLETED, "values": {"total": 13.0}, "changed_fields": ["total"],
                                    "completed_by": Reviewer(key_id="key_1", name="Ana"),
                                    "completed_at": T0 + timedelta(hours=1)})
    saved = repo(store).save(done)
    assert saved.revision == first.revision + 1
    assert repo(store).get(WS, first.id) == saved
    with pytest.raises(Conflict):
        repo(store).save(first.model_copy(update={"status": REJECTED, "reason": "stale"}))
    assert repo(store).get(WS, first.id) == saved
    assert ids(repo(store).list(WS, None, COMPLETED, 10, None)) == [first.id]  # the index moved with the status
    assert repo(store).list(WS, None, PENDING, 10, None).items == []


def test_given_no_task_when_saved_then_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        repo(store).save(make(1))
    with pytest.raises(NotFound):
        repo(store).get(WS, "rev_missing")


# --- lists -------------------------------------------------------------------------------------

def _mixed(store: Store) -> list[ReviewTask]:
    """Statuses, workflows and times interleaved; two tasks created in the same microsecond (id
    decides), one on a whole second (isoformat would drop its microseconds: order must not care)."""
    specs: list[tuple[int, str, ReviewStatus, datetime]] = [
        (1, "wf_one", COMPLETED, T0 + timedelta(minutes=1)),
        (2, "wf_two", PENDING, T0 + timedelta(minutes=9)),
        (3, "wf_one", PENDING, T0 + timedelta(minutes=5, microseconds=1)),
        (4, "wf_one", PENDING, T0 + timedelta(minutes=5)),
        (5, "wf_two", REJECTED, T0),
        (6, "wf_one", PENDING, T0 + timedelta(minutes=7, microseconds=250)),
        (7, "wf_one", PENDING, T0 + timedelta(minutes=7, microseconds=250)),
        (8, "wf_one", EXPIRED, T0 + timedelta(minutes=2)),
        (9, "wf_two", COMPLETED, T0 + timedelta(minutes=3)),
        (10, "wf_one", COMPLETED, T0 - timedelta(days=400)),
        (11, "wf_one", PENDING, T0 - timedelta(days=1)),
    ]
    tasks = [repo(store).add(make(n, workflow_id=wf, status=st, created=at)) for n, wf, st, at in specs]
    repo(store).add(make(50, ws=OTHER))  # never in WS's lists
    repo(store).add(make(51, ws=OTHER, status=COMPLETED))
    return tasks


def test_given_mixed_tasks_when_listed_then_pending_first_then_by_status_oldest_first(store: Store) -> None:
    tasks = _mixed(store)
    listed = repo(store).list(WS, None, None, 100, None)
    assert ids(listed) == order(tasks) and listed.next_cursor is None
    assert [t.status for t in listed.items[:6]] == [PENDING] * 6
    assert listed.items[0].id == tasks[10].id  # the oldest pending one
    if store.kind == "aws":
        assert "Query" in store.operations


@pytest.mark.parametrize(("workflow_id", "status"), [
    ("wf_one", None), ("wf_two", None), (None, PENDING), (None, COMPLETED), (None, EXPIRED),
    ("wf_one", PENDING), ("wf_two", COMPLETED), ("wf_two", EXPIRED), ("wf_none", None)])
def test_given_mixed_tasks_when_filtered_then_only_matching_tasks_in_queue_order(
        store: Store, workflow_id: str | None, status: ReviewStatus | None) -> None:
    tasks = _mixed(store)
    wanted = [t for t in tasks if workflow_id in (None, t.workflow_id) and status in (None, t.status)]
    assert ids(repo(store).list(WS, workflow_id, status, 100, None)) == order(wanted)


@pytest.mark.parametrize(("workflow_id", "status"), [
    (None, None), ("wf_one", None), (None, PENDING), (None, COMPLETED), ("wf_one", PENDING)])
@pytest.mark.parametrize("limit", [1, 2])
def test_given_more_than_a_page_when_following_cursors_then_every_task_once_in_order(
        store: Store, workflow_id: str | None, status: ReviewStatus | None, limit: int) -> None:
    tasks = _mixed(store)
    wanted = order([t for t in tasks if workflow_id in (None, t.workflow_id) and status in (None, t.status)])
    pages = all_pages(lambda n, cursor: repo(store).list(WS, workflow_id, status, n, cursor), limit)
    assert len(pages) == -(-len(wanted) // limit) > 1
    assert [i for page in pages for i in page] == wanted  # no duplicates, no gaps, same order


def test_given_the_last_listed_task_changes_status_when_paging_on_then_the_list_continues_where_it_was(
        store: Store) -> None:
    tasks = [repo(store).add(make(n)) for n in range(1, 6)]
    first = repo(store).list(WS, None, PENDING, 2, None)
    assert ids(first) == [tasks[0].id, tasks[1].id]
    repo(store).save(first.items[-1].model_copy(update={"status": COMPLETED}))
    rest = repo(store).list(WS, None, PENDING, 10, first.next_cursor)
    assert ids(rest) == [t.id for t in tasks[2:]]


def test_given_a_cursor_of_one_workspace_when_used_in_another_then_it_only_positions_that_ones_list(
        store: Store) -> None:
    mine = [repo(store).add(make(n)) for n in range(1, 4)]
    theirs = [repo(store).add(make(n, ws=OTHER, created=T0 + timedelta(minutes=n, seconds=-30)))
              for n in range(1, 4)]
    cursor = repo(store).list(WS, None, None, 1, None).next_cursor
    assert cursor is not None
    listed = repo(store).list(OTHER, None, None, 10, cursor).items
    assert {t.workspace_id for t in listed} == {OTHER}
    assert [t.id for t in listed] == [t.id for t in theirs[1:]]
    assert mine[0].id not in {t.id for t in listed}


@pytest.mark.parametrize("cursor", [
    "not-a-cursor!",
    "",
    encode_cursor("rev_plain_id"),  # an id cursor from another list: no position in it
    encode_cursor("2pending_20261201T090000000000_rev_x"),  # no such rank
    encode_cursor("1pending_20261201T090000000000_rev_x"),  # rank and status disagree
    encode_cursor("0waiting_20261201T090000000000_rev_x"),  # no such status
    encode_cursor("0pending_20261399T090000000000_rev_x"),  # no such date
    encode_cursor("0pending_20261201T090000000000_"),  # no id
])
def test_given_a_tampered_cursor_when_listing_then_bad_request(store: Store, cursor: str) -> None:
    _mixed(store)
    with pytest.raises(BadRequest):
        repo(store).list(WS, None, None, 10, cursor)


def test_given_a_cursor_from_a_list_of_one_status_when_listing_another_status_then_bad_request(
        store: Store) -> None:
    _mixed(store)
    cursor = repo(store).list(WS, None, PENDING, 1, None).next_cursor
    assert cursor is not None
    with pytest.raises(BadRequest):
        repo(store).list(WS, None, COMPLETED, 10, cursor)
    # The unfiltered list contains every status: a filtered list's cursor positions it.
    assert repo(store).list(WS, None, None, 100, cursor).items


# --- due reviews (local mode only) -------------------------------------------------------------

def _due(store: Store) -> DueReviews:
    assert store.due_reviews is not None
    return store.due_reviews


def test_given_tasks_of_several_workspaces_when_listing_due_then_only_pending_and_due_earliest_first(
        store: Store) -> None:
    if store.kind != "local":
        pytest.skip("DueReviews is local mode only: on AWS the state machine's TimeoutSeconds ends a wait")
    now = T0 + timedelta(days=3)
    late = repo(store).add(make(1, due=now - timedelta(hours=2)))
    exactly = repo(store).add(make(2, ws=OTHER, due=now))
    later = repo(store).add(make(3, due=now - timedelta(minutes=1)))
    repo(store).add(make(4, due=now + timedelta(microseconds=1)))  # not yet due
    repo(store).add(make(5, status=COMPLETED, due=now - timedelta(days=1)))  # ended: never due
    repo(store).add(make(6, status=EXPIRED, due=now - timedelta(days=1)))
    answered = repo(store).add(make(7, due=now - timedelta(days=2)))
    repo(store).save(answered.model_copy(update={"status": REJECTED}))
    assert [t.id for t in _due(store).list_due(now, 10)] == [late.id, later.id, exactly.id]
    assert [t.id for t in _due(store).list_due(now, 2)] == [late.id, later.id]
    assert _due(store).list_due(T0, 10) == []


# --- local store specifics -------------------------------------------------------------------------

def test_sqlite_review_lists_and_due_reads_use_indexes(tmp_path: Path) -> None:
    """§8: the first page costs the same at any size: every statement the adapter runs for a list
    is an index range read in index order (no sort, no scan)."""
    from docflow.adapters.local.sqlite import SqliteDatabase
    from docflow.adapters.local.sqlite_reviews import SqliteReviewRepository

    db = SqliteDatabase(tmp_path / "db.sqlite3")
    try:
        reviews = SqliteReviewRepository(db)
        for n in range(1, 4):
            reviews.add(make(n))
        executed: list[str] = []
        db.connection().set_trace_callback(executed.append)
        for workflow_id in (None, "wf_one"):
            for status in (None, PENDING):
                cursor = reviews.list(WS, workflow_id, status, 1, None).next_cursor
                reviews.list(WS, workflow_id, status, 1, cursor)
        reviews.list_due(T0 + timedelta(days=9), 10)
        db.connection().set_trace_callback(None)
        assert len(executed) == 9
        for sql in executed:
            plan = " ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + sql).fetchall())
            assert "USING INDEX" in plan and "TEMP B-TREE" not in plan and not plan.startswith("SCAN"), (sql, plan)
            # A next page seeks to the cursor's position in the index; it does not filter its way there.
            assert ") > (" not in sql or ")>(" in plan, (sql, plan)
    finally:
        db.close()


def test_sqlite_reviews_survive_a_reopen(tmp_path: Path) -> None:
    from docflow.adapters.local.sqlite import SqliteDatabase
    from docflow.adapters.local.sqlite_reviews import SqliteReviewRepository

    db = SqliteDatabase(tmp_path / "db.sqlite3")
    task = SqliteReviewRepository(db).add(make(1))
    db.close()
    db = SqliteDatabase(tmp_path / "db.sqlite3")  # CREATE … IF NOT EXISTS: reopening is harmless
    try:
        assert SqliteReviewRepository(db).get(WS, task.id) == task
    finally:
        db.close()
