"""The REST API on AWS under moto: every request goes through the Lambda authorizer and then the API
function, the way API Gateway calls them (`aws_stack.http`). DESIGN.md §1 (API contract)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest
from docflow_testing import API_KEY, EVENTS, INVOICE_WORKFLOW, AwsStack, LambdaContextStub, invoice_pdf, load_handler

from docflow.domain.clock import new_id, utc_now
from docflow.domain.models import Execution, ExecutionStatus, StatusChange
from docflow.runtime import aws
from docflow.usecases.keys import ensure_key

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def stack(aws_stack: AwsStack) -> AwsStack:
    ensure_key(aws.ports().keys, API_KEY)
    return aws_stack


def assert_error(payload: Any, code: str | None = None) -> dict[str, Any]:
    assert isinstance(payload, dict) and set(payload) == {"error"}, payload
    assert set(payload["error"]) == {"code", "message", "details"}, payload
    assert isinstance(payload["error"]["details"], list)
    if code is not None:
        assert payload["error"]["code"] == code, payload
    return dict(payload["error"])


def create_workflow(stack: AwsStack, **changes: Any) -> dict[str, Any]:
    status, created = stack.http("POST", "/v1/workflows", body={**INVOICE_WORKFLOW, **changes})
    assert status == 201, created
    return dict(created)


def create_document(stack: AwsStack, data: bytes | None = None) -> str:
    """A document handle; with `data`, uploaded the way S3 + the uploads function record it."""
    payload = data if data is not None else b"x"
    status, handle = stack.http("POST", "/v1/documents",
                                body={"name": "invoice.pdf", "content_type": "application/pdf", "size": len(payload)})
    assert status == 201, handle
    if data is not None:
        key = f"documents/default/{handle['id']}"
        stack.clients.s3.put_object(Bucket=stack.bucket, Key=key, Body=data, ContentType="application/pdf")
        event = json.loads((EVENTS / "s3_object_created.json").read_text())
        event["detail"]["object"].update({"key": key, "size": len(data)})
        assert load_handler("uploads").lambda_handler(event, LambdaContextStub())["status"] == "uploaded"
    return str(handle["id"])


def finished_run(stack: AwsStack, workflow_id: str) -> dict[str, Any]:
    document_id = create_document(stack, invoice_pdf())
    status, execution = stack.http("POST", f"/v1/workflows/{workflow_id}/executions", body={"document_id": document_id})
    assert status == 202, execution
    assert stack.wait_sfn(execution["id"])["status"] == "SUCCEEDED"
    status, stored = stack.http("GET", f"/v1/executions/{execution['id']}")
    assert status == 200 and stored["status"] == "completed", stored
    return dict(stored)


def unfinished_run(workflow_id: str) -> Execution:
    """A run the state machine is still working on (stored directly, so it stays unfinished)."""
    now = utc_now()
    execution = Execution(workflow_id=workflow_id, workflow_version=1, workspace_id="default",
                          status=ExecutionStatus.PROCESSING, start_time=now,
                          status_history=[StatusChange(status=ExecutionStatus.QUEUED, time=now),
                                          StatusChange(status=ExecutionStatus.PROCESSING, time=now)])
    return aws.ports().executions.add(execution)


def raw_request(method: str, path: str, body: str | bytes | None,
                content_type: str = "application/json") -> tuple[int, Any]:
    """Like `AwsStack.http`, with the body sent exactly as given (not JSON-encoded first); bytes
    arrive base64-encoded, as API Gateway passes a body that is not UTF-8 text."""
    encoded = isinstance(body, bytes)
    if isinstance(body, bytes):
        body = base64.b64encode(body).decode()
    event = json.loads((EVENTS / "http_api_request.json").read_text())
    event.update({"rawPath": path, "body": body, "queryStringParameters": None, "rawQueryString": "",
                  "isBase64Encoded": encoded,
                  "headers": {"content-type": content_type, "authorization": f"Bearer {API_KEY}"}})
    event["requestContext"]["http"].update({"method": method, "path": path})
    verdict = load_handler("authorizer").lambda_handler(event, LambdaContextStub())
    assert verdict["isAuthorized"]
    event["requestContext"]["authorizer"] = {"lambda": verdict["context"]}
    try:
        result = load_handler("api").lambda_handler(event, LambdaContextStub())
    except Exception:  # an unhandled error in the function: API Gateway's own answer
        return 500, {"message": "Internal Server Error"}
    return int(result["statusCode"]), json.loads(result["body"])


# --- API keys ----------------------------------------------------------------------------------

def test_api_key_secret_only_in_the_create_response_and_revoke_denies_it(stack: AwsStack) -> None:
    status, created = stack.http("POST", "/v1/api-keys", body={"name": "ci"})
    assert status == 201, created
    secret = created["key"]
    assert re.fullmatch(r"dfk_[A-Za-z0-9]{43,}", secret), secret
    assert created["prefix"] == secret[:12] and created["name"] == "ci" and created["workspace_id"] == "default"
    assert created["revoked_at"] is None and ISO_UTC.match(created["created_at"])

    status, listed = stack.http("GET", "/v1/api-keys")
    assert status == 200
    mine = [k for k in listed["items"] if k["id"] == created["id"]]
    assert len(mine) == 1 and mine[0]["prefix"] == created["prefix"] and "key" not in mine[0]
    assert secret not in json.dumps(listed) and listed["api_keys"] == listed["items"]
    # Stored as a hash only.
    lookup = stack.clients.dynamodb.get_item(TableName=stack.table, Key={
        "PK": {"S": f"KEYHASH#{hashlib.sha256(secret.encode()).hexdigest()}"}, "SK": {"S": "KEYHASH"}})
    assert "Item" in lookup and secret not in json.dumps(lookup["Item"])

    status, _ = stack.http("GET", "/v1/workflows", key=secret)
    assert status == 200

    status, revoked = stack.http("DELETE", f"/v1/api-keys/{created['id']}")
    assert (status, revoked) == (204, None)
    listed = stack.http("GET", "/v1/api-keys")[1]["items"]
    assert [k["revoked_at"] is not None for k in listed if k["id"] == created["id"]] == [True]

    assert stack.http("GET", "/v1/workflows", key=secret) == (403, {"message": "Forbidden"})
    assert stack.http("GET", "/v1/workflows")[0] == 200  # the other key is untouched
    status, missing = stack.http("DELETE", f"/v1/api-keys/{new_id('key')}")
    assert status == 404 and assert_error(missing, "not_found")


def authorize(authorization: str) -> dict[str, Any]:
    event = json.loads((EVENTS / "http_api_request.json").read_text())
    event["headers"] = {"authorization": authorization}
    return dict(load_handler("authorizer").lambda_handler(event, LambdaContextStub()))


def test_authorizer_denies_malformed_or_unknown_keys(stack: AwsStack) -> None:
    for authorization in ("", "Bearer", "Bearer ", "Token abc", API_KEY, f"Token {API_KEY}", "Bearer dfk_" + "u" * 40,
                          f"Bearer {API_KEY}x", "Basic ???",
                          "Basic " + base64.b64encode(b"dfk_" + b"u" * 40 + b":").decode()):
        assert authorize(authorization) == {"isAuthorized": False}, authorization


def test_authorizer_accepts_bearer_and_basic_and_gateway_denies_unknown_keys(stack: AwsStack) -> None:
    for header in (f"Bearer {API_KEY}", "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()):
        verdict = authorize(header)
        assert verdict["isAuthorized"] is True and verdict["context"]["workspace_id"] == "default", header
    assert stack.http("GET", "/v1/workflows", key="dfk_" + "u" * 40) == (403, {"message": "Forbidden"})
    assert stack.http("GET", "/v1/workflows", key=None) == (401, {"message": "Unauthorized"})


def test_api_key_create_rejects_unknown_fields(stack: AwsStack) -> None:
    status, body = stack.http("POST", "/v1/api-keys", body={"name": "ci", "scope": "admin"})
    assert status == 422 and "scope" in assert_error(body, "validation_error")["message"]


# --- workflows -----------------------------------------------------------------------------------

def test_workflow_crud(stack: AwsStack) -> None:
    created = create_workflow(stack)
    assert created["version"] == 1 and created["workspace_id"] == "default"
    assert set(created) == {"id", "workspace_id", "name", "description", "definition", "file_input_config",
                            "trigger_type", "trigger_config", "enabled", "version", "created_at", "updated_at",
                            "webhook_secret", "webhook_secret_prefix"}
    assert created["webhook_secret"] is None and created["webhook_secret_prefix"] is None  # not a webhook workflow
    status, fetched = stack.http("GET", f"/v1/workflows/{created['id']}")
    assert (status, fetched) == (200, created)

    # The GET body sent back with one change: read-only fields are ignored, the version goes up.
    status, replaced = stack.http("PUT", f"/v1/workflows/{created['id']}", body={**fetched, "name": "Renamed"})
    assert status == 200, replaced
    assert replaced["name"] == "Renamed" and replaced["version"] == 2
    assert replaced["id"] == created["id"] and replaced["created_at"] == created["created_at"]
    assert replaced["updated_at"] >= created["updated_at"]
    status, again = stack.http("PUT", f"/v1/workflows/{created['id']}",
                               body={k: v for k, v in replaced.items() if k not in ("id", "version", "created_at")})
    assert status == 200 and again["version"] == 3
    assert stack.http("GET", f"/v1/workflows/{created['id']}") == (200, again)

    # A field the resource does not have is a 422 naming it, top level or nested.
    status, body = stack.http("PUT", f"/v1/workflows/{created['id']}", body={**again, "colour": "blue"})
    assert status == 422 and "colour" in json.dumps(assert_error(body, "validation_error"))
    steps = [{**again["definition"]["steps"][0], "confg": {}}]
    status, body = stack.http("POST", "/v1/workflows", body={**INVOICE_WORKFLOW, "definition": {"steps": steps}})
    assert status == 422 and "confg" in json.dumps(assert_error(body, "validation_error"))
    assert stack.http("GET", f"/v1/workflows/{created['id']}")[1]["version"] == 3

    status, body = stack.http("DELETE", f"/v1/workflows/{created['id']}")
    assert status == 204 and not body
    for method in ("GET", "DELETE"):
        status, body = stack.http(method, f"/v1/workflows/{created['id']}")
        assert status == 404 and assert_error(body, "not_found")
    status, body = stack.http("PUT", f"/v1/workflows/{created['id']}", body=INVOICE_WORKFLOW)
    assert status == 404 and assert_error(body, "not_found")


def test_workflow_pages_with_limit_and_cursor(stack: AwsStack) -> None:
    ids = {create_workflow(stack, name=f"wf {n}")["id"] for n in range(5)}
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        status, page = stack.http("GET", "/v1/workflows", query=query)
        assert status == 200, page
        assert len(page["items"]) <= 2 and page["workflows"] == page["items"]
        seen.extend(w["id"] for w in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 5
    assert pages == 3 and len(seen) == len(set(seen)) == 5 and set(seen) == ids
    assert seen == sorted(seen, reverse=True)  # newest first (ids sort by creation time)

    status, whole = stack.http("GET", "/v1/workflows")
    assert status == 200 and [w["id"] for w in whole["items"]] == seen and whole["next_cursor"] is None

    for bad in ("not-a-cursor!", "eyJ2IjoxfQ", "x" * 600, "e30"):
        status, body = stack.http("GET", "/v1/workflows", query={"cursor": bad})
        assert status in (400, 422), (bad, body)
        assert_error(body)
    status, body = stack.http("GET", "/v1/workflows", query={"cursor": "bm90LWEtY3Vyc29y"})
    assert status == 400 and assert_error(body, "bad_request")
    for limit in ("0", "101", "ten"):
        status, body = stack.http("GET", "/v1/workflows", query={"limit": limit})
        assert status == 422 and assert_error(body, "validation_error"), (limit, body)


# --- executions ----------------------------------------------------------------------------------

def test_list_executions_filters_by_status(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)["id"]
    done = finished_run(stack, workflow_id)
    running = unfinished_run(workflow_id)
    status, everything = stack.http("GET", f"/v1/workflows/{workflow_id}/executions")
    assert status == 200
    assert [e["id"] for e in everything["items"]] == [running.id, done["id"]]  # newest first
    assert everything["executions"] == everything["items"] and everything["next_cursor"] is None
    for wanted, expected in (("completed", [done["id"]]), ("processing", [running.id]), ("failed", [])):
        status, page = stack.http("GET", f"/v1/workflows/{workflow_id}/executions", query={"status": wanted})
        assert status == 200 and [e["id"] for e in page["items"]] == expected, (wanted, page)
    # Pages of a filtered list (a Query on the status index) continue where they stopped.
    more = [unfinished_run(workflow_id).id for _ in range(2)]
    pages: list[list[str]] = []
    query = {"status": "processing", "limit": "2"}
    while True:
        status, page = stack.http("GET", f"/v1/workflows/{workflow_id}/executions", query=query)
        assert status == 200, page
        pages.append([e["id"] for e in page["items"]])
        if page["next_cursor"] is None:
            break
        query = {**query, "cursor": page["next_cursor"]}
    assert [len(p) for p in pages] == [2, 1]
    assert [i for p in pages for i in p] == sorted([running.id, *more], reverse=True)  # ids sort by creation
    status, body = stack.http("GET", f"/v1/workflows/{workflow_id}/executions", query={"status": "done"})
    assert status == 422 and assert_error(body, "validation_error")
    status, body = stack.http("GET", f"/v1/workflows/{new_id('wf')}/executions")
    assert status == 404 and assert_error(body, "not_found")


def test_execution_by_id_and_under_its_workflow(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)["id"]
    other_workflow_id = create_workflow(stack, name="other")["id"]
    done = finished_run(stack, workflow_id)
    status, by_id = stack.http("GET", f"/v1/executions/{done['id']}")
    assert status == 200
    assert stack.http("GET", f"/v1/workflows/{workflow_id}/executions/{done['id']}") == (200, by_id)
    assert by_id["execution_id"] == by_id["id"] and by_id["workflow_id"] == workflow_id
    for wrong in (other_workflow_id, new_id("wf")):
        status, body = stack.http("GET", f"/v1/workflows/{wrong}/executions/{done['id']}")
        assert status == 404 and assert_error(body, "not_found")
        status, body = stack.http("PATCH", f"/v1/workflows/{wrong}/executions/{done['id']}",
                                  body={"status": "completed"})
        assert status == 404 and assert_error(body, "not_found")
    status, body = stack.http("GET", f"/v1/executions/{new_id('exe')}")
    assert status == 404 and assert_error(body, "not_found")


def test_patch_execution_status(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)["id"]
    done = finished_run(stack, workflow_id)
    path = f"/v1/workflows/{workflow_id}/executions/{done['id']}"
    assert done["acknowledged"] is False

    status, acknowledged = stack.http("PATCH", path, body={"status": "completed"})
    assert status == 200, acknowledged
    assert acknowledged["acknowledged"] is True and acknowledged["status"] == "completed"
    assert acknowledged["status_history"] == done["status_history"]
    status, twice = stack.http("PATCH", path, body={"status": "completed"})
    assert status == 200 and twice["acknowledged"] is True and twice["status_history"] == done["status_history"]

    status, body = stack.http("PATCH", path, body={"status": "canceled"})
    assert status == 409 and assert_error(body)["code"] in ("conflict", "illegal_transition")
    for other in ("failed", "processing", "queued", "review", "running", "COMPLETED"):
        status, body = stack.http("PATCH", path, body={"status": other})
        assert status == 422 and assert_error(body, "validation_error"), (other, body)
    status, body = stack.http("PATCH", path, body={"status": "completed", "note": "x"})
    assert status == 422 and "note" in assert_error(body, "validation_error")["message"]
    assert stack.http("GET", path)[1]["status"] == "completed"

    running = unfinished_run(workflow_id)
    running_path = f"/v1/workflows/{workflow_id}/executions/{running.id}"
    status, body = stack.http("PATCH", running_path, body={"status": "completed"})
    assert status == 409 and assert_error(body)["code"] in ("conflict", "illegal_transition")
    status, stored = stack.http("GET", running_path)
    assert stored["status"] == "processing" and stored["acknowledged"] is False

    status, canceled = stack.http("PATCH", running_path, body={"status": "canceled"})
    assert status == 200, canceled
    assert canceled["status"] == "canceled" and canceled["status_history"][-1]["status"] == "canceled"


def test_execute_seed_body_starts_a_run(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)["id"]
    document_id = create_document(stack, invoice_pdf())
    status, accepted = stack.http("POST", f"/v1/workflows/{workflow_id}/execute",
                                  body={"trigger_data": {"document_id": document_id}})
    assert status == 202, accepted
    assert set(accepted) == {"execution_id", "status", "started_at"}
    assert accepted["status"] == "running" and ISO_UTC.match(accepted["started_at"])
    assert stack.wait_sfn(accepted["execution_id"])["status"] == "SUCCEEDED"
    status, execution = stack.http("GET", f"/v1/executions/{accepted['execution_id']}")
    assert status == 200 and execution["status"] == "completed"
    assert execution["documents"] == [document_id]
    assert execution["trigger_data"] == {"document_id": document_id}
    assert execution["output"]["values"]["invoice_number"] == "INV-2041"


def test_execute_with_a_pending_or_unknown_document(stack: AwsStack) -> None:
    workflow_id = create_workflow(stack)["id"]
    pending = create_document(stack)
    for path, body in ((f"/v1/workflows/{workflow_id}/execute", {"trigger_data": {"document_id": pending}}),
                       (f"/v1/workflows/{workflow_id}/executions", {"document_id": pending})):
        status, refused = stack.http("POST", path, body=body)
        assert status == 409, refused
        assert "upload" in assert_error(refused)["message"].lower()
    status, refused = stack.http("POST", f"/v1/workflows/{workflow_id}/execute",
                                 body={"trigger_data": {"document_id": new_id("doc")}})
    assert status == 404 and assert_error(refused, "not_found")
    status, listed = stack.http("GET", f"/v1/workflows/{workflow_id}/executions")
    assert listed["items"] == []


# --- request bodies --------------------------------------------------------------------------------

def test_body_over_6_mb_is_413(stack: AwsStack) -> None:
    status, body = stack.http("POST", "/v1/workflows", body={**INVOICE_WORKFLOW, "description": "x" * (6 * 2**20)})
    assert status == 413
    assert "/v1/documents" in assert_error(body, "payload_too_large")["message"]


def test_non_json_content_type_is_415(stack: AwsStack) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        status, body = stack.http("POST", "/v1/workflows", body=INVOICE_WORKFLOW,
                                  headers={"content-type": content_type})
        assert status == 415 and assert_error(body, "unsupported_media_type"), content_type


def test_malformed_json_is_400(stack: AwsStack) -> None:
    for raw in ('{"name": "x",', "{'name': 'x'}", "not json", '{"name": "x"} trailing'):
        status, body = raw_request("POST", "/v1/workflows", raw)
        assert status == 400 and assert_error(body, "bad_request"), (raw, body)


def test_base64_encoded_json_body_is_accepted(stack: AwsStack) -> None:
    status, created = raw_request("POST", "/v1/workflows", json.dumps(INVOICE_WORKFLOW).encode())
    assert status == 201, created


def test_body_that_is_not_utf8_is_400(stack: AwsStack) -> None:
    status, body = raw_request("POST", "/v1/workflows", b'{"name": "\xff\xfe"}')
    assert status == 400, body
    assert_error(body, "bad_request")


def test_json_content_type_with_charset_is_accepted(stack: AwsStack) -> None:
    status, created = raw_request("POST", "/v1/workflows", json.dumps(INVOICE_WORKFLOW),
                                  content_type="application/json; charset=utf-8")
    assert status == 201, created


def test_openapi_needs_no_key(stack: AwsStack) -> None:
    status, spec = stack.http("GET", "/v1/openapi.json", key=None)
    assert status == 200 and spec["openapi"].startswith("3.")
    for path in ("/v1/api-keys", "/v1/api-keys/{key_id}", "/v1/workflows", "/v1/workflows/{workflow_id}",
                 "/v1/documents", "/v1/documents/{document_id}", "/v1/workflows/{workflow_id}/executions",
                 "/v1/workflows/{workflow_id}/execute", "/v1/workflows/{workflow_id}/executions/{execution_id}",
                 "/v1/executions/{execution_id}"):
        assert path in spec["paths"], path
    assert "patch" in spec["paths"]["/v1/workflows/{workflow_id}/executions/{execution_id}"]
    status, page = stack.http("GET", "/v1/docs", key=None)
    assert status == 200 and "swagger" in str(page).lower()
