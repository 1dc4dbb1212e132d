"""Workspace isolation over real HTTP in local mode (DESIGN.md §3: nothing crosses a workspace;
another workspace's id answers 404, exactly as an unknown id).

Workspace A ("default", the fixture's key) owns a workflow, an uploaded document, a finished
execution and a second API key. Workspace B then walks every route the API registers with A's
ids. The walk is driven by the resolver's own route table, so a route added later without a
probe here fails `test_every_route_has_a_probe` instead of being silently skipped."""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from docflow_testing import API_KEY, INVOICE_WORKFLOW, Api, LocalMode, invoice_pdf

from docflow.api.app import create_app
from docflow.domain.clock import new_id

pytestmark = pytest.mark.e2e

HIDDEN = "hidden"  # 404 (or 403), error shape, and the same answer as for an unknown id
OWN = "own"  # B's own workspace: 2xx, and nothing of A in it
PUBLIC = "public"  # needs no key: 2xx, and nothing of A in it
EMPTY_OR_HIDDEN = "empty_or_hidden"  # a list filtered by A's id: 404, or 200 with no items
REFUSED = "refused"  # authenticated by something other than an API key: 401, 403 or 404


@dataclass
class Seed:
    """What workspace A owns, and the strings that must never reach workspace B."""

    workflow_id: str
    workflow_name: str
    document_id: str
    document_name: str
    execution_id: str
    execution_name: str
    key_ids: list[str]
    key_name: str
    key_secret: str
    key_prefixes: list[str]
    b_workflow_id: str

    def ids(self) -> dict[str, str]:
        """A's ids, each with the prefix of its kind (to make an unknown id of the same shape)."""
        found = {self.workflow_id: "wf", self.document_id: "doc", self.execution_id: "exe"}
        found.update({key_id: "key" for key_id in self.key_ids})
        return found

    def secrets(self) -> list[str]:
        return [*self.ids(), self.workflow_name, self.document_name, self.execution_name, self.key_name,
                self.key_secret, API_KEY, *self.key_prefixes]


@dataclass
class Probe:
    method: str
    path: str
    mode: str
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)


def _token() -> str:
    return uuid.uuid4().hex[:10]


def seed(local_mode: LocalMode, b: Api) -> Seed:
    a = local_mode.api
    workflow_name = f"A-secret-workflow-{_token()}"
    created = a.post("/v1/workflows", json={**INVOICE_WORKFLOW, "name": workflow_name})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]

    document_name = f"A-secret-invoice-{_token()}.pdf"
    document_id = a.upload(document_name, invoice_pdf())

    execution_name = f"A-secret-run-{_token()}"
    started = a.post(f"/v1/workflows/{workflow_id}/executions",
                     json={"document_id": document_id, "name": execution_name})
    assert started.status_code == 202, started.text
    execution_id = started.json()["id"]
    assert a.wait(execution_id)["status"] == "completed"

    key_name = f"A-secret-key-{_token()}"
    issued = a.post("/v1/api-keys", json={"name": key_name})
    assert issued.status_code == 201, issued.text
    keys = a.get("/v1/api-keys").json()["items"]
    assert {k["id"] for k in keys} >= {issued.json()["id"]} and len(keys) == 2

    b_workflow = b.post("/v1/workflows", json={**INVOICE_WORKFLOW, "name": "B's own"})
    assert b_workflow.status_code == 201, b_workflow.text
    return Seed(workflow_id=workflow_id, workflow_name=workflow_name, document_id=document_id,
                document_name=document_name, execution_id=execution_id, execution_name=execution_name,
                key_ids=[k["id"] for k in keys], key_name=key_name, key_secret=issued.json()["key"],
                key_prefixes=[k["prefix"] for k in keys], b_workflow_id=b_workflow.json()["id"])


# --- the probes, keyed by (METHOD, path with every parameter written `{}`) ---------------------

SCHEDULE = {"cron_expression": "0 9 * * 1-5", "timezone": "America/New_York", "enabled": True}


def _probes(s: Seed) -> dict[tuple[str, str], list[Probe]]:
    wf, doc, exe, key = s.workflow_id, s.document_id, s.execution_id, s.key_ids[0]
    b_wf = s.b_workflow_id
    workflow_body = {**INVOICE_WORKFLOW, "name": "renamed by B"}
    return {
        # public
        ("GET", "/v1/openapi.json"): [Probe("GET", "/v1/openapi.json", PUBLIC)],
        ("GET", "/v1/docs"): [Probe("GET", "/v1/docs", PUBLIC)],
        ("GET", "/review"): [Probe("GET", "/review", PUBLIC)],
        # api keys
        ("POST", "/v1/api-keys"): [Probe("POST", "/v1/api-keys", OWN, {"name": "B's key"})],
        ("GET", "/v1/api-keys"): [Probe("GET", "/v1/api-keys", OWN)],
        ("DELETE", "/v1/api-keys/{}"): [Probe("DELETE", f"/v1/api-keys/{k}", HIDDEN) for k in s.key_ids],
        # workflows
        ("POST", "/v1/workflows"): [Probe("POST", "/v1/workflows", OWN, {**INVOICE_WORKFLOW, "name": "B two"})],
        ("GET", "/v1/workflows"): [Probe("GET", "/v1/workflows", OWN)],
        ("GET", "/v1/workflows/{}"): [Probe("GET", f"/v1/workflows/{wf}", HIDDEN)],
        ("PUT", "/v1/workflows/{}"): [Probe("PUT", f"/v1/workflows/{wf}", HIDDEN, workflow_body),
                                      Probe("PUT", f"/v1/workflows/{wf}", HIDDEN, {**workflow_body, "id": wf})],
        ("DELETE", "/v1/workflows/{}"): [Probe("DELETE", f"/v1/workflows/{wf}", HIDDEN)],
        # documents
        ("POST", "/v1/documents"): [Probe("POST", "/v1/documents", OWN,
                                          {"name": "b.pdf", "content_type": "application/pdf", "size": 10})],
        ("GET", "/v1/documents/{}"): [Probe("GET", f"/v1/documents/{doc}", HIDDEN)],
        # executions
        ("POST", "/v1/workflows/{}/executions"): [
            Probe("POST", f"/v1/workflows/{wf}/executions", HIDDEN, {"document_id": doc}),
            Probe("POST", f"/v1/workflows/{b_wf}/executions", HIDDEN, {"document_id": doc}),
            Probe("POST", f"/v1/workflows/{b_wf}/executions", HIDDEN, {"document_ids": [doc]}),
        ],
        ("POST", "/v1/workflows/{}/execute"): [
            Probe("POST", f"/v1/workflows/{wf}/execute", HIDDEN, {"trigger_data": {"document_id": doc}}),
            Probe("POST", f"/v1/workflows/{b_wf}/execute", HIDDEN, {"trigger_data": {"document_id": doc}}),
        ],
        ("GET", "/v1/workflows/{}/executions"): [
            Probe("GET", f"/v1/workflows/{wf}/executions", HIDDEN),
            Probe("GET", f"/v1/workflows/{wf}/executions", HIDDEN, query={"status": "completed"}),
            Probe("GET", f"/v1/workflows/{b_wf}/executions", OWN),
        ],
        ("GET", "/v1/workflows/{}/executions/{}"): [
            Probe("GET", f"/v1/workflows/{wf}/executions/{exe}", HIDDEN),
            Probe("GET", f"/v1/workflows/{b_wf}/executions/{exe}", HIDDEN),
        ],
        ("GET", "/v1/executions/{}"): [Probe("GET", f"/v1/executions/{exe}", HIDDEN)],
        ("PATCH", "/v1/workflows/{}/executions/{}"): [
            Probe("PATCH", f"/v1/workflows/{wf}/executions/{exe}", HIDDEN, {"status": "completed"}),
            Probe("PATCH", f"/v1/workflows/{wf}/executions/{exe}", HIDDEN, {"status": "canceled"}),
            Probe("PATCH", f"/v1/workflows/{b_wf}/executions/{exe}", HIDDEN, {"status": "completed"}),
        ],
        # Routes DESIGN.md §1 announces; probed as soon as they are registered.
        ("GET", "/v1/workflows/templates"): [Probe("GET", "/v1/workflows/templates", OWN)],
        ("POST", "/v1/workflows/templates"): [Probe("POST", "/v1/workflows/templates", OWN,
                                                    {"template_id": "invoice", "name": "B from template",
                                                     "description": "B"})],
        ("GET", "/v1/reviews"): [Probe("GET", "/v1/reviews", EMPTY_OR_HIDDEN, query={"workflow_id": wf})],
        ("GET", "/v1/reviews/{}"): [Probe("GET", f"/v1/reviews/{exe}", HIDDEN)],
        ("POST", "/v1/reviews/{}/complete"): [Probe("POST", f"/v1/reviews/{exe}/complete", HIDDEN, {"values": {}})],
        ("POST", "/v1/reviews/{}/reject"): [Probe("POST", f"/v1/reviews/{exe}/reject", HIDDEN, {})],
        ("GET", "/v1/workflows/{}/schedule"): [Probe("GET", f"/v1/workflows/{wf}/schedule", HIDDEN)],
        ("POST", "/v1/workflows/{}/schedule"): [Probe("POST", f"/v1/workflows/{wf}/schedule", HIDDEN, SCHEDULE)],
        ("PUT", "/v1/workflows/{}/schedule"): [Probe("PUT", f"/v1/workflows/{wf}/schedule", HIDDEN, SCHEDULE)],
        ("DELETE", "/v1/workflows/{}/schedule"): [Probe("DELETE", f"/v1/workflows/{wf}/schedule", HIDDEN)],
        ("GET", "/v1/workflows/integrations"): [Probe("GET", "/v1/workflows/integrations", EMPTY_OR_HIDDEN,
                                                      query={"workflow_id": wf})],
        ("POST", "/v1/workflows/integrations"): [Probe("POST", "/v1/workflows/integrations", HIDDEN, {
            "workflow_id": wf, "name": "n", "integration_type": "webhook",
            "config": {"url": "https://example.com/hook", "method": "POST", "headers": {}}})],
        ("PUT", "/v1/workflows/integrations"): [Probe("PUT", "/v1/workflows/integrations", HIDDEN,
                                                      {"name": "n"}, query={"id": key})],
        ("DELETE", "/v1/workflows/integrations"): [Probe("DELETE", "/v1/workflows/integrations", HIDDEN,
                                                         query={"id": key})],
        ("GET", "/v1/webhooks"): [Probe("GET", "/v1/webhooks", OWN)],
        ("POST", "/v1/webhooks"): [Probe("POST", "/v1/webhooks", OWN, {"url": "https://example.com/b"})],
        ("DELETE", "/v1/webhooks/{}"): [Probe("DELETE", f"/v1/webhooks/{key}", HIDDEN)],
        ("POST", "/v1/hooks/{}"): [Probe("POST", f"/v1/hooks/{wf}", REFUSED, {"document_id": doc})],
    }


def registered_routes(local_mode: LocalMode) -> set[tuple[str, str]]:
    """(METHOD, path) of every route the powertools resolver registers, parameters as `{}`."""
    app = create_app(local_mode.server.runtime.ports)
    routes = [*app._static_routes, *app._dynamic_routes]
    assert routes, "the resolver's route table moved: find where powertools keeps the routes now"
    return {(route.method.upper(), re.sub(r"<[^>]+>", "{}", route.path)) for route in routes}


def _spec_routes(local_mode: LocalMode) -> set[tuple[str, str]]:
    spec = requests.get(f"{local_mode.url}/v1/openapi.json", timeout=30).json()
    return {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
            for path, operations in spec["paths"].items() for method in operations}


# --- assertions --------------------------------------------------------------------------------

def assert_error_shape(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    return dict(body)


def assert_nothing_of_a(s: Seed, probe: Probe, response: requests.Response) -> None:
    """No id, name or secret of A, except the ids B itself sent (a 404 may name the id it did
    not find, as it does for any unknown id; `send` checks the answer is that one)."""
    sent = probe.path + json.dumps(probe.query) + json.dumps(probe.body)
    leaked = [secret for secret in s.secrets() if secret not in sent and secret in response.text]
    assert not leaked, f"{probe.method} {probe.path} leaks {leaked}: {response.text[:500]}"
    assert '"workspace_id": "default"' not in response.text and '"workspace_id":"default"' not in response.text


def _substitute(value: Any, mapping: dict[str, str]) -> Any:
    text = json.dumps(value)
    for old, new in mapping.items():
        text = text.replace(old, new)
    return json.loads(text)


def send(b: Api, s: Seed, probe: Probe) -> requests.Response:
    response = b.request(probe.method, probe.path, json=probe.body, params=probe.query or None)
    label = f"{probe.method} {probe.path} {probe.query or ''} {probe.body or ''}"
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text}"
    assert_nothing_of_a(s, probe, response)
    if probe.mode in (OWN, PUBLIC):
        assert 200 <= response.status_code < 300, f"{label}: {response.status_code} {response.text}"
    elif probe.mode == REFUSED:
        assert response.status_code in (401, 403, 404), f"{label}: {response.status_code} {response.text}"
        assert_error_shape(response)
    elif probe.mode == EMPTY_OR_HIDDEN:
        if response.status_code == 200:
            assert response.json()["items"] == [], f"{label}: {response.text}"
        else:
            assert response.status_code in (403, 404), f"{label}: {response.status_code} {response.text}"
            assert_error_shape(response)
    else:
        assert probe.mode == HIDDEN
        assert response.status_code in (403, 404), f"{label}: {response.status_code} {response.text}"
        error = assert_error_shape(response)
        # "exactly as an unknown id": the same request with fresh ids gets the same answer.
        unknown = {old: new_id(kind) for old, kind in s.ids().items()}
        control = b.request(probe.method, _substitute(probe.path, unknown),
                            json=_substitute(probe.body, unknown) if probe.body is not None else None,
                            params=_substitute(probe.query, unknown) or None)
        assert control.status_code == response.status_code, f"{label}: {response.text} vs {control.text}"
        back = {new: old for old, new in unknown.items()}
        assert _substitute(control.json(), back) == error, f"{label}: {response.text} vs {control.text}"
    return response


# --- tests ---------------------------------------------------------------------------------------

def test_every_route_has_a_probe(local_mode: LocalMode) -> None:
    """A route without a probe would escape the isolation walk: add it to `_probes`."""
    placeholder = Seed("wf_x", "n", "doc_x", "n", "exe_x", "n", ["key_x"], "n", "s", ["p"], "wf_y")
    probed = set(_probes(placeholder))
    registered = registered_routes(local_mode)
    assert registered - probed == set(), f"routes with no isolation probe: {sorted(registered - probed)}"
    assert _spec_routes(local_mode) <= registered


def test_another_workspace_sees_none_of_a_on_any_route(local_mode: LocalMode) -> None:
    a = local_mode.api
    b = Api(local_mode.url, local_mode.other_workspace_key())
    s = seed(local_mode, b)
    before = {path: a.get(path).json() for path in (f"/v1/workflows/{s.workflow_id}", f"/v1/documents/{s.document_id}",
                                                    f"/v1/executions/{s.execution_id}")}
    probes = _probes(s)
    walked = 0
    for route in sorted(registered_routes(local_mode)):
        for probe in probes[route]:
            send(b if probe.mode != PUBLIC else Api(local_mode.url, None), s, probe)
            walked += 1
    assert walked >= len(registered_routes(local_mode))

    # Nothing of A changed: B's PUT, DELETE, PATCH and revoke all missed.
    for path, body in before.items():
        after = a.get(path)
        assert after.status_code == 200, f"{path}: {after.text}"
        if "documents" in path:  # download URLs are signed per request
            assert {k: v for k, v in after.json().items() if k != "download_url"} == \
                   {k: v for k, v in body.items() if k != "download_url"}
        else:
            assert after.json() == body
    assert Api(local_mode.url, s.key_secret).get("/v1/workflows").status_code == 200
    assert a.get("/v1/workflows").status_code == 200


def test_lists_of_another_workspace_hold_none_of_a(local_mode: LocalMode) -> None:
    b = Api(local_mode.url, local_mode.other_workspace_key())
    s = seed(local_mode, b)
    for path, alias in (("/v1/workflows", "workflows"), ("/v1/api-keys", "api_keys")):
        listed = b.get(path, params={"limit": 100})
        assert listed.status_code == 200, listed.text
        body = listed.json()
        ids = {item["id"] for item in body["items"]}
        assert ids.isdisjoint(s.ids()), f"{path}: {body}"
        assert {item["workspace_id"] for item in body["items"]} == {"other"}
        assert body[alias] == body["items"]
        assert body["next_cursor"] is None
        assert_nothing_of_a(s, Probe("GET", path, OWN), listed)
    assert [w["id"] for w in b.get("/v1/workflows").json()["items"]] == [s.b_workflow_id]
    assert [k["name"] for k in b.get("/v1/api-keys").json()["items"]] == ["second"]
    # A sees its own, and only its own.
    a_workflows = local_mode.api.get("/v1/workflows").json()["items"]
    assert [w["id"] for w in a_workflows] == [s.workflow_id]


def test_another_workspace_cannot_revoke_a_key(local_mode: LocalMode) -> None:
    b = Api(local_mode.url, local_mode.other_workspace_key())
    s = seed(local_mode, b)
    for key_id in s.key_ids:
        refused = b.request("DELETE", f"/v1/api-keys/{key_id}")
        assert refused.status_code == 404, refused.text
        assert assert_error_shape(refused)["error"]["code"] == "not_found"
    assert local_mode.api.get("/v1/workflows").status_code == 200
    assert Api(local_mode.url, s.key_secret).get(f"/v1/workflows/{s.workflow_id}").status_code == 200
    listed = local_mode.api.get("/v1/api-keys").json()["items"]
    assert [k["revoked_at"] for k in listed] == [None, None]


# --- authentication ------------------------------------------------------------------------------

def _raw(local_mode: LocalMode, authorization: str | None, path: str = "/v1/workflows") -> requests.Response:
    headers = {} if authorization is None else {"Authorization": authorization}
    return requests.get(f"{local_mode.url}{path}", headers=headers, timeout=30)


def test_request_without_a_key_is_401(local_mode: LocalMode) -> None:
    for path in ("/v1/workflows", "/v1/api-keys", f"/v1/executions/{new_id('exe')}", "/v1/no-such-route"):
        response = _raw(local_mode, None, path)
        assert response.status_code == 401, f"{path}: {response.text}"
        assert assert_error_shape(response)["error"]["code"] == "unauthorized"
    assert _raw(local_mode, None, "/v1/openapi.json").status_code == 200
    assert _raw(local_mode, None, "/v1/docs").status_code == 200


def test_revoked_key_is_401(local_mode: LocalMode) -> None:
    a = local_mode.api
    issued = a.post("/v1/api-keys", json={"name": "short-lived"}).json()
    assert _raw(local_mode, f"Bearer {issued['key']}").status_code == 200
    revoked = a.request("DELETE", f"/v1/api-keys/{issued['id']}")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None and "key" not in revoked.json()
    for header in (f"Bearer {issued['key']}", "Basic " + base64.b64encode(f"{issued['key']}:".encode()).decode()):
        response = _raw(local_mode, header)
        assert response.status_code == 401, response.text
        assert assert_error_shape(response)["error"]["code"] == "unauthorized"
    assert _raw(local_mode, f"Bearer {API_KEY}").status_code == 200


@pytest.mark.parametrize("authorization", [
    "", "Bearer", "Bearer ", "bearer  ", API_KEY, f"Token {API_KEY}", f"Bearer{API_KEY}",
    "Bearer not-a-docflow-key", "Bearer dfk_" + "u" * 40, f"Bearer {API_KEY}x", f"Bearer {API_KEY[:-1]}",
    "Basic", "Basic !!!not-base64!!!", "Basic " + base64.b64encode(b"\xff\xfe:").decode(),
    "Basic " + base64.b64encode(f":{API_KEY}".encode()).decode(),
    "Basic " + base64.b64encode(b"dfk_" + b"u" * 40 + b":").decode(),
])
def test_malformed_or_unknown_authorization_is_401(local_mode: LocalMode, authorization: str) -> None:
    response = _raw(local_mode, authorization)
    assert response.status_code == 401, response.text
    assert assert_error_shape(response)["error"]["code"] == "unauthorized"
    assert API_KEY not in response.text


def test_basic_auth_with_the_key_as_user_works(local_mode: LocalMode) -> None:
    created = local_mode.api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()
    for credentials in (f"{API_KEY}:", API_KEY, f"{API_KEY}:ignored-password"):
        response = _raw(local_mode, "Basic " + base64.b64encode(credentials.encode()).decode())
        assert response.status_code == 200, f"{credentials}: {response.text}"
        assert [w["id"] for w in response.json()["items"]] == [created["id"]]
