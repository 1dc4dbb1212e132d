"""GuardedHttp: the OutboundHttp adapter of both runtimes (the SSRF guard around every request to a
user-supplied URL). The policy is domain/ssrf.py; this module resolves names and sends.

Why urllib3 with a pool per request aimed at the checked IP: the name is resolved once, every
address is judged, and the connection goes to that address (`HTTPConnectionPool(host=<ip>)`, the
name in the `Host` header and, for TLS, in SNI and the certificate check via `server_hostname` /
`assert_hostname`). A resolver that answers differently a second time (DNS rebinding) cannot
move the connection elsewhere. urllib3 is already in both runtimes (botocore depends on it), and
unlike `requests` it reads no proxy settings from the environment, which would bypass the pinning.
Redirects are not followed: a 3xx is answered to the caller, who may not call its Location without
going through `send` (and so the guard) again."""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from docflow.domain.errors import DeliveryTransient, UrlRefused
from docflow.domain.ssrf import Allowlist, IPAddress, Refusal, Target, judge_addresses, parse_target
from docflow.ports import OutboundRequest, OutboundResponse

if TYPE_CHECKING:  # urllib3 is imported on the first send: the API's cold start does not pay for it
    import urllib3

DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024
_CHUNK = 8192
_ERROR_BODY_BYTES = 200


@dataclass(frozen=True)
class OutboundSettings:
    """DOCFLOW_OUTBOUND_* (runtime/settings.py reads them)."""

    allow: Allowlist = field(default_factory=Allowlist)
    connect_timeout_seconds: float = 5.0
    # The longest a request may take in all (capped further by OutboundRequest.timeout_seconds).
    timeout_seconds: float = 10.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES


def _refused(field: str, reason: str) -> UrlRefused:
    return UrlRefused(f"{field}: {reason}", details=[{"loc": ["body", *field.split(".")], "msg": reason}])


class GuardedHttp:
    def __init__(self, settings: OutboundSettings | None = None) -> None:
        self.settings = settings or OutboundSettings()

    # --- the guard -----------------------------------------------------------------------------

    def check_url(self, url: str, field: str) -> None:
        self._resolve(url, field)

    def _resolve(self, url: str, field: str) -> tuple[Target, IPAddress]:
        """The target and the one address to connect to, every address of the name allowed."""
        try:
            target = parse_target(url)
            addresses = [target.literal] if target.literal is not None else self._lookup(target)
            judge_addresses(target, addresses, self.settings.allow)
        except Refusal as exc:
            raise _refused(field, exc.reason) from None
        return target, addresses[0]

    def _lookup(self, target: Target) -> list[IPAddress]:
        try:
            # socket.getaddrinfo looked up on each call (not bound at import): tests replace it.
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise Refusal(f"{target.host} does not resolve ({exc})") from None
        found: list[IPAddress] = []
        for *_, sockaddr in infos:
            # The zone of a scoped IPv6 address ("fe80::1%eth0") does not change what it is.
            address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
        return found

    # --- sending -------------------------------------------------------------------------------

    def send(self, request: OutboundRequest) -> OutboundResponse:
        import urllib3
        from urllib3.exceptions import HTTPError, NewConnectionError
        from urllib3.exceptions import TimeoutError as Urllib3Timeout

        target, address = self._resolve(request.url, "url")
        total = min(request.timeout_seconds, self.settings.timeout_seconds)
        timeout = urllib3.Timeout(connect=min(self.settings.connect_timeout_seconds, total), read=total)
        pool = self._pool(target, address, timeout)
        deadline = time.monotonic() + total
        headers = {**request.headers, "Host": target.host_header,
                   # Never a compressed body: the size cap counts bytes on the wire, no zip bombs.
                   "Accept-Encoding": "identity"}
        try:
            response = pool.urlopen(request.method.upper(), target.path, body=request.body, headers=headers,
                                    retries=False, redirect=False, preload_content=False, decode_content=False,
                                    assert_same_host=False)
            try:
                body = self._read_capped(response, deadline)
            finally:
                response.close()  # a body left unread is dropped with the connection, never drained
        except NewConnectionError as exc:  # before timeouts: urllib3 files it under ConnectTimeoutError
            raise DeliveryTransient(f"{request.method} {target.host}: connection failed ({exc})",
                                    details=[{"reason": "connection_error"}]) from None
        except (Urllib3Timeout, TimeoutError) as exc:  # urllib3's, and the socket's (builtin)
            raise DeliveryTransient(f"{request.method} {target.host}: timed out ({exc})",
                                    details=[{"reason": "timeout"}]) from None
        except (HTTPError, OSError) as exc:
            raise DeliveryTransient(f"{request.method} {target.host}: connection failed ({exc})",
                                    details=[{"reason": "connection_error"}]) from None
        finally:
            pool.close()
        status = response.status
        if status == 429 or status >= 500:
            first = body[:_ERROR_BODY_BYTES].decode("utf-8", "replace")
            raise DeliveryTransient(f"{request.method} {target.host}: HTTP {status}: {first}",
                                    details=[{"status": status, "body": first,
                                              "retry_after": response.headers.get("Retry-After")}])
        return OutboundResponse(status=status, headers=dict(response.headers.items()), body=body)

    def _pool(self, target: Target, address: IPAddress, timeout: urllib3.Timeout) -> urllib3.HTTPConnectionPool:
        import urllib3

        if target.scheme == "https":
            # TLS to the pinned address, but SNI and the certificate check are for the name.
            name = target.host
            return urllib3.HTTPSConnectionPool(str(address), target.port, timeout=timeout, retries=False,
                                               maxsize=1, cert_reqs="CERT_REQUIRED", server_hostname=name,
                                               assert_hostname=name)
        return urllib3.HTTPConnectionPool(str(address), target.port, timeout=timeout, retries=False, maxsize=1)

    def _read_capped(self, response: urllib3.BaseHTTPResponse, deadline: float) -> bytes:
        """At most max_response_bytes; a server that drips bytes is cut off at the deadline."""
        cap = self.settings.max_response_bytes
        chunks: list[bytes] = []
        size = 0
        while size < cap:
            if time.monotonic() > deadline:
                raise TimeoutError("the response took longer than the request's timeout")
            chunk = response.read(min(_CHUNK, cap - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)
