"""transform + condition on both orchestrators: the local engine (over real HTTP) and the real
ASL under moto take the same branch for the same document, and log the same steps, branches and
summaries, because the pure `next_step` decides and the one step handler runs every type."""

from __future__ import annotations

from typing import Any

import pytest
from docflow_testing import API_KEY, INVOICE_FIELDS, AwsStack, LocalMode, StackApi, invoice_pdf

from docflow.runtime import aws
from docflow.usecases.keys import ensure_key

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
    ]},
}


def _run(api: Any, number: str, total: str) -> dict[str, Any]:
    created = api.post("/v1/workflows", json=BRANCHING_WORKFLOW)
    assert created.status_code == 201, created.text
    document_id = api.upload("invoice.pdf", invoice_pdf(invoice_number=number, total=total))
    started = api.post(f"/v1/workflows/{created.json()['id']}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    return dict(api.wait(started.json()["id"]))


def _shape(run: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["step_id"], e["type"], e["status"], e["branch"], e["summary"]) for e in run["execution_log"]]


@pytest.mark.parametrize(("number", "total", "route", "steps"), [
    ("T-1234", "$1,234.50", "review", ["parse", "extract", "enrich", "check", "flag", "finish"]),
    ("T-99", "$99.00", "auto", ["parse", "extract", "enrich", "check", "finish"]),
])
def test_given_a_branching_workflow_when_run_on_both_orchestrators_then_both_take_the_same_branch(
        local_mode: LocalMode, aws_stack: AwsStack, number: str, total: str, route: str, steps: list[str]) -> None:
    ensure_key(aws.ports().keys, API_KEY)
    local = _run(local_mode.api, number, total)
    on_aws = _run(StackApi(aws_stack, API_KEY), number, total)
    for run in (local, on_aws):
        assert run["status"] == "completed", run
        assert [e["step_id"] for e in run["execution_log"]] == steps
        assert run["output"]["values"]["route"] == route
        assert run["output"]["values"]["label"] == f"{number} USD"
    check = next(e for e in local["execution_log"] if e["step_id"] == "check")
    assert check["branch"] == ("flag" if route == "review" else "finish")
    assert check["summary"]["output"] == {"result": route == "review", "branch": check["branch"]}
    assert _shape(local) == _shape(on_aws)
    assert local["output"]["values"] == on_aws["output"]["values"]
    # One task runs every step type: 2 transitions per step, plus Begin and the final Route → Done.
    entered = [e["stateEnteredEventDetails"]["name"] for e in aws_stack.history(on_aws["id"])
               if "stateEnteredEventDetails" in e]
    assert entered == ["Begin", *(["Route", "RunStep"] * len(steps)), "Route", "Done"]
