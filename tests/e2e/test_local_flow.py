"""Local mode end to end over real HTTP: the walkthrough of the README, and restarts."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from docflow_testing import (
    API_KEY,
    CORPUS,
    DOCFLOW,
    INVOICE_WORKFLOW,
    Api,
    LocalMode,
    invoice_pdf,
    serve_api,
    serve_subprocess,
    start_local,
)

pytestmark = pytest.mark.e2e


def test_upload_run_poll_acknowledge(local_mode: LocalMode) -> None:
    api = local_mode.api
    key = api.post("/v1/api-keys", json={"name": "ci"})
    assert key.status_code == 201 and key.json()["key"].startswith("dfk_")
    api = Api(local_mode.url, key.json()["key"])  # the new key works from now on

    workflow = api.post("/v1/workflows", json=INVOICE_WORKFLOW)
    assert workflow.status_code == 201, workflow.text
    workflow_id = workflow.json()["id"]

    pdf = invoice_pdf()
    handle = api.post("/v1/documents", json={"name": "invoice.pdf", "content_type": "application/pdf",
                                             "size": len(pdf)})
    assert handle.status_code == 201
    assert handle.json()["upload_method"] == "PUT" and handle.json()["file_url"].startswith(local_mode.url)
    put = requests.put(handle.json()["file_url"], data=pdf, headers={"Content-Type": "application/pdf"}, timeout=10)
    assert put.status_code == 200, put.text
    document = api.get(f"/v1/documents/{handle.json()['id']}").json()
    assert document["status"] == "uploaded" and document["size"] == len(pdf)

    started = api.post(f"/v1/workflows/{workflow_id}/executions",
                       json={"document_id": handle.json()["id"], "title": "March invoice"})
    assert started.status_code == 202, started.text
    execution = api.wait(started.json()["id"])
    assert execution["status"] == "completed", execution
    assert execution["name"] == "March invoice"
    assert execution["output"]["values"] == {"invoice_number": "INV-2041", "date": "2025-03-07", "total": 1234.5}
    assert all(0 < c <= 1 for c in execution["output"]["confidence"].values())
    assert [e["step_id"] for e in execution["execution_log"]] == ["parse", "extract"]
    assert all(e["duration_ms"] >= 0 for e in execution["execution_log"])
    assert [s["status"] for s in execution["status_history"]] == ["queued", "processing", "completed"]

    patched = api.request("PATCH", f"/v1/workflows/{workflow_id}/executions/{execution['id']}",
                          json={"status": "completed"})
    assert patched.status_code == 200
    assert patched.json()["acknowledged"] is True and patched.json()["status"] == "completed"
    listed = api.get(f"/v1/workflows/{workflow_id}/executions", params={"status": "completed"}).json()
    assert [e["id"] for e in listed["items"]] == [execution["id"]] == [e["id"] for e in listed["executions"]]

    published = [e.detail_type for e in local_mode.server.runtime.events.recent]
    for detail_type in ("document.uploaded", "extraction.completed", "execution.completed", "document.processed"):
        assert detail_type in published


def test_real_corpus_invoice(local_mode: LocalMode) -> None:
    pdf_path = CORPUS / "AmazonWebServices.pdf"
    if not pdf_path.exists():
        pytest.skip("shared corpus not present")
    api = local_mode.api
    workflow = api.post("/v1/workflows", json={"name": "aws", "definition": {"steps": [
        {"id": "parse", "type": "parse"},
        {"id": "extract", "type": "extract", "config": {"fields": [
            {"name": "invoice_number", "labels": ["Invoice Number"]},
            {"name": "date", "type": "date", "labels": ["Invoice Date"]},
            {"name": "amount", "type": "currency", "labels": ["Total for this invoice"]}]}}]}}).json()
    document_id = api.upload("aws.pdf", pdf_path.read_bytes())
    started = api.post(f"/v1/workflows/{workflow['id']}/executions", json={"document_id": document_id}).json()
    execution = api.wait(started["id"])
    assert execution["output"]["values"] == {"invoice_number": "42183017", "date": "2014-08-03", "amount": 4.11}


def test_broken_document_fails_the_run_with_a_named_error(local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow = api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()
    document_id = api.upload("fake.pdf", b"this is plain text, not a PDF")
    started = api.post(f"/v1/workflows/{workflow['id']}/executions", json={"document_id": document_id}).json()
    execution = api.wait(started["id"])
    assert execution["status"] == "failed"
    assert execution["error"]["code"] == "document_type_mismatch"
    assert execution["execution_log"][0]["status"] == "failed"


def test_an_interrupted_run_resumes_after_restart(tmp_path: Path) -> None:
    """Runs accepted before a stop are finished by the next start (nothing is lost on restart)."""
    data_dir = tmp_path / "data"
    server = start_local(data_dir)
    api = Api(server.url, API_KEY)
    workflow = api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()
    document_id = api.upload("invoice.pdf", invoice_pdf())
    server.runtime.engine.shutdown()  # the engine is gone: the next start is accepted but not run
    started = api.post(f"/v1/workflows/{workflow['id']}/executions", json={"document_id": document_id}).json()
    assert api.get(f"/v1/executions/{started['id']}").json()["status"] == "queued"
    # The workflow is edited before the run gets to go: the accepted run keeps the steps it started with.
    edited = api.request("PUT", f"/v1/workflows/{workflow['id']}",
                         json={**INVOICE_WORKFLOW, "definition": {"steps": [{"id": "only", "type": "parse"}]}})
    assert edited.status_code == 200 and edited.json()["version"] == 2
    server.stop()

    restarted = start_local(data_dir)
    try:
        execution = Api(restarted.url, API_KEY).wait(started["id"])
        assert execution["status"] == "completed"
        assert execution["output"]["values"]["invoice_number"] == "INV-2041"
        assert [e["step_id"] for e in execution["execution_log"]] == ["parse", "extract"]
        assert execution["workflow_version"] == 1
        assert restarted.resumed == 1
    finally:
        restarted.stop()


def test_cli_serve_keys_and_run_with_wait(tmp_path: Path) -> None:
    """The console script as a user runs it: `docflow serve`, `docflow keys create`, `docflow run --wait`."""
    docflow = str(DOCFLOW)
    data_dir = tmp_path / "data"
    created = subprocess.run([docflow, "keys", "create", "--name", "me", "--workspace", "team", "--data-dir",
                              str(data_dir)], capture_output=True, text=True, timeout=60, check=True)
    key = created.stdout.strip()
    assert key.startswith("dfk_") and "not shown again" in created.stderr
    serve, url = serve_subprocess(data_dir)
    try:
        api = Api(url, key)  # the key made by `keys create` before the server started
        workflow = api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()
        pdf = tmp_path / "invoice.pdf"
        pdf.write_bytes(invoice_pdf(invoice_number="CLI-7"))
        run = subprocess.run([docflow, "run", workflow["id"], str(pdf), "--wait", "--url", url],
                             env={**os.environ, "DOCFLOW_API_KEY": key}, capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert '"invoice_number": "CLI-7"' in run.stdout
        assert "completed" in run.stderr
        # DOCFLOW_API_KEY given to `serve` was registered in workspace "default".
        assert Api(url, API_KEY).get("/v1/workflows").json()["items"] == []
        bad = subprocess.run([docflow, "run", workflow["id"], str(tmp_path / "missing.pdf")],
                             env={**os.environ, "DOCFLOW_API_KEY": key}, capture_output=True, text=True, timeout=60)
        assert bad.returncode == 2 and "no such file" in bad.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)


def test_kill_9_then_restart_finishes_every_accepted_run(tmp_path: Path) -> None:
    """A hard stop of `docflow serve` loses nothing: every run it accepted is finished by the next start."""
    data_dir = tmp_path / "data"

    first, api = serve_api(data_dir)
    try:
        workflow = api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()
        started = []
        for number in range(6):
            document_id = api.upload(f"{number}.pdf", invoice_pdf(invoice_number=f"K-{number}"))
            started.append(api.post(f"/v1/workflows/{workflow['id']}/executions",
                                    json={"document_id": document_id}).json()["id"])
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    second, api = serve_api(data_dir)
    try:
        finished = [api.wait(execution_id) for execution_id in started]
        assert [e["status"] for e in finished] == ["completed"] * 6
        assert [e["output"]["values"]["invoice_number"] for e in finished] == [f"K-{n}" for n in range(6)]
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
