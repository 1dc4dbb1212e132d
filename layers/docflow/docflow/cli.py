"""The `docflow` command (DESIGN.md §6). Exit codes: 0 success, 1 failed run, 2 bad usage."""

from __future__ import annotations

import argparse
import json
import mimetypes
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

FINAL = {"completed", "failed", "canceled"}


def _fail(message: str, code: int = 2) -> NoReturn:
    print(f"docflow: {message}", file=sys.stderr)
    raise SystemExit(code)


def _serve(args: argparse.Namespace) -> int:
    from docflow.runtime.local.server import RunningServer
    from docflow.runtime.settings import LocalSettings

    settings = LocalSettings.from_env(data_dir=args.data_dir, host=args.host, port=args.port, workers=args.workers)
    _log_requests()
    server = RunningServer(settings)
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


def _log_requests() -> None:
    """The access log (method, path, status, ms) on stderr, unless DOCFLOW_ACCESS_LOG=0."""
    import logging

    if os.environ.get("DOCFLOW_ACCESS_LOG", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    access = logging.getLogger("docflow.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False


def _keys_create(args: argparse.Namespace) -> int:
    from docflow.domain.errors import DocflowError
    from docflow.runtime.local import LocalRuntime
    from docflow.runtime.settings import LocalSettings
    from docflow.usecases.keys import issue_key

    runtime = LocalRuntime(LocalSettings.from_env(data_dir=args.data_dir, workers=1))
    try:
        issued = issue_key(runtime.ports.keys, args.workspace, args.name)
    except DocflowError as exc:
        _fail(exc.message)
    finally:
        runtime.close()
    print(issued.secret)
    print(f"key {issued.key.id} ({issued.key.prefix}…) in workspace '{issued.key.workspace_id}': "
          "store it now, it is not shown again", file=sys.stderr)
    return 0


class _Api:
    def __init__(self, url: str, key: str) -> None:
        import requests

        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"

    def call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        import requests

        try:
            response = self.session.request(method, f"{self.url}{path}", timeout=60, **kwargs)
        except requests.ConnectionError:
            _fail(f"cannot reach {self.url}: is `docflow serve` running?", 1)
        body = response.json() if response.content else {}
        if response.status_code >= 400:
            error = body.get("error", {}) if isinstance(body, dict) else {}
            _fail(f"{method} {path}: {response.status_code} {error.get('message', response.text)}", 1)
        return dict(body)


def _run(args: argparse.Namespace) -> int:
    import requests

    key = os.environ.get("DOCFLOW_API_KEY")
    if not key:
        _fail("set DOCFLOW_API_KEY to an API key (create one with `docflow keys create --name NAME`)")
    path = Path(args.file)
    if not path.is_file():
        _fail(f"no such file: {path}")
    content_type = args.content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    api = _Api(args.url, key)
    handle = api.call("POST", "/v1/documents",
                      json={"name": path.name, "content_type": content_type, "size": path.stat().st_size})
    with path.open("rb") as data:
        upload = requests.put(handle["file_url"], data=data, headers=handle["upload_headers"], timeout=600)
    if upload.status_code >= 300:
        _fail(f"upload refused: {upload.status_code} {upload.text}", 1)
    execution = api.call("POST", f"/v1/workflows/{args.workflow_id}/executions",
                         json={"document_id": handle["id"], "title": path.name})
    if not args.wait:
        print(json.dumps(execution, indent=2))
        return 0
    seen = 0
    deadline = time.monotonic() + args.timeout
    while True:
        for change in execution["status_history"][seen:]:
            print(f"{change['time']}  {change['status']}  {change.get('message') or ''}".rstrip(), file=sys.stderr)
        seen = len(execution["status_history"])
        if execution["status"] in FINAL:
            break
        if time.monotonic() > deadline:
            _fail(f"execution {execution['id']} still {execution['status']} after {args.timeout}s", 1)
        time.sleep(0.2)
        execution = api.call("GET", f"/v1/executions/{execution['id']}")
    if execution["status"] != "completed":
        print(json.dumps({"id": execution["id"], "status": execution["status"], "error": execution["error"]},
                         indent=2))
        return 1
    print(json.dumps(execution["output"], indent=2))
    return 0


def _extract(args: argparse.Namespace) -> int:
    """Parse FILE and extract its fields on this machine: no server, no stored run."""
    from pydantic import ValidationError

    from docflow.domain.errors import DocflowError
    from docflow.runtime.extraction import engines_from_env
    from docflow.runtime.settings import limits_from_env
    from docflow.usecases.extract_file import extract_file

    path = Path(args.file)
    if not path.is_file():
        _fail(f"no such file: {path}")
    fields: list[Any] = []
    if args.fields:
        try:
            fields = json.loads(Path(args.fields).read_text())
        except (OSError, ValueError) as exc:
            _fail(f"--fields {args.fields}: {exc}")
        if isinstance(fields, dict) and "fields" in fields:
            fields = fields["fields"]  # an extract step's whole config is accepted too
    if not args.fields and not args.preset:
        args.preset = "invoice"
    config = {"engine": args.engine, "preset": args.preset, "fields": fields}
    content_type = args.content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    try:
        extraction = extract_file(path.read_bytes(), content_type, config, limits_from_env(), engines_from_env)
    except ValidationError as exc:
        _fail(f"invalid extract config: {exc.errors()[0]['msg']}")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="docflow", description="Docflow: document workflows behind a REST API")
    commands = parser.add_subparsers(dest="command", required=True)
    data_dir_help = "where local mode keeps its data (DOCFLOW_DATA_DIR, default .docflow)"

    serve = commands.add_parser("serve", help="run local mode: the API, the engine and the storage on this machine")
    serve.add_argument("--host", default=None, help="interface to listen on (DOCFLOW_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (DOCFLOW_PORT, default 8080; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, default=None, help=data_dir_help)
    serve.add_argument("--workers", type=int, default=None, help="executions run at once (DOCFLOW_WORKERS)")
    serve.set_defaults(func=_serve)

    keys = commands.add_parser("keys", help="manage API keys of local mode")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create an API key and print it once")
    create.add_argument("--name", required=True)
    create.add_argument("--workspace", default="default", help="workspace of the key, created if new")
    create.add_argument("--data-dir", type=Path, default=None, help=data_dir_help)
    create.set_defaults(func=_keys_create)

    run = commands.add_parser("run", help="upload FILE and run workflow WORKFLOW_ID on it")
    run.add_argument("workflow_id")
    run.add_argument("file")
    run.add_argument("--wait", action="store_true", help="show progress and print output.values as JSON")
    run.add_argument("--url", default=os.environ.get("DOCFLOW_URL", "http://127.0.0.1:8080"),
                     help="API base URL (DOCFLOW_URL)")
    run.add_argument("--content-type", default=None, help="override the type guessed from the file name")
    run.add_argument("--timeout", type=float, default=600, help="seconds --wait waits at most")
    run.set_defaults(func=_run)

    extract = commands.add_parser("extract", help="parse FILE and print its fields, on this machine (no server)")
    extract.add_argument("file")
    which = extract.add_mutually_exclusive_group()
    which.add_argument("--preset", choices=["invoice"], default=None, help="built-in fields (default: invoice)")
    which.add_argument("--fields", default=None, help="a JSON file: a list of fields as in an extract step")
    extract.add_argument("--engine", choices=["rules", "textract", "bedrock"], default="rules",
                         help="textract and bedrock call AWS with your credentials (default: rules)")
    extract.add_argument("--json", action="store_true", help='print {"values", "confidence", "pages"} as JSON')
    extract.add_argument("--content-type", default=None, help="override the type guessed from the file name")
    extract.set_defaults(func=_extract)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
