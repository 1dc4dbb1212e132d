"""Integrations CRUD through the whole API app (create_app: routing, validation, error mapping)
over the real SQLite adapters, with the real SSRF guard and name resolution replaced (no network):
masked secrets, PUT semantics, the guard at save, workspace scoping and the route next to
`/v1/workflows/<workflow_id>`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from docflow_testing import EVENTS, INVOICE_WORKFLOW, LambdaContextStub

from docflow.adapters.compute import InlineCompute
from docflow.adapters.http_out import GuardedHttp
from docflow.adapters.local.events import InProcessEventBus
from docflow.adapters.local.files import LocalBlobStore
from docflow.adapters.local.sqlite import (
    SqliteApiKeyRepository,
    SqliteDatabase,
    SqliteDocumentRepository,
    SqliteExecutionRepository,
    SqliteWorkflowRepository,
)
from docflow.adapters.local.sqlite_integrations import SqliteIntegrationRepository
from docflow.adapters.local.sqlite_webhooks import SqliteWebhookSecretRepository
from docflow.api.app import create_app
from docflow.domain.limits import Limits
from docflow.domain.models import Execution
from docflow.ports import IntegrationRepository, Ports
from docflow.usecases import workflows as workflow_cases

WS, OTHER = "ws_int", "ws_other"
SLACK_URL = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstwxyz"
SLACK_MASKED = "https://hooks.slack.com/services/T0…/****wxyz"
HOOK_URL = "https://receiver.example.com/hooks/docflow?token=tok_0123456789abcdef&v=2"
HOOK_MASKED = "https://receiver.example.com/hooks/docflow?token=****cdef&v=****"
BEARER = "Bearer sk_live_0123456789abcdef"


class NoLauncher:
    def launch(self, execution: Execution) -> None:
        raise AssertionError("no run starts here")

    def cancel(self, execution: Execution) -> None:
        raise AssertionError("no run is canceled here")


@dataclass
class World:
    ports: Ports
    repository: IntegrationRepository
    workflow_id: str
    other_workflow_id: str

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None,
             workspace: str = WS) -> tuple[int, Any]:
        event = json.loads((EVENTS / "http_api_request.json").read_text())
        event.update({"rawPath": path, "body": json.dumps(body) if body is not None else None,
                      "rawQueryString": urlencode(query or {}), "queryStringParameters": query or None,
                      "headers": {"content-type": "application/json"}})
        event["requestContext"]["http"].update({"method": method, "path": path})
        event["requestContext"]["authorizer"] = {"lambda": {"workspace_id": workspace, "key_id": "key_1"}}
        result = create_app(self.ports).resolve(event, LambdaContextStub())
        return int(result["statusCode"]), json.loads(result["body"]) if result.get("body") else None


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        address = {"evil.example": "10.0.0.7"}.get(host, "93.184.215.14")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 443))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    db = SqliteDatabase(tmp_path / "docflow.sqlite3")
    blobs = LocalBlobStore(tmp_path / "files", "http://127.0.0.1:8080", b"unit-test-secret-32-bytes-long!!")
    repository = SqliteIntegrationRepository(db)
    ports = Ports(keys=SqliteApiKeyRepository(db), workflows=SqliteWorkflowRepository(db),
                  documents=SqliteDocumentRepository(db), executions=SqliteExecutionRepository(db, blobs),
                  blobs=blobs, events=InProcessEventBus(), launcher=NoLauncher(), limits=Limits(),
                  compute=InlineCompute(), webhook_secrets=SqliteWebhookSecretRepository(db),
                  integrations=repository, http=GuardedHttp())  # the real guard, no allowlist
    workflow = workflow_cases.create_workflow(ports.workflows, WS, INVOICE_WORKFLOW)
    other = workflow_cases.create_workflow(ports.workflows, OTHER, INVOICE_WORKFLOW)
    try:
        yield World(ports, repository, workflow.id, other.id)
    finally:
        db.close()


def slack(world: World, **config: Any) -> dict[str, Any]:
    return {"workflow_id": world.workflow_id, "name": "finance channel", "integration_type": "slack",
            "config": {"webhook_url": SLACK_URL, "channel": "#finance", **config}}


def webhook(world: World, **config: Any) -> dict[str, Any]:
    return {"workflow_id": world.workflow_id, "name": "ERP", "integration_type": "webhook",
            "config": {"url": HOOK_URL, "method": "post",
                       "headers": {"Authorization": BEARER, "Content-Type": "application/json", "X-Short": "abc"},
                       **config}}


def created(world: World, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = world.call("POST", "/v1/workflows/integrations", body)
    assert status == 201, answer
    return dict(answer)


def stored_config(world: World, integration_id: str) -> dict[str, Any]:
    return world.repository.get(WS, integration_id).config


# --- create, read, list ----------------------------------------------------------------------------

def test_given_a_slack_integration_when_created_and_read_then_the_webhook_url_is_masked_everywhere(
        world: World) -> None:
    answer = created(world, slack(world))
    assert answer["id"].startswith("int_")
    assert set(answer) == {"id", "workflow_id", "name", "integration_type", "config", "created_at", "updated_at"}
    assert answer["config"] == {"webhook_url": SLACK_MASKED, "channel": "#finance"}
    assert stored_config(world, answer["id"])["webhook_url"] == SLACK_URL  # stored whole
    status, listed = world.call("GET", "/v1/workflows/integrations", query={"workflow_id": world.workflow_id})
    assert status == 200 and listed["items"] == [answer] and listed["integrations"] == [answer]
    assert listed["next_cursor"] is None
    assert "abcdefghijklmnop" not in json.dumps(listed)


def test_given_a_webhook_integration_then_query_values_and_secret_headers_are_masked(world: World) -> None:
    answer = created(world, webhook(world))
    assert answer["config"] == {"url": HOOK_MASKED, "method": "POST",
                                "headers": {"Authorization": "****cdef", "Content-Type": "application/json",
                                            "X-Short": "****"}}
    assert BEARER not in json.dumps(answer) and "tok_0123" not in json.dumps(answer)


def test_given_an_email_integration_then_nothing_is_masked_and_a_single_address_becomes_a_list(
        world: World) -> None:
    body = {"workflow_id": world.workflow_id, "name": "AP", "integration_type": "email",
            "config": {"to": "ap@example.com", "subject": "Invoice {{invoice_number}}"}}
    answer = created(world, body)
    assert answer["config"] == {"to": ["ap@example.com"], "subject": "Invoice {{invoice_number}}", "template": None}


def test_given_the_integrations_route_then_it_wins_over_the_workflow_id_route(world: World) -> None:
    created(world, slack(world))
    status, listed = world.call("GET", "/v1/workflows/integrations", query={"workflow_id": world.workflow_id})
    assert status == 200 and len(listed["items"]) == 1
    status, workflow = world.call("GET", f"/v1/workflows/{world.workflow_id}")
    assert status == 200 and workflow["id"] == world.workflow_id
    status, error = world.call("GET", "/v1/workflows/integrations")  # no workflow_id: a 422, not "no workflow"
    assert status == 422 and error["error"]["details"][0]["loc"] == ["query", "workflow_id"]


def test_given_many_integrations_when_listed_then_pages_follow_the_cursor(world: World) -> None:
    ids = {created(world, slack(world))["id"] for _ in range(3)}
    status, first = world.call("GET", "/v1/workflows/integrations",
                               query={"workflow_id": world.workflow_id, "limit": "2"})
    assert status == 200 and len(first["items"]) == 2 and first["next_cursor"]
    status, second = world.call("GET", "/v1/workflows/integrations",
                                query={"workflow_id": world.workflow_id, "limit": "2", "cursor": first["next_cursor"]})
    assert {i["id"] for i in first["items"] + second["items"]} == ids and second["next_cursor"] is None


# --- PUT: masked secrets are kept ------------------------------------------------------------------

def test_given_a_get_body_put_back_then_every_secret_is_kept(world: World) -> None:
    for body in (slack(world), webhook(world)):
        answer = created(world, body)
        before = stored_config(world, answer["id"])
        status, replaced = world.call("PUT", "/v1/workflows/integrations", {**answer, "name": "renamed"},
                                      query={"id": answer["id"]})
        assert status == 200, replaced
        assert replaced["name"] == "renamed" and replaced["config"] == answer["config"]
        assert stored_config(world, answer["id"]) == before


def test_given_a_put_with_a_new_secret_then_it_replaces_the_stored_one_and_keeps_the_masked_others(
        world: World) -> None:
    answer = created(world, webhook(world))
    config = {**answer["config"], "headers": {**answer["config"]["headers"], "X-Short": "xyz"}}
    status, replaced = world.call("PUT", "/v1/workflows/integrations", {"config": config},
                                  query={"id": answer["id"]})
    assert status == 200, replaced
    stored = stored_config(world, answer["id"])
    assert stored["headers"] == {"Authorization": BEARER, "Content-Type": "application/json", "X-Short": "xyz"}
    assert stored["url"] == HOOK_URL
    new_url = "https://hooks.slack.com/services/T999/B999/zzzzzzzzzzzzzzzzzzzz9876"
    slack_answer = created(world, slack(world))
    status, replaced = world.call("PUT", "/v1/workflows/integrations",
                                  {"config": {"webhook_url": new_url, "channel": "#ap"}},
                                  query={"id": slack_answer["id"]})
    assert status == 200 and replaced["config"]["webhook_url"].endswith("/****9876")
    assert stored_config(world, slack_answer["id"]) == {"webhook_url": new_url, "channel": "#ap"}


def test_given_a_put_with_only_a_name_then_the_config_stays(world: World) -> None:
    answer = created(world, slack(world))
    status, replaced = world.call("PUT", "/v1/workflows/integrations", {"name": "n2"}, query={"id": answer["id"]})
    assert status == 200 and replaced["name"] == "n2" and replaced["config"] == answer["config"]
    assert replaced["updated_at"] >= answer["updated_at"] and replaced["created_at"] == answer["created_at"]


def test_given_a_masked_value_that_is_not_the_stored_ones_mask_when_put_then_422_names_it(world: World) -> None:
    answer = created(world, webhook(world))
    config = {**answer["config"], "headers": {"Authorization": "****nope"}}
    status, error = world.call("PUT", "/v1/workflows/integrations", {"config": config}, query={"id": answer["id"]})
    assert status == 422 and error["error"]["details"][0]["loc"] == ["body", "config", "headers", "Authorization"]
    status, error = world.call("POST", "/v1/workflows/integrations", slack(world, webhook_url=SLACK_MASKED))
    assert status == 422 and error["error"]["details"][0]["loc"] == ["body", "config", "webhook_url"]


def test_given_a_type_change_when_put_then_it_needs_the_new_config(world: World) -> None:
    answer = created(world, slack(world))
    status, error = world.call("PUT", "/v1/workflows/integrations", {"integration_type": "email"},
                               query={"id": answer["id"]})
    assert status == 422 and error["error"]["details"][0]["loc"] == ["body", "config"]
    status, changed = world.call("PUT", "/v1/workflows/integrations",
                                 {"integration_type": "email", "config": {"to": ["a@example.com"], "subject": "s"}},
                                 query={"id": answer["id"]})
    assert status == 200 and changed["integration_type"] == "email"
    status, error = world.call("PUT", "/v1/workflows/integrations", {"config": {"url": "https://example.com/"}},
                               query={"id": answer["id"]})  # read as the stored type (email): fields named
    assert status == 422
    assert {tuple(d["loc"]) for d in error["error"]["details"]} >= {("body", "config", "url"),
                                                                     ("body", "config", "to")}


# --- validation and the SSRF guard at save -----------------------------------------------------------

@pytest.mark.parametrize(("config", "field", "reason"), [
    ({"webhook_url": "http://169.254.169.254/latest/meta-data/"}, "webhook_url",
     "169.254.169.254 is a cloud metadata address"),
    ({"webhook_url": "http://[::ffff:127.0.0.1]/"}, "webhook_url", "a loopback address"),
    ({"webhook_url": "https://evil.example/services/x"}, "webhook_url",
     "evil.example resolves to 10.0.0.7, a private address"),
    ({"webhook_url": "ftp://hooks.slack.com/x"}, "webhook_url", "only http and https"),
])
def test_given_a_refused_slack_url_when_created_then_422_names_the_field_and_the_reason(
        world: World, config: dict[str, Any], field: str, reason: str) -> None:
    status, error = world.call("POST", "/v1/workflows/integrations", slack(world, **config))
    assert status == 422 and error["error"]["code"] == "url_refused"
    [detail] = error["error"]["details"]
    assert detail["loc"] == ["body", "config", field] and reason in detail["msg"]
    assert world.repository.list_for_workflow(WS, world.workflow_id, 10, None).items == []


def test_given_a_refused_webhook_url_when_created_or_put_then_422_names_config_url(world: World) -> None:
    status, error = world.call("POST", "/v1/workflows/integrations", webhook(world, url="http://10.0.0.1/hook"))
    assert status == 422 and error["error"]["details"][0] == {"loc": ["body", "config", "url"],
                                                              "msg": "10.0.0.1 is a private address"}
    answer = created(world, webhook(world))
    status, error = world.call("PUT", "/v1/workflows/integrations",
                               {"config": {**answer["config"], "url": "http://user:pw@example.com/"}},
                               query={"id": answer["id"]})
    assert status == 422 and error["error"]["details"][0]["loc"] == ["body", "config", "url"]
    assert stored_config(world, answer["id"])["url"] == HOOK_URL


@pytest.mark.parametrize(("body_change", "loc"), [
    ({"integration_type": "teams"}, ["body"]),  # pydantic's union_tag_invalid: its msg names integration_type
    ({"config": {"webhook_url": SLACK_URL, "chanel": "#typo"}}, ["body", "slack", "config", "chanel"]),
    ({"extra": 1}, ["body", "slack", "extra"]),
    ({"name": ""}, ["body", "slack", "name"]),
])
def test_given_an_invalid_body_when_created_then_422_names_the_field(
        world: World, body_change: dict[str, Any], loc: list[str]) -> None:
    status, error = world.call("POST", "/v1/workflows/integrations", {**slack(world), **body_change})
    assert status == 422, error
    assert loc in [d["loc"] for d in error["error"]["details"]], error
    if loc == ["body"]:
        assert "integration_type" in error["error"]["details"][0]["msg"]


@pytest.mark.parametrize("config", [{"to": ["not-an-address"], "subject": "s"}, {"to": [], "subject": "s"}])
def test_given_a_bad_email_config_when_created_then_422(world: World, config: dict[str, Any]) -> None:
    body = {"workflow_id": world.workflow_id, "name": "AP", "integration_type": "email", "config": config}
    assert world.call("POST", "/v1/workflows/integrations", body)[0] == 422


def test_given_headers_the_sender_owns_when_created_then_422(world: World) -> None:
    status, error = world.call("POST", "/v1/workflows/integrations", webhook(world, headers={"Host": "x"}))
    assert status == 422 and "Host cannot be set" in json.dumps(error)


# --- scoping and deletion ----------------------------------------------------------------------------

def test_given_another_workspaces_workflow_or_integration_then_404_like_an_unknown_id(world: World) -> None:
    answer = created(world, slack(world))
    for workflow_id in (world.other_workflow_id, "wf_unknown"):
        status, error = world.call("POST", "/v1/workflows/integrations", {**slack(world), "workflow_id": workflow_id})
        assert status == 404 and error["error"]["code"] == "not_found"
        status, _ = world.call("GET", "/v1/workflows/integrations", query={"workflow_id": workflow_id})
        assert status == 404
    for integration_id in (answer["id"], "int_unknown"):
        status, error = world.call("PUT", "/v1/workflows/integrations", {"name": "x"}, query={"id": integration_id},
                                   workspace=OTHER)
        assert status == 404 and error["error"]["message"] == f"integration {integration_id} not found"
        status, _ = world.call("DELETE", "/v1/workflows/integrations", query={"id": integration_id},
                               workspace=OTHER)
        assert status == 404
    assert world.repository.get(WS, answer["id"]).name == "finance channel"


def test_given_an_integration_when_deleted_then_204_and_it_is_gone(world: World) -> None:
    answer = created(world, slack(world))
    status, body = world.call("DELETE", "/v1/workflows/integrations", query={"id": answer["id"]})
    assert status == 204 and body is None
    assert world.call("GET", "/v1/workflows/integrations", query={"workflow_id": world.workflow_id})[1]["items"] == []
    assert world.call("DELETE", "/v1/workflows/integrations", query={"id": answer["id"]})[0] == 404


def test_given_a_workflow_with_integrations_when_deleted_then_its_integrations_go_and_others_stay(
        world: World) -> None:
    second = workflow_cases.create_workflow(world.ports.workflows, WS, INVOICE_WORKFLOW)
    for _ in range(3):
        created(world, slack(world))
    kept = created(world, {**slack(world), "workflow_id": second.id})
    workflow_cases.delete_workflow(world.ports, WS, world.workflow_id)
    assert world.repository.list_for_workflow(WS, world.workflow_id, 10, None).items == []
    assert [i.id for i in world.repository.list_for_workflow(WS, second.id, 10, None).items] == [kept["id"]]
