"""The SSRF address policy: which user-supplied URLs Docflow may call. Pure (no I/O): the adapter
(adapters/http_out.py) resolves the name and asks `judge_addresses` about every address it got.

Refused: schemes other than http(s); credentials in the URL; and any address that is not a public
unicast one — loopback, private (RFC 1918, fc00::/7), link-local, CGNAT (100.64/10), multicast,
unspecified, reserved/broadcast, cloud metadata endpoints and every other special-purpose range
Python's `ipaddress` does not call global. IPv6 forms that embed an IPv4 address (IPv4-mapped
`::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged
as the IPv4 address inside, since that is where the packets end up. An allowlist (CIDRs and/or host
names) opens exceptions, e.g. the tests' local receiver."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urlsplit

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
type IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_URL_LENGTH = 2048
SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

# Instance-metadata endpoints (AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba): named in the reason
# because they are the classic SSRF prize, even where another rule would refuse them too.
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_PRIVATE = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7",
                                                       "fec0::/10"))  # + IPv6's deprecated site-local
_HOST_PATTERN = re.compile(r"(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class Refusal(ValueError):
    """Why a URL may not be called; `reason` is the sentence a 422 shows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Allowlist:
    """Exceptions to the address rules: networks (`127.0.0.1/32`, `10.0.0.0/8`) and host names
    (`receiver.test`, or `*.corp.example` for every name under it)."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def parse(cls, raw: str | None) -> Allowlist:
        """A comma-separated setting (DOCFLOW_OUTBOUND_ALLOW); raises ValueError for a bad entry."""
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in (part.strip() for part in (raw or "").split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                name = entry.lower().rstrip(".")
                if not _HOST_PATTERN.fullmatch(name):
                    raise ValueError(f"{entry!r} is neither a CIDR nor a host name") from None
                hosts.add(name)
        return cls(tuple(networks), frozenset(hosts))

    def allows_host(self, host: str) -> bool:
        name = host.lower().rstrip(".")
        return name in self.hosts or any(h.startswith("*.") and name.endswith(h[1:]) for h in self.hosts)

    def allows_address(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.networks)


@dataclass(frozen=True)
class Target:
    """A URL the policy accepted the shape of: where to connect and what to ask for."""

    scheme: str
    host: str  # lower-case, IPv6 literals without brackets
    port: int
    path: str  # path + query, what goes on the request line (the fragment is never sent)
    literal: IPAddress | None  # the host, when it is an IP literal (nothing to resolve)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if self.literal is not None and self.literal.version == 6 else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def parse_target(url: str) -> Target:
    """The URL's shape: http(s), no credentials, a host, a valid port. Raises Refusal."""
    if len(url) > MAX_URL_LENGTH:
        raise Refusal(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise Refusal("the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refusal(f"the URL cannot be parsed ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise Refusal(f"only http and https URLs may be called, not {scheme or 'a URL without a scheme'}"
                      + (":" if scheme else ""))
    if "@" in parts.netloc:
        raise Refusal("URLs with credentials (user:password@) are not allowed: put them in a header")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Refusal("the URL has no host")
    return Target(scheme=scheme, host=host, port=port or DEFAULT_PORTS[scheme], path=_request_path(parts),
                  literal=_literal(host))


def _request_path(parts: SplitResult) -> str:
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries to (mapped, compatible, NAT64, 6to4), if any."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):  # not :: nor ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def classify(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("a private address"), or None for a public one."""
    inner = embedded_ipv4(address)
    if inner is not None:
        kind = classify(inner)
        return None if kind is None else f"{kind} (IPv4 {inner} inside an IPv6 address)"
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_unspecified or (address.version == 4 and address in _THIS_NETWORK):
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.version == 4 and address in _CGNAT:
        return "a carrier-grade NAT (CGNAT) address"
    if address.is_multicast:
        return "a multicast address"
    if any(address.version == net.version and address in net for net in _PRIVATE):
        return "a private address"
    if address.is_reserved:  # 240/4 with the broadcast address, and IPv6's unassigned blocks
        return "a reserved address"
    if not address.is_global:  # documentation, benchmarking, IETF protocol ranges, ...
        return "a special-purpose (non-public) address"
    return None


def judge_addresses(target: Target, addresses: list[IPAddress], allow: Allowlist) -> None:
    """Raises Refusal unless every address the host has may be called: a name with one private
    address among public ones is refused, since the connection may land on any of them."""
    if allow.allows_host(target.host):
        return
    if not addresses:
        raise Refusal(f"{target.host} does not resolve to any address")
    for address in addresses:
        checked = embedded_ipv4(address) or address
        if allow.allows_address(address) or allow.allows_address(checked):
            continue
        kind = classify(address)
        if kind is not None:
            if target.literal is not None:
                raise Refusal(f"{target.host} is {kind}")
            raise Refusal(f"{target.host} resolves to {address}, {kind}")
