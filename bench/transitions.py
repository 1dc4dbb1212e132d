"""Target: state transitions per run ≤ 2 × steps + 3, counted from the execution history of the
real ASL run by moto, with the `aws_stack` fixture of tests/conftest.py (and the helpers of
tests/docflow_testing.py) reused as is.

Runs as its own process (`python -m bench.transitions`, JSON on stdout): moto patches botocore
process-wide, and the test helpers set fake-AWS environment variables when imported."""

from __future__ import annotations

import json
import sys
import time
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


def _cost_run(stack: Any, testing: Any, pdf: bytes) -> dict[str, Any]:
    """One 1-page document through parse + extract (rules) as a caller does it, every AWS request
    metered: the upload handle, the file's PUT, the uploads function, the start, the result."""
    from bench import cost
    from docflow.domain.usage import PriceTable, Usage
    from docflow.runtime.settings import prices_from_env

    steps = _workflows(testing.INVOICE_FIELDS)["parse+extract"]
    _, workflow = stack.http("POST", "/v1/workflows", body={"name": "cost", "definition": {"steps": steps}})
    api_ms, requests = 0.0, 0

    def timed(call: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal api_ms, requests
        started = time.perf_counter()
        with meter.api_request():
            result = call(*args, **kwargs)
        api_ms += (time.perf_counter() - started) * 1000
        return result

    with cost.metered() as meter:
        _, handle = timed(stack.http, "POST", "/v1/documents",
                          body={"name": "invoice.pdf", "content_type": "application/pdf", "size": len(pdf)})
        key = f"documents/default/{handle['id']}"
        stack.clients.s3.put_object(Bucket=stack.bucket, Key=key, Body=pdf, ContentType="application/pdf")
        event = json.loads((ROOT / "tests" / "events" / "s3_object_created.json").read_text())
        event["detail"]["object"].update({"key": key, "size": len(pdf)})
        timed(testing.load_handler("uploads").lambda_handler, event, testing.LambdaContextStub())
        _, execution = timed(stack.http, "POST", f"/v1/workflows/{workflow['id']}/executions",
                             body={"document_id": handle["id"]})
        status = stack.wait_sfn(execution["id"])["status"]
        _, stored = timed(stack.http, "GET", f"/v1/executions/{execution['id']}")
    requests = 3  # the uploads function is not a request: an S3 event
    prices: PriceTable = prices_from_env()
    usage = Usage.model_validate(stored["usage"])
    parts = cost.per_document(meter, usage, requests, 1, api_ms, prices)
    return {"status": status, "execution_status": stored["status"], "usage": stored["usage"],
            "cost_usd": stored["cost_usd"], "parts": parts, "prices_as_of": prices.as_of,
            "calls": {f"{service}.{op}": n for (service, op), n in sorted(meter.calls.items())},
            "write_units": meter.write_units, "read_units": meter.read_units, "api_ms": api_ms,
            "moto_ms": dict(meter.moto_ms)}


def count() -> dict[str, Any]:
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
            priced = _cost_run(stack, testing, pdf)
        finally:
            next(fixture, None)  # the fixture's teardown
    return {"runs": results, "cost": priced}


if __name__ == "__main__":
    print(json.dumps(count()))
