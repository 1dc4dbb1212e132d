"""What /v1/openapi.json promises, checked against what the server registers and answers."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from docflow_testing import LocalMode

from docflow.api.app import is_public
from docflow.steps.registry import STEP_KINDS

pytestmark = pytest.mark.e2e
METHODS = ("get", "post", "put", "patch", "delete")


def _spec(local_mode: LocalMode) -> dict[str, Any]:
    response = requests.get(f"{local_mode.url}/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    return dict(response.json())


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()
            if method in METHODS]


def test_given_the_document_when_read_then_every_operation_declares_security_status_and_error_schema(
        local_mode: LocalMode) -> None:
    spec = _spec(local_mode)
    assert spec["components"]["securitySchemes"] == {
        "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "dfk_…",
                       "description": "An API key: `Authorization: Bearer dfk_…`"},
        "basicAuth": {"type": "http", "scheme": "basic", "description": "The API key as the user name, no password"}}
    operation_ids = set()
    for method, path, op in _operations(spec):
        label = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z][A-Za-z]+", op["operationId"]) and op["operationId"] not in operation_ids, label
        operation_ids.add(op["operationId"])
        assert op.get("summary"), label
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        if is_public(concrete):
            assert "security" not in op, label
        else:
            assert op["security"] == [{"bearerAuth": []}, {"basicAuth": []}], label
            assert {"400", "401", "422", "429"} <= set(op["responses"]), label
        successes = [s for s in op["responses"] if s.startswith("2")]
        assert len(successes) == 1, label
        expected = {"post": {"201", "202", "200"}, "delete": {"204"}}.get(method, {"200"})
        if path.startswith("/compat/cradl/") and method == "delete":
            expected = {"200"}  # Cradl answers a delete with the deleted resource, and its SDK reads it
        assert successes[0] in expected, label
        if successes[0] == "204":
            assert "content" not in op["responses"]["204"], label
        for status, response in op["responses"].items():
            if status[0] in "45":
                assert response["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/ErrorResponse"}, f"{label} {status}"
        if "requestBody" in op:
            assert {"413", "415"} <= set(op["responses"]), label


def test_given_the_document_when_read_then_creates_are_201_starts_202_and_both_start_bodies_are_described(
        local_mode: LocalMode) -> None:
    paths = _spec(local_mode)["paths"]
    assert "201" in paths["/v1/workflows"]["post"]["responses"]
    assert "201" in paths["/v1/documents"]["post"]["responses"]
    assert "201" in paths["/v1/api-keys"]["post"]["responses"]
    for path in ("/v1/workflows/{workflow_id}/executions", "/v1/workflows/{workflow_id}/execute"):
        start = paths[path]["post"]
        assert "202" in start["responses"]
        assert set(start["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
        assert [p["name"] for p in start["parameters"] if p["in"] == "header"] == ["idempotency-key"]


def test_given_the_document_when_read_then_status_fields_are_enums_and_only_existing_step_types_are_listed(
        local_mode: LocalMode) -> None:
    schemas = _spec(local_mode)["components"]["schemas"]
    assert schemas["StepDefinition"]["properties"]["type"]["enum"] == sorted(STEP_KINDS)
    assert set(schemas["ExecutionStatus"]["enum"]) == {"queued", "processing", "review", "completed", "failed",
                                                       "canceled"}
    assert schemas["ExecutionOut"]["properties"]["status"] == {"$ref": "#/components/schemas/ExecutionStatus"}
    assert schemas["DocumentOut"]["properties"]["status"] == {"$ref": "#/components/schemas/DocumentStatus"}
    assert schemas["LogEntryOut"]["properties"]["status"] == {"$ref": "#/components/schemas/StepStatus"}
    assert "enum" in schemas["ExecutionOut"]["properties"]["trigger_method"]
    version = schemas["WorkflowIn"]["properties"]["version"]
    assert {"type": "integer", "minimum": 1} in version["anyOf"], version
