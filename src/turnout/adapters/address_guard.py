"""Where integrations may send: no server-side request forgery.

``ResolvingAddressGuard`` (``ports.AddressGuard``) checks a URL's form (``domain.integrations.url_problem``),
then resolves its host (a name or an IP literal) and refuses it when any address it resolves to is
not a public one: loopback, private, link-local, multicast, reserved, unspecified, shared (100.64/10),
a cloud metadata endpoint, or one of those written in an IPv6 form that carries an IPv4 address
(``::ffff:a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``). ``allow_private`` (the setting
``TURNOUT_ALLOW_PRIVATE_WEBHOOKS=1``, for tests and labs) lets loopback and private addresses
through; link-local, metadata, multicast, reserved and unspecified addresses are refused always.

Resolutions are cached for ``cache_seconds``: the delivery worker asks before every send.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from turnout.domain.errors import FieldError
from turnout.domain.integrations import url_problem

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``resolve(host)``: the host's addresses as text; raises ``OSError`` when it does not resolve
Resolver = Callable[[str], Sequence[str]]

METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

#: kinds ``allow_private`` lets through
PRIVATE_KINDS = frozenset({"loopback", "private", "shared"})
_CACHE_LIMIT = 4096


def resolve_host(host: str) -> list[str]:
    """Every address ``host`` resolves to (``getaddrinfo``), without repeats."""
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4 or NAT64), or None."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_kind(address: IPAddress) -> str | None:
    """Why ``address`` is not a public address (``metadata``, ``unspecified``, ``loopback``,
    ``link_local``, ``multicast``, ``reserved``, ``shared``, ``private``), or None for a public one."""
    if address in METADATA_ADDRESSES:
        return "metadata"
    inner = embedded_ipv4(address)
    if inner is not None:
        return address_kind(inner)
    if address.is_unspecified or address in _THIS_NETWORK:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link_local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address in _SHARED:
        return "shared"
    if address.is_private or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local):
        return "private"  # (fec0::/10, the old IPv6 site-local range, is private too)
    if not address.is_global:
        return "reserved"
    return None


def parse_address(text: str) -> IPAddress | None:
    """``text`` as an IP address (an IPv6 zone ``%eth0`` dropped), or None."""
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None


class ResolvingAddressGuard:
    """``ports.AddressGuard`` that resolves names (``resolve``, ``getaddrinfo`` by default)."""

    def __init__(
        self,
        allow_private: bool = False,
        resolve: Resolver = resolve_host,
        cache_seconds: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allow_private = allow_private
        self._resolve = resolve
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def problem(self, url: str) -> FieldError | None:
        return self.check(url)[0]

    def check(self, url: str) -> tuple[FieldError | None, str | None]:
        form = url_problem(url)
        if form is not None:
            return form, None
        host = urlsplit(url).hostname or ""
        literal = parse_address(host)
        if literal is not None:
            addresses: Sequence[str] = (str(literal),)
        else:
            found = self._addresses(host)
            if not found:
                return (
                    FieldError("url", "invalid_url", value=url[:300], params={"reason": "unresolvable"}),
                    None,
                )
            addresses = found
        for text in addresses:
            address = parse_address(text)
            kind = "reserved" if address is None else address_kind(address)
            if kind is None or (self.allow_private and kind in PRIVATE_KINDS):
                continue
            problem = FieldError(
                "url", "private_address", value=url[:300], params={"host": host, "kind": kind}
            )
            return problem, None
        return None, (None if literal is not None else addresses[0])

    def _addresses(self, host: str) -> tuple[str, ...]:
        """What ``host`` resolves to (empty when it does not), from the cache while it is fresh."""
        key = host.lower()
        now = self._monotonic()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            found = tuple(self._resolve(key))
        except (OSError, UnicodeError, ValueError):
            return ()  # not cached: a name fixed in DNS is accepted on the next try
        if found and self._cache_seconds > 0:
            with self._lock:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()
                self._cache[key] = (now + self._cache_seconds, found)
        return found
