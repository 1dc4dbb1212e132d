"""The official Cradl Python SDK (`cradl==0.4.10`, unmodified, in its own venv: `make
cradl-sdk`) drives local mode through /compat/cradl: create_document → execute_workflow → poll →
values → update_workflow_execution(completed), and the SDK's other flow calls."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from docflow_testing import API_KEY, INVOICE_WORKFLOW, ROOT, LocalMode, invoice_pdf, review_workflow

pytestmark = pytest.mark.e2e

SDK_PYTHON = ROOT / ".venv-cradl" / "bin" / "python"
SCRIPT = Path(__file__).with_name("cradl_sdk_script.py")


def cradl_home(tmp_path: Path, url: str, key: str) -> Path:
    """~/.cradl as the README sets it up: Docflow as the api_endpoint, the API key as a cached token."""
    home = tmp_path / "home"
    (home / ".cradl").mkdir(parents=True)
    (home / ".cradl" / "credentials.json").write_text(json.dumps({"default": {
        "client_id": "docflow", "client_secret": "not-used", "auth_endpoint": "auth.invalid",
        "api_endpoint": f"{url}/compat/cradl", "use_cache": True}}))
    (home / ".cradl" / "token-cache.json").write_text(json.dumps({"default": {
        "access_token": key, "expires_in": 4102444800}}))
    return home


def test_given_the_unmodified_cradl_sdk_when_it_runs_a_flow_then_it_gets_values_and_acknowledges(
    local_mode: LocalMode, tmp_path: Path,
) -> None:
    assert SDK_PYTHON.is_file(), "the Cradl SDK's venv is missing: run `make cradl-sdk` (make test does)"
    workflow = local_mode.api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()["id"]
    waiting = local_mode.api.post("/v1/workflows", json=review_workflow()).json()["id"]
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(invoice_pdf())
    home = cradl_home(tmp_path, local_mode.url, API_KEY)
    done = subprocess.run([str(SDK_PYTHON), str(SCRIPT), workflow, waiting, str(pdf)], capture_output=True,
                          text=True, timeout=180, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["sdk_version"] == "0.4.10"
    assert seen["content_roundtrip"] and seen["content_type"] == "application/pdf"
    assert seen["document_id"] in seen["listed_documents"]
    assert workflow in seen["workflows"] and seen["workflow_name"] == INVOICE_WORKFLOW["name"]
    assert seen["started_status"] == "running"
    assert seen["final_status"] == "succeeded"
    assert seen["values"] == {"invoice_number": "INV-2041", "date": "2025-03-07", "total": 1234.5}
    assert seen["has_times"]
    assert seen["listed_succeeded"][0] == seen["listed_completed"][0]
    assert seen["after_update"] == "completed"
    assert seen["after_delete"] == "rejected"
    assert seen["text_content_type"] == "text/plain"
    assert seen["deleted_document_gone"] is True


def test_given_a_compat_document_when_its_bytes_come_twice_then_the_second_put_is_409(
    local_mode: LocalMode,
) -> None:
    document = local_mode.api.post("/compat/cradl/documents", json={"name": "a.pdf"}).json()
    assert document["contentType"] is None
    assert document["fileUrl"] == f"{local_mode.url}/compat/cradl/documents/{document['documentId']}/content"
    first = local_mode.api.request("PUT", document["fileUrl"].removeprefix(local_mode.url), data=invoice_pdf())
    assert first.status_code == 200, first.text
    assert first.json()["contentType"] == "application/pdf" and first.json()["status"] == "uploaded"
    second = local_mode.api.request("PUT", document["fileUrl"].removeprefix(local_mode.url), data=b"%PDF-other")
    assert second.status_code == 409 and second.json()["error"]["code"] == "conflict"


def test_given_bytes_docflow_does_not_process_when_put_then_415_names_what_they_are(local_mode: LocalMode) -> None:
    document = local_mode.api.post("/compat/cradl/documents", json={}).json()
    answer = local_mode.api.request("PUT", f"/compat/cradl/documents/{document['documentId']}/content",
                                    data=b"PK\x03\x04 a zip file \x00\x01")
    assert answer.status_code == 415, answer.text
    assert "application/octet-stream" in answer.json()["error"]["message"]


def test_given_an_unknown_cradl_status_when_listing_then_422_lists_the_known_ones(local_mode: LocalMode) -> None:
    workflow = local_mode.api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()["id"]
    answer = local_mode.api.get(f"/compat/cradl/workflows/{workflow}/executions", params={"status": "done"})
    assert answer.status_code == 422 and "succeeded" in answer.json()["error"]["message"]


def test_given_an_idempotency_key_when_a_cradl_start_is_retried_then_one_run_is_made(local_mode: LocalMode) -> None:
    workflow = local_mode.api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()["id"]
    document_id = local_mode.api.upload("invoice.pdf", invoice_pdf())
    body = {"input": {"documentId": document_id}}
    first, again = (local_mode.api.post(f"/compat/cradl/workflows/{workflow}/executions", json=body,
                                        headers={"Idempotency-Key": "retry-1"}) for _ in range(2))
    assert first.status_code == again.status_code == 200
    assert first.json()["executionId"] == again.json()["executionId"]
    runs = local_mode.api.get(f"/v1/workflows/{workflow}/executions").json()["items"]
    assert [r["id"] for r in runs] == [first.json()["executionId"]]


def test_given_the_openapi_document_when_read_then_the_content_route_takes_raw_bytes(local_mode: LocalMode) -> None:
    spec = local_mode.api.get("/v1/openapi.json").json()
    put = spec["paths"]["/compat/cradl/documents/{document_id}/content"]["put"]
    assert put["requestBody"]["content"]["application/octet-stream"]["schema"]["format"] == "binary"
    assert put["security"] and {"404", "409", "413", "415"} <= set(put["responses"])
