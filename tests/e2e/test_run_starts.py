"""Starting runs over real HTTP against local mode: multipart/form-data runs (TableFlow style),
Idempotency-Key semantics (IETF draft) on both body kinds, and the request checks every route
shares (unknown query parameters, read-only fields of the wrong type, the Content-Type)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from docflow_testing import INVOICE_WORKFLOW, Api, LocalMode, invoice_pdf

pytestmark = pytest.mark.e2e

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _workflow(api: Api, **fields: Any) -> str:
    created = api.post("/v1/workflows", json={**INVOICE_WORKFLOW, **fields})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _start(api: Api, workflow_id: str, files: Any, data: dict[str, str] | None = None,
           key: str | None = None) -> Any:
    headers = {"Idempotency-Key": key} if key else {}
    return api.post(f"/v1/workflows/{workflow_id}/executions", files=files, data=data or {}, headers=headers)


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    return dict(error)


def _runs(api: Api, workflow_id: str) -> list[dict[str, Any]]:
    return list(api.get(f"/v1/workflows/{workflow_id}/executions").json()["items"])


# --- multipart runs ------------------------------------------------------------------------------

def test_given_a_workflow_when_a_pdf_is_posted_as_multipart_then_the_run_completes_with_its_metadata(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id = _workflow(api)
    started = _start(api, workflow_id, {"file": ("inv.pdf", invoice_pdf(invoice_number="MP-77"), "application/pdf")},
                     {"name": "from a form", "metadata": json.dumps({"customer": "acme"}),
                      "file_metadata": json.dumps({"source": "scanner 3"}), "file_guidance": "totals are gross"})
    assert started.status_code == 202, started.text
    run = started.json()
    assert (run["workflow_id"], run["flow_id"], run["trigger_method"], run["name"]) == \
           (workflow_id, workflow_id, "api", "from a form")
    assert run["metadata"] == {"customer": "acme"} and run["status"] in ("queued", "processing")
    assert {"id", "workspace_id", "status_history", "error", "start_time", "end_time", "duration", "created_at",
            "updated_at"} <= set(run)
    assert run["inputs"] == [{"document_id": run["documents"][0], "key": "file",
                              "metadata": {"source": "scanner 3"}, "guidance": "totals are gross"}]

    done = api.wait(run["id"])
    assert done["status"] == "completed", done
    assert done["output"]["values"]["invoice_number"] == "MP-77" and done["metadata"] == {"customer": "acme"}
    document = api.get(f"/v1/documents/{run['documents'][0]}").json()
    assert (document["name"], document["content_type"], document["status"]) == \
           ("inv.pdf", "application/pdf", "processed")
    # The per-file metadata and guidance reached the extract step's input.
    extract_output = local_mode.server.runtime.ports.executions.get_step_output("default", run["id"], "extract")
    assert json.loads(extract_output)["input"] == {"key": "file", "metadata": {"source": "scanner 3"},
                                                   "guidance": "totals are gross"}


def test_given_a_multiple_file_field_when_key_1_and_key_2_are_sent_then_one_run_holds_both(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id = _workflow(api, file_input_config={"file_fields": [
        {"key": "invoice", "multiple": True, "content_types": ["application/pdf"]},
        {"key": "notes", "required": False}]})
    files = {"invoice_1": ("a.pdf", invoice_pdf(), "application/pdf"),
             "invoice_2": ("b.pdf", invoice_pdf(invoice_number="B-2"), "application/pdf")}
    started = _start(api, workflow_id, files, {"invoice_2_guidance": "the second one"})
    assert started.status_code == 202, started.text
    inputs = started.json()["inputs"]
    assert [(i["key"], i["guidance"]) for i in inputs] == [("invoice_1", None), ("invoice_2", "the second one")]
    assert len(set(started.json()["documents"])) == 2


@pytest.mark.parametrize(("files", "data", "field", "status", "code"), [
    ({}, {"name": "no file"}, "invoice", 422, "validation_error"),
    ({"invoice": ("a.pdf", b"%PDF-1.7 x", "application/pdf")}, {"colour": "red"}, "colour", 422, "validation_error"),
    ({"invoice": ("a.pdf", b"%PDF-1.7 x", "application/pdf")}, {"metadata": "[1, 2]"}, "metadata", 422,
     "validation_error"),
    ({"invoice": ("a.pdf", b"%PDF-1.7 x", "application/pdf")}, {"metadata": "{not json"}, "metadata", 422,
     "validation_error"),
    ({"invoice": ("a.pdf", PNG, "application/pdf")}, {}, "invoice", 422, "validation_error"),
    ({"invoice": ("a.txt", b"just text", "text/plain")}, {}, "invoice", 422, "validation_error"),
    ({"invoice": ("a.pdf", b"%PDF-1.7" + b" " * 2048, "application/pdf")}, {}, "invoice", 413, "payload_too_large"),
    ({"invoice": ("a.pdf", b"", "application/pdf")}, {}, "invoice", 422, "validation_error"),
], ids=["missing-required", "unknown-field", "metadata-not-object", "metadata-not-json", "bytes-not-pdf",
        "type-not-allowed", "over-field-limit", "empty-file"])
def test_given_a_bad_form_when_a_run_is_started_then_the_answer_names_the_field_and_nothing_is_stored(
        local_mode: LocalMode, files: Any, data: dict[str, str], field: str, status: int, code: str) -> None:
    api = local_mode.api
    workflow_id = _workflow(api, file_input_config={"file_fields": [
        {"key": "invoice", "content_types": ["application/pdf"], "max_bytes": 1024}]})
    # Text parts as (None, value) files: requests then sends multipart even with no file part.
    parts = {**files, **{name: (None, value) for name, value in data.items()}}
    response = api.post(f"/v1/workflows/{workflow_id}/executions", files=parts)
    error = _error(response, status, code)
    assert field in error["message"] and any(field in d.get("loc", []) for d in error["details"]), error
    assert _runs(api, workflow_id) == []


def test_given_a_form_over_the_request_limit_when_posted_then_413_points_at_the_document_upload(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id = _workflow(api)
    big = b"%PDF-1.7\n" + b"0" * (6 * 1024 * 1024)
    error = _error(_start(api, workflow_id, {"file": ("big.pdf", big, "application/pdf")}), 413, "payload_too_large")
    assert "/v1/documents" in error["message"]
    assert _runs(api, workflow_id) == []


# --- Idempotency-Key ---------------------------------------------------------------------------

def test_given_a_json_start_when_retried_with_the_same_key_then_the_first_run_is_returned_and_nothing_starts(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id = _workflow(api)
    document_id = api.upload("a.pdf", invoice_pdf())
    path = f"/v1/workflows/{workflow_id}/executions"
    first = api.post(path, json={"document_id": document_id, "name": "n"}, headers={"Idempotency-Key": "k-1"})
    again = api.post(path, json={"document_id": document_id, "name": "n"}, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (202, 202), (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    # The same key for another request is refused, never answered with the old run.
    other_document = api.upload("b.pdf", invoice_pdf())
    for body in ({"document_id": other_document, "name": "n"}, {"document_id": document_id, "name": "renamed"}):
        error = _error(api.post(path, json=body, headers={"Idempotency-Key": "k-1"}), 422, "idempotency_key_reused")
        assert first.json()["id"] in error["message"]
    assert [r["id"] for r in _runs(api, workflow_id)] == [first.json()["id"]]


def test_given_a_multipart_start_when_retried_with_the_same_key_then_no_second_document_or_run_is_stored(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id = _workflow(api)
    pdf = invoice_pdf()
    first = _start(api, workflow_id, {"file": ("a.pdf", pdf, "application/pdf")}, {"name": "n"}, key="form-1")
    again = _start(api, workflow_id, {"file": ("a.pdf", pdf, "application/pdf")}, {"name": "n"}, key="form-1")
    assert (first.status_code, again.status_code) == (202, 202), (first.text, again.text)
    assert again.json()["id"] == first.json()["id"] and again.json()["documents"] == first.json()["documents"]
    assert again.headers["Idempotent-Replayed"] == "true"
    other = _start(api, workflow_id, {"file": ("a.pdf", invoice_pdf(invoice_number="X-9"), "application/pdf")},
                   {"name": "n"}, key="form-1")
    _error(other, 422, "idempotency_key_reused")
    assert len(_runs(api, workflow_id)) == 1


# --- request checks every route shares ---------------------------------------------------------

def test_given_an_unknown_query_parameter_when_listing_then_422_names_it(local_mode: LocalMode) -> None:
    api = local_mode.api
    error = _error(api.get("/v1/workflows", params={"limt": "1"}), 422, "validation_error")
    assert "limt" in error["message"] and error["details"][0]["loc"] == ["query", "limt"]
    assert api.get("/v1/workflows", params={"limit": "1"}).status_code == 200


def test_given_a_read_only_field_of_the_wrong_type_when_a_workflow_is_put_then_422(local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow = api.get(f"/v1/workflows/{_workflow(api)}").json()
    for field, value in (("version", False), ("version", "1"), ("created_at", 5), ("id", 7)):
        response = api.request("PUT", f"/v1/workflows/{workflow['id']}", json={**workflow, field: value})
        error = _error(response, 422, "validation_error")
        assert ["body", field] in [d["loc"][:2] for d in error["details"]], error
    assert api.request("PUT", f"/v1/workflows/{workflow['id']}", json=workflow).status_code == 200


def test_given_a_body_of_another_type_when_posted_then_415_says_what_is_accepted(local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow_id = _workflow(api)
    error = _error(api.post(f"/v1/workflows/{workflow_id}/executions", data=b"document_id=x",
                            headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type")
    assert "multipart/form-data" in error["message"]
    # A JSON-only route refuses a form rather than reporting its fields missing.
    _error(api.post("/v1/workflows", files={"file": ("a.pdf", b"%PDF-1.7", "application/pdf")}), 415,
           "unsupported_media_type")
