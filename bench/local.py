"""Local mode end to end (create handle → PUT bytes → start → GET ?wait until completed, 1-page
PDF), DESIGN.md §8 and issue 14: the fixed cost per document over calling parse + extract
directly ≤ 10 ms (the DESIGN ratio ≥ 0.8× is printed beside it), and 4 concurrent clients ≥ 1.6×
one client on 2 cores. The server runs in its own process, as `docflow serve` does."""

from __future__ import annotations

import functools
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.common import ROOT, median, ms
from bench.table import Row

API_KEY = "dfk_" + "b" * 40
E2E_TARGET = 0.8
FIXED_COST_TARGET_MS = 10.0
CONCURRENCY_TARGET = 1.6
CORES = os.cpu_count() or 1
INVOICE_FIELDS: list[dict[str, Any]] = [
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
EXPECTED = {"invoice_number": "INV-2041", "date": "2025-03-07", "total": 1234.5}


def invoice_pdf() -> bytes:
    """The one-page invoice of tests/docflow_testing.py, with a real text layer."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    for line in ("ACME Supplies Ltd", "Invoice Number: INV-2041", "Invoice Date: March 7, 2025",
                 "Description            Amount", "Widgets                 $1,000.00", "Total Due: $1,234.50"):
        pdf.cell(0, 10, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class LocalServer:
    """`docflow serve` in its own process, as users run it: the bench's client threads must not
    share the server's interpreter (and its GIL), or they would measure each other."""

    def __init__(self, data_dir: Path) -> None:
        import socket
        import subprocess

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        docflow = str(Path(sys.executable).with_name("docflow"))
        env = {**os.environ, "DOCFLOW_API_KEY": API_KEY}
        self._process = subprocess.Popen([docflow, "serve", "--port", str(port), "--data-dir", str(data_dir)],
                                         env=env, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                probe = _Connection(self.url)
                probe.request("GET", "/v1/health")
                probe.close()
                return
            except OSError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    raise RuntimeError("docflow serve did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=60)

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU the server process has used (all its threads), and its step worker processes (Linux /proc)."""
        def used(pid: int) -> float:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return 0.0
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        workers = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == self._process.pid:
                        workers.append(int(entry.name))
                except (OSError, ValueError, IndexError):
                    continue
        return used(self._process.pid), sum(used(pid) for pid in workers)


@dataclass
class Phases:
    """Seconds per document in each phase, and the server's own view of the run."""

    create: list[float] = field(default_factory=list)
    put: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    wait: list[float] = field(default_factory=list)
    polls: list[int] = field(default_factory=list)
    engine_ms: list[int] = field(default_factory=list)
    # server process CPU per document (all threads; the step workers apart), 1 client and 4 clients
    server_cpu: dict[str, float] = field(default_factory=dict)
    worker_cpu: dict[str, float] = field(default_factory=dict)
    client_cpu: list[float] = field(default_factory=list)  # CPU of the client thread itself (same GIL)

    def summary(self) -> str:
        return (f"create {ms(median(self.create))}, PUT {ms(median(self.put))}, start {ms(median(self.start))}, "
                f"wait {ms(median(self.wait))} ({median(self.polls):.0f} polls; the run itself "
                f"{median(self.engine_ms):.0f} ms by its `duration`); the bench client's own CPU "
                f"{ms(median(self.client_cpu))}")


class _Connection:
    """One keep-alive HTTP/1.1 connection (http.client): the bench measures the server, so its
    client is the leanest there is (requests spends about 1.5 ms of CPU per request on itself;
    its cost per document is printed beside the results as the client's own CPU)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)

    def request(self, method: str, target: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        self._conn.request(method, target, body=body, headers=headers or {})
        reply = self._conn.getresponse()
        return reply.status, reply.read()

    def close(self) -> None:
        self._conn.close()


class Client:
    def __init__(self, url: str) -> None:
        self.url = url
        self.api = _Connection(url)
        self.files = _Connection(url)  # signed URLs carry their own authority, like S3's
        self._auth = {"Authorization": f"Bearer {API_KEY}"}

    def _call(self, method: str, path: str, expect: int, json_body: Any = None) -> dict[str, Any]:
        headers = dict(self._auth)
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        status, data = self.api.request(method, path, body, headers)
        if status != expect:
            raise RuntimeError(f"{method} {path}: {status} {data[:300]!r}")
        return dict(json.loads(data))

    def create_workflow(self) -> str:
        return str(self._call("POST", "/v1/workflows", 201, INVOICE_WORKFLOW)["id"])

    def process(self, workflow_id: str, pdf: bytes, phases: Phases | None = None,
                expected: dict[str, Any] | None = None) -> None:
        t0, cpu = time.perf_counter(), time.thread_time()
        handle = self._call("POST", "/v1/documents", 201,
                            {"name": "invoice.pdf", "content_type": "application/pdf", "size": len(pdf)})
        t1 = time.perf_counter()
        target = urlsplit(handle["file_url"])
        status, answer = self.files.request("PUT", f"{target.path}?{target.query}", pdf, handle["upload_headers"])
        if status != 200:
            raise RuntimeError(f"PUT file_url: {status} {answer[:300]!r}")
        t2 = time.perf_counter()
        execution = self._call("POST", f"/v1/workflows/{workflow_id}/executions", 202,
                               {"document_id": handle["id"]})
        t3 = time.perf_counter()
        polls = 0
        while True:  # ?wait: the answer leaves when the run ends (issue 14: results without polling)
            polls += 1
            body = self._call("GET", f"/v1/executions/{execution['id']}?wait=20", 200)
            if body["status"] in ("completed", "failed", "canceled"):
                break
        t4 = time.perf_counter()
        values = (body.get("output") or {}).get("values")
        want = EXPECTED if expected is None else expected
        if body["status"] != "completed" or {k: (values or {}).get(k) for k in want} != want:
            raise RuntimeError(f"execution {execution['id']} ended {body['status']}: {values or body.get('error')}")
        if phases is not None:
            phases.create.append(t1 - t0)
            phases.put.append(t2 - t1)
            phases.start.append(t3 - t2)
            phases.wait.append(t4 - t3)
            phases.polls.append(polls)
            phases.engine_ms.append(int(body.get("duration") or 0))
            phases.client_cpu.append(time.thread_time() - cpu)


@dataclass(frozen=True)
class Rate:
    docs_per_s: float
    cpu_per_wall: float  # process CPU seconds per wall second: > 1 only if threads really run in parallel


def _sequential(docs: int, once: Callable[[], None]) -> Rate:
    """1 / the median seconds per document: robust to a hiccup of the machine (other jobs share it)."""
    seconds = []
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(docs):
        started = time.perf_counter()
        once()
        seconds.append(time.perf_counter() - started)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Rate(1 / median(seconds), cpu / wall)


def _throughput(docs: int, work: Callable[[], None]) -> Rate:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Rate(docs / wall, cpu / wall)


def direct(pdf: bytes, expected: dict[str, Any], docs: int, warmups: int = 2) -> Rate:
    from docflow.domain.limits import Limits
    from docflow.steps.extract import ExtractConfig, extract_fields
    from docflow.steps.parse import ParseConfig, parse_document

    config, limits = ExtractConfig.model_validate({"fields": INVOICE_FIELDS}), Limits()

    def once() -> None:
        values = extract_fields(parse_document(pdf, "application/pdf", ParseConfig(), limits), config).values
        if {k: values.get(k) for k in expected} != expected:
            raise RuntimeError(f"direct extraction gave {values}")

    for _ in range(warmups):
        once()
    return _sequential(docs, once)


@dataclass
class LocalResult:
    label: str
    direct: Rate
    sequential: Rate  # 1 / median seconds per document
    one_client: Rate  # documents / elapsed, comparable with `concurrent`
    concurrent: Rate
    clients: int
    phases: Phases


def measure(label: str, pdf: bytes, expected: dict[str, Any], docs: int = 30, clients: int = 4,
            per_client: int = 15, warmups: int = 2) -> LocalResult:
    direct_rate = direct(pdf, expected, docs, warmups)
    with tempfile.TemporaryDirectory(prefix="docflow-bench-") as tmp:
        server = LocalServer(Path(tmp) / "data")
        try:
            client = Client(server.url)
            workflow_id = client.create_workflow()
            for _ in range(warmups):
                client.process(workflow_id, pdf, expected=expected)
            phases = Phases()
            sequential = _sequential(docs, lambda: client.process(workflow_id, pdf, phases, expected))
            total = clients * per_client  # as many documents for 1 client as for all of them together
            one = functools.partial(client.process, workflow_id, pdf, expected=expected)
            before = server.cpu_seconds()
            one_client = _throughput(total, lambda: _repeat(total, one))
            middle = server.cpu_seconds()
            concurrent = _throughput(total, lambda: _concurrently(server.url, workflow_id, pdf,
                                                                  expected, clients, per_client))
            after = server.cpu_seconds()
            for part, (start, end) in (("1 client", (before, middle)), (f"{clients} clients", (middle, after))):
                phases.server_cpu[part] = (end[0] - start[0]) / total
                phases.worker_cpu[part] = (end[1] - start[1]) / total
        finally:
            server.stop()
    return LocalResult(label, direct_rate, sequential, one_client, concurrent, clients, phases)


def _repeat(times: int, once: Callable[[], None]) -> None:
    for _ in range(times):
        once()


def _concurrently(url: str, workflow_id: str, pdf: bytes, expected: dict[str, Any], clients: int,
                  per_client: int) -> None:
    errors: list[BaseException] = []
    gate = threading.Barrier(clients)

    def loop() -> None:
        client = Client(url)
        gate.wait()
        try:
            for _ in range(per_client):
                client.process(workflow_id, pdf, expected=expected)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=loop, name=f"bench-client-{i}") for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def rows(result: LocalResult) -> tuple[list[Row], list[str]]:
    e2e = result.sequential.docs_per_s / result.direct.docs_per_s
    scale = result.concurrent.docs_per_s / result.one_client.docs_per_s
    fixed_ms = 1000 * (1 / result.sequential.docs_per_s - 1 / result.direct.docs_per_s)
    table = [
        Row(f"local fixed cost per doc {result.label} (create, PUT, start, wait)", f"{fixed_ms:.1f} ms",
            f"{1000 / result.direct.docs_per_s:.1f} ms parse+extract", fixed_ms / FIXED_COST_TARGET_MS,
            f"<= {FIXED_COST_TARGET_MS:.0f} ms", fixed_ms <= FIXED_COST_TARGET_MS),
        Row(f"local e2e {result.label}, 1 client (docs/s)", f"{result.sequential.docs_per_s:.1f}",
            f"{result.direct.docs_per_s:.1f} (parse+extract direct)", e2e, f">= {E2E_TARGET}x", e2e >= E2E_TARGET),
        Row(f"local e2e {result.label}, {result.clients} clients (docs/s)", f"{result.concurrent.docs_per_s:.1f}",
            f"{result.one_client.docs_per_s:.1f} (1 client, total)", scale, f">= {CONCURRENCY_TARGET}x",
            scale >= CONCURRENCY_TARGET),
    ]
    findings = [f"{result.label}: local e2e per document (medians, 1 client, GET ?wait=20): "
                f"{result.phases.summary()}; direct parse+extract {ms(1 / result.direct.docs_per_s)}."]
    cpu = "; ".join(f"{label}: server {ms(seconds)}, step workers {ms(result.phases.worker_cpu[label])}"
                    for label, seconds in result.phases.server_cpu.items())
    many = f"{result.clients} clients"
    per_doc_cpu = (result.phases.server_cpu[many] + result.phases.worker_cpu[many]
                   + result.concurrent.cpu_per_wall / result.concurrent.docs_per_s)
    ceiling = CORES / per_doc_cpu
    findings.append(
        f"{result.label}: CPU per document ({cpu}; the bench client "
        f"{ms(median(result.phases.client_cpu))} at 1 client). "
        f"Why {result.clients} clients scale so little: 1 client already keeps about one core busy (the server, a "
        "step worker and the client take turns on the critical path), and the server is one process whose "
        "Python work per document (4 requests through waitress and the resolver with its validation, about 40 "
        "SQLite statements, the engine's saves, the events' fan-out) holds one GIL; with more clients that work "
        "grows (GIL hand-offs between its threads). All CPU per document at "
        f"{result.clients} clients ({ms(per_doc_cpu)}: server, step workers and bench client) caps {CORES} cores at "
        f"{ceiling:.0f} docs/s = {ceiling / result.one_client.docs_per_s:.2f}x one client, whatever the scheduling. "
        "More needs the API in more than one process, which local mode's in-process engine (one driver per run, "
        "one SQLite writer) does not do: AWS is where a load beyond one machine goes. A document whose parse + "
        "extract takes longer moves the ratio up, as that work runs in the step worker processes.")
    overhead = 1 / result.sequential.docs_per_s - 1 / result.direct.docs_per_s
    if not e2e >= E2E_TARGET and overhead > 0:
        findings.append(f"fixed cost of local mode per document: {ms(overhead)} over parse+extract; the 1-client ratio "
                        f"reaches {E2E_TARGET}x only for documents whose parse+extract takes >= "
                        f"{ms(overhead * E2E_TARGET / (1 - E2E_TARGET))} (this 1-page PDF: "
                        f"{ms(1 / result.direct.docs_per_s)}).")
    return table, findings


def corpus_invoice() -> tuple[bytes, dict[str, Any]] | None:
    """A real one-page invoice of the shared corpus (a yardstick beside the repo), if present."""
    path = ROOT.parent / "shared" / "corpus" / "invoices-dev" / "AmazonWebServices.pdf"
    if not path.exists():
        return None
    return path.read_bytes(), {"invoice_number": "42183017", "date": "2014-08-03"}
