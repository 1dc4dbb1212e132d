"""A scanned invoice, as a PNG and as an image-only PDF, through local mode over real HTTP: the
parse step OCRs it and the extract step reads the fields from the OCR words."""

from __future__ import annotations

import pytest
import samples
from docflow_testing import LocalMode

from docflow.steps.ocr import default_recogniser

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(default_recogniser() is None, reason="tesseract is not installed: run `make ocr`")]

FIELDS = [{"name": "invoice_number", "labels": ["Invoice Number"], "required": True},
          {"name": "total", "type": "currency", "labels": ["Total Due"]},
          {"name": "date", "type": "date", "labels": ["Invoice Date"]}]


@pytest.mark.parametrize(("content_type", "image_format"), [("image/png", "PNG"), ("application/pdf", "PDF")])
def test_given_a_scanned_invoice_when_run_then_ocr_words_extract_and_usage_counts_ocr_pages(
        local_mode: LocalMode, content_type: str, image_format: str) -> None:
    api = local_mode.api
    workflow = api.post("/v1/workflows", json={"name": "Scans", "definition": {"steps": [
        {"id": "parse", "type": "parse"}, {"id": "extract", "type": "extract", "config": {"fields": FIELDS}}]}})
    assert workflow.status_code == 201, workflow.text
    document_id = api.upload("scan", samples.scan(samples.invoice_pdf(), image_format=image_format), content_type)
    started = api.post(f"/v1/workflows/{workflow.json()['id']}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    done = api.wait(started.json()["id"], timeout=90)
    assert done["status"] == "completed", done
    assert done["output"]["values"] == {"invoice_number": "NW-2025-0311", "total": 1480.0, "date": "2025-03-11"}
    assert done["usage"]["pages"] == 1 and done["usage"]["ocr_pages"] == 1
