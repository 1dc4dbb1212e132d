"""Human review in local mode over real HTTP: a run pauses at its review step, the task is in the
queue, a person corrects and approves it (or rejects it), and the run ends with the corrected
values; a task ends once; a wait survives `kill -9`; an unanswered task times out."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from docflow_testing import API_KEY, Api, LocalMode, invoice_pdf, review_workflow, serve_api

pytestmark = pytest.mark.e2e


def _start(api: Api, workflow: dict[str, Any], number: str = "R-100", total: str = "$1,234.50") -> dict[str, Any]:
    created = api.post("/v1/workflows", json=workflow)
    assert created.status_code == 201, created.text
    document_id = api.upload("invoice.pdf", invoice_pdf(invoice_number=number, total=total))
    started = api.post(f"/v1/workflows/{created.json()['id']}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    return dict(started.json())


def _paused(api: Api, execution_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    execution = api.wait(execution_id, until=("review", "completed", "failed", "canceled"))
    assert execution["status"] == "review", execution
    queue = api.get("/v1/reviews", params={"workflow_id": execution["workflow_id"]})
    assert queue.status_code == 200, queue.text
    tasks = [t for t in queue.json()["items"] if t["execution_id"] == execution_id]
    assert len(tasks) == 1, queue.json()
    return execution, tasks[0]


def test_given_a_review_step_when_a_person_corrects_and_approves_then_the_run_completes_with_the_corrections(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    execution, task = _paused(api, _start(api, review_workflow())["id"])
    assert [h["status"] for h in execution["status_history"]] == ["queued", "processing", "review"]
    assert task["status"] == "pending" and task["document_id"] == execution["documents"][0]
    fields = {f["name"]: f for f in task["fields"]}
    assert fields["invoice_number"]["predicted"] == "R-100" and fields["total"]["predicted"] == 1234.5
    assert fields["invoice_number"]["page"] == 1 and len(fields["invoice_number"]["bbox"]) == 4

    detail = api.get(f"/v1/reviews/{task['id']}").json()
    assert detail["document"]["content_type"] == "application/pdf" and len(detail["pages"]) == 1
    image = api.get(detail["pages"][0]["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")

    claimed = api.post(f"/v1/reviews/{task['id']}/claim")
    assert claimed.status_code == 200 and claimed.json()["claimed_by"]["name"] == "env", claimed.text
    done = api.post(f"/v1/reviews/{task['id']}/complete", json={"values": {"total": 1300.0}})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["changed_fields"] == ["total"]

    finished = api.wait(execution["id"])
    assert finished["status"] == "completed", finished
    assert [h["status"] for h in finished["status_history"]] == [
        "queued", "processing", "review", "processing", "completed"]
    assert finished["output"]["values"]["total"] == 1300.0
    assert finished["output"]["values"]["invoice_number"] == "R-100"
    review = finished["output"]["review"]
    assert review["outcome"] == "approved" and review["changed_fields"] == ["total"]
    assert review["predicted"]["total"] == 1234.5 and review["reviewed_by"]["name"] == "env"
    assert finished["execution_log"][-1]["type"] == "review"
    assert finished["execution_log"][-1]["summary"]["outcome"] == "approved"

    again = api.post(f"/v1/reviews/{task['id']}/complete", json={"values": {}})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict", again.text
    listed = api.get("/v1/reviews", params={"status": "completed"}).json()["items"]
    assert [t["id"] for t in listed] == [task["id"]] and listed[0]["completed_by"]["name"] == "env"


def test_given_a_waiting_review_when_values_have_the_wrong_types_then_422_names_each_field(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    _, task = _paused(api, _start(api, review_workflow())["id"])
    bad = api.post(f"/v1/reviews/{task['id']}/complete",
                   json={"values": {"total": "a lot", "date": "07/03/2025", "colour": "red", "invoice_number": None}})
    assert bad.status_code == 422, bad.text
    named = sorted(d["field"] for d in bad.json()["error"]["details"])
    assert named == ["colour", "date", "invoice_number", "total"]
    assert api.get(f"/v1/reviews/{task['id']}").json()["status"] == "pending"


def test_given_two_reviewers_when_both_complete_at_once_then_one_wins_and_the_other_gets_409(
        local_mode: LocalMode) -> None:
    from concurrent.futures import ThreadPoolExecutor

    api = local_mode.api
    execution, task = _paused(api, _start(api, review_workflow())["id"])
    clients = [Api(local_mode.url, API_KEY) for _ in range(2)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda pair: pair[0].post(f"/v1/reviews/{task['id']}/complete",
                                                          json={"values": {"invoice_number": pair[1]}}),
                                zip(clients, ["R-A", "R-B"], strict=True)))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    winner = next(a.json() for a in answers if a.status_code == 200)
    finished = api.wait(execution["id"])
    assert finished["status"] == "completed"
    assert finished["output"]["values"]["invoice_number"] == winner["values"]["invoice_number"]
    assert [e["type"] for e in finished["execution_log"]].count("review") == 1


def test_given_a_run_waiting_for_review_when_canceled_then_its_task_leaves_the_queue(local_mode: LocalMode) -> None:
    api = local_mode.api
    execution, task = _paused(api, _start(api, review_workflow())["id"])
    canceled = api.request("PATCH", f"/v1/workflows/{execution['workflow_id']}/executions/{execution['id']}",
                           json={"status": "canceled"})
    assert canceled.status_code == 200, canceled.text
    assert task["id"] not in [t["id"] for t in api.get("/v1/reviews", params={"status": "pending"}).json()["items"]]
    closed = api.get(f"/v1/reviews/{task['id']}").json()
    assert closed["status"] == "expired" and closed["reason"] == "the run was canceled"
    late = api.post(f"/v1/reviews/{task['id']}/complete", json={"values": {}})
    assert late.status_code == 409, late.text


def test_given_a_waiting_review_when_rejected_then_the_run_fails_with_review_rejected_and_the_reason(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    execution, task = _paused(api, _start(api, review_workflow())["id"])
    rejected = api.post(f"/v1/reviews/{task['id']}/reject", json={"reason": "not our invoice"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text
    failed = api.wait(execution["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "review_rejected", failed
    assert "not our invoice" in failed["error"]["message"]
    late = api.post(f"/v1/reviews/{task['id']}/complete", json={"values": {}})
    assert late.status_code == 409, late.text


def test_given_a_task_claimed_by_one_reviewer_when_another_lists_the_queue_then_it_is_hidden(
        local_mode: LocalMode) -> None:
    from docflow.usecases.keys import issue_key

    api = local_mode.api
    _, task = _paused(api, _start(api, review_workflow())["id"])
    second = Api(local_mode.url, issue_key(local_mode.server.runtime.ports.keys, "default", "second reviewer").secret)
    assert api.post(f"/v1/reviews/{task['id']}/claim").status_code == 200
    assert task["id"] not in [t["id"] for t in second.get("/v1/reviews").json()["items"]]
    taken = second.post(f"/v1/reviews/{task['id']}/complete", json={"values": {}})
    assert taken.status_code == 409 and "claimed by 'env'" in taken.json()["error"]["message"], taken.text
    assert api.post(f"/v1/reviews/{task['id']}/release").status_code == 200
    assert task["id"] in [t["id"] for t in second.get("/v1/reviews").json()["items"]]


def test_given_a_claimed_task_when_the_queue_is_paged_then_every_other_task_shows_once(
        local_mode: LocalMode) -> None:
    from docflow.usecases.keys import issue_key

    api = local_mode.api
    tasks = [_paused(api, _start(api, review_workflow(), number=f"P-{n}")["id"])[1]["id"] for n in range(4)]
    other = Api(local_mode.url, issue_key(local_mode.server.runtime.ports.keys, "default", "other").secret)
    assert other.post(f"/v1/reviews/{tasks[0]}/claim").status_code == 200
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = api.get("/v1/reviews", params=params).json()
        seen.extend(t["id"] for t in page["items"])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == tasks[1:]  # the claimed one hidden, none skipped, oldest first


def test_given_a_confidence_threshold_when_every_field_is_above_it_then_the_run_passes_without_a_person(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    finished = api.wait(_start(api, review_workflow(confidence_threshold=0.5))["id"])
    assert finished["status"] == "completed", finished
    assert "review" not in [h["status"] for h in finished["status_history"]]
    entry = finished["execution_log"][-1]
    assert entry["type"] == "review" and entry["summary"]["outcome"] == "auto_approved"
    assert "no person needed" in entry["summary"]["message"]
    assert finished["output"]["review"]["outcome"] == "auto_approved"


@pytest.mark.parametrize(("on_timeout", "status"), [("fail", "failed"), ("approve", "completed")])
def test_given_an_unanswered_review_when_it_times_out_then_the_run_fails_or_goes_on_as_configured(
        local_mode: LocalMode, on_timeout: str, status: str) -> None:
    api = local_mode.api
    started = _start(api, review_workflow(timeout_hours=1 / 3600, on_timeout=on_timeout))
    finished = api.wait(started["id"], timeout=30)
    assert finished["status"] == status, finished
    history = [h["status"] for h in finished["status_history"]]
    assert history[:3] == ["queued", "processing", "review"]
    if on_timeout == "fail":
        assert finished["error"]["code"] == "review_timeout"
    else:
        assert finished["output"]["review"]["outcome"] == "timeout_approved"
        assert finished["output"]["values"]["invoice_number"] == "R-100"
    expired = api.get("/v1/reviews", params={"status": "expired"}).json()["items"]
    assert [t["execution_id"] for t in expired] == [started["id"]]


def test_given_a_run_waiting_for_review_when_the_server_is_killed_then_after_restart_it_is_answered_and_completes(
        tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    first, api = serve_api(data_dir)
    try:
        execution, task = _paused(api, _start(api, review_workflow())["id"])
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    second, api = serve_api(data_dir)
    try:
        assert api.get(f"/v1/executions/{execution['id']}").json()["status"] == "review"
        queue = api.get("/v1/reviews").json()["items"]
        assert [t["id"] for t in queue] == [task["id"]]
        done = api.post(f"/v1/reviews/{task['id']}/complete", json={"values": {"invoice_number": "R-101"}})
        assert done.status_code == 200, done.text
        finished = api.wait(execution["id"])
        assert finished["status"] == "completed" and finished["output"]["values"]["invoice_number"] == "R-101"
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
