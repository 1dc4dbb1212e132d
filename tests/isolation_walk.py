"""The workspace-isolation walk (DESIGN.md §3), shared by the local-mode and the AWS tests:
workspace A owns a workflow, an uploaded document, a finished execution and a second API key;
workspace B then sends every route the API registers with A's ids. Clients are duck-typed:
`request(method, path, json=, params=)` answering `status_code`, `text`, `json()`."""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from docflow_testing import API_KEY, INVOICE_WORKFLOW, invoice_pdf, review_workflow

from docflow.api.app import create_app
from docflow.domain.clock import new_id

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
    schedule_id: str = ""
    webhook_id: str = ""
    webhook_secret: str = ""
    review_id: str = ""
    review_workflow_id: str = ""
    review_execution_id: str = ""
    review_workflow_name: str = ""

    def ids(self) -> dict[str, str]:
        """A's ids, each with the prefix of its kind (to make an unknown id of the same shape)."""
        found = {self.workflow_id: "wf", self.document_id: "doc", self.execution_id: "exe"}
        found.update({key_id: "key" for key_id in self.key_ids})
        if self.schedule_id:
            found[self.schedule_id] = "sch"
        if self.webhook_id:
            found[self.webhook_id] = "whk"
        if self.review_id:
            found[self.review_id] = "rev"
            found[self.review_workflow_id] = "wf"
            found[self.review_execution_id] = "exe"
        return found

    def secrets(self) -> list[str]:
        return [*self.ids(), self.workflow_name, self.document_name, self.execution_name, self.key_name,
                *([self.review_workflow_name] if self.review_workflow_name else []),
                self.key_secret, API_KEY, *self.key_prefixes, *([self.webhook_secret] if self.webhook_secret else [])]


@dataclass
class Probe:
    method: str
    path: str
    mode: str
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)


def _token() -> str:
    return uuid.uuid4().hex[:10]


def seed(a: Any, b: Any) -> Seed:
    """A's items, made through A's client (local HTTP or the AWS handlers), and B's own workflow."""
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

    # A's workflow has a schedule (29 February: it cannot fire while the walk runs).
    scheduled = a.post(f"/v1/workflows/{workflow_id}/schedule",
                       json={**SCHEDULE, "cron_expression": "0 3 29 2 *", "input": {"document_id": document_id}})
    assert scheduled.status_code == 201, scheduled.text

    # A's webhook subscription: disabled, and to a public address literal (no DNS; nothing is sent).
    subscribed = a.post("/v1/webhooks", json={**WEBHOOK, "workflow_id": workflow_id})
    assert subscribed.status_code == 201, subscribed.text

    key_name = f"A-secret-key-{_token()}"
    issued = a.post("/v1/api-keys", json={"name": key_name})
    assert issued.status_code == 201, issued.text
    keys = a.get("/v1/api-keys").json()["items"]
    assert {k["id"] for k in keys} >= {issued.json()["id"]} and len(keys) == 2

    review_id, review_workflow_id, review_execution_id, review_workflow_name = _paused_review(a, document_id)

    b_workflow = b.post("/v1/workflows", json={**INVOICE_WORKFLOW, "name": "B's own"})
    assert b_workflow.status_code == 201, b_workflow.text
    return Seed(workflow_id=workflow_id, workflow_name=workflow_name, document_id=document_id,
                document_name=document_name, execution_id=execution_id, execution_name=execution_name,
                key_ids=[k["id"] for k in keys], key_name=key_name, key_secret=issued.json()["key"],
                key_prefixes=[k["prefix"] for k in keys], b_workflow_id=b_workflow.json()["id"],
                schedule_id=scheduled.json()["id"], webhook_id=subscribed.json()["id"],
                webhook_secret=subscribed.json()["secret"], review_id=review_id,
                review_workflow_id=review_workflow_id, review_execution_id=review_execution_id,
                review_workflow_name=review_workflow_name)


def _paused_review(a: Any, document_id: str) -> tuple[str, str, str, str]:
    """A run of A's waiting in review, and its task's id."""
    name = f"A-secret-reviewed-{_token()}"
    workflow = a.post("/v1/workflows", json={**review_workflow(), "name": name})
    assert workflow.status_code == 201, workflow.text
    started = a.post(f"/v1/workflows/{workflow.json()['id']}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 30
    while a.get(f"/v1/executions/{started.json()['id']}").json()["status"] != "review":
        assert time.monotonic() < deadline, "A's run never reached review"
        time.sleep(0.02)
    tasks = a.get("/v1/reviews", params={"workflow_id": workflow.json()["id"]}).json()["items"]
    assert len(tasks) == 1, tasks
    return str(tasks[0]["id"]), str(workflow.json()["id"]), str(started.json()["id"]), name


# --- the probes, keyed by (METHOD, path with every parameter written `{}`) ---------------------

SCHEDULE = {"cron_expression": "0 9 * * 1-5", "timezone": "America/New_York", "enabled": True}
WEBHOOK = {"url": "https://93.184.215.14/docflow-walk", "events": ["*"], "enabled": False}


def probes_for(s: Seed) -> dict[tuple[str, str], list[Probe]]:
    wf, doc, exe, key = s.workflow_id, s.document_id, s.execution_id, s.key_ids[0]
    rev = s.review_id or exe
    b_wf = s.b_workflow_id
    workflow_body = {**INVOICE_WORKFLOW, "name": "renamed by B"}
    return {
        # public
        ("GET", "/"): [Probe("GET", "/", PUBLIC)],
        ("GET", "/v1/openapi.json"): [Probe("GET", "/v1/openapi.json", PUBLIC)],
        ("GET", "/v1/docs"): [Probe("GET", "/v1/docs", PUBLIC)],
        ("GET", "/v1/health"): [Probe("GET", "/v1/health", PUBLIC)],
        ("GET", "/review"): [Probe("GET", "/review", PUBLIC)],
        ("GET", "/review/app.js"): [Probe("GET", "/review/app.js", PUBLIC)],
        ("GET", "/review/app.css"): [Probe("GET", "/review/app.css", PUBLIC)],
        ("GET", "/review/icon.svg"): [Probe("GET", "/review/icon.svg", PUBLIC)],
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
        ("GET", "/v1/reviews"): [Probe("GET", "/v1/reviews", EMPTY_OR_HIDDEN, query={"workflow_id": wf}),
                                 Probe("GET", "/v1/reviews", OWN),
                                 Probe("GET", "/v1/reviews", OWN, query={"status": "pending"})],
        ("GET", "/v1/reviews/{}"): [Probe("GET", f"/v1/reviews/{rev}", HIDDEN)],
        ("GET", "/v1/reviews/{}/pages/{}"): [Probe("GET", f"/v1/reviews/{rev}/pages/1", HIDDEN)],
        ("POST", "/v1/reviews/{}/claim"): [Probe("POST", f"/v1/reviews/{rev}/claim", HIDDEN)],
        ("POST", "/v1/reviews/{}/release"): [Probe("POST", f"/v1/reviews/{rev}/release", HIDDEN)],
        ("POST", "/v1/reviews/{}/complete"): [Probe("POST", f"/v1/reviews/{rev}/complete", HIDDEN, {"values": {}})],
        ("POST", "/v1/reviews/{}/reject"): [Probe("POST", f"/v1/reviews/{rev}/reject", HIDDEN, {"reason": "B"})],
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
        ("POST", "/v1/webhooks"): [Probe("POST", "/v1/webhooks", OWN, WEBHOOK),
                                   Probe("POST", "/v1/webhooks", HIDDEN, {**WEBHOOK, "workflow_id": wf})],
        ("GET", "/v1/webhooks/{}"): [Probe("GET", f"/v1/webhooks/{s.webhook_id or key}", HIDDEN)],
        ("GET", "/v1/webhooks/{}/deliveries"): [Probe("GET", f"/v1/webhooks/{s.webhook_id or key}/deliveries",
                                                      HIDDEN)],
        ("DELETE", "/v1/webhooks/{}"): [Probe("DELETE", f"/v1/webhooks/{s.webhook_id or key}", HIDDEN)],
        # Signed with the workflow's secret, not an API key: B's key opens nothing of A's.
        ("POST", "/v1/hooks/{}"): [Probe("POST", f"/v1/hooks/{wf}", REFUSED, {"document_id": doc}),
                                   Probe("POST", f"/v1/hooks/{b_wf}", REFUSED, {"document_id": doc})],
        ("POST", "/v1/workflows/{}/webhook-secret"): [Probe("POST", f"/v1/workflows/{wf}/webhook-secret", HIDDEN)],
        # the Cradl-compatible surface
        ("POST", "/compat/cradl/documents"): [Probe("POST", "/compat/cradl/documents", OWN, {"name": "b.pdf"})],
        ("GET", "/compat/cradl/documents"): [Probe("GET", "/compat/cradl/documents", OWN)],
        ("GET", "/compat/cradl/documents/{}"): [Probe("GET", f"/compat/cradl/documents/{doc}", HIDDEN)],
        ("DELETE", "/compat/cradl/documents/{}"): [Probe("DELETE", f"/compat/cradl/documents/{doc}", HIDDEN)],
        ("PUT", "/compat/cradl/documents/{}/content"): [
            Probe("PUT", f"/compat/cradl/documents/{doc}/content", HIDDEN, {"bytes": "B's"})],
        ("GET", "/compat/cradl/documents/{}/content"): [Probe("GET", f"/compat/cradl/documents/{doc}/content", HIDDEN)],
        ("GET", "/compat/cradl/workflows"): [Probe("GET", "/compat/cradl/workflows", OWN)],
        ("GET", "/compat/cradl/workflows/{}"): [Probe("GET", f"/compat/cradl/workflows/{wf}", HIDDEN)],
        ("POST", "/compat/cradl/workflows/{}/executions"): [
            Probe("POST", f"/compat/cradl/workflows/{wf}/executions", HIDDEN, {"input": {"documentId": doc}}),
            Probe("POST", f"/compat/cradl/workflows/{b_wf}/executions", HIDDEN, {"input": {"documentId": doc}}),
        ],
        ("GET", "/compat/cradl/workflows/{}/executions"): [
            Probe("GET", f"/compat/cradl/workflows/{wf}/executions", HIDDEN),
            Probe("GET", f"/compat/cradl/workflows/{wf}/executions", HIDDEN, query={"status": "succeeded"}),
            Probe("GET", f"/compat/cradl/workflows/{b_wf}/executions", OWN),
        ],
        ("GET", "/compat/cradl/workflows/{}/executions/{}"): [
            Probe("GET", f"/compat/cradl/workflows/{wf}/executions/{exe}", HIDDEN),
            Probe("GET", f"/compat/cradl/workflows/{b_wf}/executions/{exe}", HIDDEN),
        ],
        ("PATCH", "/compat/cradl/workflows/{}/executions/{}"): [
            Probe("PATCH", f"/compat/cradl/workflows/{wf}/executions/{exe}", HIDDEN, {"status": "completed"}),
            Probe("PATCH", f"/compat/cradl/workflows/{b_wf}/executions/{exe}", HIDDEN, {"status": "completed"}),
        ],
        ("DELETE", "/compat/cradl/workflows/{}/executions/{}"): [
            Probe("DELETE", f"/compat/cradl/workflows/{wf}/executions/{exe}", HIDDEN),
            Probe("DELETE", f"/compat/cradl/workflows/{b_wf}/executions/{exe}", HIDDEN),
        ],
    }


def registered_routes(ports: Any) -> set[tuple[str, str]]:
    """(METHOD, path) of every route the powertools resolver registers, parameters as `{}`."""
    app = create_app(ports)
    routes = [*app._static_routes, *app._dynamic_routes]
    assert routes, "the resolver's route table moved: find where powertools keeps the routes now"
    return {(route.method.upper(), re.sub(r"<[^>]+>", "{}", route.path)) for route in routes}


def spec_routes(url: str) -> set[tuple[str, str]]:
    spec = requests.get(f"{url}/v1/openapi.json", timeout=30).json()
    return {(method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
            for path, operations in spec["paths"].items() for method in operations}


# --- assertions --------------------------------------------------------------------------------

def assert_error_shape(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["code"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert isinstance(body["error"]["details"], list)
    return dict(body)


def assert_nothing_of_a(s: Seed, probe: Probe, response: Any) -> None:
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


def send(b: Any, s: Seed, probe: Probe) -> Any:
    response = b.request(probe.method, probe.path, json=probe.body, params=probe.query or None)
    label = f"{probe.method} {probe.path} {probe.query or ''} {probe.body or ''}"
    assert response.status_code < 500, f"{label}: {response.status_code} {response.text}"
    assert_nothing_of_a(s, probe, response)
    if probe.mode == OWN:
        assert 200 <= response.status_code < 300, f"{label}: {response.status_code} {response.text}"
    elif probe.mode == PUBLIC:  # a redirect (GET /) counts: clients that do not follow it see the 302
        assert 200 <= response.status_code < 400, f"{label}: {response.status_code} {response.text}"
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


