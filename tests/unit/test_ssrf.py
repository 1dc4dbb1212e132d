"""The SSRF guard at save time: the pure policy (domain/ssrf.py) and GuardedHttp.check_url with
name resolution replaced (socket.getaddrinfo monkeypatched: no network)."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from docflow.adapters.http_out import GuardedHttp, OutboundSettings
from docflow.domain.errors import UrlRefused, ValidationFailed
from docflow.domain.ssrf import Allowlist, Refusal, classify, judge_addresses, parse_target

PUBLIC = "93.184.215.14"


def fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """Names in `answers` resolve to those addresses; others to PUBLIC. Returns the names asked."""
    asked: list[str] = []

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked.append(host)
        out = []
        for address in answers.get(host, [PUBLIC]):
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
            out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
        return out

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def refusal(url: str, guard: GuardedHttp | None = None, field: str = "config.url") -> UrlRefused:
    with pytest.raises(UrlRefused) as caught:
        (guard or GuardedHttp()).check_url(url, field)
    return caught.value


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
    ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
    ("http://172.16.5.4/", "172.16.5.4 is a private address"),
    ("http://192.168.1.10:8080/", "192.168.1.10 is a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a cloud metadata address"),
    ("http://169.254.1.1/", "169.254.1.1 is a link-local address"),
    ("http://100.100.100.200/", "100.100.100.200 is a cloud metadata address"),
    ("http://[fd00:ec2::254]/", "fd00:ec2::254 is a cloud metadata address"),
    ("http://[::1]:8080/", "::1 is a loopback address"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 is a loopback address (IPv4 127.0.0.1 inside an IPv6"),
    ("http://[::ffff:a9fe:a9fe]/", "a cloud metadata address (IPv4 169.254.169.254 inside"),
    ("http://[64:ff9b::a00:1]/", "a private address (IPv4 10.0.0.1 inside"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://[fc00::5]/", "fc00::5 is a private address"),
    ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT (CGNAT) address"),
    ("http://0.0.0.0/", "0.0.0.0 is an unspecified address"),
    ("http://[::]/", ":: is an unspecified address"),
    ("http://224.0.0.251/", "224.0.0.251 is a multicast address"),
    ("http://[ff02::1]/", "ff02::1 is a multicast address"),
    ("http://255.255.255.255/", "255.255.255.255 is a reserved address"),
    ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
    ("http://192.0.2.1/", "192.0.2.1 is a special-purpose (non-public) address"),
    ("ftp://example.com/file", "only http and https URLs may be called, not ftp:"),
    ("file:///etc/passwd", "only http and https URLs may be called, not file:"),
    ("gopher://example.com/", "not gopher:"),
    ("example.com/hook", "not a URL without a scheme"),
    ("http://user:secret@example.com/", "URLs with credentials (user:password@) are not allowed"),
    ("http://user@example.com/", "URLs with credentials"),
    ("http:///path", "the URL has no host"),
    ("http://example.com:99999/", "the URL cannot be parsed"),
    ("http://example.com/a b", "whitespace or control characters"),
    ("http://example.com/\r\nX-Injected: 1", "whitespace or control characters"),
])
def test_given_a_refused_url_when_checked_at_save_then_a_422_names_the_field_and_the_reason(
        url: str, reason: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    error = refusal(url)
    assert isinstance(error, ValidationFailed) and error.status == 422 and error.code == "url_refused"
    assert error.details == [{"loc": ["body", "config", "url"], "msg": error.details[0]["msg"]}]
    assert reason in error.details[0]["msg"], error.details


def test_given_a_name_resolving_to_a_private_address_when_checked_then_refused_naming_the_address(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked = fake_dns(monkeypatch, {"evil.example": ["10.0.0.7"]})
    error = refusal("https://evil.example/hook", field="config.webhook_url")
    assert asked == ["evil.example"]
    assert error.details == [{"loc": ["body", "config", "webhook_url"],
                              "msg": "evil.example resolves to 10.0.0.7, a private address"}]


def test_given_a_name_with_one_private_address_among_public_ones_when_checked_then_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"mixed.example": [PUBLIC, "2606:4700::1111", "::ffff:127.0.0.1"]})
    assert "resolves to ::ffff:127.0.0.1, a loopback address" in refusal("http://mixed.example/").message


def test_given_a_name_that_does_not_resolve_when_checked_then_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: Any, **kwargs: Any) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    assert "nowhere.example does not resolve" in refusal("http://nowhere.example/").message


@pytest.mark.parametrize("url", ["https://hooks.slack.com/services/T0/B0/xyz", "http://example.com:8080/a?b=c",
                                 "https://[2606:4700::1111]/", "https://8.8.8.8/"])
def test_given_a_public_url_when_checked_then_accepted(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {})
    GuardedHttp().check_url(url, "config.url")


def test_given_an_allowlist_when_checked_then_only_its_networks_and_names_pass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake_dns(monkeypatch, {"receiver.test": ["10.1.2.3"], "api.corp.example": ["10.9.9.9"],
                           "other.example": ["10.1.2.3"]})
    guard = GuardedHttp(OutboundSettings(allow=Allowlist.parse("127.0.0.1/32, 10.1.0.0/16,*.corp.example")))
    for url in ("http://127.0.0.1:8080/", "http://[::ffff:127.0.0.1]/", "http://receiver.test/",
                "http://api.corp.example/"):
        guard.check_url(url, "url")
    assert "127.0.0.2 is a loopback address" in refusal("http://127.0.0.2/", guard).message
    assert "10.2.0.1 is a private address" in refusal("http://10.2.0.1/", guard).message
    assert "corp.example" not in Allowlist.parse("*.corp.example").hosts  # the wildcard is not the apex
    assert not Allowlist.parse("*.corp.example").allows_host("corp.example")
    guard_names = GuardedHttp(OutboundSettings(allow=Allowlist.parse("receiver.test")))
    guard_names.check_url("http://receiver.test/", "url")
    assert "other.example resolves to 10.1.2.3" in refusal("http://other.example/", guard_names).message
    # The scheme and credential rules hold for allowlisted hosts too.
    assert "not ftp:" in refusal("ftp://127.0.0.1/", guard).message


@pytest.mark.parametrize("raw", ["not a host/", "user@host", "*.", "10.0.0.0/33"])
def test_given_a_bad_allowlist_entry_when_parsed_then_it_is_named(raw: str) -> None:
    with pytest.raises(ValueError, match="neither a CIDR nor a host name"):
        Allowlist.parse(raw)


def test_given_embedded_ipv4_forms_when_classified_then_judged_as_the_ipv4_inside() -> None:
    assert classify(ipaddress.ip_address("2002:7f00:1::")) == (
        "a loopback address (IPv4 127.0.0.1 inside an IPv6 address)")  # 6to4
    assert classify(ipaddress.ip_address("::7f00:1")) == (
        "a loopback address (IPv4 127.0.0.1 inside an IPv6 address)")  # IPv4-compatible
    assert classify(ipaddress.ip_address("::ffff:8.8.8.8")) is None
    assert classify(ipaddress.ip_address("64:ff9b::808:808")) is None  # NAT64 to a public address


def test_given_the_parsed_target_then_the_host_header_keeps_the_name_and_a_non_default_port() -> None:
    assert parse_target("https://Example.COM./a?b#frag").host_header == "example.com"
    assert parse_target("https://example.com/a?b#frag").path == "/a?b"
    assert parse_target("http://example.com:8080").host_header == "example.com:8080"
    assert parse_target("http://[2606:4700::1111]:81/").host_header == "[2606:4700::1111]:81"
    target = parse_target("http://x.example/")
    with pytest.raises(Refusal, match="does not resolve to any address"):
        judge_addresses(target, [], Allowlist())
