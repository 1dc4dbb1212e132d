"""/v1/workflows/integrations in local mode over real HTTP: create, list, masked reads, PUT with a
masked secret (kept) and with a new one (replaced), delete, and the SSRF guard refusing at save.
The names the configs use resolve through a replaced socket.getaddrinfo (no network)."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from docflow_testing import INVOICE_WORKFLOW, LocalMode

pytestmark = pytest.mark.e2e

PATH = "/v1/workflows/integrations"
SLACK_URL = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrst1234"
NEW_SLACK_URL = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/zyxwvutsrqponmlkji5678"


@pytest.fixture(autouse=True)
def names(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo
    fixed = {"hooks.slack.com": "93.184.215.14", "erp.example.com": "93.184.215.15", "internal.example": "10.0.0.7"}

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host in fixed:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (fixed[host], port or 443))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def stored(local_mode: LocalMode, integration_id: str) -> dict[str, Any]:
    repository = local_mode.server.runtime.ports.integrations
    assert repository is not None
    return dict(repository.get("default", integration_id).config)


def test_given_a_workflow_when_its_integrations_are_created_listed_replaced_and_deleted_then_secrets_stay_masked(
        local_mode: LocalMode) -> None:
    api = local_mode.api
    workflow = api.post("/v1/workflows", json=INVOICE_WORKFLOW)
    assert workflow.status_code == 201, workflow.text
    workflow_id = workflow.json()["id"]

    created = api.post(PATH, json={"workflow_id": workflow_id, "name": "finance", "integration_type": "slack",
                                   "config": {"webhook_url": SLACK_URL, "channel": "#finance"}})
    assert created.status_code == 201, created.text
    slack = created.json()
    assert slack["config"]["webhook_url"] == "https://hooks.slack.com/services/T0…/****1234"
    hook = api.post(PATH, json={"workflow_id": workflow_id, "name": "ERP", "integration_type": "webhook",
                                "config": {"url": "https://erp.example.com/in?key=k_0123456789abcdef",
                                           "headers": {"Authorization": "Bearer 0123456789abcdef0123"}}})
    assert hook.status_code == 201, hook.text
    assert hook.json()["config"] == {"url": "https://erp.example.com/in?key=****cdef", "method": "POST",
                                     "headers": {"Authorization": "****0123"}}

    listed = api.get(PATH, params={"workflow_id": workflow_id})
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()["items"]] == [hook.json()["id"], slack["id"]]
    assert listed.json()["integrations"] == listed.json()["items"]
    assert "abcdefghijklmnopqrst" not in listed.text and "0123456789abcdef0123" not in listed.text
    # The workflow route next to it still answers for a workflow id.
    assert api.get(f"/v1/workflows/{workflow_id}").json()["id"] == workflow_id

    kept = api.request("PUT", PATH, params={"id": slack["id"]}, json={**slack, "name": "finance team"})
    assert kept.status_code == 200, kept.text
    assert kept.json()["name"] == "finance team" and kept.json()["config"] == slack["config"]
    assert stored(local_mode, slack["id"])["webhook_url"] == SLACK_URL

    replaced = api.request("PUT", PATH, params={"id": slack["id"]},
                           json={"config": {"webhook_url": NEW_SLACK_URL, "channel": "#ap"}})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["config"] == {"webhook_url": "https://hooks.slack.com/services/T0…/****5678",
                                         "channel": "#ap"}
    assert stored(local_mode, slack["id"])["webhook_url"] == NEW_SLACK_URL

    refused = api.request("PUT", PATH, params={"id": hook.json()["id"]},
                          json={"config": {**hook.json()["config"], "url": "http://internal.example/in"}})
    assert refused.status_code == 422
    assert refused.json()["error"]["details"] == [
        {"loc": ["body", "config", "url"], "msg": "internal.example resolves to 10.0.0.7, a private address"}]

    deleted = api.request("DELETE", PATH, params={"id": slack["id"]})
    assert deleted.status_code == 204 and deleted.content == b""
    assert [i["id"] for i in api.get(PATH, params={"workflow_id": workflow_id}).json()["items"]] == [
        hook.json()["id"]]
    assert api.request("DELETE", PATH, params={"id": slack["id"]}).status_code == 404

    # Deleting the workflow deletes its integrations.
    assert api.request("DELETE", f"/v1/workflows/{workflow_id}").status_code == 204
    assert local_mode.server.runtime.ports.integrations.list_for_workflow(
        "default", workflow_id, 10, None).items == []


@pytest.mark.parametrize(("config", "field", "reason"), [
    ({"webhook_url": "http://169.254.169.254/latest/meta-data/"}, "webhook_url", "a cloud metadata address"),
    ({"webhook_url": "http://127.0.0.1:8080/"}, "webhook_url", "127.0.0.1 is a loopback address"),
    ({"webhook_url": "http://[::1]/"}, "webhook_url", "::1 is a loopback address"),
    ({"webhook_url": "http://internal.example/"}, "webhook_url", "resolves to 10.0.0.7, a private address"),
])
def test_given_a_refused_url_when_an_integration_is_saved_then_422_names_the_field_and_the_reason(
        local_mode: LocalMode, config: dict[str, Any], field: str, reason: str) -> None:
    api = local_mode.api
    workflow_id = api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()["id"]
    answer = api.post(PATH, json={"workflow_id": workflow_id, "name": "n", "integration_type": "slack",
                                  "config": config})
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "url_refused"
    assert error["details"][0]["loc"] == ["body", "config", field] and reason in error["details"][0]["msg"]
