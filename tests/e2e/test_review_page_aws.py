"""The review page on AWS: the page and the reviews API served by the API function under moto
(behind a loopback HTTP front that makes API Gateway's events), the run waiting in the real
ASL's `.waitForTaskToken` Task; a person corrects a value in a real browser and approves, and
the state machine finishes the run with it."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from browsing import no_horizontal_scroll, open_page, signed_in
from docflow_testing import API_KEY, AwsStack, StackApi, invoice_pdf, review_workflow, serve_stack

from docflow.runtime import aws
from docflow.usecases.keys import ensure_key

pytestmark = pytest.mark.e2e


def _paused(api: StackApi) -> str:
    workflow = api.post("/v1/workflows", json=review_workflow(confidence_threshold=0.99)).json()
    document_id = api.upload("invoice.pdf", invoice_pdf(invoice_number="AWS-2041"))
    execution_id = str(api.post(f"/v1/workflows/{workflow['id']}/executions",
                                json={"document_id": document_id}).json()["id"])
    deadline = time.monotonic() + 20
    while api.get(f"/v1/executions/{execution_id}").json()["status"] != "review":
        assert time.monotonic() < deadline, "the run never reached review"
        time.sleep(0.02)
    return execution_id


def test_given_a_run_waiting_in_the_state_machine_when_a_person_approves_in_the_browser_then_it_completes(
        aws_stack: AwsStack, page: Any, artifacts: Path) -> None:
    from playwright.sync_api import expect

    ensure_key(aws.ports().keys, API_KEY)
    api = StackApi(aws_stack, API_KEY)
    execution_id = _paused(api)
    with serve_stack(aws_stack) as url:
        seen = open_page(page, url)
        signed_in(page, API_KEY)
        page.locator("#queue-rows tr").first.get_by_role("button", name="Open").click()
        expect(page.locator("#pages img")).to_have_attribute("src", re.compile(r"^blob:"))
        total = page.get_by_label("total", exact=True)
        total.fill("1300")
        assert no_horizontal_scroll(page)
        page.screenshot(path=str(artifacts / "review-aws.png"))
        total.press("Control+Enter")
        expect(page.locator("#notice")).to_contain_text("Approved")

    described = aws_stack.wait_sfn(execution_id)
    assert described["status"] == "SUCCEEDED", described
    assert any(e["type"] == "TaskSucceeded" and "waitForTaskToken" in e["taskSucceededEventDetails"]["resource"]
               for e in aws_stack.history(execution_id))
    run = api.get(f"/v1/executions/{execution_id}").json()
    assert run["status"] == "completed", run
    assert run["output"]["values"] == {"invoice_number": "AWS-2041", "date": "2025-03-07", "total": 1300}
    assert run["output"]["review"]["changed_fields"] == ["total"]
    assert seen["errors"] == [] and seen["dialogs"] == []
