"""Target (DESIGN.md §8): with the rules engine, the whole AWS bill for 1,000 one-page documents
≤ $0.30. Estimated from one real run under moto (bench/transitions.py): every AWS request the
handlers make is counted and sized here, the run's own recorded `usage` gives the state transitions
and the step function's time, and the price table (domain/usage.py, dated) prices both.

What moto cannot show is estimated, and said so in the findings: Lambda bills wall time, so the
step function's measured time has moto's in-process calls taken out and a typical network latency
per real call put back; a CPU-bound millisecond on this machine counts as 1769 MB / memory
milliseconds on Lambda (a 1024 MB function gets 1024/1769 of a vCPU)."""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from docflow.domain.usage import PriceTable, Usage

# Typical in-region latency of one request (ms), put back for each call moto answered in-process.
LATENCY_MS = {"dynamodb": 6.0, "s3": 20.0, "events": 15.0, "stepfunctions": 20.0, "sqs": 10.0}
FULL_VCPU_MB = 1769
API_MEMORY_MB = 512  # template.yaml Globals
# Calls the bench itself makes to watch the run, not the application's.
WATCHING = {("stepfunctions", "DescribeExecution"), ("stepfunctions", "GetExecutionHistory")}


@dataclass
class Meter:
    """AWS requests by (service, operation), their billing units, and the time moto took on them,
    by who made them: "step" (the state machine's thread), "api" (inside an API request) or
    "client" (the caller itself, e.g. its PUT of the file)."""

    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    events: int = 0
    moto_ms: Counter[str] = field(default_factory=Counter)
    latency: Counter[str] = field(default_factory=Counter)
    in_api: bool = False

    def who(self) -> str:
        if threading.current_thread() is not threading.main_thread():
            return "step"
        return "api" if self.in_api else "client"

    def record(self, service: str, operation: str, params: dict[str, Any], response: Any, seconds: float) -> None:
        if (service, operation) in WATCHING or service in ("lambda", "iam", "sts"):
            return
        self.calls[(service, operation)] += 1
        who = self.who()
        self.moto_ms[who] += seconds * 1000
        self.latency[who] += LATENCY_MS.get(service, 10.0)
        if service == "dynamodb":
            self._dynamodb(operation, params, response)
        elif service == "events" and operation == "PutEvents":
            self.events += sum(math.ceil(len(json.dumps(e, default=str)) / 65536) for e in params.get("Entries", []))

    def _dynamodb(self, operation: str, params: dict[str, Any], response: Any) -> None:
        if operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self.write_units += _units(params.get("Item") or params.get("Key") or {}, 1024)
        elif operation == "TransactWriteItems":  # transactions cost two units per item
            for item in params.get("TransactItems", []):
                body = next(iter(item.values()))
                self.write_units += 2 * _units(body.get("Item") or body.get("Key") or {}, 1024)
        elif operation in ("GetItem", "Query", "BatchGetItem", "TransactGetItems"):
            items = response.get("Items") or ([response["Item"]] if "Item" in response else [])
            factor = 2.0 if operation == "TransactGetItems" else (1.0 if params.get("ConsistentRead") else 0.5)
            self.read_units += factor * max(1, math.ceil(sum(_size(i) for i in items) / 4096))

    def calls_by_service(self) -> Counter[str]:
        by_service: Counter[str] = Counter()
        for (service, _), count in self.calls.items():
            by_service[service] += count
        return by_service

    @contextmanager
    def api_request(self) -> Iterator[None]:
        self.in_api = True
        try:
            yield
        finally:
            self.in_api = False


def _size(item: Any) -> int:
    return len(json.dumps(item, default=str))


def _units(item: Any, unit_bytes: int) -> float:
    return max(1, math.ceil(_size(item) / unit_bytes))


@contextmanager
def metered() -> Iterator[Meter]:
    """Counts every botocore request made in this process while the block runs."""
    from botocore.client import BaseClient

    meter = Meter()
    original = BaseClient._make_api_call

    def counting(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        started = time.perf_counter()
        response = original(client, operation, params)
        meter.record(client.meta.service_model.service_name, operation, params, response,
                     time.perf_counter() - started)
        return response

    BaseClient._make_api_call = counting  # type: ignore[method-assign]
    try:
        yield meter
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


def lambda_ms(measured_ms: float, moto_ms: float, calls_latency_ms: float, memory_mb: int) -> float:
    """Billed Lambda time: compute scaled to the function's share of a vCPU, plus real call latency."""
    compute = max(0.0, measured_ms - moto_ms) * max(1.0, FULL_VCPU_MB / memory_mb)
    return compute + calls_latency_ms


def per_document(meter: Meter, usage: Usage, api_requests: int, other_invocations: int, api_ms: float,
                 prices: PriceTable) -> dict[str, float]:
    """USD per document by part of the bill: `usage` as the run recorded it; `api_ms` the time of
    the caller's `api_requests` requests (upload handle, start, result) and of the
    `other_invocations` of 512 MB functions they cause (the uploads function)."""
    step_billed = lambda_ms(usage.lambda_ms, meter.moto_ms["step"], meter.latency["step"], prices.lambda_memory_mb)
    api_billed = lambda_ms(api_ms, meter.moto_ms["api"], meter.latency["api"], API_MEMORY_MB)
    gb_ms = step_billed * prices.lambda_memory_mb / 1024 + api_billed * API_MEMORY_MB / 1024
    # The API function and its authorizer run once per request (the authorizer's cache ignored).
    invocations = usage.lambda_invocations + 2 * api_requests + other_invocations
    s3 = [(op.startswith(("Get", "Head")), n) for (service, op), n in meter.calls.items() if service == "s3"]
    s3_get = sum(n for reads, n in s3 if reads)
    s3_put = sum(n for reads, n in s3 if not reads)
    sqs = meter.calls_by_service().get("sqs", 0)
    return {
        "step functions": usage.step_transitions * prices.step_transition,
        "lambda": gb_ms / 1000 * prices.lambda_gb_second + invocations * prices.lambda_request,
        "dynamodb": meter.write_units * prices.dynamodb_write_unit + meter.read_units * prices.dynamodb_read_unit,
        "s3": s3_put * prices.s3_put + s3_get * prices.s3_get,
        "eventbridge": meter.events * prices.eventbridge_event,
        "api gateway": api_requests * prices.http_api_request,
        "sqs": sqs * prices.sqs_request,
    }
