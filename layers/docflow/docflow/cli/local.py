"""Commands that run on this machine: `serve` (local mode), `keys` on a data dir, `extract`."""

from __future__ import annotations

import argparse
import errno
import json
import logging
import mimetypes
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from docflow.cli.client import fail


def serve(args: argparse.Namespace) -> int:
    from docflow.runtime.local.server import RunningServer
    from docflow.runtime.settings import LocalSettings

    settings = LocalSettings.from_env(data_dir=args.data_dir, host=args.host, port=args.port, workers=args.workers)
    _log_requests()
    try:
        server = RunningServer(settings)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            fail(f"port {settings.port} on {settings.host} is in use: pick another with --port N "
                 "(or DOCFLOW_PORT; --port 0 takes a free one)")
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
            fail(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}): check --host and --port")
        raise
    warm = getattr(server.runtime.compute, "warm", None)
    if warm is not None:
        # Every step worker up and its step modules imported (a second or two, once) beside the
        # API, which answers meanwhile: a run started now waits for its worker, not the server.
        threading.Thread(target=_warm, args=(warm,), name="docflow-warm", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    print(f"Docflow local mode on {server.url} (data in {settings.data_dir.resolve()}); "
          f"API docs at {server.url}/v1/docs", file=sys.stderr, flush=True)
    if server.resumed:
        print(f"resumed {server.resumed} unfinished execution(s)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _warm(warm: Callable[[], None]) -> None:
    try:
        warm()
    except Exception:  # a worker that cannot start fails each run's step with the reason instead
        logging.getLogger("docflow.engine").exception("starting the step workers failed")


def _log_requests() -> None:
    """The access log (method, path, status, ms) on stderr, unless DOCFLOW_ACCESS_LOG=0."""
    if os.environ.get("DOCFLOW_ACCESS_LOG", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    access = logging.getLogger("docflow.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


class DataDirKeys:
    """`docflow keys ...` on a data dir: the same use-cases as the API, on the local store."""

    def __init__(self, args: argparse.Namespace) -> None:
        from docflow.runtime.local import LocalRuntime
        from docflow.runtime.settings import LocalSettings

        self.settings = LocalSettings.from_env(data_dir=args.data_dir, workers=1)
        self.runtime = LocalRuntime(self.settings)
        self.workspace: str = args.workspace or "default"

    def __enter__(self) -> DataDirKeys:
        return self

    def __exit__(self, *exc: object) -> None:
        self.runtime.close()

    def where(self) -> str:
        return f"data dir {self.settings.data_dir.resolve()}, workspace '{self.workspace}'"

    def create(self, name: str) -> tuple[str, dict[str, Any]]:
        from docflow.usecases.keys import issue_key

        issued = issue_key(self.runtime.ports.keys, self.workspace, name)
        return issued.secret, _key_json(issued.key)

    def list(self) -> list[dict[str, Any]]:
        from docflow.usecases.keys import list_keys

        found: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = list_keys(self.runtime.ports.keys, self.workspace, 100, cursor)
            found += [_key_json(key) for key in page.items]
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor

    def revoke(self, key_id: str) -> dict[str, Any]:
        from docflow.usecases.keys import revoke_key

        return _key_json(revoke_key(self.runtime.ports.keys, self.workspace, key_id))


def _key_json(key: Any) -> dict[str, Any]:
    from docflow.api.schemas import ApiKeyOut

    return ApiKeyOut.of(key).model_dump(mode="json")


def extract(args: argparse.Namespace) -> int:
    """Parse FILE and extract its fields on this machine: no server, no stored run."""
    from pydantic import ValidationError

    from docflow.domain.errors import DocflowError
    from docflow.runtime.extraction import engines_from_env
    from docflow.runtime.settings import limits_from_env
    from docflow.usecases.extract_file import extract_file

    path = Path(args.file)
    if not path.is_file():
        fail(f"no such file: {path}")
    fields: Any = []
    if args.fields:
        try:
            fields = json.loads(Path(args.fields).read_text())
        except (OSError, ValueError) as exc:
            fail(f"--fields {args.fields}: {exc}")
        if isinstance(fields, dict) and "fields" in fields:
            fields = fields["fields"]  # an extract step's whole config is accepted too
    if not args.fields and not args.preset:
        args.preset = "invoice"
    config = {"engine": args.engine, "preset": args.preset, "fields": fields}
    content_type = args.content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        extraction = extract_file(path.read_bytes(), content_type, config, limits_from_env(), engines_from_env)
    except ValidationError as exc:
        fail(f"invalid extract config: {exc.errors()[0]['msg']}")
    except DocflowError as exc:
        print(json.dumps({"error": {"code": exc.code, "message": exc.message}}) if args.json
              else f"docflow: {exc.code}: {exc.message}", file=sys.stdout if args.json else sys.stderr)
        return 1
    result = {"values": extraction.values, "confidence": extraction.confidence,
              "pages": {name: field.page for name, field in extraction.fields.items()}}
    if args.json:
        print(json.dumps(result, ensure_ascii=False, default=str))
        return 0
    for name, value in extraction.values.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value
        page = result["pages"][name]
        print(f"{name:<16} {extraction.confidence[name]:4.2f}  {'p' + str(page) if page else '  '}  {shown}")
    return 0
