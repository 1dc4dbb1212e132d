"""A tracing profiler for local mode: wraps the functions where a document's time can go
(HTTP handling, SQLite, JSON/pydantic, blobs, parse, extract) for the duration of a `with`, and
sums their exclusive wall time per thread group. Sampling from Python would be biased here:
the sampler needs the GIL, so it mostly sees threads at the moment they release it (I/O)."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

API_GLUE = "API request: waitress→event→response glue"
FILE_GLUE = "file PUT glue"


def _group(thread_name: str) -> str:
    if thread_name.startswith("docflow-engine"):
        return "engine"
    if thread_name.startswith("waitress") or thread_name == "docflow-http":
        return "HTTP server"
    return "client"


class Spans:
    def __init__(self) -> None:
        self.exclusive: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.inclusive: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.calls: defaultdict[tuple[str, str], int] = defaultdict(int)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._undo: list[tuple[Any, str, Any]] = []

    # --- timing --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def span(self, label: str) -> Iterator[None]:
        stack: list[float] = self._local.__dict__.setdefault("children", [])
        stack.append(0.0)  # time spent in spans nested in this one
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            nested = stack.pop()
            if stack:
                stack[-1] += elapsed
            key = (_group(threading.current_thread().name), label)
            with self._lock:
                self.exclusive[key] += elapsed - nested
                self.inclusive[key] += elapsed
                self.calls[key] += 1

    # --- patching ------------------------------------------------------------------------------
    def wrap(self, owner: Any, name: str, label: str, *, context_manager: bool = False) -> None:
        original = getattr(owner, name)
        spans = self

        if context_manager:
            @contextlib.contextmanager
            def wrapped_cm(*args: Any, **kwargs: Any) -> Iterator[Any]:
                with spans.span(label), original(*args, **kwargs) as value:
                    yield value
            replacement: Callable[..., Any] = wrapped_cm
        else:
            def wrapped(*args: Any, **kwargs: Any) -> Any:
                with spans.span(label):
                    return original(*args, **kwargs)
            replacement = wrapped
        self._undo.append((owner, name, original))
        setattr(owner, name, functools.wraps(original)(replacement))

    def __enter__(self) -> Spans:
        return self

    def __exit__(self, *_: object) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()

    def report(self, units: int, top: int = 9) -> list[str]:
        """Exclusive thread-milliseconds per unit (e.g. per document), per thread group."""
        lines = []
        for group in ("client", "HTTP server", "engine"):
            items = sorted(((label, t) for (g, label), t in self.exclusive.items() if g == group),
                           key=lambda kv: -kv[1])
            total = sum(t for _, t in items)
            shown = ", ".join(f"{label} {t * 1000 / units:.1f}" for label, t in items[:top] if t * 1000 / units >= 0.05)
            lines.append(f"    {group} ({total * 1000 / units:.1f} ms/doc): {shown}")
        return lines


def instrument(spans: Spans) -> None:
    """The places local mode spends a document's time; nested spans are subtracted from outer ones."""
    from docflow.adapters.local import files, sqlite
    from docflow.adapters.local.events import InProcessEventBus
    from docflow.runtime import engine, local_server
    from docflow.usecases import run

    spans.wrap(local_server.LocalHttpApp, "_api", API_GLUE)
    spans.wrap(local_server.LocalHttpApp, "_files", FILE_GLUE)
    spans.wrap(local_server, "authenticate", "API key check")
    spans.wrap(local_server, "handle", "powertools resolver + route + schemas")
    spans.wrap(local_server, "record_upload_by_key", "record upload")
    spans.wrap(engine.LocalEngine, "_drive", "engine: run use-case glue")
    spans.wrap(run, "parse_document", "parse_document (pdfplumber)")
    spans.wrap(run, "extract_fields", "extract_fields")
    spans.wrap(run, "_latest_parse_output", "reload parse output (JSON→ParsedDocument)")
    spans.wrap(run, "_execute", "step output model_dump + config validation")
    for name in ("execute", "connection"):
        spans.wrap(sqlite.SqliteDatabase, name, "SQLite statements")
    spans.wrap(sqlite.SqliteDatabase, "transaction", "SQLite statements", context_manager=True)
    spans.wrap(sqlite, "dump_model", "model→JSON (dump_model)")
    spans.wrap(sqlite, "load_model", "JSON→model (load_model)")
    spans.wrap(sqlite, "pack_step_output", "step output → JSON")
    spans.wrap(sqlite, "unpack_step_output", "JSON → step output")
    for name in ("read", "write", "write_stream", "verify", "presign_upload", "head"):
        spans.wrap(files.LocalBlobStore, name, "blob files + signing")
    spans.wrap(InProcessEventBus, "publish", "event publish")
