"""Platform events as triggers in local mode, over real HTTP: the in-process bus → the dispatcher
thread → start_execution, with the loop guard and the chain depth limit."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from docflow_testing import API_KEY, INVOICE_WORKFLOW, Api, LocalMode, invoice_pdf

from docflow.domain.limits import Limits


def _create(api: Api, name: str, trigger: dict[str, Any] | None = None) -> str:
    body: dict[str, Any] = {**INVOICE_WORKFLOW, "name": name}
    if trigger is not None:
        body.update(trigger_type="event", trigger_config=trigger)
    response = api.post("/v1/workflows", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _after_a_completed(workflow_id: str) -> dict[str, Any]:
    return {"event": "execution.completed", "filters": {"workflow_id": workflow_id}}


def _runs(api: Api, workflow_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/workflows/{workflow_id}/executions")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _wait_for_runs(api: Api, workflow_id: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(runs := _runs(api, workflow_id)) < count:
        assert time.monotonic() < deadline, f"workflow {workflow_id} has {len(runs)} runs, expected {count}"
        time.sleep(0.05)
    return runs


def _start(api: Api, workflow_id: str, document_id: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    response = api.post(f"/v1/workflows/{workflow_id}/executions",
                        json={"document_id": document_id, "metadata": metadata or {}})
    assert response.status_code == 202, response.text
    return api.wait(response.json()["id"])


def _wait_dispatched(server: Any, detail_type: str, execution_id: str, timeout: float = 30) -> None:
    """Waits until the dispatcher has handled the run's event: then every run it starts exists."""
    deadline = time.monotonic() + timeout
    while True:
        event = next((e for e in list(server.runtime.events.recent)
                      if e.detail_type == detail_type and e.detail.get("execution_id") == execution_id), None)
        if event is not None:
            assert server.runtime.event_triggers.wait_handled(event.id, timeout=max(0.0, deadline - time.monotonic()))
            return
        assert time.monotonic() < deadline, f"no {detail_type} event for {execution_id}"
        time.sleep(0.02)


def test_given_b_triggered_by_a_completing_when_a_runs_then_b_runs_once_by_event(local_mode: LocalMode) -> None:
    api = local_mode.api
    a = _create(api, "A")
    b = _create(api, "B", _after_a_completed(a))
    document_id = api.upload("invoice.pdf", invoice_pdf())

    run_a = _start(api, a, document_id, metadata={"customer": "acme"})
    assert run_a["status"] == "completed"
    _wait_dispatched(local_mode.server, "execution.completed", run_a["id"])

    runs_b = _wait_for_runs(api, b, 1)
    assert len(runs_b) == 1
    run_b = api.wait(runs_b[0]["id"])
    assert run_b["status"] == "completed", run_b
    assert run_b["trigger_method"] == "event"
    assert run_b["metadata"] == {"customer": "acme"}
    assert [d if isinstance(d, str) else d["id"] for d in run_b["documents"]] == [document_id]
    _wait_dispatched(local_mode.server, "execution.completed", run_b["id"])
    assert len(_runs(api, b)) == 1 and len(_runs(api, a)) == 1


def test_given_a_workflow_subscribed_to_its_own_completion_when_it_runs_then_it_runs_once(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    loop = _create(api, "Loop", {"event": "execution.completed"})
    document_id = api.upload("invoice.pdf", invoice_pdf())

    run = _start(api, loop, document_id)
    assert run["status"] == "completed"
    _wait_dispatched(local_mode.server, "execution.completed", run["id"])
    assert [r["id"] for r in _runs(api, loop)] == [run["id"]]


def test_given_an_event_workflow_with_a_bad_filter_when_created_then_422_names_it(local_mode: LocalMode) -> None:
    response = local_mode.api.post("/v1/workflows", json={
        **INVOICE_WORKFLOW, "trigger_type": "event",
        "trigger_config": {"event": "execution.completed", "filters": {"colour": "red"}}})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["loc"][-3:] == ["trigger_config", "filters", "colour"]
    response = local_mode.api.post("/v1/workflows", json={**INVOICE_WORKFLOW, "trigger_type": "event",
                                                          "trigger_config": {}})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["loc"][-2:] == ["trigger_config", "event"]


@pytest.fixture
def shallow_local(tmp_path: Path) -> Iterator[LocalMode]:
    """Local mode with DOCFLOW_MAX_TRIGGER_DEPTH=1."""
    from docflow.runtime.local.server import RunningServer
    from docflow.runtime.settings import LocalSettings

    settings = LocalSettings(data_dir=tmp_path / "data", host="127.0.0.1", port=0, workers=2, api_key=API_KEY,
                             limits=replace(Limits(), max_trigger_depth=1))
    server = RunningServer(settings).start()
    try:
        yield LocalMode(url=server.url, data_dir=tmp_path / "data", server=server, api=Api(server.url, API_KEY))
    finally:
        server.stop()


def test_given_a_three_workflow_chain_and_max_depth_1_when_a_runs_then_the_chain_stops_at_b_with_a_log_line(
        shallow_local: LocalMode, caplog: pytest.LogCaptureFixture) -> None:
    api = shallow_local.api
    a = _create(api, "A")
    b = _create(api, "B", _after_a_completed(a))
    c = _create(api, "C", _after_a_completed(b))
    document_id = api.upload("invoice.pdf", invoice_pdf())

    with caplog.at_level(logging.WARNING, logger="docflow.triggers"):
        run_a = _start(api, a, document_id)
        _wait_dispatched(shallow_local.server, "execution.completed", run_a["id"])
        run_b = api.wait(_wait_for_runs(api, b, 1)[0]["id"])
        assert run_b["status"] == "completed"
        _wait_dispatched(shallow_local.server, "execution.completed", run_b["id"])

    assert _runs(api, c) == []
    assert f"would start workflow {c} at trigger depth 2, over the limit of 1" in caplog.text


def _wait_uploaded_dispatched(server: Any, document_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while (event := next((e for e in list(server.runtime.events.recent) if e.detail_type == "document.uploaded"
                          and e.detail.get("document_id") == document_id), None)) is None:
        assert time.monotonic() < deadline, f"no document.uploaded event for {document_id}"
        time.sleep(0.02)
    assert server.runtime.event_triggers.wait_handled(event.id, timeout=max(0.0, deadline - time.monotonic()))


def test_given_a_workflow_on_pdf_uploads_when_a_pdf_and_a_text_file_are_uploaded_then_only_the_pdf_runs(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    on_upload = _create(api, "On PDF upload", {"event": "document.uploaded", "filters": {"file_type": "pdf"}})

    text_id = api.upload("notes.txt", b"Invoice Number: INV-1\n", content_type="text/plain")
    _wait_uploaded_dispatched(local_mode.server, text_id)
    assert _runs(api, on_upload) == []

    pdf_id = api.upload("invoice.pdf", invoice_pdf())
    _wait_uploaded_dispatched(local_mode.server, pdf_id)
    runs = _runs(api, on_upload)
    assert len(runs) == 1
    run = api.wait(runs[0]["id"])
    assert (run["status"], run["trigger_method"]) == ("completed", "event")
    assert (run["trigger_data"]["detail_type"], run["trigger_data"]["document_id"]) == ("document.uploaded", pdf_id)
