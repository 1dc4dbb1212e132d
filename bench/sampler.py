"""A wall-clock sampling profiler over every thread of this process (cProfile sees one thread
at a time, and local mode spreads one document over the client, waitress and engine threads).

Each sample is filed under the first bucket found walking from the innermost frame outwards,
per thread group, so "SQLite" means time spent inside the SQLite adapter, whoever called it."""

from __future__ import annotations

import sys
import threading
import time
from collections import defaultdict
from types import FrameType

# (bucket, module-name prefixes); the first bucket matching from the innermost frame out wins.
BUCKETS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("idle: poll sleep (client)", ("bench.local:_sleep",)),
    ("idle: waiting (queue/lock/select)", ("threading:wait", "queue:get", "selectors:", "concurrent.futures.thread:",
                                           "waitress.wasyncore:poll")),
    ("SQLite adapter", ("docflow.adapters.local.sqlite",)),
    ("blob files adapter", ("docflow.adapters.local.files",)),
    ("parse (pdfplumber/pdfminer)", ("docflow.steps.parse", "pdfplumber", "pdfminer", "pypdfium2")),
    ("extract (rules)", ("docflow.steps.extract",)),
    ("JSON/pydantic (de)serialisation", ("json", "pydantic", "docflow.adapters.common", "docflow.api.schemas")),
    ("powertools resolver/validation", ("aws_lambda_powertools",)),
    ("docflow use-cases/engine", ("docflow",)),
    ("HTTP client incl. waiting for replies", ("requests", "urllib3", "http.client", "socket", "ssl")),
    ("HTTP server (waitress)", ("waitress",)),
)


def _group(thread_name: str) -> str:
    if thread_name.startswith("docflow-engine"):
        return "engine workers"
    if thread_name.startswith("waitress") or thread_name == "docflow-http":
        return "HTTP server"
    return "client"


def _bucket(frame: FrameType | None) -> str:
    innermost = None
    while frame is not None:
        module = str(frame.f_globals.get("__name__", "?"))
        innermost = innermost or module
        where = f"{module}:{frame.f_code.co_name}"
        for bucket, prefixes in BUCKETS:
            if any(where.startswith(p) if ":" in p else module == p or module.startswith(p + ".") for p in prefixes):
                return bucket
        frame = frame.f_back
    return f"other ({innermost})"


class Sampler:
    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        # thread group → bucket → seconds of thread time
        self.samples: defaultdict[str, defaultdict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        # Each sample weighs the time since the previous one: the sampler needs the GIL, so it
        # wakes late while a thread computes, and counting samples would favour blocking calls.
        me = threading.get_ident()
        last = time.perf_counter()
        while not self._stop.is_set():
            time.sleep(self.interval)
            now = time.perf_counter()
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if ident != me:
                    self.samples[_group(names.get(ident, "?"))][_bucket(frame)] += now - last
            last = now

    def report(self, units: int, top: int = 6) -> list[str]:
        """Thread-milliseconds per unit of work (e.g. per document) in each bucket, per thread group;
        a group's figures can add up to more than the wall time when several of its threads are busy."""
        lines = []
        for group, counts in sorted(self.samples.items()):
            shown = [(bucket, n) for bucket, n in sorted(counts.items(), key=lambda kv: -kv[1])
                     if not bucket.startswith("idle: waiting")][:top]
            lines.append(f"    {group}: " + ", ".join(f"{bucket} {n * 1000 / units:.1f}" for bucket, n in shown))
        return lines
