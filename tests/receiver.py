"""A local HTTP receiver for outbound-call tests: an `http.server` on 127.0.0.1 in a thread that
records every request and answers from a script (one `Reply` per request, the last one repeated).

    with Receiver() as receiver:
        receiver.script(Reply(503), Reply(200, b"ok"))
        ...send to receiver.url("/hook")...
        assert receiver.requests[0].headers["Content-Type"] == "application/json"

The guard refuses 127.0.0.1 unless allowlisted: build GuardedHttp with
`OutboundSettings(allow=Allowlist.parse("127.0.0.1/32"))` (or set DOCFLOW_OUTBOUND_ALLOW)."""

from __future__ import annotations

import threading
from contextlib import suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Set: the reply waits until the test sets it (or the receiver closes), e.g. to cause a timeout.
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._replies: list[Reply] = [Reply()]
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="receiver", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies = list(replies)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.pop(0) if len(self._replies) > 1 else self._replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    receiver.requests.append(Recorded(self.command, self.path, dict(self.headers.items()), body))
                reply = receiver._next_reply()
                if reply.hold is not None:
                    while not (reply.hold.wait(0.05) or receiver._closing.is_set()):
                        pass
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                with suppress(BrokenPipeError, ConnectionResetError):  # the client stopped reading (size cap)
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
