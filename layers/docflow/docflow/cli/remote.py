"""Commands that talk to a Docflow API (local mode or AWS): workflows, executions, keys on a
server, and `run` (upload a file, start a run, show its steps as they finish)."""

from __future__ import annotations

import argparse
import json
import mimetypes
import sys
import time
from pathlib import Path
from typing import Any

from docflow.cli.client import Api, api_from, fail

FINAL = {"completed", "failed", "canceled"}


def show(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def every(api: Api, path: str, params: dict[str, Any] | None = None, limit: int | None = None) -> list[dict[str, Any]]:
    """Items of a list route, following `next_cursor` (up to `limit` items)."""
    found: list[dict[str, Any]] = []
    query = dict(params or {})
    while True:
        page = api.call("GET", path, params={**query, "limit": 100})
        found += page.get("items", [])
        if limit is not None and len(found) >= limit:
            return found[:limit]
        if not page.get("next_cursor"):
            return found
        query["cursor"] = page["next_cursor"]


def table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    """One line per item, aligned: the fields a person scans for."""
    if not rows:
        print("(none)", file=sys.stderr)
        return
    cells = [[str(row.get(c) if row.get(c) is not None else "-") for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


# --- workflows -----------------------------------------------------------------------------------

def workflows_create(args: argparse.Namespace) -> int:
    try:
        body = json.loads(Path(args.file).read_text())
    except (OSError, ValueError) as exc:
        fail(f"-f {args.file}: {exc}")
    created = api_from(args).call("POST", "/v1/workflows", json=body)
    print(f"created workflow {created['id']}", file=sys.stderr)
    show(created)
    return 0


def listing(args: argparse.Namespace, items: list[dict[str, Any]], columns: tuple[str, ...]) -> int:
    """A list command's output: JSON with --json, else one aligned line per item."""
    if args.json:
        show(items)
    else:
        table(items, columns)
    return 0


def workflows_list(args: argparse.Namespace) -> int:
    return listing(args, every(api_from(args), "/v1/workflows"), ("id", "name", "trigger_type", "version",
                                                                   "updated_at"))


def workflows_get(args: argparse.Namespace) -> int:
    show(api_from(args).call("GET", f"/v1/workflows/{args.id}"))
    return 0


def workflows_delete(args: argparse.Namespace) -> int:
    api_from(args).call("DELETE", f"/v1/workflows/{args.id}")
    print(f"deleted workflow {args.id}", file=sys.stderr)
    return 0


# --- executions ----------------------------------------------------------------------------------

def executions_list(args: argparse.Namespace) -> int:
    params = {"status": args.status} if args.status else {}
    items = every(api_from(args), f"/v1/workflows/{args.workflow_id}/executions", params, limit=args.limit)
    return listing(args, items, ("id", "status", "name", "created_at", "duration"))


def executions_get(args: argparse.Namespace) -> int:
    show(api_from(args).call("GET", f"/v1/executions/{args.id}"))
    return 0


def executions_cancel(args: argparse.Namespace) -> int:
    api = api_from(args)
    execution = api.call("GET", f"/v1/executions/{args.id}")
    canceled = api.call("PATCH", f"/v1/workflows/{execution['workflow_id']}/executions/{args.id}",
                        json={"status": "canceled"})
    print(f"execution {args.id} is {canceled['status']}", file=sys.stderr)
    return 0


# --- keys on a server ------------------------------------------------------------------------------

def server_keys(args: argparse.Namespace) -> Api:
    if args.workspace:
        fail("--workspace is for a data dir: on a server, keys belong to the workspace of DOCFLOW_API_KEY")
    return api_from(args)


# --- run -------------------------------------------------------------------------------------------

def run(args: argparse.Namespace) -> int:
    import requests

    path = Path(args.file)
    if not path.is_file():
        fail(f"no such file: {path}")
    api = api_from(args)
    api.call("GET", f"/v1/workflows/{args.workflow_id}")  # before the upload: a wrong id leaves no orphan document
    content_type = args.content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    handle = api.call("POST", "/v1/documents",
                      json={"name": path.name, "content_type": content_type, "size": path.stat().st_size})
    with path.open("rb") as data:
        upload = requests.put(handle["file_url"], data=data, headers=handle["upload_headers"], timeout=600)
    if upload.status_code >= 300:
        fail(f"upload refused: {upload.status_code} {upload.text}", 1)
    execution = api.call("POST", f"/v1/workflows/{args.workflow_id}/executions",
                         json={"document_id": handle["id"], "title": path.name})
    if not args.wait:
        show(execution)
        return 0
    execution = _follow(api, execution, args.timeout)
    if execution["status"] != "completed":
        show({"id": execution["id"], "status": execution["status"], "error": execution["error"]})
        return 1
    show(execution["output"])
    return 0


def _follow(api: Api, execution: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Polls until the run ends, telling each step as it finishes on stderr: a live line on a
    terminal (rich), plain lines otherwise (logs, CI)."""
    progress = StepProgress(sys.stderr.isatty())
    deadline = time.monotonic() + timeout
    try:
        while True:
            progress.update(execution)
            if execution["status"] in FINAL:
                return execution
            if time.monotonic() > deadline:
                fail(f"execution {execution['id']} is still {execution['status']} after {timeout:g} s", 1)
            # ?wait: the answer comes the moment the run ends; 2 s at most, to tell steps as they end
            execution = api.call("GET", f"/v1/executions/{execution['id']}", params={"wait": 2})
    finally:
        progress.close()


class StepProgress:
    def __init__(self, live: bool) -> None:
        self.told = 0
        self.status: str | None = None
        self._live: Any = None
        if live:
            from rich.console import Console

            self._console = Console(stderr=True)
            self._live = self._console.status("queued …")
            self._live.start()

    def say(self, line: str) -> None:
        if self._live is not None:
            self._console.print(line, highlight=False, markup=False)
        else:
            print(line, file=sys.stderr, flush=True)

    def update(self, execution: dict[str, Any]) -> None:
        for entry in execution.get("execution_log", [])[self.told:]:
            mark = {"completed": "✓", "failed": "✗", "skipped": "–"}.get(entry.get("status", ""), "·")
            took = f" {entry['duration_ms']} ms" if entry.get("duration_ms") is not None else ""
            error = f": {entry['error'].get('message', '')}" if isinstance(entry.get("error"), dict) else ""
            self.say(f"{entry['step_id']} {mark}{took}{error}")
        self.told = len(execution.get("execution_log", []))
        if execution["status"] != self.status:
            self.status = execution["status"]
            waiting = {"review": "waiting for a person (review)", "queued": "queued"}.get(self.status, self.status)
            if self._live is not None:
                self._live.update(f"{waiting} …")
            elif self.status not in FINAL:
                self.say(f"{waiting} …")
        if execution["status"] in FINAL:
            self.say(f"{execution['status']} ({execution['id']})")

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
