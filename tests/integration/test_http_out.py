"""GuardedHttp.send against a real local receiver (tests/receiver.py, 127.0.0.1 allowlisted for
it): pinning to the checked address, no redirects, timeouts, status mapping and the size cap."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from receiver import Receiver, Reply

from docflow.adapters.http_out import GuardedHttp, OutboundSettings
from docflow.domain.errors import DeliveryTransient, UrlRefused
from docflow.domain.ssrf import Allowlist
from docflow.ports import OutboundRequest

LOCAL = Allowlist.parse("127.0.0.1/32")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


def guard(**overrides: Any) -> GuardedHttp:
    return GuardedHttp(OutboundSettings(**{"allow": LOCAL, **overrides}))


def post(url: str, body: bytes = b'{"ok": true}', timeout: float = 5.0) -> OutboundRequest:
    return OutboundRequest(method="POST", url=url, headers={"Content-Type": "application/json"}, body=body,
                           timeout_seconds=timeout)


def resolve_as(monkeypatch: pytest.MonkeyPatch, name: str, *answers: str) -> list[str]:
    """`name` resolves to answers[0] the first time, answers[1] the second, ... (the last repeats);
    every other name resolves as usual. Returns what each lookup of `name` answered."""
    real = socket.getaddrinfo
    given: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != name:
            return real(host, port, *args, **kwargs)
        address = answers[min(len(given), len(answers) - 1)]
        given.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return given


def test_given_an_allowlisted_receiver_when_sent_then_it_gets_method_headers_body_and_the_name_as_host(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    resolve_as(monkeypatch, "receiver.test", "127.0.0.1")
    receiver.script(Reply(200, b"thanks", {"X-Reply": "1"}))
    response = guard().send(post(f"http://receiver.test:{receiver.port}/hook?x=1"))
    assert (response.status, response.body, response.headers["X-Reply"]) == (200, b"thanks", "1")
    [seen] = receiver.requests
    assert (seen.method, seen.path, seen.body) == ("POST", "/hook?x=1", b'{"ok": true}')
    assert seen.headers["Host"] == f"receiver.test:{receiver.port}"  # connected to the IP, named the host
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Accept-Encoding"] == "identity"


def test_given_no_allowlist_when_sent_to_the_local_receiver_then_refused_before_connecting(
        receiver: Receiver) -> None:
    with pytest.raises(UrlRefused, match=r"127\.0\.0\.1 is a loopback address"):
        GuardedHttp().send(post(receiver.url("/hook")))
    assert receiver.requests == []


def test_given_dns_that_turns_private_between_check_and_send_then_refused_at_send(
        monkeypatch: pytest.MonkeyPatch) -> None:
    answered = resolve_as(monkeypatch, "rebind.example", "93.184.215.14", "10.0.0.7")
    http = guard()
    http.check_url("http://rebind.example/hook", "config.url")  # at save: public
    with pytest.raises(UrlRefused) as caught:
        http.send(post("http://rebind.example/hook"))  # at send: private
    assert caught.value.details[0]["msg"] == "rebind.example resolves to 10.0.0.7, a private address"
    assert answered == ["93.184.215.14", "10.0.0.7"]


def test_given_a_name_when_sent_then_the_connection_goes_to_the_address_that_was_checked(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """One lookup per send, and that answer is the address connected to: a second lookup that
    rebinds the name (here to a refused address) is never made by the HTTP client."""
    answered = resolve_as(monkeypatch, "pinned.test", "127.0.0.1", "10.0.0.7")
    response = guard().send(post(f"http://pinned.test:{receiver.port}/"))
    assert response.status == 200 and len(receiver.requests) == 1
    assert answered == ["127.0.0.1"]


def test_given_a_redirect_to_a_refused_address_when_sent_then_it_is_answered_not_followed(
        receiver: Receiver) -> None:
    receiver.script(Reply(302, b"", {"Location": "http://169.254.169.254/latest/meta-data/"}))
    response = guard().send(post(receiver.url("/hook")))
    assert response.status == 302
    assert response.headers["Location"] == "http://169.254.169.254/latest/meta-data/"
    assert len(receiver.requests) == 1
    with pytest.raises(UrlRefused, match="cloud metadata"):  # a caller that follows goes through the guard
        guard().send(post(response.headers["Location"]))


def test_given_a_receiver_that_does_not_answer_when_sent_then_timeout_is_transient(receiver: Receiver) -> None:
    release = threading.Event()
    receiver.script(Reply(200, b"late", hold=release))
    try:
        with pytest.raises(DeliveryTransient, match="timed out") as caught:
            guard(timeout_seconds=0.3).send(post(receiver.url("/slow")))
    finally:
        release.set()
    assert caught.value.details == [{"reason": "timeout"}]


def test_given_the_request_timeout_is_shorter_than_the_setting_then_it_wins(receiver: Receiver) -> None:
    release = threading.Event()
    receiver.script(Reply(200, b"late", hold=release))
    try:
        with pytest.raises(DeliveryTransient, match="timed out"):
            guard(timeout_seconds=30).send(post(receiver.url("/slow"), timeout=0.3))
    finally:
        release.set()


def test_given_nothing_listens_when_sent_then_the_connection_error_is_transient() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryTransient, match="connection failed") as caught:
        guard().send(post(f"http://127.0.0.1:{port}/"))
    assert caught.value.details == [{"reason": "connection_error"}]


@pytest.mark.parametrize("status", [503, 500, 429])
def test_given_a_5xx_or_429_when_sent_then_transient_with_the_status_and_the_first_bytes(
        receiver: Receiver, status: int) -> None:
    receiver.script(Reply(status, b"upstream down " + b"x" * 1000, {"Retry-After": "7"}))
    with pytest.raises(DeliveryTransient, match=f"HTTP {status}: upstream down") as caught:
        guard().send(post(receiver.url("/hook")))
    [detail] = caught.value.details
    assert detail["status"] == status and detail["retry_after"] == "7"
    assert detail["body"].startswith("upstream down") and len(detail["body"]) == 200


def test_given_a_404_when_sent_then_it_is_answered_for_the_caller_to_judge(receiver: Receiver) -> None:
    receiver.script(Reply(404, b"no such hook"))
    response = guard().send(post(receiver.url("/gone")))
    assert (response.status, response.body) == (404, b"no such hook")


def test_given_a_response_larger_than_the_cap_when_sent_then_the_body_is_cut_at_the_cap(
        receiver: Receiver) -> None:
    receiver.script(Reply(200, b"a" * (1024 * 1024)))
    response = guard(max_response_bytes=64 * 1024).send(post(receiver.url("/big")))
    assert response.status == 200 and response.body == b"a" * (64 * 1024)
    small = guard(max_response_bytes=10).send(post(receiver.url("/big")))
    assert small.body == b"a" * 10


def test_given_https_to_a_plain_http_receiver_when_sent_then_the_tls_failure_is_transient(
        receiver: Receiver) -> None:
    """The TLS path connects to the pinned address too (the handshake fails: the receiver speaks HTTP)."""
    with pytest.raises(DeliveryTransient, match="connection failed"):
        guard().send(post(f"https://127.0.0.1:{receiver.port}/"))
