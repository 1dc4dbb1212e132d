"""Helpers shared by every test folder (import them from here, never from a conftest): fake AWS
credentials, handler loading, local mode over real HTTP, a moto "stack" running the real ASL."""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from types import ModuleType
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "tests" / "events"
CORPUS = ROOT.parent / "shared" / "corpus" / "invoices-dev"
API_KEY = "dfk_" + "t" * 40
REGION = "us-east-1"

# Nothing in the tests may ever reach a real AWS account.
for _name, _value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                      "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
                      "POWERTOOLS_TRACE_DISABLED": "1", "POWERTOOLS_SERVICE_NAME": "docflow",
                      "POWERTOOLS_LOG_LEVEL": "WARNING"}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("DOCFLOW_API_KEY", None)


_HANDLERS_LOCK = threading.Lock()


def load_handler(name: str) -> ModuleType:
    """functions/<name>/app.py as a module (every function's module is called `app`). Under a
    lock: threads delivering the same event at once must not see a module still being executed."""
    module_name = f"docflow_function_{name}"
    with _HANDLERS_LOCK:
        if module_name in sys.modules:
            return sys.modules[module_name]
        spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[module_name]
            raise
        return module


class LambdaContextStub:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:test"
    aws_request_id = "req"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def invoice_pdf(invoice_number: str = "INV-2041", date: str = "March 7, 2025", total: str = "$1,234.50") -> bytes:
    """A one-page invoice with a real text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(datetime(2025, 3, 7, tzinfo=UTC))  # the same bytes at every call
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in ("ACME Supplies Ltd", f"Invoice Number: {invoice_number}", f"Invoice Date: {date}",
                 "Description            Amount", "Widgets                 $1,000.00", f"Total Due: {total}"):
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


INVOICE_FIELDS = [
    {"name": "invoice_number", "labels": ["Invoice Number"], "required": True},
    {"name": "date", "type": "date", "labels": ["Invoice Date"]},
    {"name": "total", "type": "currency", "labels": ["Total Due", "Total"]},
]
INVOICE_WORKFLOW = {
    "name": "Invoices",
    "description": "parse and extract invoice fields",
    "definition": {"steps": [{"id": "parse", "type": "parse"},
                             {"id": "extract", "type": "extract", "config": {"fields": INVOICE_FIELDS}}]},
}



def review_workflow(**review_config: Any) -> dict[str, Any]:
    """parse → extract (INVOICE_FIELDS) → review: without a threshold, every run waits for a person."""
    return {"name": "Invoices, checked by a person", "definition": {"steps": [
        {"id": "parse", "type": "parse"},
        {"id": "extract", "type": "extract", "config": {"fields": INVOICE_FIELDS}},
        {"id": "check", "type": "review", "config": review_config}]}}


class Api:
    """A small client for the REST API over real HTTP."""

    def __init__(self, url: str, key: str | None) -> None:
        self.url = url
        self.session = requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.url}{path}", timeout=30, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def upload(self, name: str, data: bytes, content_type: str = "application/pdf") -> str:
        handle = self.post("/v1/documents", json={"name": name, "content_type": content_type, "size": len(data)})
        assert handle.status_code == 201, handle.text
        put = requests.put(handle.json()["file_url"], data=data, headers=handle.json()["upload_headers"], timeout=30)
        assert put.status_code == 200, put.text
        return str(handle.json()["id"])

    def wait(self, execution_id: str, timeout: float = 30,
             until: tuple[str, ...] = ("completed", "failed", "canceled")) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(f"/v1/executions/{execution_id}").json()
            if body["status"] in until or time.monotonic() > deadline:
                return dict(body)
            time.sleep(0.05)


DOCFLOW = Path(sys.executable).with_name("docflow")


def serve_subprocess(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`docflow serve` as a user starts it (its own process, DOCFLOW_API_KEY set), once it answers."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "DOCFLOW_API_KEY": API_KEY}
    process = subprocess.Popen([str(DOCFLOW), "serve", "--port", str(port), "--data-dir", str(data_dir)], env=env,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/v1/openapi.json", timeout=10)  # a first answer builds the resolver
            return process, url
        except requests.ConnectionError:
            assert process.poll() is None and time.monotonic() < deadline, "docflow serve did not start"
            time.sleep(0.1)


def serve_api(data_dir: Path) -> tuple[subprocess.Popen[bytes], Api]:
    """`docflow serve` in its own process (see serve_subprocess), and a client of it."""
    process, url = serve_subprocess(data_dir)
    return process, Api(url, API_KEY)


@dataclass
class LocalMode:
    url: str
    data_dir: Path
    server: Any
    api: Api

    def other_workspace_key(self, workspace: str = "other") -> str:
        from docflow.usecases.keys import issue_key

        return issue_key(self.server.runtime.ports.keys, workspace, "second").secret


def start_local(data_dir: Path, workers: int = 2) -> Any:
    from docflow.runtime.local.server import RunningServer
    from docflow.runtime.settings import LocalSettings

    settings = LocalSettings(data_dir=data_dir, host="127.0.0.1", port=0, workers=workers, api_key=API_KEY)
    return RunningServer(settings).start()


# --- AWS under moto ---------------------------------------------------------------------------

def serialize_moto_dynamodb(monkeypatch: Any) -> None:
    """Makes every DynamoDB call atomic with respect to the others, as each request is on DynamoDB.

    moto is not thread-safe there: a cancelled `transact_write_items` restores a deep copy of the
    whole table taken before it ran, erasing items other threads wrote meanwhile (a committed
    idempotency record, a step's progress). Threads still interleave between calls, so the
    adapters' read-then-conditional-write races stay under test; only moto's own race is removed.
    The retry path for DynamoDB's TransactionConflict is tested deterministically with a Stubber."""
    import botocore.client

    lock = threading.Lock()
    original = botocore.client.BaseClient._make_api_call

    def call(self: Any, operation_name: str, api_params: Any) -> Any:
        if self.meta.service_model.service_name != "dynamodb":
            return original(self, operation_name, api_params)
        with lock:
            return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)


FUNCTIONS = {"docflow-api": "api", "docflow-authorizer": "authorizer", "docflow-step": "step",
             "docflow-uploads": "uploads", "docflow-schedule-target": "schedule_target"}


@dataclass
class AwsStack:
    clients: Any
    table: str
    bucket: str
    bus: str
    state_machine_arn: str
    invocations: list[dict[str, Any]] = field(default_factory=list)

    def http(self, method: str, path: str, key: str | None = API_KEY, body: Any = None,
             query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
             data: bytes | None = None) -> tuple[int, Any]:
        """One request the way API Gateway makes it: the authorizer first, then the API function."""
        status, raw = self.raw(method, path, key, body, query, headers, data)
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw
        return status, payload

    def raw(self, method: str, path: str, key: str | None = API_KEY, body: Any = None,
            query: dict[str, str] | None = None, headers: dict[str, str] | None = None,
            data: bytes | None = None) -> tuple[int, str]:
        """`body` goes as JSON; `data` as raw bytes, base64-encoded the way API Gateway passes binary."""
        all_headers = {"content-type": "application/json", **(headers or {})}
        if key is not None:
            all_headers["authorization"] = f"Bearer {key}"
        payload = json.dumps(body).encode() if body is not None else None
        status, _, raw = self.invoke(method, path, all_headers, data if data is not None else payload,
                                     "&".join(f"{k}={v}" for k, v in (query or {}).items()), binary=data is not None)
        return status, raw.decode()

    def invoke(self, method: str, path: str, headers: dict[str, str], body: bytes | None, query_string: str = "",
               binary: bool = False) -> tuple[int, dict[str, str], bytes]:
        """One request the way API Gateway makes it: the authorizer first (it has no identity
        source, template.yaml, so it runs for every request), then the API function."""
        from urllib.parse import parse_qsl

        from docflow.api.app import is_public

        event = json.loads((EVENTS / "http_api_request.json").read_text())
        params = dict(parse_qsl(query_string, keep_blank_values=True))
        event.update({"rawPath": path, "headers": headers, "queryStringParameters": params or None,
                      "rawQueryString": query_string, "body": None})
        if body is not None:
            event["body"], event["isBase64Encoded"] = ((base64.b64encode(body).decode(), True) if binary
                                                       else (body.decode(), False))
        event["requestContext"]["http"].update({"method": method, "path": path})
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        if not is_public(path):
            verdict = load_handler("authorizer").lambda_handler(event, LambdaContextStub())
            if not verdict["isAuthorized"]:
                return 403, {"content-type": "application/json"}, b'{"message": "Forbidden"}'
            event["requestContext"]["authorizer"] = {"lambda": verdict["context"]}
        result = load_handler("api").lambda_handler(event, LambdaContextStub())
        raw = result.get("body") or ""
        data = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode()
        return int(result["statusCode"]), {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}, data

    def wait_sfn(self, execution_id: str, timeout: float = 20) -> dict[str, Any]:
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_id}"
        deadline = time.monotonic() + timeout
        while True:
            described = self.clients.stepfunctions.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                return dict(described)
            time.sleep(0.02)

    def history(self, execution_id: str) -> list[dict[str, Any]]:
        arn = self.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{execution_id}"
        return list(self.clients.stepfunctions.get_execution_history(executionArn=arn, maxResults=1000)["events"])


class StackResponse:
    """The part of requests.Response the shared walks use."""

    def __init__(self, status_code: int, text: str) -> None:
        self.status_code, self.text = status_code, text

    def json(self) -> Any:
        return json.loads(self.text)


class StackApi:
    """The `Api` client's interface over the AWS handlers under moto (authorizer + API function)."""

    def __init__(self, stack: AwsStack, key: str | None) -> None:
        self.stack, self.key = stack, key

    def request(self, method: str, path: str, json: Any = None, params: dict[str, str] | None = None,
                **_: Any) -> StackResponse:
        return StackResponse(*self.stack.raw(method, path, self.key, json, params))

    def get(self, path: str, **kwargs: Any) -> StackResponse:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> StackResponse:
        return self.request("POST", path, **kwargs)

    def upload(self, name: str, data: bytes, content_type: str = "application/pdf") -> str:
        """A document handle, the bytes put in the bucket, and the S3 event the uploads function gets."""
        handle = self.post("/v1/documents", json={"name": name, "content_type": content_type, "size": len(data)})
        assert handle.status_code == 201, handle.text
        document_id = str(handle.json()["id"])
        workspace = handle.json()["file_url"].split("/documents/", 1)[1].split("/", 1)[0]
        key = f"documents/{workspace}/{document_id}"
        self.stack.clients.s3.put_object(Bucket=self.stack.bucket, Key=key, Body=data, ContentType=content_type)
        event = json.loads((EVENTS / "s3_object_created.json").read_text())
        event["detail"]["object"].update({"key": key, "size": len(data)})
        load_handler("uploads").lambda_handler(event, LambdaContextStub())
        return document_id

    def wait(self, execution_id: str, timeout: float = 30) -> dict[str, Any]:
        self.stack.wait_sfn(execution_id, timeout)
        return dict(self.get(f"/v1/executions/{execution_id}").json())


@contextmanager
def serve_stack(stack: AwsStack) -> Iterator[str]:
    """The stack's API over real HTTP on loopback, as API Gateway fronts it (for a browser): each
    request goes through `AwsStack.invoke`, the authorizer and the API function under moto."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        textual = headers.get("content-type", "application/json").startswith(("application/json", "text/"))
        status, answer, data = stack.invoke(environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/", headers,
                                            body, environ.get("QUERY_STRING", ""), binary=not textual)
        start_response(f"{status} {HTTPStatus(status).phrase}",
                       [*((k, v) for k, v in answer.items() if k != "content-length"),
                        ("Content-Length", str(len(data)))])
        return [data]

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, app, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, name="stack-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _invoke_in_process(stack_ref: dict[str, AwsStack]) -> Any:
    def invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any,
               response_headers: Any) -> bytes:
        name = function_name.split(":")[-1] if function_name.startswith("arn:") else function_name
        payload = json.loads(body) if body else {}
        stack_ref["stack"].invocations.append({"function": name, "payload": payload})
        try:
            result = load_handler(FUNCTIONS[name]).lambda_handler(payload, LambdaContextStub())
        except Exception as exc:  # Lambda's error shape, so ASL Retry/Catch see the errorType
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)}).encode()
        return json.dumps(result).encode()

    return invoke


# --- EventBridge rules under moto ---------------------------------------------------------------

def capture_rule(stack: AwsStack, name: str, pattern: dict[str, Any]) -> str:
    """A rule with `pattern` on the stack's bus, delivering to a new SQS queue (moto cannot invoke
    Lambda targets): the queue then holds what the rule's function would be invoked with."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.clients.events.put_rule(Name=name, EventBusName=stack.bus, EventPattern=json.dumps(pattern))
    stack.clients.events.put_targets(Rule=name, EventBusName=stack.bus, Targets=[{"Id": "capture", "Arn": arn}])
    return str(queue_url)


def drain_queue(queue_url: str) -> list[dict[str, Any]]:
    """Every message of an SQS queue (with its attributes), deleted as read."""
    import boto3

    sqs = boto3.client("sqs", region_name=REGION)
    found: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                          AttributeNames=["All"]).get("Messages", []):
        found.extend(messages)
        sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    return found


# --- template.yaml ----------------------------------------------------------------------------

def template_resources() -> dict[str, Any]:
    """template.yaml's Resources, CloudFormation's short tags (!Ref, !Sub, !GetAtt …) read as their
    long forms ({"Ref": …}, {"Fn::Sub": …}), so tests can check rules and routes against it."""
    import yaml

    class CfnLoader(yaml.SafeLoader):
        pass

    def long_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            return {name: loader.construct_scalar(node)}
        if isinstance(node, yaml.SequenceNode):
            return {name: loader.construct_sequence(node)}
        assert isinstance(node, yaml.MappingNode)
        return {name: loader.construct_mapping(node)}

    CfnLoader.add_multi_constructor("!", long_form)
    return dict(yaml.load((ROOT / "template.yaml").read_text(), Loader=CfnLoader)["Resources"])


# --- workflow templates -------------------------------------------------------------------------

def run_template(api: Any, template_id: str, pdf: bytes, hook: str | None = None) -> dict[str, Any]:
    """A workflow from a template (with a webhook integration at `hook`), run to completion on `pdf`
    through any of the duck-typed clients (`Api` over HTTP, `StackApi` under moto)."""
    created = api.post("/v1/workflows/templates", json={"template_id": template_id, "name": f"my {template_id}"})
    assert created.status_code == 201, created.text
    workflow = created.json()
    assert workflow["name"] == f"my {template_id}" and workflow["version"] == 1
    if hook is not None:
        made = api.post("/v1/workflows/integrations", json={"workflow_id": workflow["id"], "name": "erp",
                                                            "integration_type": "webhook", "config": {"url": hook}})
        assert made.status_code == 201, made.text
    document_id = api.upload(f"{template_id}.pdf", pdf)
    started = api.post(f"/v1/workflows/{workflow['id']}/executions", json={"document_id": document_id})
    assert started.status_code == 202, started.text
    run = api.wait(started.json()["id"])
    assert run["status"] == "completed", run
    return dict(run)
