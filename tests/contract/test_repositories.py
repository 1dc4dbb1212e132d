"""The repository contract (ports.ApiKeyRepository, WorkflowRepository, DocumentRepository,
ExecutionRepository), run against both adapters by the `store` fixture."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from docflow.adapters.common import encode_cursor, step_output_key
from docflow.domain.clock import ulid
from docflow.domain.errors import BadRequest, Conflict, NotFound
from docflow.domain.models import (
    ApiKey,
    Document,
    DocumentStatus,
    Execution,
    ExecutionError,
    ExecutionLogEntry,
    ExecutionOutput,
    ExecutionStatus,
    StatusChange,
    StepDefinition,
    StepStatus,
    Workflow,
    WorkflowDefinition,
)

if TYPE_CHECKING:
    from conftest import Store

WS = "ws_alpha"
OTHER = "ws_beta"
T0 = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)

METADATA: dict[str, Any] = {
    "ratio": 0.1,
    "tiny": 5e-324,
    "huge": 1.7976931348623157e308,
    "third": 1 / 3,
    "int": 2**62,
    "neg": -0.0000123,
    "text": "naïve — ünïcode ✓",
    "nested": {"list": [1, 2.5, "x", None, True, {"deep": [0.30000000000000004]}], "empty": {}},
}


def exe_id(seconds: int) -> str:
    """An execution id created `seconds` after T0 (ids made in one millisecond do not sort)."""
    return "exe_" + ulid(int((T0.timestamp() + seconds) * 1000))


def make_key(ws: str = WS, **changes: Any) -> ApiKey:
    secret = "dfk_" + secrets.token_urlsafe(32)
    fields: dict[str, Any] = {"workspace_id": ws, "name": "ci", "prefix": secret[:12],
                              "key_hash": hashlib.sha256(secret.encode()).hexdigest()}
    return ApiKey(**{**fields, **changes})


def make_workflow(ws: str = WS, **changes: Any) -> Workflow:
    changes = {"trigger_config": {"filters": {"min": 1.5}}, **changes}
    definition = WorkflowDefinition(steps=[
        StepDefinition(id="parse", type="parse", next="extract"),
        StepDefinition(id="extract", type="extract",
                       config={"fields": [{"name": "total", "type": "currency", "threshold": 0.85}]}),
    ])
    return Workflow(workspace_id=ws, name="Invoices", description="d", definition=definition,
                    **changes)


def make_document(ws: str = WS, **changes: Any) -> Document:
    return Document(workspace_id=ws, name="invoice.pdf", content_type="application/pdf", declared_size=1234,
                    storage_key=f"uploads/{ws}/x.pdf", upload_expires_at=T0 + timedelta(hours=1), **changes)


def make_execution(ws: str = WS, workflow_id: str = "wf_1", **changes: Any) -> Execution:
    return Execution(workspace_id=ws, workflow_id=workflow_id, workflow_version=1, **changes)


def full_execution(ws: str = WS) -> Execution:
    return make_execution(
        ws, name="run", metadata=METADATA, trigger_data={"document_id": "doc_1", "score": 0.725},
        documents=["doc_1", "doc_2"], status=ExecutionStatus.PROCESSING,
        status_history=[StatusChange(status=ExecutionStatus.QUEUED, time=T0),
                        StatusChange(status=ExecutionStatus.PROCESSING, time=T0 + timedelta(seconds=1), message="go")],
        error=ExecutionError(code="x", message="y", step_id="parse"),
        output=ExecutionOutput(document_id="doc_1", values={"total": 1234.56, "lines": [{"q": 2, "p": 0.1}]},
                               confidence={"total": 0.987654321}),
        execution_log=[ExecutionLogEntry(step_id="parse", type="parse", status=StepStatus.COMPLETED, started_at=T0,
                                         completed_at=T0 + timedelta(milliseconds=15), duration_ms=15)],
        start_time=T0, idempotency_key="idem-full", start_step="parse", result_step="extract",
    )


def collect_pages(fetch: Any, limit: int) -> tuple[list[list[str]], list[str | None]]:
    """Follows next_cursor to the end; returns the ids per page and the cursors seen."""
    pages: list[list[str]] = []
    cursors: list[str | None] = []
    cursor: str | None = None
    while True:
        page = fetch(limit, cursor)
        pages.append([item.id for item in page.items])
        cursors.append(page.next_cursor)
        if page.next_cursor is None:
            return pages, cursors
        cursor = page.next_cursor
        assert len(pages) < 50, "pagination does not terminate"


# --- round trips -----------------------------------------------------------------------------

def test_workflow_round_trip(store: Store) -> None:
    workflow = make_workflow()
    store.workflows.add(workflow)
    assert store.workflows.get(WS, workflow.id) == workflow
    with pytest.raises(Conflict):
        store.workflows.add(workflow)


def test_document_round_trip_and_save(store: Store) -> None:
    document = make_document()
    store.documents.add(document)
    assert store.documents.get(WS, document.id) == document
    updated = document.model_copy(update={"status": DocumentStatus.UPLOADED, "size": 1234, "sha256": "ab" * 32})
    stored = store.documents.save(updated)
    assert stored.revision == document.revision + 1
    assert store.documents.get(WS, document.id) == stored
    with pytest.raises(NotFound):
        store.documents.save(make_document())


def test_document_save_is_conditional_on_its_revision(store: Store) -> None:
    document = make_document()
    store.documents.add(document)
    first = store.documents.save(document.model_copy(update={"status": DocumentStatus.UPLOADED, "size": 1}))
    with pytest.raises(Conflict):  # a second writer that read the same revision loses, and writes nothing
        store.documents.save(document.model_copy(update={"status": DocumentStatus.REJECTED}))
    assert store.documents.get(WS, document.id) == first


def test_execution_round_trip_keeps_floats_and_nested_values(store: Store) -> None:
    execution = full_execution()
    assert store.executions.add(execution) == execution
    loaded = store.executions.get(WS, execution.id)
    assert loaded == execution
    assert loaded.metadata == METADATA
    assert isinstance(loaded.metadata["ratio"], float) and loaded.metadata["ratio"] == 0.1
    assert loaded.metadata["int"] == 2**62 and isinstance(loaded.metadata["int"], int)


def test_api_key_round_trip_lookup_and_revoke(store: Store) -> None:
    assert not store.keys.workspace_exists(WS)
    key = make_key()
    store.keys.add(key)
    assert store.keys.workspace_exists(WS)
    assert not store.keys.workspace_exists(OTHER)
    assert store.keys.find_by_hash(key.key_hash) == key
    assert store.keys.find_by_hash(hashlib.sha256(b"unknown").hexdigest()) is None
    with pytest.raises(Conflict):
        store.keys.add(make_key(key_hash=key.key_hash))

    with pytest.raises(NotFound):
        store.keys.revoke(OTHER, key.id, T0)  # another workspace's key is unknown there
    assert store.keys.find_by_hash(key.key_hash) == key

    revoked = store.keys.revoke(WS, key.id, T0)
    assert revoked.revoked_at == T0
    assert revoked == key.model_copy(update={"revoked_at": T0})
    assert store.keys.find_by_hash(key.key_hash) is None
    assert store.keys.list(WS, 10, None).items == [revoked]
    assert store.keys.revoke(WS, key.id, T0 + timedelta(days=1)).revoked_at == T0  # idempotent
    assert store.keys.workspace_exists(WS)
    with pytest.raises(NotFound):
        store.keys.revoke(WS, "key_unknown", T0)


def test_api_key_list_pages_newest_first(store: Store) -> None:
    keys = [make_key() for _ in range(7)]
    for key in keys:
        store.keys.add(key)
    store.keys.add(make_key(OTHER))
    ids = sorted((k.id for k in keys), reverse=True)
    pages, _ = collect_pages(lambda limit, cursor: store.keys.list(WS, limit, cursor), 3)
    assert pages == [ids[0:3], ids[3:6], ids[6:7]]


# --- workspace isolation -------------------------------------------------------------------------

def test_other_workspace_ids_are_not_found(store: Store) -> None:
    workflow, document, execution = make_workflow(), make_document(), make_execution(idempotency_key="k")
    store.workflows.add(workflow)
    store.documents.add(document)
    store.executions.add(execution)
    store.executions.put_step_output(WS, execution.id, "parse", b'{"text": "secret"}')

    with pytest.raises(NotFound) as unknown:
        store.workflows.get(WS, "wf_unknown")
    with pytest.raises(NotFound) as foreign:
        store.workflows.get(OTHER, workflow.id)
    assert type(unknown.value) is type(foreign.value)
    assert foreign.value.message == f"workflow {workflow.id} not found"
    with pytest.raises(NotFound):
        store.documents.get(OTHER, document.id)
    with pytest.raises(NotFound):
        store.executions.get(OTHER, execution.id)
    with pytest.raises(NotFound):
        store.workflows.delete(OTHER, workflow.id)
    with pytest.raises(NotFound):
        store.workflows.replace(workflow.model_copy(update={"workspace_id": OTHER, "version": 2}), 1)
    with pytest.raises(NotFound):
        store.executions.save(execution.model_copy(update={"workspace_id": OTHER}))
    with pytest.raises(NotFound):
        store.documents.save(document.model_copy(update={"workspace_id": OTHER}))
    assert store.executions.get_step_output(OTHER, execution.id, "parse") is None

    # the same idempotency key in another workspace is another run
    other_run = store.executions.add(make_execution(OTHER, idempotency_key="k"))
    assert other_run.id != execution.id
    assert store.workflows.get(WS, workflow.id) == workflow
    assert store.executions.get(WS, execution.id) == execution


def test_lists_never_show_other_workspaces(store: Store) -> None:
    mine, theirs = make_workflow(), make_workflow(OTHER)
    store.workflows.add(mine)
    store.workflows.add(theirs)
    store.executions.add(make_execution(WS, "wf_shared"))
    store.executions.add(make_execution(OTHER, "wf_shared"))
    assert [w.id for w in store.workflows.list(WS, 100, None).items] == [mine.id]
    assert [w.id for w in store.workflows.list(OTHER, 100, None).items] == [theirs.id]
    assert {e.workspace_id for e in store.executions.list_for_workflow(WS, "wf_shared", None, 100, None).items} == {WS}
    # a cursor carries no workspace: used in another workspace it only positions that one's list
    cursor = encode_cursor(theirs.id)
    assert all(w.workspace_id == WS for w in store.workflows.list(WS, 100, cursor).items)


# --- pagination --------------------------------------------------------------------------------

def test_execution_pages_newest_first_without_gaps_or_duplicates(store: Store) -> None:
    runs = [make_execution(workflow_id="wf_a") for _ in range(25)]
    for run in runs:
        store.executions.add(run)
    store.executions.add(make_execution(workflow_id="wf_b"))
    store.executions.add(make_execution(OTHER, workflow_id="wf_a"))

    pages, cursors = collect_pages(
        lambda limit, cursor: store.executions.list_for_workflow(WS, "wf_a", None, limit, cursor), 10)
    assert [len(p) for p in pages] == [10, 10, 5]
    assert cursors[-1] is None and all(cursors[:-1])
    flat = [i for p in pages for i in p]
    assert flat == sorted((r.id for r in runs), reverse=True)  # ids are ULIDs: newest first
    if store.kind == "aws":  # lists are Queries (the fixture fails on any Scan)
        assert "Query" in store.operations and "Scan" not in store.operations


def test_exact_multiple_ends_without_a_cursor(store: Store) -> None:
    for _ in range(20):
        store.workflows.add(make_workflow())
    pages, cursors = collect_pages(lambda limit, cursor: store.workflows.list(WS, limit, cursor), 10)
    assert [len(p) for p in pages] == [10, 10]
    assert cursors[-1] is None
    assert store.workflows.list(OTHER, 10, None).items == []


def test_workflow_pages(store: Store) -> None:
    workflows = [make_workflow() for _ in range(12)]
    for workflow in workflows:
        store.workflows.add(workflow)
    pages, _ = collect_pages(lambda limit, cursor: store.workflows.list(WS, limit, cursor), 5)
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [i for p in pages for i in p] == sorted((w.id for w in workflows), reverse=True)
    assert store.workflows.list(WS, 100, None).items == sorted(workflows, key=lambda w: w.id, reverse=True)


@pytest.mark.parametrize("cursor", [
    "", "not a cursor", "%%%", "abc", "eyJ2IjoxfQ",  # {"v":1}
    base64.urlsafe_b64encode(b'{"v":1,"id":"wf#x"}').decode().rstrip("="),
    base64.urlsafe_b64encode(b'{"v":2,"id":"wf_1"}').decode().rstrip("="),
    base64.urlsafe_b64encode(b'["wf_1"]').decode().rstrip("="),
    base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
    "A" * 2000,
])
def test_malformed_cursor_is_bad_request(store: Store, cursor: str) -> None:
    with pytest.raises(BadRequest, match="invalid cursor"):
        store.workflows.list(WS, 10, cursor)
    with pytest.raises(BadRequest, match="invalid cursor"):
        store.executions.list_for_workflow(WS, "wf_1", None, 10, cursor)
    with pytest.raises(BadRequest, match="invalid cursor"):
        store.executions.list_for_workflow(WS, "wf_1", ExecutionStatus.QUEUED, 10, cursor)
    with pytest.raises(BadRequest, match="invalid cursor"):
        store.keys.list(WS, 10, cursor)


def test_status_filter(store: Store) -> None:
    queued = [make_execution() for _ in range(4)]
    for run in queued:
        store.executions.add(run)
    failed = make_execution(status=ExecutionStatus.FAILED)
    store.executions.add(failed)
    moved = store.executions.save(queued[0].model_copy(update={"status": ExecutionStatus.PROCESSING}))

    def ids(status: ExecutionStatus | None) -> list[str]:
        return [e.id for e in store.executions.list_for_workflow(WS, "wf_1", status, 100, None).items]

    assert ids(ExecutionStatus.QUEUED) == sorted((r.id for r in queued[1:]), reverse=True)
    assert ids(ExecutionStatus.PROCESSING) == [moved.id]
    assert ids(ExecutionStatus.FAILED) == [failed.id]
    assert ids(ExecutionStatus.COMPLETED) == []
    assert len(ids(None)) == 5
    pages, _ = collect_pages(
        lambda limit, cursor: store.executions.list_for_workflow(WS, "wf_1", ExecutionStatus.QUEUED, limit, cursor), 2)
    assert pages == [ids(ExecutionStatus.QUEUED)[:2], ids(ExecutionStatus.QUEUED)[2:]]
    listed = store.executions.list_for_workflow(WS, "wf_1", ExecutionStatus.PROCESSING, 10, None).items[0]
    assert listed == moved


# --- executions: idempotency, optimistic locking ----------------------------------------------

def test_idempotent_add_returns_the_stored_execution(store: Store) -> None:
    first = make_execution(idempotency_key="s3://bucket/inbox/a.pdf#v1", name="first")
    assert store.executions.add(first) == first
    again = make_execution(idempotency_key="s3://bucket/inbox/a.pdf#v1", name="second")
    returned = store.executions.add(again)
    assert returned == first
    with pytest.raises(NotFound):
        store.executions.get(WS, again.id)
    other = store.executions.add(make_execution(idempotency_key="another-key"))
    assert other.id != first.id
    listed = {e.id for e in store.executions.list_for_workflow(WS, "wf_1", None, 100, None).items}
    assert listed == {first.id, other.id}
    # without a key every add is a new run; the same id twice is a conflict
    plain = store.executions.add(make_execution())
    with pytest.raises(Conflict):
        store.executions.add(plain)
    store.executions.add(make_execution())
    assert len(store.executions.list_for_workflow(WS, "wf_1", None, 100, None).items) == 4


def test_idempotent_add_survives_a_saved_run(store: Store) -> None:
    first = store.executions.add(make_execution(idempotency_key="k1"))
    saved = store.executions.save(first.model_copy(update={"status": ExecutionStatus.PROCESSING}))
    assert store.executions.add(make_execution(idempotency_key="k1")) == saved


def test_concurrent_idempotent_adds_store_one_run(store: Store) -> None:
    results: list[Execution] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        barrier.wait()
        try:
            results.append(store.executions.add(make_execution(idempotency_key="same")))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({r.id for r in results}) == 1
    assert len(store.executions.list_for_workflow(WS, "wf_1", None, 100, None).items) == 1


def test_conditional_save(store: Store) -> None:
    execution = store.executions.add(make_execution())
    assert execution.revision == 0
    first = store.executions.save(execution.model_copy(update={"status": ExecutionStatus.PROCESSING}))
    assert first.revision == 1
    assert store.executions.get(WS, execution.id) == first

    with pytest.raises(Conflict):  # a writer that read revision 0 lost the race
        store.executions.save(execution.model_copy(update={"status": ExecutionStatus.CANCELED}))
    assert store.executions.get(WS, execution.id) == first

    second = store.executions.save(first.model_copy(update={"status": ExecutionStatus.COMPLETED}))
    assert second.revision == 2
    assert store.executions.get(WS, execution.id) == second
    with pytest.raises(NotFound):
        store.executions.save(make_execution())


def test_concurrent_saves_only_one_writer_wins(store: Store) -> None:
    execution = store.executions.add(make_execution())
    writers = 8
    barrier = threading.Barrier(writers)
    won: list[Execution] = []
    conflicts: list[Conflict] = []
    errors: list[BaseException] = []

    def write(n: int) -> None:
        barrier.wait()
        try:
            won.append(store.executions.save(execution.model_copy(update={"name": f"writer-{n}"})))
        except Conflict as exc:
            conflicts.append(exc)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(won) == 1 and len(conflicts) == writers - 1
    assert store.executions.get(WS, execution.id) == won[0]
    assert won[0].revision == 1


# --- workflows: versions and delete ----------------------------------------------------------

def test_workflow_replace_is_conditional_on_version(store: Store) -> None:
    workflow = make_workflow()
    store.workflows.add(workflow)
    v2 = workflow.model_copy(update={"name": "v2", "version": 2})
    store.workflows.replace(v2, expected_version=1)
    assert store.workflows.get(WS, workflow.id) == v2

    stale = workflow.model_copy(update={"name": "stale", "version": 2})
    with pytest.raises(Conflict):
        store.workflows.replace(stale, expected_version=1)
    assert store.workflows.get(WS, workflow.id) == v2
    with pytest.raises(NotFound):
        store.workflows.replace(make_workflow(version=2), expected_version=1)


def test_workflow_delete(store: Store) -> None:
    workflow = make_workflow()
    store.workflows.add(workflow)
    store.workflows.delete(WS, workflow.id)
    with pytest.raises(NotFound):
        store.workflows.get(WS, workflow.id)
    with pytest.raises(NotFound):
        store.workflows.delete(WS, workflow.id)
    assert store.workflows.list(WS, 10, None).items == []


def test_given_workflows_in_two_workspaces_when_found_by_id_then_each_names_its_owner(store: Store) -> None:
    mine, theirs = make_workflow(), make_workflow(ws=OTHER)
    store.workflows.add(mine)
    store.workflows.add(theirs)
    assert store.workflows.find_workspace(mine.id) == WS
    assert store.workflows.find_workspace(theirs.id) == OTHER
    assert store.workflows.find_workspace("wf_unknown") is None
    with pytest.raises(NotFound):  # another workspace cannot delete it, and the lookup stays
        store.workflows.delete(WS, theirs.id)
    assert store.workflows.find_workspace(theirs.id) == OTHER
    store.workflows.delete(OTHER, theirs.id)
    assert store.workflows.find_workspace(theirs.id) is None
    with pytest.raises(Conflict):
        store.workflows.add(mine)
    assert store.workflows.find_workspace(mine.id) == WS


# --- step outputs ----------------------------------------------------------------------------

def test_small_step_output_stays_inline(store: Store) -> None:
    execution = store.executions.add(make_execution())
    output = {"values": {"total": 12.5, "ratio": 0.1}, "pages": [{"n": 1, "words": ["a", "b"]}], "nan": None}
    store.executions.put_step_output(WS, execution.id, "extract", json.dumps(output).encode())
    assert json.loads(store.executions.get_step_output(WS, execution.id, "extract") or b"") == output
    assert store.blobs.head(step_output_key(WS, execution.id, "extract")) is None
    assert store.executions.get_step_output(WS, execution.id, "parse") is None

    replaced: dict[str, Any] = {"values": {}}
    store.executions.put_step_output(WS, execution.id, "extract", json.dumps(replaced).encode())
    assert json.loads(store.executions.get_step_output(WS, execution.id, "extract") or b"") == replaced


def test_large_step_output_goes_to_the_blob_store(store: Store) -> None:
    execution = store.executions.add(make_execution())
    output = {"text": "x" * 150_000, "words": [{"t": f"w{i}", "x0": i * 0.1, "top": i / 7} for i in range(3000)]}
    body = json.dumps(output).encode()
    store.executions.put_step_output(WS, execution.id, "parse", body)
    stored = store.blobs.head(step_output_key(WS, execution.id, "parse"))
    assert stored is not None and stored.size > 200 * 1024
    assert stored.content_type == "application/json"
    assert store.executions.get_step_output(WS, execution.id, "parse") == body
    assert store.executions.get_step_output(OTHER, execution.id, "parse") is None


def test_list_unfinished(store: Store) -> None:
    """Local mode only (the engine's resume); on AWS the state machine owns progress."""
    if store.kind == "aws":
        assert not hasattr(store.executions, "list_unfinished")
        return
    processing = store.executions.add(make_execution(OTHER, id=exe_id(2), status=ExecutionStatus.PROCESSING))
    queued = store.executions.add(make_execution(id=exe_id(1)))
    store.executions.add(make_execution(id=exe_id(0), status=ExecutionStatus.REVIEW))
    store.executions.add(make_execution(id=exe_id(3), status=ExecutionStatus.COMPLETED))
    assert store.executions.list_unfinished() == [queued, processing]  # oldest first


# --- local store specifics -----------------------------------------------------------------------

def test_sqlite_schema_reopens_and_lists_use_indexes(tmp_path: Path) -> None:
    from docflow.adapters.local.sqlite import SCHEMA_VERSION, SqliteDatabase, SqliteWorkflowRepository

    db = SqliteDatabase(tmp_path / "db.sqlite3")
    workflow = make_workflow()
    SqliteWorkflowRepository(db).add(workflow)
    db.close()
    db = SqliteDatabase(tmp_path / "db.sqlite3")  # CREATE … IF NOT EXISTS: reopening is harmless
    try:
        assert SqliteWorkflowRepository(db).get(WS, workflow.id) == workflow
        pragma = {name: db.execute(f"PRAGMA {name}").fetchone()[0]
                  for name in ("user_version", "journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
        assert pragma == {"user_version": SCHEMA_VERSION, "journal_mode": "wal", "foreign_keys": 1,
                          "busy_timeout": 5000, "synchronous": 1}
        # §8: the first page costs the same at any size: an index range, no sort, no scan.
        for sql, params in [
            ("SELECT data FROM executions WHERE workspace_id = ? AND workflow_id = ? AND id < ? "
             "ORDER BY id DESC LIMIT ?", (WS, "wf", "exe_z", 11)),
            ("SELECT data FROM executions WHERE workspace_id = ? AND workflow_id = ? AND status = ? "
             "ORDER BY id DESC LIMIT ?", (WS, "wf", "queued", 11)),
            ("SELECT data FROM workflows WHERE workspace_id = ? ORDER BY id DESC LIMIT ?", (WS, 11)),
        ]:
            plan = " ".join(str(row[-1]) for row in db.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall())
            assert "USING INDEX" in plan and "TEMP B-TREE" not in plan and not plan.startswith("SCAN"), plan
    finally:
        db.close()


def test_local_head_of_a_directory_is_none(tmp_path: Path) -> None:
    from docflow.adapters.local.files import LocalBlobStore

    blobs = LocalBlobStore(tmp_path, "http://localhost", b"0123456789abcdef")
    blobs.write("a/b.txt", b"x", "text/plain")
    assert blobs.head("a") is None
    with pytest.raises(NotFound):
        blobs.read("a")


def test_given_documents_when_listed_and_deleted_then_pages_are_newest_first_and_deletes_are_final(
    store: Store,
) -> None:
    documents = [make_document() for _ in range(5)]
    for document in documents:
        store.documents.add(document)
    store.documents.add(make_document().model_copy(update={"workspace_id": "ws_other"}))
    pages, _ = collect_pages(lambda limit, cursor: store.documents.list(WS, limit, cursor), 2)
    assert [i for page in pages for i in page] == sorted((d.id for d in documents), reverse=True)
    store.documents.delete(WS, documents[0].id)
    with pytest.raises(NotFound):
        store.documents.get(WS, documents[0].id)
    with pytest.raises(NotFound):
        store.documents.delete(WS, documents[0].id)
    with pytest.raises(NotFound):  # another workspace's id is as unknown as a made-up one
        store.documents.delete("ws_other", documents[1].id)
    assert documents[0].id not in [d.id for d in store.documents.list(WS, 10, None).items]


def test_given_a_blob_when_deleted_then_it_is_gone_and_deleting_again_is_quiet(store: Store) -> None:
    store.blobs.write("documents/ws/doc_gone", b"bytes", "application/pdf")
    assert store.blobs.head("documents/ws/doc_gone") is not None
    store.blobs.delete("documents/ws/doc_gone")
    assert store.blobs.head("documents/ws/doc_gone") is None
    store.blobs.delete("documents/ws/doc_gone")


def test_given_a_key_when_marked_used_then_lists_show_it_and_a_stale_copy_writes_nothing(store: Store) -> None:
    from docflow.usecases.keys import issue_key

    issued = issue_key(store.keys, WS, "ci")
    key = store.keys.find_by_hash(issued.key.key_hash)
    assert key is not None and key.last_used_at is None
    assert store.keys.mark_used(key, T0) is True
    assert store.keys.list(WS, 10, None).items[0].last_used_at == T0
    assert store.keys.find_by_hash(issued.key.key_hash).last_used_at == T0  # type: ignore[union-attr]
    assert store.keys.mark_used(key, T0 + timedelta(minutes=5)) is False  # `key` is the copy before T0
    assert store.keys.list(WS, 10, None).items[0].last_used_at == T0


def test_given_workflows_of_every_trigger_when_listing_event_triggered_then_only_enabled_event_ones_come(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("docflow.adapters.aws.dynamodb._EVENT_PAGE_SIZE", 2)  # DynamoDB reads every page
    wanted = [make_workflow(trigger_type="event", trigger_config={"event": "document.uploaded"}) for _ in range(3)]
    others = [make_workflow(), make_workflow(trigger_type="scheduled"),
              make_workflow(trigger_type="event", trigger_config={"event": "document.uploaded"}, enabled=False),
              make_workflow(ws=OTHER, trigger_type="event", trigger_config={"event": "document.uploaded"})]
    for workflow in [*wanted, *others]:
        store.workflows.add(workflow)
    assert store.workflows.list_event_triggered(WS) == sorted(wanted, key=lambda w: w.id, reverse=True)
    assert store.workflows.list_event_triggered("ws_nobody") == []
