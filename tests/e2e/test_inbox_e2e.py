"""The local drop folder end to end: `docflow serve`'s own watcher thread, a PDF copied into
<data-dir>/inbox/<workflow_id>/ the way the README says (written, then renamed), a finished run."""

from __future__ import annotations

import time
from typing import Any

import pytest
from docflow_testing import INVOICE_WORKFLOW, LocalMode, invoice_pdf

pytestmark = pytest.mark.e2e


def wait_for_run(local_mode: LocalMode, workflow_id: str, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        items = local_mode.api.get(f"/v1/workflows/{workflow_id}/executions").json()["items"]
        if items and items[0]["status"] in ("completed", "failed"):
            return dict(items[0])
        assert time.monotonic() < deadline, f"no finished run from the inbox after {timeout} s: {items}"
        time.sleep(0.05)


def test_given_a_pdf_copied_into_the_inbox_when_serving_then_a_completed_s3_run_and_the_file_is_processed(
        local_mode: LocalMode) -> None:
    created = local_mode.api.post("/v1/workflows", json=INVOICE_WORKFLOW)
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    folder = local_mode.data_dir / "inbox" / workflow_id
    folder.mkdir(parents=True)
    pdf = invoice_pdf()
    partial = folder / "invoice.pdf.part"
    partial.write_bytes(pdf)
    partial.rename(folder / "invoice.pdf")

    run = wait_for_run(local_mode, workflow_id)

    assert run["status"] == "completed", run
    assert run["trigger_method"] == "s3" and run["name"] == "invoice.pdf"
    assert run["output"]["values"]["invoice_number"] == "INV-2041"
    processed = local_mode.data_dir / "processed" / workflow_id / "invoice.pdf"
    deadline = time.monotonic() + 10
    while not processed.exists():  # the move follows the start
        assert time.monotonic() < deadline, "the file never reached processed/"
        time.sleep(0.05)
    assert processed.read_bytes() == pdf
    assert list(folder.iterdir()) == []
    document = local_mode.api.get(f"/v1/documents/{run['documents'][0]}").json()
    assert document["content_type"] == "application/pdf" and document["name"] == "invoice.pdf"
