"""The address guard: integration URLs must reach public addresses (no server-side request forgery)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from turnout.adapters.address_guard import ResolvingAddressGuard, address_kind, parse_address


class Resolver:
    """A resolver with a fixed table; counts the look-ups; a name not in it does not resolve."""

    def __init__(self, table: Mapping[str, Sequence[str]]) -> None:
        self.table = dict(table)
        self.calls: list[str] = []

    def __call__(self, host: str) -> Sequence[str]:
        self.calls.append(host)
        if host not in self.table:
            raise OSError(-2, "Name or service not known")
        return self.table[host]


PUBLIC = {"hooks.example.com": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]}


def guard(table: Mapping[str, Sequence[str]] | None = None, **options: object) -> ResolvingAddressGuard:
    return ResolvingAddressGuard(resolve=Resolver(table or PUBLIC), **options)  # type: ignore[arg-type]


def code_and_kind(g: ResolvingAddressGuard, url: str) -> tuple[str, str] | None:
    problem = g.problem(url)
    if problem is None:
        return None
    assert problem.field == "url"
    return problem.code, str(problem.params.get("kind") or problem.params.get("reason"))


def test_public_names_and_literals_pass() -> None:
    g = guard()
    assert g.problem("https://hooks.example.com/turnout") is None
    assert g.problem("http://hooks.example.com:8080/x?y=1") is None
    assert g.problem("https://93.184.215.14/hook") is None
    assert g.problem("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook") is None
    assert g.problem("https://[::ffff:93.184.215.14]/hook") is None  # mapped, but public


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:9000/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("http://172.16.0.1/", "private"),
        ("http://192.168.1.10/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://[fec0::1]/", "private"),  # the old IPv6 site-local range
        ("http://100.64.0.1/", "shared"),
        ("http://169.254.10.1/", "link_local"),
        ("http://[fe80::1]/", "link_local"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[fd00:ec2::254]/", "metadata"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://0.1.2.3/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[ff02::1]/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
        ("http://255.255.255.255/", "reserved"),
        # IPv6 forms that carry an IPv4 address
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://[::ffff:10.0.0.1]/", "private"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://[2002:7f00:1::]/", "loopback"),  # 6to4 of 127.0.0.1
        ("http://[2002:a9fe:a9fe::1]/", "metadata"),  # 6to4 of 169.254.169.254
        ("http://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
    ],
)
def test_literals_outside_the_public_internet_are_refused(url: str, kind: str) -> None:
    assert code_and_kind(guard(), url) == ("private_address", kind)


def test_names_are_refused_when_any_address_they_resolve_to_is_private() -> None:
    table = {
        "internal.example.com": ["10.0.0.5"],
        "mixed.example.com": ["93.184.215.14", "127.0.0.1"],
        "meta.example.com": ["169.254.169.254"],
        "v6.example.com": ["::ffff:192.168.0.1"],
        "zone.example.com": ["fe80::1%eth0"],
        **PUBLIC,
    }
    g = guard(table)
    assert code_and_kind(g, "https://internal.example.com/x") == ("private_address", "private")
    assert code_and_kind(g, "https://mixed.example.com/x") == ("private_address", "loopback")
    assert code_and_kind(g, "https://meta.example.com/x") == ("private_address", "metadata")
    assert code_and_kind(g, "https://v6.example.com/x") == ("private_address", "private")
    assert code_and_kind(g, "https://zone.example.com/x") == ("private_address", "link_local")
    refused = g.problem("https://internal.example.com/x")
    assert refused is not None
    assert refused.params["host"] == "internal.example.com"


def test_a_name_that_does_not_resolve_is_an_invalid_url() -> None:
    assert code_and_kind(guard(), "https://nowhere.invalid/x") == ("invalid_url", "unresolvable")
    assert code_and_kind(guard({"empty.example.com": []}), "https://empty.example.com/") == (
        "invalid_url",
        "unresolvable",
    )


def test_the_form_is_checked_before_resolving() -> None:
    resolver = Resolver(PUBLIC)
    g = ResolvingAddressGuard(resolve=resolver)
    assert code_and_kind(g, "ftp://hooks.example.com/") == ("invalid_url", "scheme")
    assert code_and_kind(g, "https://user:pw@hooks.example.com/") == ("invalid_url", "credentials")
    assert code_and_kind(g, "https:///path") == ("invalid_url", "host")
    assert resolver.calls == []


def test_allow_private_lets_loopback_and_private_through_but_never_metadata_or_link_local() -> None:
    g = guard({"lab.local": ["192.168.0.7"]}, allow_private=True)
    assert g.problem("http://127.0.0.1:8765/hook") is None
    assert g.problem("http://[::1]:8765/hook") is None
    assert g.problem("http://10.0.0.1/") is None
    assert g.problem("http://100.64.1.1/") is None
    assert g.problem("http://lab.local/hook") is None
    assert code_and_kind(g, "http://169.254.169.254/") == ("private_address", "metadata")
    assert code_and_kind(g, "http://[fd00:ec2::254]/") == ("private_address", "metadata")
    assert code_and_kind(g, "http://[::ffff:169.254.169.254]/") == ("private_address", "metadata")
    assert code_and_kind(g, "http://169.254.1.1/") == ("private_address", "link_local")
    assert code_and_kind(g, "http://0.0.0.0/") == ("private_address", "unspecified")
    assert code_and_kind(g, "http://224.0.0.1/") == ("private_address", "multicast")


def test_resolutions_are_cached_briefly_and_failures_not_at_all() -> None:
    now = [1000.0]
    resolver = Resolver({"hooks.example.com": ["93.184.215.14"]})
    g = ResolvingAddressGuard(resolve=resolver, cache_seconds=30, monotonic=lambda: now[0])
    for _ in range(5):
        assert g.problem("https://hooks.example.com/a") is None
    assert g.problem("https://HOOKS.example.com/b") is None
    assert resolver.calls == ["hooks.example.com"]
    # DNS changes: after the cache expires, the new address is checked
    resolver.table["hooks.example.com"] = ["10.9.9.9"]
    now[0] += 29
    assert g.problem("https://hooks.example.com/a") is None
    now[0] += 2
    assert code_and_kind(g, "https://hooks.example.com/a") == ("private_address", "private")
    assert len(resolver.calls) == 2
    # a name that does not resolve is asked again next time (it may be fixed in DNS meanwhile)
    assert g.problem("https://late.example.com/") is not None
    resolver.table["late.example.com"] = ["93.184.215.14"]
    assert g.problem("https://late.example.com/") is None


def test_without_a_cache_every_check_resolves() -> None:
    resolver = Resolver(PUBLIC)
    g = ResolvingAddressGuard(resolve=resolver, cache_seconds=0)
    g.problem("https://hooks.example.com/")
    g.problem("https://hooks.example.com/")
    assert len(resolver.calls) == 2


def test_an_address_the_resolver_returns_that_is_not_an_address_is_refused() -> None:
    g = guard({"odd.example.com": ["not-an-address"]})
    assert code_and_kind(g, "https://odd.example.com/") == ("private_address", "reserved")


def test_address_kind_and_parse_address() -> None:
    public = parse_address("8.8.8.8")
    assert public is not None
    assert address_kind(public) is None
    assert parse_address("example.com") is None
    zoned = parse_address("fe80::1%eth0")
    assert zoned is not None
    assert address_kind(zoned) == "link_local"


def test_the_default_resolver_resolves_localhost_to_loopback() -> None:
    g = ResolvingAddressGuard()
    assert code_and_kind(g, "http://localhost:8000/hook") == ("private_address", "loopback")
    assert ResolvingAddressGuard(allow_private=True).problem("http://localhost:8000/hook") is None


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001", "017700000001"])
def test_other_spellings_of_loopback_are_caught_by_resolving_them(host: str) -> None:
    """``getaddrinfo`` (as the HTTP client will) reads these as 127.0.0.1: not IP literals to
    ``ipaddress``, so they are resolved, and refused."""
    assert code_and_kind(ResolvingAddressGuard(), f"http://{host}:8000/") == ("private_address", "loopback")
