"""The `textract` engine against botocore's Stubber: requests checked against what Textract's API
takes (the Stubber validates every request and response against the service model, and the
expected parameters below), responses in the shapes of the Textract documentation (AnalyzeExpense
ExpenseDocuments; AnalyzeDocument QUERY / QUERY_RESULT blocks; the Get* job API with NextToken)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from docflow_testing import API_KEY, Api, invoice_pdf

from docflow.adapters.aws.textract import TextractEngine, query_text
from docflow.domain.documents import ParsedDocument, ParsedPage
from docflow.domain.errors import DeliveryTransient, StepFailed
from docflow.domain.extraction import EngineRequest, FieldSpec, preset_fields
from docflow.domain.limits import Limits
from docflow.runtime.extraction import engines_from_env
from docflow.runtime.local.server import RunningServer
from docflow.runtime.settings import LocalSettings

PAGE = (612.0, 792.0)


def _client() -> Any:
    return boto3.session.Session().client("textract", region_name="us-east-1", aws_access_key_id="testing",
                                          aws_secret_access_key="testing")


def _parsed(pages: int, content_type: str = "application/pdf") -> ParsedDocument:
    return ParsedDocument(content_type=content_type, page_count=pages, text="", pages=[
        ParsedPage(number=n, width=PAGE[0], height=PAGE[1], text="") for n in range(1, pages + 1)])


def _request(fields: list[FieldSpec], preset: str | None = None, pages: int = 1, data: bytes = b"%PDF-1.7 page",
             storage_key: str | None = None) -> EngineRequest:
    return EngineRequest(fields=fields, preset=preset, data=data, content_type="application/pdf",
                         storage_key=storage_key, parsed=_parsed(pages))


def _geometry(left: float, top: float, width: float = 0.1, height: float = 0.02) -> dict[str, Any]:
    return {"BoundingBox": {"Width": width, "Height": height, "Left": left, "Top": top},
            "Polygon": [{"X": left, "Y": top}, {"X": left + width, "Y": top}, {"X": left + width, "Y": top + height},
                        {"X": left, "Y": top + height}]}


def _summary(type_: str, text: str, confidence: float = 99.0, type_confidence: float = 98.0, page: int = 1,
             label: str | None = None, currency: str | None = None, top: float = 0.1) -> dict[str, Any]:
    field: dict[str, Any] = {"Type": {"Text": type_, "Confidence": type_confidence},
                             "ValueDetection": {"Text": text, "Geometry": _geometry(0.6, top),
                                                "Confidence": confidence},
                             "PageNumber": page}
    if label:
        field["LabelDetection"] = {"Text": label, "Geometry": _geometry(0.4, top), "Confidence": 97.0}
    if currency:
        field["Currency"] = {"Code": currency, "Confidence": 90.0}
    return field


def _row(description: str, quantity: str, unit_price: str, amount: str, page: int = 1) -> dict[str, Any]:
    cells = [("ITEM", description), ("QUANTITY", quantity), ("UNIT_PRICE", unit_price), ("PRICE", amount),
             ("EXPENSE_ROW", f"{description} {quantity} {unit_price} {amount}")]
    return {"LineItemExpenseFields": [
        {"Type": {"Text": t, "Confidence": 99.0}, "ValueDetection": {"Text": v, "Confidence": 95.0},
         "PageNumber": page} for t, v in cells]}


def _expense_response(summary: list[dict[str, Any]], rows: list[dict[str, Any]] | None = None,
                      pages: int = 1) -> dict[str, Any]:
    return {"DocumentMetadata": {"Pages": pages}, "ExpenseDocuments": [{
        "ExpenseIndex": 1, "SummaryFields": summary,
        "LineItemGroups": [{"LineItemGroupIndex": 1, "LineItems": rows or []}]}]}


INVOICE_SUMMARY = [
    _summary("INVOICE_RECEIPT_ID", "INV-2041", 97.5, 99.1, label="Invoice No."),
    _summary("INVOICE_RECEIPT_DATE", "March 7, 2025", label="Date"),
    _summary("DUE_DATE", "06.04.2025", label="Due"),
    _summary("SUBTOTAL", "1.037,39", currency="EUR"),
    _summary("TAX", "197,11 €", currency="EUR"),
    _summary("AMOUNT_DUE", "0,00", 99.9, 99.9),  # a paid invoice: the balance due is not the total
    _summary("TOTAL", "1.234,50 €", 96.0, 95.0, label="Total", currency="EUR", top=0.8),
    _summary("VENDOR_NAME", "Acme  Tools GmbH", 92.0, 90.0),
    _summary("RECEIVER_NAME", "Globex Corp", 88.0, 90.0),
]


def test_given_an_invoice_preset_when_textract_answers_then_every_summary_field_maps_to_the_preset() -> None:
    client = _client()
    stubber = Stubber(client)
    stubber.add_response("analyze_expense", _expense_response(INVOICE_SUMMARY, [
        _row("Hammer", "2", "10,00", "20,00"), _row("Nails (box)", "1", "1.017,39", "1.017,39")]),
        expected_params={"Document": {"Bytes": b"%PDF-1.7 page"}})
    with stubber:
        answer = TextractEngine(lambda: client).extract(_request(preset_fields("invoice"), preset="invoice"))
    stubber.assert_no_pending_responses()
    values, confidence = answer.extraction.values, answer.extraction.confidence
    assert values["invoice_number"] == "INV-2041"
    assert values["date"] == "2025-03-07" and values["due_date"] == "2025-04-06"
    assert (values["total"], values["subtotal"], values["tax"]) == (1234.5, 1037.39, 197.11)
    assert values["currency"] == "EUR"
    assert values["issuer"] == "Acme Tools GmbH" and values["buyer"] == "Globex Corp"
    assert values["line_items"] == [
        {"description": "Hammer", "quantity": 2.0, "unit_price": 10.0, "amount": 20.0},
        {"description": "Nails (box)", "quantity": 1.0, "unit_price": 1017.39, "amount": 1017.39}]
    assert confidence["invoice_number"] == pytest.approx(0.975 * 0.991, abs=1e-4)  # value × label
    assert confidence["total"] == pytest.approx(0.96 * 0.95, abs=1e-4)
    total = answer.extraction.fields["total"]
    assert total.page == 1 and total.source_text == "1.234,50 €"
    assert total.bbox == pytest.approx([0.6 * PAGE[0], 0.8 * PAGE[1], 0.7 * PAGE[0], 0.82 * PAGE[1]], abs=0.01)
    assert answer.usage == {"textract_pages": {"AnalyzeExpense": 1}}


def test_given_a_receipt_without_a_total_when_mapped_then_the_amount_due_is_the_total_and_missing_are_null() -> None:
    client = _client()
    stubber = Stubber(client)
    stubber.add_response("analyze_expense", _expense_response([_summary("AMOUNT_DUE", "$42.10", currency="USD")]))
    fields = [*preset_fields("invoice"), FieldSpec(name="invoice_number", required=True)]
    with stubber:
        answer = TextractEngine(lambda: client).extract(_request(fields[1:], preset="invoice"))
    assert answer.extraction.values["total"] == 42.1 and answer.extraction.values["currency"] == "USD"
    assert answer.extraction.values["invoice_number"] is None and answer.extraction.confidence["invoice_number"] == 0
    assert answer.extraction.missing_required == ["invoice_number"]


def _query_blocks(answers: dict[str, tuple[str, float]], page: int = 1) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"BlockType": "PAGE", "Id": f"page-{page}", "Page": page,
                                     "Geometry": _geometry(0, 0, 1, 1)}]
    for alias, (text, confidence) in answers.items():
        blocks.append({"BlockType": "QUERY", "Id": f"q-{alias}-{page}", "Page": page,
                       "Relationships": [{"Type": "ANSWER", "Ids": [f"a-{alias}-{page}"]}],
                       "Query": {"Text": f"question {alias}", "Alias": alias}})
        blocks.append({"BlockType": "QUERY_RESULT", "Id": f"a-{alias}-{page}", "Text": text, "Page": page,
                       "Confidence": confidence, "Geometry": _geometry(0.2, 0.3)})
    return blocks


CUSTOM = [FieldSpec(name="po_number", description="The purchase order number the buyer gave."),
          FieldSpec(name="delivery_date", type="date"),
          FieldSpec(name="weight_kg", type="number", description="Gross weight in kg?")]


def test_given_custom_fields_when_textract_is_asked_then_each_is_a_query_with_its_alias() -> None:
    client = _client()
    stubber = Stubber(client)
    stubber.add_response("analyze_document", {
        "DocumentMetadata": {"Pages": 1},
        "Blocks": _query_blocks({"po_number": ("PO-7781", 96.0), "delivery_date": ("12/31/2024", 80.0),
                                 "weight_kg": ("1,250.5 kg", 70.0)})},
        expected_params={"Document": {"Bytes": b"%PDF-1.7 page"}, "FeatureTypes": ["QUERIES"], "QueriesConfig": {
            "Queries": [{"Text": "What is the purchase order number the buyer gave?", "Alias": "po_number"},
                        {"Text": "What is the delivery date?", "Alias": "delivery_date"},
                        {"Text": "Gross weight in kg?", "Alias": "weight_kg"}]}})
    with stubber:
        answer = TextractEngine(lambda: client).extract(_request(CUSTOM))
    stubber.assert_no_pending_responses()
    assert answer.extraction.values == {"po_number": "PO-7781", "delivery_date": "2024-12-31", "weight_kg": 1250.5}
    assert answer.extraction.confidence == {"po_number": 0.96, "delivery_date": 0.8, "weight_kg": 0.7}
    assert answer.extraction.fields["po_number"].bbox == pytest.approx([0.2 * 612, 0.3 * 792, 0.3 * 612, 0.32 * 792])
    assert answer.usage == {"textract_pages": {"AnalyzeDocument:Queries": 1}}


def test_given_a_description_in_other_scripts_when_made_a_query_then_it_is_text_textract_accepts() -> None:
    question = query_text(FieldSpec(name="kundennummer", description="Die Kundennummer (Kunden-Nr.) – für Rückfragen"))
    assert question == "Die Kundennummer (Kunden-Nr.) fur Ruckfragen"
    assert query_text(FieldSpec(name="x", description="日本語")) == "What is the x?"


def test_given_the_preset_and_a_custom_field_when_extracted_then_both_apis_are_called_and_billed() -> None:
    client = _client()
    stubber = Stubber(client)
    stubber.add_response("analyze_expense", _expense_response(INVOICE_SUMMARY))
    stubber.add_response("analyze_document", {"DocumentMetadata": {"Pages": 1},
                                              "Blocks": _query_blocks({"po_number": ("PO-1", 90.0)})},
                         expected_params={"Document": ANY, "FeatureTypes": ["QUERIES"], "QueriesConfig": {
                             "Queries": [{"Text": ANY, "Alias": "po_number"}]}})
    with stubber:
        answer = TextractEngine(lambda: client).extract(
            _request([*preset_fields("invoice"), CUSTOM[0]], preset="invoice"))
    assert answer.extraction.values["po_number"] == "PO-1" and answer.extraction.values["total"] == 1234.5
    assert answer.usage == {"textract_pages": {"AnalyzeExpense": 1, "AnalyzeDocument:Queries": 1}}


class _Clock:
    def __init__(self) -> None:
        self.now, self.sleeps = 0.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_given_a_multi_page_pdf_in_s3_when_extracted_then_the_job_api_is_polled_and_paged() -> None:
    client, clock = _client(), _Clock()
    stubber = Stubber(client)
    location = {"S3Object": {"Bucket": "docs-bucket", "Name": "documents/ws/doc_1/invoice.pdf"}}
    stubber.add_response("start_expense_analysis", {"JobId": "job-1"},
                         expected_params={"DocumentLocation": location, "ClientRequestToken": ANY})
    stubber.add_response("get_expense_analysis", {"JobStatus": "IN_PROGRESS"}, expected_params={"JobId": "job-1"})
    first = _expense_response([_summary("INVOICE_RECEIPT_ID", "A-77"), _summary("VENDOR_NAME", "Acme")], pages=3)
    stubber.add_response("get_expense_analysis", {**first, "JobStatus": "SUCCEEDED", "NextToken": "page-2"},
                         expected_params={"JobId": "job-1"})
    last = _expense_response([_summary("TOTAL", "$9,999.00", page=3, currency="USD")], pages=3)
    stubber.add_response("get_expense_analysis", {**last, "JobStatus": "SUCCEEDED"},
                         expected_params={"JobId": "job-1", "NextToken": "page-2"})
    engine = TextractEngine(lambda: client, bucket="docs-bucket", sleep=clock.sleep, clock=clock)
    with stubber:
        answer = engine.extract(_request(preset_fields("invoice"), preset="invoice", pages=3,
                                         storage_key="documents/ws/doc_1/invoice.pdf"))
    stubber.assert_no_pending_responses()
    assert answer.extraction.values["invoice_number"] == "A-77" and answer.extraction.values["total"] == 9999.0
    assert answer.extraction.fields["total"].page == 3
    assert answer.usage == {"textract_pages": {"AnalyzeExpense": 3}}
    assert len(clock.sleeps) == 1


def test_given_custom_fields_on_a_multi_page_pdf_in_s3_when_extracted_then_every_page_is_queried() -> None:
    client, clock = _client(), _Clock()
    stubber = Stubber(client)
    stubber.add_response("start_document_analysis", {"JobId": "job-2"}, expected_params={
        "DocumentLocation": {"S3Object": {"Bucket": "docs-bucket", "Name": "k.pdf"}}, "ClientRequestToken": ANY,
        "FeatureTypes": ["QUERIES"], "QueriesConfig": {"Queries": [
            {"Text": "What is the purchase order number the buyer gave?", "Alias": "po_number", "Pages": ["*"]}]}})
    stubber.add_response("get_document_analysis", {
        "JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 2}, "NextToken": "t",
        "Blocks": _query_blocks({"po_number": ("PO-low", 40.0)}, page=1)}, expected_params={"JobId": "job-2"})
    stubber.add_response("get_document_analysis", {
        "JobStatus": "SUCCEEDED", "DocumentMetadata": {"Pages": 2},
        "Blocks": _query_blocks({"po_number": ("PO-high", 91.0)}, page=2)},
        expected_params={"JobId": "job-2", "NextToken": "t"})
    engine = TextractEngine(lambda: client, bucket="docs-bucket", sleep=clock.sleep, clock=clock)
    with stubber:
        answer = engine.extract(_request(CUSTOM[:1], pages=2, storage_key="k.pdf"))
    assert answer.extraction.values == {"po_number": "PO-high"} and answer.extraction.fields["po_number"].page == 2
    assert answer.usage == {"textract_pages": {"AnalyzeDocument:Queries": 2}}


def test_given_a_job_that_outlasts_the_wait_when_retried_then_the_same_job_is_asked_for_again() -> None:
    client, clock = _client(), _Clock()
    stubber = Stubber(client)
    tokens: list[str] = []
    client.meta.events.register("provide-client-params.textract.StartExpenseAnalysis",
                                lambda params, **_: tokens.append(params["ClientRequestToken"]))
    for _ in range(2):
        stubber.add_response("start_expense_analysis", {"JobId": "job-slow"})
        for _ in range(4):
            stubber.add_response("get_expense_analysis", {"JobStatus": "IN_PROGRESS"})
    engine = TextractEngine(lambda: client, bucket="docs-bucket", max_wait_seconds=10, poll_seconds=2,
                            sleep=clock.sleep, clock=clock)
    request = _request(preset_fields("invoice"), preset="invoice", pages=5, storage_key="big.pdf")
    with stubber:
        for _ in range(2):
            with pytest.raises(DeliveryTransient, match="still running"):
                engine.extract(request)
    stubber.assert_no_pending_responses()
    assert sum(clock.sleeps) <= 20 and len(tokens) == 2 and tokens[0] == tokens[1]


def test_given_a_failed_job_when_polled_then_the_step_fails_with_textract_s_message() -> None:
    client = _client()
    stubber = Stubber(client)
    stubber.add_response("start_expense_analysis", {"JobId": "job-3"})
    stubber.add_response("get_expense_analysis", {"JobStatus": "FAILED", "StatusMessage": "Unsupported file"})
    with stubber, pytest.raises(StepFailed) as failed:
        TextractEngine(lambda: client, bucket="docs-bucket").extract(
            _request(preset_fields("invoice"), preset="invoice", pages=2, storage_key="k"))
    assert failed.value.code == "engine_rejected_document" and "Unsupported file" in failed.value.message


def _two_page_pdf() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    for text in ("Invoice A-1", "Total 10.00"):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text=text)
    buffer = io.BytesIO()
    pdf.output(buffer)
    return buffer.getvalue()


def test_given_a_multi_page_pdf_not_in_s3_when_extracted_then_each_page_goes_alone_to_the_sync_api() -> None:
    import pypdfium2

    client = _client()
    stubber = Stubber(client)
    sent: list[int] = []

    def count_pages(params: dict[str, Any], **_: Any) -> None:
        document = pypdfium2.PdfDocument(params["Document"]["Bytes"])
        sent.append(len(document))
        document.close()

    client.meta.events.register("provide-client-params.textract.AnalyzeExpense", count_pages)
    stubber.add_response("analyze_expense", _expense_response([_summary("INVOICE_RECEIPT_ID", "A-1")]))
    stubber.add_response("analyze_expense", _expense_response([_summary("TOTAL", "10.00")]))
    with stubber:
        answer = TextractEngine(lambda: client).extract(
            _request(preset_fields("invoice"), preset="invoice", pages=2, data=_two_page_pdf()))
    assert sent == [1, 1]
    assert answer.extraction.values["invoice_number"] == "A-1" and answer.extraction.values["total"] == 10.0
    assert answer.extraction.fields["total"].page == 2
    assert answer.usage == {"textract_pages": {"AnalyzeExpense": 2}}


@pytest.mark.parametrize("code", ["ThrottlingException", "ProvisionedThroughputExceededException",
                                  "LimitExceededException", "InternalServerError"])
def test_given_textract_throttles_when_extracting_then_the_error_is_transient(code: str) -> None:
    client = _client()
    stubber = Stubber(client)
    stubber.add_client_error("analyze_expense", service_error_code=code, service_message="Rate exceeded",
                             http_status_code=400 if code != "InternalServerError" else 500)
    with stubber, pytest.raises(DeliveryTransient) as raised:
        TextractEngine(lambda: client).extract(_request(preset_fields("invoice"), preset="invoice"))
    assert raised.value.code == "delivery_transient" and code in raised.value.message


def test_given_no_permission_when_extracting_then_the_step_fails_naming_the_iam_action() -> None:
    client = _client()
    stubber = Stubber(client)
    stubber.add_client_error("analyze_document", service_error_code="AccessDeniedException", http_status_code=400,
                             service_message="User: arn:aws:iam::1:role/x is not authorized to perform: "
                                             "textract:AnalyzeDocument")
    with stubber, pytest.raises(StepFailed) as failed:
        TextractEngine(lambda: client, region="eu-west-1").extract(_request(CUSTOM))
    assert failed.value.code == "engine_access_denied"
    assert "textract:AnalyzeDocument" in failed.value.message and "eu-west-1" in failed.value.message
    assert failed.value.details[0]["iam_action"] == "textract:AnalyzeDocument"


@pytest.mark.parametrize(("code", "expected"), [("UnsupportedDocumentException", "engine_rejected_document"),
                                                ("BadDocumentException", "engine_rejected_document"),
                                                ("InvalidParameterException", "engine_failed")])
def test_given_textract_refuses_the_request_when_extracting_then_the_step_fails_with_a_clear_code(
        code: str, expected: str) -> None:
    client = _client()
    stubber = Stubber(client)
    stubber.add_client_error("analyze_expense", service_error_code=code,
                             service_message="Request has unsupported document")
    with stubber, pytest.raises(StepFailed) as failed:
        TextractEngine(lambda: client).extract(_request(preset_fields("invoice"), preset="invoice"))
    assert failed.value.code == expected and "unsupported document" in failed.value.message


def test_given_no_aws_credentials_when_the_configured_engine_runs_then_the_step_fails_clearly(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    engines = engines_from_env(env={"AWS_REGION": "us-east-1"})
    for name in ("textract", "bedrock"):
        with pytest.raises(StepFailed) as failed:
            engines[name].extract(_request(preset_fields("invoice"), preset="invoice"))
        assert failed.value.code == "engine_credentials_missing", failed.value
        assert f"{name}:" in failed.value.message


# --- through the local engine --------------------------------------------------------------------

def test_given_textract_throttles_twice_when_a_run_uses_it_then_the_run_is_retried_and_completes(
        tmp_path: Path) -> None:
    settings = LocalSettings(data_dir=tmp_path / "data", host="127.0.0.1", port=0, workers=1, api_key=API_KEY,
                             limits=Limits(network_retry_attempts=3, network_retry_base_ms=20))
    server = RunningServer(settings).start()
    client = _client()
    stubber = Stubber(client)
    for _ in range(2):
        stubber.add_client_error("analyze_expense", service_error_code="ThrottlingException",
                                 service_message="slow down")
    stubber.add_response("analyze_expense", _expense_response(INVOICE_SUMMARY),
                         expected_params={"Document": {"Bytes": ANY}})
    try:
        server.runtime.ports.extraction_engines["textract"] = TextractEngine(lambda: client)
        api = Api(server.url, API_KEY)
        created = api.post("/v1/workflows", json={"name": "textract", "definition": {"steps": [
            {"id": "parse", "type": "parse"},
            {"id": "extract", "type": "extract", "config": {"engine": "textract", "preset": "invoice"}}]}})
        assert created.status_code == 201, created.text
        document_id = api.upload("invoice.pdf", invoice_pdf())
        with stubber:
            started = api.post(f"/v1/workflows/{created.json()['id']}/executions", json={"document_id": document_id})
            assert started.status_code == 202, started.text
            run = api.wait(started.json()["id"])
        stubber.assert_no_pending_responses()
    finally:
        server.stop()
    assert run["status"] == "completed", run
    assert run["output"]["values"]["invoice_number"] == "INV-2041" and run["output"]["values"]["total"] == 1234.5
    assert run["usage"]["textract_pages"] == {"AnalyzeExpense": 1}  # the throttled calls billed nothing
    extract_entry = run["execution_log"][-1]
    assert extract_entry["status"] == "completed" and extract_entry["summary"]["output"]["engine"] == "textract"
