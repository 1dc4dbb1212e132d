"""Platform events as triggers: the trigger config (domain), its validation on save, and the
dispatcher use-case over real SQLite with a launcher that only records."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from docflow.adapters.compute import InlineCompute
from docflow.adapters.local.events import InProcessEventBus
from docflow.adapters.local.files import LocalBlobStore
from docflow.adapters.local.sqlite import (
    SqliteApiKeyRepository,
    SqliteDatabase,
    SqliteDocumentRepository,
    SqliteExecutionRepository,
    SqliteWorkflowRepository,
)
from docflow.domain.clock import utc_now
from docflow.domain.errors import Throttled, ValidationFailed
from docflow.domain.event_triggers import parse_trigger_config
from docflow.domain.limits import Limits
from docflow.domain.models import Document, DocumentStatus, Execution
from docflow.ports import Ports
from docflow.usecases.dispatch import DispatchIncomplete, dispatch_event
from docflow.usecases.workflows import create_workflow, replace_workflow

WS = "ws-1"
STEPS = {"steps": [{"id": "parse", "type": "parse"}]}


def _loc(exc: pytest.ExceptionInfo[ValidationFailed]) -> list[Any]:
    return list(exc.value.details[0]["loc"])


# --- trigger config ---------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "loc"), [
    ({}, ["trigger_config", "event"]),
    ({"event": "execution.started"}, ["trigger_config", "event"]),
    ({"event": "execution.completed", "filter": {}}, ["trigger_config", "filter"]),
    ({"event": "execution.completed", "filters": []}, ["trigger_config", "filters"]),
    ({"event": "execution.completed", "filters": {"status": "completed"}}, ["trigger_config", "filters", "status"]),
    ({"event": "execution.completed", "filters": {"file_type": "docx"}}, ["trigger_config", "filters", "file_type"]),
    ({"event": "execution.completed", "filters": {"file_type": []}}, ["trigger_config", "filters", "file_type"]),
    ({"event": "execution.completed", "filters": {"workflow_id": 3}}, ["trigger_config", "filters", "workflow_id"]),
    ({"event": "execution.completed", "filters": {"metadata.x": {"a": 1}}},
     ["trigger_config", "filters", "metadata.x"]),
    ({"event": "execution.completed", "filters": {"metadata.": "a"}}, ["trigger_config", "filters", "metadata."]),
])
def test_given_a_bad_trigger_config_when_parsed_then_the_error_names_the_field(
        config: dict[str, Any], loc: list[Any]) -> None:
    with pytest.raises(ValidationFailed) as exc:
        parse_trigger_config(config)
    assert _loc(exc) == loc


@pytest.mark.parametrize(("filters", "detail", "matches"), [
    ({}, {}, True),
    ({"workflow_id": "wf_a"}, {"workflow_id": "wf_a"}, True),
    ({"workflow_id": "wf_a"}, {"workflow_id": "wf_b"}, False),
    ({"workflow_id": "wf_a"}, {}, False),  # document.uploaded: no run published it
    ({"file_type": "pdf"}, {"content_type": "application/pdf"}, True),
    ({"file_type": "PDF"}, {"content_type": "Application/PDF; charset=binary"}, True),
    ({"file_type": "pdf"}, {"content_type": "image/png"}, False),
    ({"file_type": "application/pdf"}, {"content_type": "application/pdf"}, True),
    ({"file_type": "image/*"}, {"content_type": "image/tiff"}, True),
    ({"file_type": "image/*"}, {"content_type": "application/pdf"}, False),
    ({"file_type": ["pdf", "jpg"]}, {"content_type": "image/jpeg"}, True),
    ({"file_type": "pdf"}, {"content_type": None}, False),
    ({"metadata.customer": "acme"}, {"metadata": {"customer": "acme"}}, True),
    ({"metadata.customer": "acme"}, {"metadata": {"customer": "other"}}, False),
    ({"metadata.customer": "acme"}, {"metadata": {}}, False),
    ({"metadata.customer": "acme"}, {}, False),
    ({"metadata.priority": 1}, {"metadata": {"priority": 1.0}}, True),
    ({"metadata.priority": 1}, {"metadata": {"priority": "1"}}, False),
    ({"metadata.priority": 1}, {"metadata": {"priority": True}}, False),
    ({"metadata.urgent": True}, {"metadata": {"urgent": True}}, True),
    ({"metadata.note": None}, {"metadata": {"note": None}}, True),
    ({"metadata.note": None}, {"metadata": {}}, False),
    ({"workflow_id": "wf_a", "file_type": "pdf"}, {"workflow_id": "wf_a", "content_type": "image/png"}, False),
])
def test_given_filters_when_an_event_arrives_then_all_filters_must_match(
        filters: dict[str, Any], detail: dict[str, Any], matches: bool) -> None:
    trigger = parse_trigger_config({"event": "execution.completed", "filters": filters})
    assert trigger.matches("execution.completed", detail) is matches


def test_given_a_trigger_when_another_event_type_arrives_then_it_does_not_match() -> None:
    trigger = parse_trigger_config({"event": "execution.completed"})
    assert not trigger.matches("execution.failed", {})


# --- the use-case over SQLite -----------------------------------------------------------------

class RecordingLauncher:
    def __init__(self) -> None:
        self.launched: list[str] = []
        self.fail_for: set[str] = set()

    def launch(self, execution: Execution) -> None:
        if execution.workflow_id in self.fail_for:
            raise Throttled("states is throttling requests; retry later")
        self.launched.append(execution.id)

    def cancel(self, execution: Execution) -> None:
        raise AssertionError("not used")


@pytest.fixture
def ports(tmp_path: Path) -> Iterator[Ports]:
    db = SqliteDatabase(tmp_path / "docflow.sqlite3")
    blobs = LocalBlobStore(tmp_path / "files", "http://127.0.0.1:1", b"unit-test-secret-32-bytes-long!!")
    try:
        yield Ports(keys=SqliteApiKeyRepository(db), workflows=SqliteWorkflowRepository(db),
                    documents=SqliteDocumentRepository(db), executions=SqliteExecutionRepository(db, blobs),
                    blobs=blobs, events=InProcessEventBus(), launcher=RecordingLauncher(), limits=Limits(),
                    compute=InlineCompute())
    finally:
        db.close()


def _launcher(ports: Ports) -> RecordingLauncher:
    assert isinstance(ports.launcher, RecordingLauncher)
    return ports.launcher


def _document(ports: Ports, content_type: str = "application/pdf") -> str:
    document = Document(workspace_id=WS, name="a.pdf", content_type=content_type, size=10, sha256="0" * 64,
                        status=DocumentStatus.UPLOADED, storage_key="documents/ws-1/x",
                        upload_expires_at=utc_now() + timedelta(hours=1))
    ports.documents.add(document)
    return document.id


def _workflow(ports: Ports, trigger: dict[str, Any] | None = None, **fields: Any) -> str:
    body: dict[str, Any] = {"name": "w", "definition": STEPS, **fields}
    if trigger is not None:
        body.update(trigger_type="event", trigger_config=trigger)
    return create_workflow(ports.workflows, WS, body).id


def _detail(document_id: str, workflow_id: str = "wf_source", **extra: Any) -> dict[str, Any]:
    return {"workspace_id": WS, "execution_id": "exe_source", "workflow_id": workflow_id, "document_id": document_id,
            "content_type": "application/pdf", "metadata": {"customer": "acme"}, "trigger_depth": 0,
            "status": "completed", **extra}


def test_given_an_event_workflow_with_a_bad_config_when_saved_then_422_names_the_field(ports: Ports) -> None:
    with pytest.raises(ValidationFailed) as exc:
        _workflow(ports, {"event": "nope"})
    assert _loc(exc) == ["trigger_config", "event"]
    workflow_id = _workflow(ports, {"event": "execution.completed"})
    with pytest.raises(ValidationFailed) as exc:
        replace_workflow(ports.workflows, WS, workflow_id, {
            "name": "w", "definition": STEPS, "trigger_type": "event",
            "trigger_config": {"event": "execution.completed", "filters": {"file_type": 7}}})
    assert _loc(exc) == ["trigger_config", "filters", "file_type"]


def test_given_a_matching_workflow_when_the_event_is_delivered_twice_then_one_run_starts(ports: Ports) -> None:
    document_id = _document(ports)
    target = _workflow(ports, {"event": "execution.completed", "filters": {"workflow_id": "wf_source",
                                                                          "metadata.customer": "acme"}})
    first = dispatch_event(ports, "evt-1", "execution.completed", WS, _detail(document_id), max_depth=5)
    again = dispatch_event(ports, "evt-1", "execution.completed", WS, _detail(document_id), max_depth=5)

    assert [t.workflow_id for t in first.started] == [target] and not first.started[0].replayed
    assert again.started[0].execution_id == first.started[0].execution_id and again.started[0].replayed
    run = ports.executions.get(WS, first.started[0].execution_id)
    assert (run.trigger_method, run.trigger_depth, run.documents) == ("event", 1, [document_id])
    assert run.metadata == {"customer": "acme"}
    assert run.trigger_data["detail_type"] == "execution.completed"
    assert run.trigger_data["execution_id"] == "exe_source"
    assert len(ports.executions.list_for_workflow(WS, target, None, 10, None).items) == 1
    # A replay hands a still-queued run to the launcher again (the launcher starts a run once).
    assert set(_launcher(ports).launched) == {run.id}


def test_given_a_new_event_id_when_dispatched_then_it_is_a_new_run(ports: Ports) -> None:
    document_id = _document(ports)
    _workflow(ports, {"event": "execution.completed"})
    one = dispatch_event(ports, "evt-1", "execution.completed", WS, _detail(document_id), max_depth=5)
    two = dispatch_event(ports, "evt-2", "execution.completed", WS, _detail(document_id), max_depth=5)
    assert one.started[0].execution_id != two.started[0].execution_id


def test_given_workflows_that_do_not_match_when_dispatched_then_none_starts(ports: Ports) -> None:
    document_id = _document(ports)
    _workflow(ports)  # manual
    _workflow(ports, {"event": "execution.completed"}, enabled=False)
    _workflow(ports, {"event": "execution.failed"})
    _workflow(ports, {"event": "execution.completed", "filters": {"file_type": "png"}})
    _workflow(ports, {"event": "execution.completed", "filters": {"metadata.customer": "globex"}})
    result = dispatch_event(ports, "evt-1", "execution.completed", WS, _detail(document_id), max_depth=5)
    other_workspace = dispatch_event(ports, "evt-1", "execution.completed", "ws-2", _detail(document_id), 5)
    assert result.started == [] and other_workspace.started == []
    assert _launcher(ports).launched == []


def test_given_a_workflow_subscribed_to_its_own_event_when_dispatched_then_it_is_skipped(ports: Ports) -> None:
    document_id = _document(ports)
    own = _workflow(ports, {"event": "execution.completed"})
    result = dispatch_event(ports, "evt-1", "execution.completed", WS, _detail(document_id, workflow_id=own), 5)
    assert result.started == [] and [s.workflow_id for s in result.skipped] == [own]


def test_given_a_chain_at_the_depth_limit_when_dispatched_then_it_stops_with_a_log_line(
        ports: Ports, caplog: pytest.LogCaptureFixture) -> None:
    document_id = _document(ports)
    target = _workflow(ports, {"event": "execution.completed"})
    with caplog.at_level(logging.WARNING, logger="docflow.triggers"):
        stopped = dispatch_event(ports, "evt-1", "execution.completed", WS, _detail(document_id, trigger_depth=2), 2)
    allowed = dispatch_event(ports, "evt-2", "execution.completed", WS, _detail(document_id, trigger_depth=1), 2)
    assert stopped.started == [] and "over the limit of 2" in stopped.skipped[0].reason
    assert f"would start workflow {target} at trigger depth 3, over the limit of 2" in caplog.text
    assert ports.executions.get(WS, allowed.started[0].execution_id).trigger_depth == 2


def test_given_one_start_fails_transiently_when_dispatched_then_the_others_start_and_a_retry_completes(
        ports: Ports) -> None:
    document_id = _document(ports)
    flaky = _workflow(ports, {"event": "execution.completed"})
    steady = _workflow(ports, {"event": "execution.completed"})
    _launcher(ports).fail_for = {flaky}
    with pytest.raises(DispatchIncomplete):
        dispatch_event(ports, "evt-1", "execution.completed", WS, _detail(document_id), max_depth=5)
    _launcher(ports).fail_for = set()
    retried = dispatch_event(ports, "evt-1", "execution.completed", WS, _detail(document_id), max_depth=5)
    assert {t.workflow_id: t.replayed for t in retried.started} == {flaky: True, steady: True}
    for workflow_id in (flaky, steady):
        assert len(ports.executions.list_for_workflow(WS, workflow_id, None, 10, None).items) == 1


def test_given_an_event_without_a_document_when_dispatched_then_it_is_skipped(ports: Ports) -> None:
    _workflow(ports, {"event": "execution.failed"})
    result = dispatch_event(ports, "evt-1", "execution.failed", WS,
                            {"workspace_id": WS, "workflow_id": "wf_x", "document_id": None}, max_depth=5)
    assert result.started == [] and result.skipped[0].reason == "the event names no document"
