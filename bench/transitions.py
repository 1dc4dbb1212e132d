"""Target: state transitions per run ≤ 2 × steps + 3, counted from the execution history of the
real ASL run by moto, with the `aws_stack` fixture of tests/conftest.py (and the helpers of
tests/docflow_testing.py) reused as is.

Runs as its own process (`python -m bench.transitions`, JSON on stdout): moto patches botocore
process-wide, and the test helpers set fake-AWS environment variables when imported."""

from __future__ import annotations

import json
import sys
from typing import Any

from bench.common import ROOT


def _workflows(fields: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """One workflow per step type added: the transitions a type costs show row by row."""
    parse = {"id": "parse", "type": "parse"}
    extract = {"id": "extract", "type": "extract", "config": {"fields": fields}}
    transform = {"id": "transform", "type": "transform", "config": {"set": {"big": "total > `1000`"}}}
    condition = {"id": "condition", "type": "condition",
                 "config": {"expression": "big", "if_true": "finish", "if_false": "finish"}}
    finish = {"id": "finish", "type": "transform", "config": {"expression": "@"}}
    # Passes without a person (threshold 0): the same states as a review a person answers.
    review = {"id": "review", "type": "review", "config": {"confidence_threshold": 0}}
    return {
        "parse": [parse],
        "parse+extract": [parse, extract],
        "parse+extract+transform": [parse, extract, transform],
        "parse+extract+transform+condition+transform": [parse, extract, transform, condition, finish],
        "parse+extract+review": [parse, extract, review],
    }


def count() -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest
    import docflow_testing as testing
    import pytest

    from docflow.runtime import aws
    from docflow.usecases.keys import ensure_key

    pdf = testing.invoice_pdf()
    results: list[dict[str, Any]] = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        fixture = conftest.aws_stack.__wrapped__(monkeypatch)
        stack = next(fixture)
        try:
            ensure_key(aws.ports().keys, testing.API_KEY)
            api = testing.StackApi(stack, testing.API_KEY)
            for label, steps in _workflows(testing.INVOICE_FIELDS).items():
                document_id = api.upload("invoice.pdf", pdf)
                _, workflow = stack.http("POST", "/v1/workflows", body={"name": label, "definition": {"steps": steps}})
                _, execution = stack.http("POST", f"/v1/workflows/{workflow['id']}/executions",
                                          body={"document_id": document_id})
                status = stack.wait_sfn(execution["id"])["status"]
                entered = [e["stateEnteredEventDetails"]["name"] for e in stack.history(execution["id"])
                           if "stateEnteredEventDetails" in e]
                results.append({"label": label, "status": status, "steps": len(steps), "entered": entered})
        finally:
            next(fixture, None)  # the fixture's teardown
    return results


if __name__ == "__main__":
    print(json.dumps(count()))
