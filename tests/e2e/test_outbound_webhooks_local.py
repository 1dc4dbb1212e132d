"""Outbound webhooks in local mode over real HTTP: subscriptions through the API, a real run, a
local receiver (tests/receiver.py) behind the real SSRF guard (allowlisted for 127.0.0.1), and the
deliverer loop driven by a fake clock so retries are due without waiting for them."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from docflow_testing import API_KEY, INVOICE_WORKFLOW, ROOT, Api, invoice_pdf
from receiver import Receiver, Recorded, Reply
from standardwebhooks import Webhook

from docflow.adapters.http_out import OutboundSettings
from docflow.domain.clock import utc_now
from docflow.domain.ssrf import Allowlist
from docflow.runtime.local.server import RunningServer
from docflow.runtime.settings import LocalSettings


class FakeClock:
    """The deliverer's clock: a minute ahead of real time (so a new delivery is due at once), and
    moved by hand to make a retry due."""

    def __init__(self) -> None:
        self.now = utc_now() + timedelta(minutes=1)

    def __call__(self) -> datetime:
        return self.now


def _server(data_dir: Path, clock: FakeClock) -> RunningServer:
    settings = LocalSettings(data_dir=data_dir, host="127.0.0.1", port=0, workers=2, step_processes=0,
                             api_key=API_KEY, outbound=OutboundSettings(allow=Allowlist.parse("127.0.0.1/32")))
    server = RunningServer(settings)
    server.runtime.webhooks.clock = clock
    return server.start()


def _until[T](probe: Callable[[], T | None], what: str, timeout: float = 20) -> T:
    deadline = time.monotonic() + timeout
    while (value := probe()) is None or value is False:
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def _run(api: Api) -> str:
    workflow = api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()
    document_id = api.upload("invoice.pdf", invoice_pdf())
    started = api.post(f"/v1/workflows/{workflow['id']}/executions",
                       json={"document_id": document_id, "metadata": {"customer": "acme"}})
    assert started.status_code == 202, started.text
    assert api.wait(started.json()["id"])["status"] == "completed"
    return str(started.json()["id"])


def _verified(secret: str, request: Recorded) -> dict[str, Any]:
    """The receiving side, with the standardwebhooks library."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    return dict(Webhook(secret).verify(request.body, headers))


def _deliveries(api: Api, subscription_id: str) -> list[dict[str, Any]]:
    response = api.get(f"/v1/webhooks/{subscription_id}/deliveries")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _logged(api: Api, subscription_id: str, attempts: int) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        return next((d for d in _deliveries(api, subscription_id) if len(d["attempts"]) == attempts), None)

    return probe


def _subscribe(api: Api, url: str, **fields: Any) -> dict[str, Any]:
    created = api.post("/v1/webhooks", json={"url": url, **fields})
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_given_a_receiver_failing_twice_when_a_run_completes_then_three_signed_attempts_and_succeeded(
        tmp_path: Path, receiver: Receiver) -> None:
    receiver.script(Reply(503, b"busy"), Reply(500), Reply(204))
    clock = FakeClock()
    server = _server(tmp_path / "data", clock)
    try:
        api = Api(server.url, API_KEY)
        subscription = _subscribe(api, receiver.url("/hook"), events=["execution.completed"],
                                  description="invoices")
        execution_id = _run(api)

        for n in (1, 2):
            pending = _until(_logged(api, subscription["id"], n), f"attempt {n} logged")
            assert pending["status"] == "pending" and pending["next_attempt_at"] is not None
            assert len(receiver.requests) == n  # the retry waits for its time
            clock.now += timedelta(hours=1)
            server.runtime.webhooks.wake()
        done = _until(lambda: next((d for d in _deliveries(api, subscription["id"]) if d["status"] == "succeeded"),
                                   None), "succeeded")
    finally:
        server.stop()

    assert len(receiver.requests) == 3
    assert [a["status_code"] for a in done["attempts"]] == [503, 500, 204]
    assert "HTTP 503: busy" in done["attempts"][0]["error"] and done["attempts"][2]["error"] is None
    assert done["next_attempt_at"] is None and done["event_type"] == "execution.completed"
    assert done["execution_id"] == execution_id
    for request in receiver.requests:
        assert request.method == "POST" and request.path == "/hook"
        assert request.headers["webhook-id"] == done["id"]  # stable across retries
        body = _verified(subscription["secret"], request)
        assert body["type"] == "execution.completed"
        assert body["data"]["id"] == execution_id and body["data"]["metadata"] == {"customer": "acme"}
        assert body["data"]["status"] == "completed" and body["data"]["output"]["values"]["invoice_number"]


def test_given_a_pending_retry_when_local_mode_restarts_then_the_delivery_continues(
        tmp_path: Path, receiver: Receiver) -> None:
    receiver.script(Reply(502), Reply(200))
    data_dir = tmp_path / "data"
    first = _server(data_dir, FakeClock())
    try:
        api = Api(first.url, API_KEY)
        subscription = _subscribe(api, receiver.url("/events"), events=["execution.completed"])
        _run(api)
        pending = _until(lambda: next((d for d in _deliveries(api, subscription["id"]) if d["attempts"]), None),
                         "the first attempt")
        assert pending["status"] == "pending" and pending["attempts"][0]["status_code"] == 502
    finally:
        first.stop()

    clock = FakeClock()
    clock.now += timedelta(hours=2)
    second = _server(data_dir, clock)
    try:
        api = Api(second.url, API_KEY)
        second.runtime.webhooks.wake()
        done = _until(lambda: next((d for d in _deliveries(api, subscription["id"]) if d["status"] == "succeeded"),
                                   None), "the retry after the restart")
    finally:
        second.stop()
    assert done["id"] == pending["id"] and [a["status_code"] for a in done["attempts"]] == [502, 200]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [done["id"]] * 2
    assert _verified(subscription["secret"], receiver.requests[1])["data"]["id"] == done["execution_id"]


def test_given_the_subscription_api_then_secret_shown_once_urls_checked_and_workspaces_apart(
        local_mode: Any) -> None:
    api: Api = local_mode.api
    workflow_id = api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()["id"]
    created = _subscribe(api, "https://93.184.215.14/hook", events=["execution.failed", "*"],
                         workflow_id=workflow_id, enabled=False)
    assert created["id"].startswith("whk_") and created["secret"].startswith("whsec_")
    assert created["secret_prefix"] == created["secret"][:12]
    assert set(created) == {"id", "url", "events", "workflow_id", "description", "enabled", "secret_prefix",
                            "created_at", "updated_at", "secret"}

    got = api.get(f"/v1/webhooks/{created['id']}").json()
    assert "secret" not in got and got == {k: v for k, v in created.items() if k != "secret"}
    assert [s["id"] for s in api.get("/v1/webhooks").json()["items"]] == [created["id"]]
    assert _deliveries(api, created["id"]) == []

    refused = api.post("/v1/webhooks", json={"url": "http://10.0.0.1/hook"})
    assert refused.status_code == 422 and refused.json()["error"]["details"][0]["loc"] == ["body", "url"]
    bad_event = api.post("/v1/webhooks", json={"url": "https://93.184.215.14/", "events": ["execution.started"]})
    assert bad_event.status_code == 422

    other = Api(local_mode.url, local_mode.other_workspace_key())
    assert other.post("/v1/webhooks", json={"url": "https://93.184.215.14/", "workflow_id": workflow_id}
                      ).status_code == 404
    for path in (f"/v1/webhooks/{created['id']}", f"/v1/webhooks/{created['id']}/deliveries"):
        assert other.get(path).status_code == 404
    assert other.request("DELETE", f"/v1/webhooks/{created['id']}").status_code == 404
    assert other.get("/v1/webhooks").json()["items"] == []

    assert api.request("DELETE", f"/v1/webhooks/{created['id']}").status_code == 204
    assert api.get(f"/v1/webhooks/{created['id']}").status_code == 404


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_given_the_readme_when_its_webhook_examples_run_as_written_then_a_verified_delivery(
        tmp_path: Path, receiver: Receiver) -> None:
    from test_readme import marked_block, walkthrough

    server = _server(tmp_path / "data", FakeClock())
    try:
        (tmp_path / "invoice.pdf").write_bytes(invoice_pdf())
        script = walkthrough() + marked_block("outbound-webhooks") + 'echo "$HOOK_SECRET"\n'
        env = {**os.environ, "API": server.url, "DOCFLOW_API_KEY": API_KEY, "HOOK_URL": receiver.url("/docflow")}
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr + done.stdout
    *_, status_code, secret = done.stdout.strip().splitlines()
    assert status_code == "200" and secret.startswith("whsec_")

    readme = (ROOT / "README.md").read_text()
    verify = re.search(r"<!-- webhook-verify:start -->\s*```python\n(.*?)```\s*<!-- webhook-verify:end -->",
                       readme, re.S)
    assert verify and len([line for line in verify.group(1).splitlines() if line.strip()]) <= 5
    [request] = receiver.requests
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(verify.group(1), {"HOOK_SECRET": secret, "body": request.body, "headers": request.headers})
    kind, execution_id, status = printed.getvalue().split()
    assert kind == "execution.completed" and execution_id.startswith("exe_") and status == "completed"
