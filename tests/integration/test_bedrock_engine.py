"""The `bedrock` engine against botocore's Stubber: the Converse request (one forced tool whose
input schema is built from the fields) and responses in the shape of the Bedrock documentation
(output.message.content[].toolUse, stopReason "tool_use", usage)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from docflow.adapters.aws.bedrock import TOOL_NAME, BedrockEngine
from docflow.domain.documents import ParsedDocument, ParsedPage
from docflow.domain.errors import DeliveryTransient, StepFailed
from docflow.domain.extraction import EngineRequest, FieldSpec, preset_fields

MODEL = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


def _engine() -> tuple[BedrockEngine, Stubber]:
    client = boto3.session.Session().client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="testing",
                                            aws_secret_access_key="testing")
    return BedrockEngine(lambda: client, MODEL, region="us-east-1"), Stubber(client)


def _request(fields: list[FieldSpec], preset: str | None = None, guidance: str | None = None) -> EngineRequest:
    parsed = ParsedDocument(content_type="application/pdf", page_count=2, text="Invoice INV-7",
                            pages=[ParsedPage(number=n, width=612, height=792, text="") for n in (1, 2)])
    return EngineRequest(fields=fields, preset=preset, data=b"%PDF-1.7 invoice", content_type="application/pdf",
                         parsed=parsed, guidance=guidance, metadata={"vendor_id": "V-9"})


def _tool_answer(tool_input: Any) -> dict[str, Any]:
    return {"output": {"message": {"role": "assistant", "content": [
                {"toolUse": {"toolUseId": "tooluse_1", "name": TOOL_NAME, "input": tool_input}}]}},
            "stopReason": "tool_use", "usage": {"inputTokens": 1830, "outputTokens": 142, "totalTokens": 1972},
            "metrics": {"latencyMs": 2100}}


def test_given_the_invoice_preset_when_the_model_calls_the_tool_then_values_confidence_pages_and_tokens() -> None:
    engine, stub = _engine()
    request = _request(preset_fields("invoice"), "invoice", guidance="the seller is the letterhead company")
    sent = engine.converse_request(request)
    schema = sent["toolConfig"]["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert sent["toolConfig"]["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    assert set(schema["properties"]["values"]["properties"]) >= {"invoice_number", "total", "currency", "line_items"}
    assert sent["messages"][0]["content"][0]["document"]["format"] == "pdf"
    assert "the seller is the letterhead company" in sent["messages"][0]["content"][-1]["text"]
    assert "V-9" in sent["messages"][0]["content"][-1]["text"]
    stub.add_response("converse", _tool_answer({
        "values": {"invoice_number": "INV-7", "date": "2025-03-07", "total": 1234.5, "currency": "EUR",
                   "issuer": "ACME GmbH", "line_items": [{"description": "Widgets", "quantity": 2, "unit_price": 5,
                                                          "amount": 10}]},
        "confidence": {"invoice_number": 0.97, "total": 0.95, "currency": 0.9, "issuer": 0.8},
        "pages": {"invoice_number": 1, "total": 2}}), {**sent, "messages": ANY})
    with stub:
        answer = engine.extract(request)
    values = answer.extraction.values
    assert values["invoice_number"] == "INV-7" and values["total"] == 1234.5 and values["currency"] == "EUR"
    assert values["date"] == "2025-03-07" and values["line_items"][0]["amount"] == 10
    assert values["due_date"] is None and answer.extraction.confidence["due_date"] == 0
    assert answer.extraction.confidence["invoice_number"] == pytest.approx(0.97)
    assert answer.extraction.fields["total"].page == 2
    assert answer.usage == {"bedrock_tokens": {"input": 1830, "output": 142}}
    stub.assert_no_pending_responses()


@pytest.mark.parametrize("answer", [
    {"output": {"message": {"role": "assistant", "content": [{"text": "The invoice number is INV-7."}]}},
     "stopReason": "end_turn", "usage": {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15},
     "metrics": {"latencyMs": 1}},
    _tool_answer({"values": {"total": "about a thousand"}, "confidence": {}, "pages": {}}),
    _tool_answer("not an object"),
])
def test_given_a_malformed_model_answer_when_extracting_then_the_step_fails_loudly(answer: dict[str, Any]) -> None:
    engine, stub = _engine()
    stub.add_response("converse", answer)
    with stub, pytest.raises(StepFailed) as err:
        engine.extract(_request([FieldSpec(name="total", type="currency")]))
    assert err.value.code == "engine_malformed_answer"


@pytest.mark.parametrize("code", ["ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException"])
def test_given_bedrock_throttles_when_extracting_then_the_error_is_transient_and_retried(code: str) -> None:
    engine, stub = _engine()
    stub.add_client_error("converse", service_error_code=code, service_message="Too many requests",
                          http_status_code=429 if code == "ThrottlingException" else 503)
    with stub, pytest.raises(DeliveryTransient):
        engine.extract(_request([FieldSpec(name="total", type="currency")]))


def test_given_no_access_to_the_model_when_extracting_then_the_step_fails_naming_the_permission() -> None:
    engine, stub = _engine()
    stub.add_client_error("converse", service_error_code="AccessDeniedException", http_status_code=403,
                          service_message="You don't have access to the model with the specified model ID.")
    with stub, pytest.raises(StepFailed) as err:
        engine.extract(_request([FieldSpec(name="total", type="currency")]))
    assert err.value.code == "engine_access_denied"
    assert "bedrock:InvokeModel" in err.value.message and MODEL in err.value.message
