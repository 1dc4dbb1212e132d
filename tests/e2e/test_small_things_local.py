"""What users notice first (issue 14, item 4), over real HTTP against local mode."""

from __future__ import annotations

import logging
import sqlite3
from datetime import timedelta

import pytest
import requests
from docflow_testing import API_KEY, LocalMode

pytestmark = pytest.mark.e2e


def test_given_the_root_when_opened_then_it_redirects_to_the_docs(local_mode: LocalMode) -> None:
    answer = requests.get(f"{local_mode.url}/", allow_redirects=False, timeout=10)
    assert answer.status_code == 302 and answer.headers["Location"] == "/v1/docs"
    assert requests.get(f"{local_mode.url}/", timeout=10).url.endswith("/v1/docs")


def test_given_a_known_path_when_called_with_a_wrong_method_then_405_lists_the_allowed_ones(
    local_mode: LocalMode,
) -> None:
    answer = local_mode.api.request("PATCH", "/v1/workflows")
    assert answer.status_code == 405, answer.text
    assert answer.headers["Allow"] == "GET, POST"
    assert answer.json()["error"]["code"] == "method_not_allowed"
    assert local_mode.api.request("PATCH", "/v1/no-such-thing").status_code == 404


def test_given_health_when_the_storage_answers_then_ok_and_when_it_does_not_then_503(
    local_mode: LocalMode, monkeypatch: pytest.MonkeyPatch,
) -> None:
    healthy = requests.get(f"{local_mode.url}/v1/health", timeout=10)
    assert healthy.status_code == 200 and healthy.json()["storage"] == "ok" and healthy.json()["version"]

    def broken(workflow_id: str) -> str | None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(local_mode.server.runtime.ports.workflows, "find_workspace", broken)
    sick = requests.get(f"{local_mode.url}/v1/health", timeout=10)
    assert sick.status_code == 503 and sick.json()["error"]["code"] == "storage_unreachable"


def test_given_requests_when_served_then_each_has_one_access_log_line_without_the_key(
    local_mode: LocalMode, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="docflow.access"):
        local_mode.api.get("/v1/workflows", params={"limit": 5})
        requests.get(f"{local_mode.url}/v1/health", timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "docflow.access"]
    assert any(line.startswith("GET /v1/workflows 200 ") and line.endswith(" ms") for line in lines), lines
    assert any(line.startswith("GET /v1/health 200 ") for line in lines), lines
    assert not any(API_KEY in line or "limit=5" in line for line in lines)


def test_given_a_document_with_a_non_ascii_name_when_downloaded_then_the_name_survives(local_mode: LocalMode) -> None:
    document_id = local_mode.api.upload("文件.txt", "总计 12.00".encode(), "text/plain")
    url = local_mode.api.get(f"/v1/documents/{document_id}").json()["download_url"]
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200 and answer.content == "总计 12.00".encode()
    assert answer.headers["Content-Disposition"] == (
        "attachment; filename=\"__.txt\"; filename*=UTF-8''%E6%96%87%E4%BB%B6.txt")


def test_given_a_key_when_used_then_last_used_at_is_written_at_most_once_a_minute(local_mode: LocalMode) -> None:
    from docflow.usecases.keys import authenticate

    def stamps() -> set[str]:
        return {k["last_used_at"] for k in local_mode.api.get("/v1/api-keys").json()["items"] if k["last_used_at"]}

    local_mode.api.get("/v1/workflows")
    first = stamps()
    assert len(first) == 1  # the key in use, and only it
    local_mode.api.get("/v1/workflows")  # within the minute: not stamped again
    assert stamps() == first
    keys = local_mode.server.runtime.ports.keys
    read = authenticate(keys, f"Bearer {API_KEY}")
    assert read.last_used_at is not None
    authenticate(keys, f"Bearer {API_KEY}", now=read.last_used_at + timedelta(minutes=2))
    assert stamps() != first  # two minutes on, the next use stamps it again


def test_given_a_run_when_read_with_wait_then_the_answer_is_its_end_not_its_start(local_mode: LocalMode) -> None:
    from docflow_testing import INVOICE_WORKFLOW, invoice_pdf, review_workflow

    workflow_id = local_mode.api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()["id"]
    document_id = local_mode.api.upload("invoice.pdf", invoice_pdf())
    started = local_mode.api.post(f"/v1/workflows/{workflow_id}/executions", json={"document_id": document_id}).json()
    assert started["status"] == "queued"
    done = local_mode.api.get(f"/v1/executions/{started['id']}", params={"wait": 20}).json()
    assert done["status"] == "completed" and done["output"]["values"]["invoice_number"] == "INV-2041"
    review_id = local_mode.api.post("/v1/workflows", json=review_workflow()).json()["id"]
    parked = local_mode.api.post(f"/v1/workflows/{review_id}/executions", json={"document_id": document_id}).json()
    waiting = local_mode.api.get(f"/v1/workflows/{review_id}/executions/{parked['id']}", params={"wait": 20}).json()
    assert waiting["status"] == "review"  # left processing: answered without waiting the 20 s out
    too_long = local_mode.api.get(f"/v1/executions/{parked['id']}", params={"wait": 21})
    assert too_long.status_code == 422 and too_long.json()["error"]["details"][0]["loc"] == ["query", "wait"]
