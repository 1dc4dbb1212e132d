"""Local mode over HTTP: a WSGI app served by waitress.

`/v1/*` is turned into the same API Gateway (HTTP API, payload 2.0) event the Lambda gets, after
the same API-key check the Lambda authorizer does; `/files/*` plays S3's part for the signed,
expiring upload and download URLs."""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

from docflow.adapters.common import content_disposition
from docflow.api.app import create_app, error_result, handle, is_public
from docflow.domain.clock import utc_now
from docflow.domain.errors import (
    BadRequest,
    Conflict,
    DocflowError,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
)
from docflow.domain.models import Document, DocumentStatus
from docflow.runtime.local import LocalRuntime
from docflow.runtime.local.inbox import InboxWatcher
from docflow.runtime.local.review_timeouts import ReviewTimeoutLoop
from docflow.runtime.local.scheduler import ScheduleLoop
from docflow.runtime.settings import LocalSettings
from docflow.usecases.documents import media_type, record_upload_by_key
from docflow.usecases.keys import authenticate, ensure_key

StartResponse = Callable[[str, list[tuple[str, str]]], Any]
FILES_PREFIX = "/files/"
log = logging.getLogger("docflow.http")
access_log = logging.getLogger("docflow.access")  # one line per request; `docflow serve` prints it
_CHUNK = 256 * 1024


def _status_line(code: int) -> str:
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


class LocalHttpApp:
    """The WSGI callable. Powertools resolvers keep per-request state, so each server thread
    gets its own resolver over the shared ports."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self.runtime = runtime
        self._local = threading.local()

    def _resolver(self) -> APIGatewayHttpResolver:
        app = getattr(self._local, "app", None)
        if app is None:
            app = self._local.app = create_app(self.runtime.ports)
        return app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()

        def logged(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            # method, path (never the query: signed URLs carry their signature there), status, ms;
            # never a header, so never the key
            access_log.info("%s %s %s %.1f ms", environ.get("REQUEST_METHOD", "?"), environ.get("PATH_INFO", "/"),
                            status.split(" ", 1)[0], 1000 * (time.perf_counter() - started))
            return start_response(status, headers, *rest)

        return self._serve(environ, logged)

    def _serve(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        try:
            if path.startswith(FILES_PREFIX):
                return self._files(environ, start_response, unquote(path[len(FILES_PREFIX):]))
            return self._api(environ, start_response, path)
        except DocflowError as exc:
            return self._send_result(start_response, error_result(exc))
        except Exception:
            log.exception("unhandled error on %s", path)
            return self._send_result(start_response, error_result(DocflowError("internal error; see the server log")))

    # --- /v1: the API ------------------------------------------------------------------------
    def _api(self, environ: dict[str, Any], start_response: StartResponse, path: str) -> Iterable[bytes]:
        headers = {key[5:].replace("_", "-").lower(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            if environ.get(key):
                headers[key.replace("_", "-").lower()] = environ[key]
        authorizer: dict[str, Any] = {}
        if not is_public(path):
            key = authenticate(self.runtime.ports.keys, headers.get("authorization"))
            authorizer = {"workspace_id": key.workspace_id, "key_id": key.id, "key_name": key.name}
        length = int(environ.get("CONTENT_LENGTH") or 0)
        limit = self.runtime.settings.limits.max_request_bytes
        if length > limit:
            raise PayloadTooLarge(f"request body is {length} bytes, over the {limit} byte limit; upload large "
                                  "files through POST /v1/documents and PUT to its file_url")
        raw = environ["wsgi.input"].read(length) if length else b""
        event = self._event(environ, path, headers, raw, authorizer)
        result = handle(self._resolver(), limit, event, None)
        return self._send_result(start_response, result)

    @staticmethod
    def _event(environ: dict[str, Any], path: str, headers: dict[str, str], raw: bytes,
               authorizer: dict[str, Any]) -> dict[str, Any]:
        query = environ.get("QUERY_STRING", "")
        params: dict[str, str] = {}
        for name, value in parse_qsl(query, keep_blank_values=True):
            params[name] = f"{params[name]},{value}" if name in params else value
        # As API Gateway does: text bodies as text, anything else (forms with files) base64-encoded.
        textual = headers.get("content-type", "application/json").startswith(("application/json", "text/"))
        try:
            body, encoded = (raw.decode(), False) if textual else (base64.b64encode(raw).decode(), True)
        except UnicodeDecodeError:
            body, encoded = base64.b64encode(raw).decode(), True
        now = time.time()
        return {
            "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": headers, "queryStringParameters": params or None, "body": body or None,
            "isBase64Encoded": encoded,
            "requestContext": {
                "accountId": "local", "apiId": "local", "domainName": headers.get("host", "localhost"),
                "http": {"method": environ["REQUEST_METHOD"], "path": path, "protocol": "HTTP/1.1",
                         "sourceIp": environ.get("REMOTE_ADDR", ""), "userAgent": headers.get("user-agent", "")},
                "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)), "timeEpoch": int(now * 1000),
                "authorizer": {"lambda": authorizer},
            },
        }

    @staticmethod
    def _send_result(start_response: StartResponse, result: dict[str, Any]) -> Iterable[bytes]:
        headers = [(k, str(v)) for k, v in (result.get("headers") or {}).items()]
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((name, str(v)) for v in values)
        headers.extend(("Set-Cookie", c) for c in result.get("cookies") or [])
        body = result.get("body") or ""
        data = base64.b64decode(body) if result.get("isBase64Encoded") else str(body).encode()
        headers = [h for h in headers if h[0].lower() != "content-length"] + [("Content-Length", str(len(data)))]
        start_response(_status_line(int(result["statusCode"])), headers)
        return [data]

    # --- /files: signed uploads and downloads ------------------------------------------------
    def _files(self, environ: dict[str, Any], start_response: StartResponse, key: str) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        query = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        blobs = self.runtime.blobs
        if method not in ("PUT", "GET", "HEAD"):
            raise BadRequest(f"{method} is not supported on file URLs")
        grant = blobs.verify("GET" if method == "HEAD" else method, key, query, utc_now())
        if method == "PUT":
            return self._upload(environ, start_response, key, grant.content_type or "",
                                grant.max_bytes or self.runtime.settings.limits.max_upload_bytes)
        stored = blobs.head(key)
        if stored is None:
            raise NotFound("no file at this URL")
        headers = [("Content-Type", stored.content_type or "application/octet-stream"),
                   ("Content-Length", str(stored.size))]
        if grant.filename:
            headers.append(("Content-Disposition", content_disposition(grant.filename)))
        start_response("200 OK", headers)
        return [] if method == "HEAD" else _stream(blobs.open_read(key))

    def _upload(self, environ: dict[str, Any], start_response: StartResponse, key: str, content_type: str,
                max_bytes: int) -> Iterable[bytes]:
        sent_type = environ.get("CONTENT_TYPE", "")
        if content_type and media_type(sent_type) != media_type(content_type):
            raise Forbidden(f"this URL was signed for Content-Type '{content_type}', the request sent "
                            f"'{sent_type or 'none'}'")
        document = self._document(key)
        if document is not None and document.status != DocumentStatus.PENDING_UPLOAD:
            message = "this document has already been uploaded; create a new document for other bytes"
            # With the If-None-Match: * of upload_headers, answer as S3 does to that condition.
            raise PreconditionFailed(message) if environ.get("HTTP_IF_NONE_MATCH") == "*" else Conflict(message)
        length = environ.get("CONTENT_LENGTH")
        if document is not None and document.declared_size is not None:
            self._check_declared_length(document.declared_size, length)
        stored = self.runtime.blobs.write_stream(key, environ["wsgi.input"], int(length) if length else None,
                                                 max_bytes, content_type or sent_type)
        record_upload_by_key(self.runtime.ports, key)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"key": key, "size": stored.size}).encode()]

    @staticmethod
    def _check_declared_length(declared: int, length: str | None) -> None:
        """As S3 does with a Content-Length in the signature: a PUT of another size is refused
        before anything is stored, and the handle stays usable for the right bytes."""
        if not length:
            raise BadRequest(f"send a Content-Length header: this URL was signed for exactly {declared} bytes",
                             code="length_required")
        if int(length) > declared:
            raise PayloadTooLarge(f"the upload is {length} bytes; this document was declared as {declared} bytes")
        if int(length) != declared:
            raise Forbidden(f"the upload is {length} bytes; this URL was signed for exactly {declared} bytes")

    def _document(self, key: str) -> Document | None:
        parts = key.split("/")
        if len(parts) != 3 or parts[0] != "documents":
            return None
        try:
            return self.runtime.ports.documents.get(parts[1], parts[2])
        except NotFound:
            return None


def _stream(handle: Any) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


class RunningServer:
    """Local mode started in this process: the server thread, its URL and its runtime."""

    def __init__(self, settings: LocalSettings, *, threads: int = 8) -> None:
        from waitress.server import create_server

        self._dispatch = _Dispatch()
        self._server = create_server(self._dispatch, host=settings.host, port=settings.port, threads=threads,
                                     max_request_body_size=settings.limits.max_upload_bytes + 1024,
                                     ident="docflow")
        port = self._server.effective_port
        self.url = f"http://{settings.host}:{port}"
        self.runtime = LocalRuntime(settings, base_url=self.url)
        if settings.api_key:
            ensure_key(self.runtime.ports.keys, settings.api_key)
        self._dispatch.target = LocalHttpApp(self.runtime)
        self.resumed = self.runtime.engine.resume_unfinished()
        self.inbox = InboxWatcher(self.runtime.ports, settings.data_dir, settings.inbox_poll_ms / 1000)
        self.scheduler = ScheduleLoop(self.runtime.ports, self.runtime.schedules)
        self.review_timeouts = ReviewTimeoutLoop(self.runtime.ports, self.runtime.reviews)
        self._thread: threading.Thread | None = None

    def serve_forever(self) -> None:
        self.inbox.start()
        self.scheduler.start()
        self.review_timeouts.start()
        self.runtime.webhooks.start()
        self._server.run()

    def start(self) -> RunningServer:
        self.inbox.start()
        self.scheduler.start()
        self.review_timeouts.start()
        self.runtime.webhooks.start()
        self._thread = threading.Thread(target=self._server.run, name="docflow-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            # Closing sockets from another thread races the select loop: let the loop close them.
            from waitress import wasyncore

            server = self._server
            trigger = server.trigger
            # Not trigger.pull_trigger(thunk): it queues the thunk, then writes to the pipe, and a
            # wake-up from a task thread finishing a response in between runs the thunk, whose
            # close_all closes the pipe, so the write fails (EBADF) or hits a reused fd. Holding
            # the trigger's lock keeps the loop from running thunks until the write is done.
            with trigger.lock:
                trigger.thunks.append(lambda: wasyncore.close_all(server._map))
                trigger._physical_pull()
            self._thread.join(timeout=10)
            server.task_dispatcher.shutdown()
        else:
            self._server.close()
        self.inbox.stop()
        self.scheduler.stop()
        self.review_timeouts.stop()
        self.runtime.close()


class _Dispatch:
    target: LocalHttpApp | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        assert self.target is not None
        return self.target(environ, start_response)
