"""Integrations on AWS under moto: the routes through the authorizer and the API function, stored
by the DynamoDB adapter (the list is a GSI1 Query), the SSRF guard refusing at save, and deleting
the workflow deleting its integrations."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from docflow_testing import API_KEY, INVOICE_WORKFLOW, AwsStack

from docflow.runtime import aws
from docflow.usecases.keys import ensure_key

PATH = "/v1/workflows/integrations"
HOOK_URL = "https://erp.example.com/in?key=k_0123456789abcdef"


@pytest.fixture
def stack(aws_stack: AwsStack, monkeypatch: pytest.MonkeyPatch) -> AwsStack:
    real = socket.getaddrinfo
    fixed = {"erp.example.com": "93.184.215.15", "internal.example": "10.0.0.7"}

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host in fixed:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (fixed[host], port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    ensure_key(aws.ports().keys, API_KEY)
    return aws_stack


def test_given_the_api_function_when_integrations_are_managed_then_dynamodb_keeps_them_masked_and_scoped(
        stack: AwsStack) -> None:
    status, workflow = stack.http("POST", "/v1/workflows", body=INVOICE_WORKFLOW)
    assert status == 201, workflow
    body = {"workflow_id": workflow["id"], "name": "ERP", "integration_type": "webhook",
            "config": {"url": HOOK_URL, "headers": {"Authorization": "Bearer 0123456789abcdef0123"}}}
    status, created = stack.http("POST", PATH, body=body)
    assert status == 201, created
    assert created["config"]["url"] == "https://erp.example.com/in?key=****cdef"

    status, listed = stack.http("GET", PATH, query={"workflow_id": workflow["id"]})
    assert status == 200 and [i["id"] for i in listed["items"]] == [created["id"]]
    item = stack.clients.dynamodb.get_item(TableName=stack.table,
                                           Key={"PK": {"S": "WS#default"}, "SK": {"S": f"INT#{created['id']}"}})
    assert item["Item"]["GSI1PK"]["S"] == f"WS#default#WF#{workflow['id']}#INT"
    assert HOOK_URL in item["Item"]["data"]["S"]  # stored whole, shown masked

    status, kept = stack.http("PUT", PATH, query={"id": created["id"]}, body={**created, "name": "ERP 2"})
    assert status == 200 and kept["config"] == created["config"], kept
    status, refused = stack.http("PUT", PATH, query={"id": created["id"]},
                                 body={"config": {**created["config"], "url": "http://internal.example/"}})
    assert status == 422 and refused["error"]["details"][0]["loc"] == ["body", "config", "url"]

    assert stack.http("DELETE", f"/v1/workflows/{workflow['id']}")[0] == 204
    assert stack.clients.dynamodb.get_item(TableName=stack.table, Key={
        "PK": {"S": "WS#default"}, "SK": {"S": f"INT#{created['id']}"}}).get("Item") is None
    assert stack.http("DELETE", PATH, query={"id": created["id"]})[0] == 404
