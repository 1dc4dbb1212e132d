"""Inbound webhooks over real HTTP in local mode: the sender signs with the standardwebhooks
library, exactly as a third-party service would, and sends no API key."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
import requests
from docflow_testing import INVOICE_WORKFLOW, ROOT, LocalMode, invoice_pdf
from standardwebhooks import Webhook

from docflow.domain.clock import utc_now

pytestmark = pytest.mark.e2e


def signed_headers(secret: str, message_id: str, body: bytes, minutes_ago: int = 0) -> dict[str, str]:
    at = utc_now() - timedelta(minutes=minutes_ago)
    return {"Content-Type": "application/json", "Webhook-Id": message_id,
            "Webhook-Timestamp": str(int(at.timestamp())),
            "Webhook-Signature": Webhook(secret).sign(message_id, at, body.decode())}


def deliver(local_mode: LocalMode, workflow_id: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.post(f"{local_mode.url}/v1/hooks/{workflow_id}", data=body, headers=headers, timeout=30)


def webhook_workflow(local_mode: LocalMode) -> tuple[str, str]:
    created = local_mode.api.post("/v1/workflows", json={**INVOICE_WORKFLOW, "trigger_type": "webhook"})
    assert created.status_code == 201, created.text
    workflow_id = created.json()["id"]
    # The secret the create response showed is replaced here: rotating answers the current one.
    rotated = local_mode.api.post(f"/v1/workflows/{workflow_id}/webhook-secret")
    assert rotated.status_code == 201, rotated.text
    return workflow_id, str(rotated.json()["secret"])


def error_code(response: requests.Response) -> Any:
    return response.json()["error"]["code"]


def test_given_a_signed_webhook_then_one_run_with_the_body_as_trigger_data_and_a_redelivery_replays(
        local_mode: LocalMode) -> None:
    workflow_id, secret = webhook_workflow(local_mode)
    document_id = local_mode.api.upload("invoice.pdf", invoice_pdf())
    body = json.dumps({"document_id": document_id, "order": {"id": 42, "total": 1234.5}}).encode()

    first = deliver(local_mode, workflow_id, body, signed_headers(secret, "msg_2b1", body))
    assert first.status_code == 202, first.text
    run = first.json()
    assert run["trigger_method"] == "webhook" and run["trigger_data"] == json.loads(body)
    assert run["documents"] == [document_id] and "Idempotent-Replayed" not in first.headers

    again = deliver(local_mode, workflow_id, body, signed_headers(secret, "msg_2b1", body, minutes_ago=1))
    assert again.status_code == 202, again.text
    assert again.json()["id"] == run["id"] and again.headers["Idempotent-Replayed"] == "true"

    assert local_mode.api.wait(run["id"])["status"] == "completed"
    runs = local_mode.api.get(f"/v1/workflows/{workflow_id}/executions").json()["items"]
    assert [r["id"] for r in runs] == [run["id"]]


def test_given_bad_deliveries_then_401_413_404_and_no_run(local_mode: LocalMode) -> None:
    workflow_id, secret = webhook_workflow(local_mode)
    document_id = local_mode.api.upload("invoice.pdf", invoice_pdf())
    body = json.dumps({"document_id": document_id}).encode()

    unsigned = deliver(local_mode, workflow_id, body, {"Content-Type": "application/json"})
    assert (unsigned.status_code, error_code(unsigned)) == (401, "invalid_signature")
    forged = deliver(local_mode, workflow_id, body, signed_headers("whsec_" + "A" * 44, "msg_1", body))
    assert (forged.status_code, error_code(forged)) == (401, "invalid_signature")
    stale = deliver(local_mode, workflow_id, body, signed_headers(secret, "msg_2", body, minutes_ago=10))
    assert (stale.status_code, error_code(stale)) == (401, "stale_timestamp")
    big = json.dumps({"document_id": document_id, "pad": "x" * (1024 * 1024)}).encode()
    too_big = deliver(local_mode, workflow_id, big, signed_headers(secret, "msg_3", big))
    assert too_big.status_code == 413, too_big.text

    manual = local_mode.api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()["id"]
    not_a_hook = deliver(local_mode, manual, body, signed_headers(secret, "msg_4", body))
    assert not_a_hook.status_code == 404
    rotate_manual = local_mode.api.post(f"/v1/workflows/{manual}/webhook-secret")
    assert rotate_manual.status_code == 409, rotate_manual.text

    assert local_mode.api.get(f"/v1/workflows/{workflow_id}/executions").json()["items"] == []


def test_given_the_readme_python_sender_then_it_runs_as_written(local_mode: LocalMode) -> None:
    """The README's webhook example, run as written: the docs stay true."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- webhook-example:start -->\s*```python\n(.*?)```\s*<!-- webhook-example:end -->",
                      readme, re.S)
    assert block, "README.md lost its marked webhook example"
    workflow_id, secret = webhook_workflow(local_mode)
    document_id = local_mode.api.upload("invoice.pdf", invoice_pdf())
    env = {**os.environ, "API": local_mode.url, "WF": workflow_id, "SECRET": secret, "DOC": document_id}
    done = subprocess.run([sys.executable, "-c", block.group(1)], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.strip().splitlines()
    assert first.startswith("exe_") and first.endswith("webhook {'id': 42}")
    assert second == "True true"
