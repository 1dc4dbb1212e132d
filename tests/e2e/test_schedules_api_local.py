"""/v1/workflows/{id}/schedule in local mode over real HTTP, and the scheduler loop of
`docflow serve` starting a real run when (its injected) clock reaches the schedule's time."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from docflow_testing import INVOICE_WORKFLOW, LocalMode, invoice_pdf

from docflow.domain.errors import NotFound

pytestmark = pytest.mark.e2e


def setup(local_mode: LocalMode) -> tuple[str, str]:
    api = local_mode.api
    created = api.post("/v1/workflows", json=INVOICE_WORKFLOW)
    assert created.status_code == 201, created.text
    return created.json()["id"], api.upload("invoice.pdf", invoice_pdf())


def body(document_id: str, **changes: Any) -> dict[str, Any]:
    return {"cron_expression": "0 9 * * 1-5", "timezone": "America/New_York", "enabled": True,
            "input": {"document_id": document_id}, **changes}


def test_given_a_workflow_when_its_schedule_is_created_read_replaced_and_deleted_then_each_answers_right(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id, document_id = setup(local_mode)
    path = f"/v1/workflows/{workflow_id}/schedule"
    assert api.get(path).status_code == 404

    created = api.post(path, json=body(document_id))
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["id"].startswith("sch_") and out["workflow_id"] == workflow_id
    assert out["last_fire_time"] is None and out["created_at"].endswith("Z")
    times = [datetime.fromisoformat(t) for t in out["next_fire_times"]]
    assert len(times) == 3 and all(t.hour == 9 and t.weekday() < 5 for t in times)
    assert all(t.utcoffset() in (timedelta(hours=-5), timedelta(hours=-4)) for t in times)

    again = api.post(path, json=body(document_id))
    assert again.status_code == 409 and workflow_id in again.json()["error"]["message"], again.text

    assert api.get(path).json() == {**out, "next_fire_times": api.get(path).json()["next_fire_times"]}
    replaced = api.request("PUT", path, json={**out, "cron_expression": "*/30 * * * *", "timezone": "UTC"})
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["id"], replaced.json()["cron_expression"]) == (out["id"], "*/30 * * * *")
    assert all(t.endswith("+00:00") for t in replaced.json()["next_fire_times"])

    assert api.request("DELETE", path).status_code == 204
    assert api.get(path).status_code == 404
    assert api.request("DELETE", path).status_code == 404
    assert api.request("PUT", path, json=body(document_id)).status_code == 404


@pytest.mark.parametrize(("changes", "loc"), [
    ({"cron_expression": "61 * * * *"}, ["body", "cron_expression"]),
    ({"cron_expression": "0 9 1 * 1"}, ["body", "cron_expression"]),  # both day fields: not expressible on AWS
    ({"cron_expression": "0 0 0 12 ? *"}, ["body", "cron_expression"]),
    ({"timezone": "Mars/Olympus"}, ["body", "timezone"]),
    ({"input": {}}, ["body", "input", "document_id"]),
    ({"input": {"document_id": "doc_unknown"}}, ["body", "input", "document_id"]),
    ({"cron": "0 9 * * *"}, ["body", "cron"]),
    ({"enabled": "sometimes"}, ["body", "enabled"]),
])
def test_given_an_invalid_body_when_posting_then_422_names_the_field(local_mode: LocalMode, changes: dict[str, Any],
                                                                      loc: list[str]) -> None:
    workflow_id, document_id = setup(local_mode)
    refused = local_mode.api.post(f"/v1/workflows/{workflow_id}/schedule", json=body(document_id, **changes))
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["loc"] == loc, error


def test_given_an_unknown_workflow_when_posting_then_404(local_mode: LocalMode) -> None:
    _, document_id = setup(local_mode)
    refused = local_mode.api.post("/v1/workflows/wf_unknown/schedule", json=body(document_id))
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"


def test_given_docflow_serve_when_the_clock_reaches_a_fire_time_then_the_loop_starts_one_scheduled_run(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id, document_id = setup(local_mode)
    created = api.post(f"/v1/workflows/{workflow_id}/schedule",
                       json=body(document_id, cron_expression="0 9 * * *", input={"document_id": document_id,
                                                                                    "batch": "nightly"}))
    assert created.status_code == 201, created.text
    fire_at = datetime.fromisoformat(created.json()["next_fire_times"][0])
    local_mode.server.scheduler.clock = lambda: fire_at + timedelta(seconds=1)

    deadline = time.monotonic() + 30
    while not (runs := api.get(f"/v1/workflows/{workflow_id}/executions").json()["items"]):
        assert time.monotonic() < deadline, "the scheduler loop started no run"
        time.sleep(0.05)
    run = api.wait(runs[0]["id"])
    assert run["status"] == "completed" and run["trigger_method"] == "schedule", run
    assert run["output"]["values"]["invoice_number"] == "INV-2041"
    schedule = api.get(f"/v1/workflows/{workflow_id}/schedule").json()
    assert schedule["last_fire_time"] == fire_at.timestamp()
    # Another tick at the same clock (as the loop makes every second) starts nothing more.
    assert local_mode.server.scheduler.tick() == []
    assert len(api.get(f"/v1/workflows/{workflow_id}/executions").json()["items"]) == 1


def test_given_a_scheduled_workflow_when_it_is_deleted_then_its_schedule_goes_with_it(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id, document_id = setup(local_mode)
    assert api.post(f"/v1/workflows/{workflow_id}/schedule", json=body(document_id)).status_code == 201
    runtime_ports = local_mode.server.runtime.ports
    assert runtime_ports.schedules.get("default", workflow_id).workflow_id == workflow_id

    assert api.request("DELETE", f"/v1/workflows/{workflow_id}").status_code == 204
    with pytest.raises(NotFound):
        runtime_ports.schedules.get("default", workflow_id)
