"""Workflow templates over real HTTP in local mode: the catalog, and each template run as it is
on a realistic sample document (the invoice one also on the shared corpus)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import samples
from docflow_testing import API_KEY, CORPUS, Api, LocalMode, run_template
from receiver import Receiver

from docflow.adapters.http_out import OutboundSettings
from docflow.domain.ssrf import Allowlist
from docflow.runtime.local.server import RunningServer
from docflow.runtime.settings import LocalSettings

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = LocalSettings(data_dir=tmp_path / "data", host="127.0.0.1", port=0, workers=2, api_key=API_KEY,
                             outbound=OutboundSettings(allow=Allowlist.parse("127.0.0.1/32")))
    server = RunningServer(settings).start()
    try:
        yield Api(server.url, API_KEY)
    finally:
        server.stop()


def test_given_the_catalog_when_listed_then_each_category_has_its_template(local_mode: LocalMode) -> None:
    api = local_mode.api
    listed = api.get("/v1/workflows/templates").json()
    assert [t["id"] for t in listed["items"]] == ["invoice", "contract", "resume", "general"]
    assert listed["templates"] == listed["items"] and listed["next_cursor"] is None
    assert [t["id"] for t in api.get("/v1/workflows/templates", params={"category": "resume"}).json()["items"]] == [
        "resume"]
    refused = api.get("/v1/workflows/templates", params={"category": "poetry"})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["loc"][:2] == ["query", "category"]
    missing = api.post("/v1/workflows/templates", json={"template_id": "nope", "name": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert api.get("/v1/workflows/wf_missing").status_code == 404  # a workflow id is still a workflow id


@pytest.mark.parametrize(("template_id", "pdf", "expected"), [
    ("contract", samples.contract_pdf, {
        "parties": "Contoso Ltd and Fabrikam Consulting LLC", "effective_date": "2025-01-15", "term": "24 months",
        "governing_law": "the laws of the State of New York",
        "renewal": "automatically renews for successive 12-month periods"}),
    ("resume", samples.resume_pdf, {
        "name": "Maria Kowalska", "email": "maria.kowalska@example.com", "phone": "+48 601 234 567",
        "skills": ["Python", "SQL", "AWS", "Data Engineering"], "years_of_experience": 7}),
    ("general", samples.letter_pdf, {
        "name": "John Smith", "date": "2025-06-02", "reference": "WS-88231", "amount": 86.4,
        "address": "42 Elm Street, Springfield"}),
])
def test_given_a_template_when_run_on_its_sample_then_it_extracts_the_fields(
        api: Api, template_id: str, pdf: Any, expected: dict[str, Any]) -> None:
    assert run_template(api, template_id, pdf())["output"]["values"] == expected


def test_given_the_invoice_template_when_run_on_an_invoice_then_it_flags_and_posts_to_the_webhook(api: Api) -> None:
    with Receiver() as receiver:
        run = run_template(api, "invoice", samples.invoice_pdf(), receiver.url("/erp"))
        [call] = receiver.requests
    values = run["output"]["values"]
    assert (values["invoice_number"], values["total"], values["currency"]) == ("NW-2025-0311", 1480.0, "EUR")
    assert values["total_with_currency"] == "1480.0 EUR" and values["status_note"] == "needs approval"
    assert [e["step_id"] for e in run["execution_log"]] == ["parse", "extract", "amounts", "approval", "flag",
                                                            "notify"]
    message = json.loads(call.body)
    assert message["text"].startswith("Invoice NW-2025-0311 from ") and message["text"].endswith(
        "1480.0 EUR (needs approval)")
    assert message["blocks"][0]["text"] == {"type": "mrkdwn", "text": message["text"]}  # Slack-format too


def test_given_the_invoice_template_when_run_on_the_corpus_invoice_then_it_reads_number_and_total(api: Api) -> None:
    pdf = CORPUS / "AmazonWebServices.pdf"
    if not pdf.exists():
        pytest.skip("shared corpus not present")
    with Receiver() as receiver:
        run = run_template(api, "invoice", pdf.read_bytes(), receiver.url("/erp"))
    values = run["output"]["values"]
    assert (values["invoice_number"], values["total"]) == ("42183017", 4.11)
    assert "flag" not in [e["step_id"] for e in run["execution_log"]]  # 4.11 needs no approval
