"""transform + condition + integration on both orchestrators: the local engine (over real HTTP)
and the real ASL under moto take the same branch for the same document, send the same message,
and log the same steps, branches and summaries, because the pure `next_step` decides and the one
step handler runs every type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docflow_testing import API_KEY, INVOICE_FIELDS, Api, AwsStack, StackApi, invoice_pdf
from receiver import Receiver

from docflow.adapters.http_out import GuardedHttp, OutboundSettings
from docflow.domain.ssrf import Allowlist
from docflow.runtime import aws
from docflow.runtime.local.server import RunningServer
from docflow.runtime.settings import LocalSettings
from docflow.usecases.keys import ensure_key

LOCAL_RECEIVER = OutboundSettings(allow=Allowlist.parse("127.0.0.1/32"))

BRANCHING_WORKFLOW = {
    "name": "Route invoices by total",
    "definition": {"steps": [
        {"id": "parse", "type": "parse"},
        {"id": "extract", "type": "extract", "config": {"fields": INVOICE_FIELDS}},
        {"id": "enrich", "type": "transform", "config": {"set": {
            "big": "total > `1000`", "label": "join(' ', [invoice_number, 'USD'])"}}},
        {"id": "check", "type": "condition", "config": {"expression": "big", "if_true": "flag",
                                                        "if_false": "finish"}},
        {"id": "flag", "type": "transform", "config": {"set": {"route": "'review'"}}},
        {"id": "finish", "type": "transform", "config": {
            "expression": "{invoice: invoice_number, total: total, label: label, route: route || 'auto'}"}},
        {"id": "notify", "type": "integration", "config": {
            "integration_type": "webhook", "template": "{{invoice}} routed to {{route}}"}},
    ]},
}


def _run(api: Any, number: str, total: str, hook: str) -> dict[str, Any]:
    created = api.post("/v1/workflows", json=BRANCHING_WORKFLOW)
    assert created.status_code == 201, created.text
    made = api.post("/v1/workflows/integrations", json={"workflow_id": created.json()["id"], "name": "erp",
                                                        "integration_type": "webhook", "config": {"url": hook}})
    assert made.status_code == 201, made.text
    document_id = api.upload("invoice.pdf", invoice_pdf(invoice_number=number, total=total))
    started = api.post(f"/v1/workflows/{created.json()['id']}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    return dict(api.wait(started.json()["id"]))


def _shape(run: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["step_id"], e["type"], e["status"], e["branch"], e["summary"]) for e in run["execution_log"]]


@pytest.fixture
def local_api(tmp_path: Path) -> Iterator[Api]:
    settings = LocalSettings(data_dir=tmp_path / "data", host="127.0.0.1", port=0, workers=2, api_key=API_KEY,
                             outbound=LOCAL_RECEIVER)
    server = RunningServer(settings).start()
    try:
        yield Api(server.url, API_KEY)
    finally:
        server.stop()


@pytest.mark.parametrize(("number", "total", "route", "steps"), [
    ("T-1234", "$1,234.50", "review", ["parse", "extract", "enrich", "check", "flag", "finish", "notify"]),
    ("T-99", "$99.00", "auto", ["parse", "extract", "enrich", "check", "finish", "notify"]),
])
def test_given_a_branching_workflow_when_run_on_both_orchestrators_then_both_take_the_same_branch(
        local_api: Api, aws_stack: AwsStack, monkeypatch: pytest.MonkeyPatch, number: str, total: str, route: str,
        steps: list[str]) -> None:
    ensure_key(aws.ports().keys, API_KEY)
    monkeypatch.setattr(aws.ports(), "http", GuardedHttp(LOCAL_RECEIVER))
    with Receiver() as receiver:
        local = _run(local_api, number, total, receiver.url("/local"))
        on_aws = _run(StackApi(aws_stack, API_KEY), number, total, receiver.url("/aws"))
        sent = {r.path: json.loads(r.body)["text"] for r in receiver.requests}
    assert sent == {"/local": f"{number} routed to {route}", "/aws": f"{number} routed to {route}"}
    for run in (local, on_aws):
        assert run["status"] == "completed", run
        assert [e["step_id"] for e in run["execution_log"]] == steps
        assert run["output"]["values"]["route"] == route  # the integration step passes values on
        assert run["output"]["values"]["label"] == f"{number} USD"
    check = next(e for e in local["execution_log"] if e["step_id"] == "check")
    assert local["execution_log"][-1]["summary"]["output"]["status"] == 200
    assert check["branch"] == ("flag" if route == "review" else "finish")
    assert check["summary"]["output"] == {"result": route == "review", "branch": check["branch"]}
    assert _shape(local) == _shape(on_aws)
    assert local["output"]["values"] == on_aws["output"]["values"]
    # One task runs every step type: 2 transitions per step, plus Begin and the final Route → Done.
    entered = [e["stateEnteredEventDetails"]["name"] for e in aws_stack.history(on_aws["id"])
               if "stateEnteredEventDetails" in e]
    assert entered == ["Begin", *(["Route", "RunStep"] * len(steps)), "Route", "Done"]
