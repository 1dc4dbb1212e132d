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


def count() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest
    import docflow_testing as testing
    import pytest

    from docflow.runtime import aws
    from docflow.usecases.keys import ensure_key

    pdf = testing.invoice_pdf()
    with pytest.MonkeyPatch.context() as monkeypatch:
        fixture = conftest.aws_stack.__wrapped__(monkeypatch)
        stack = next(fixture)
        try:
            ensure_key(aws.ports().keys, testing.API_KEY)
            _, handle = stack.http("POST", "/v1/documents",
                                   body={"name": "invoice.pdf", "content_type": "application/pdf", "size": len(pdf)})
            key = f"documents/default/{handle['id']}"
            stack.clients.s3.put_object(Bucket=stack.bucket, Key=key, Body=pdf, ContentType="application/pdf")
            event = json.loads((testing.EVENTS / "s3_object_created.json").read_text())
            event["detail"]["object"].update({"key": key, "size": len(pdf)})
            testing.load_handler("uploads").lambda_handler(event, testing.LambdaContextStub())
            _, workflow = stack.http("POST", "/v1/workflows", body=testing.INVOICE_WORKFLOW)
            _, execution = stack.http("POST", f"/v1/workflows/{workflow['id']}/executions",
                                      body={"document_id": handle["id"]})
            status = stack.wait_sfn(execution["id"])["status"]
            entered = [e["stateEnteredEventDetails"]["name"] for e in stack.history(execution["id"])
                       if "stateEnteredEventDetails" in e]
        finally:
            next(fixture, None)  # the fixture's teardown
    return {"status": status, "steps": len(testing.INVOICE_WORKFLOW["definition"]["steps"]), "entered": entered}


if __name__ == "__main__":
    print(json.dumps(count()))
