"""Workspace isolation over real HTTP in local mode (DESIGN.md §3: nothing crosses a workspace;
another workspace's id answers 404, exactly as an unknown id). The walk itself is in
isolation_walk.py and runs against the AWS handlers too (tests/integration/test_isolation_aws.py).
It is driven by the resolver's own route table, so a route added later without a probe fails
`test_every_route_has_a_probe` instead of being silently skipped."""

from __future__ import annotations

import base64

import pytest
import requests
from docflow_testing import API_KEY, INVOICE_WORKFLOW, Api, LocalMode
from isolation_walk import (
    OWN,
    PUBLIC,
    Probe,
    Seed,
    assert_error_shape,
    assert_nothing_of_a,
    probes_for,
    registered_routes,
    seed,
    send,
    spec_routes,
)

from docflow.domain.clock import new_id

pytestmark = pytest.mark.e2e


# --- tests ---------------------------------------------------------------------------------------

def test_every_route_has_a_probe(local_mode: LocalMode) -> None:
    """A route without a probe would escape the isolation walk: add it to `probes_for` in isolation_walk.py."""
    placeholder = Seed("wf_x", "n", "doc_x", "n", "exe_x", "n", ["key_x"], "n", "s", ["p"], "wf_y")
    probed = set(probes_for(placeholder))
    registered = registered_routes(local_mode.server.runtime.ports)
    assert registered - probed == set(), f"routes with no isolation probe: {sorted(registered - probed)}"
    assert spec_routes(local_mode.url) <= registered


def test_another_workspace_sees_none_of_a_on_any_route(local_mode: LocalMode) -> None:
    a = local_mode.api
    b = Api(local_mode.url, local_mode.other_workspace_key())
    s = seed(local_mode.api, b)
    before = {path: a.get(path).json() for path in (f"/v1/workflows/{s.workflow_id}", f"/v1/documents/{s.document_id}",
                                                    f"/v1/executions/{s.execution_id}",
                                                    f"/v1/workflows/{s.workflow_id}/schedule")}
    probes = probes_for(s)
    walked = 0
    for route in sorted(registered_routes(local_mode.server.runtime.ports)):
        for probe in probes[route]:
            send(b if probe.mode != PUBLIC else Api(local_mode.url, None), s, probe)
            walked += 1
    assert walked >= len(registered_routes(local_mode.server.runtime.ports))

    # Nothing of A changed: B's PUT, DELETE, PATCH and revoke all missed.
    for path, body in before.items():
        after = a.get(path)
        assert after.status_code == 200, f"{path}: {after.text}"
        if "documents" in path or path.endswith("/schedule"):  # signed per request; computed from now
            moving = {"download_url", "next_fire_times"}
            assert {k: v for k, v in after.json().items() if k not in moving} == \
                   {k: v for k, v in body.items() if k not in moving}
        else:
            assert after.json() == body
    assert Api(local_mode.url, s.key_secret).get("/v1/workflows").status_code == 200
    assert a.get("/v1/workflows").status_code == 200


def test_lists_of_another_workspace_hold_none_of_a(local_mode: LocalMode) -> None:
    b = Api(local_mode.url, local_mode.other_workspace_key())
    s = seed(local_mode.api, b)
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
    assert [w["id"] for w in a_workflows] == [s.review_workflow_id, s.workflow_id]


def test_another_workspace_cannot_revoke_a_key(local_mode: LocalMode) -> None:
    b = Api(local_mode.url, local_mode.other_workspace_key())
    s = seed(local_mode.api, b)
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
    assert revoked.status_code == 204 and revoked.content == b"", revoked.text
    listed = a.get("/v1/api-keys").json()["items"]
    assert [k["revoked_at"] is not None for k in listed if k["id"] == issued["id"]] == [True]
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
