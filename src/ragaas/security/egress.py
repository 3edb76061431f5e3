"""Outbound-request guard: tenants' URLs and hosts may not reach the server's own network.

Connectors, webhooks and ``ingest_url`` make requests *from the server* to targets a tenant
chose, so without a guard a tenant could read cloud metadata (169.254.169.254), the server's
loopback services or the intranet (SSRF). Every such target is resolved (all A/AAAA records) and
refused when any address is private, loopback, link-local, multicast, reserved, unspecified or an
IPv4-mapped/6to4/Teredo form of one, unless an admin allow-listed the host or the address's
network in ``RAGAAS_EGRESS_ALLOW``.

DNS rebinding (a name that resolves to a public address when checked and to 127.0.0.1 when
connected) is prevented by *pinning*: ``EgressPolicy.transport()`` is an httpx transport whose
network backend resolves and checks the host itself and then connects to the checked IP address
(TLS still verifies the certificate against the host name, and the Host header is unchanged).
Because every connection goes through it, every redirect hop is checked too. Targets reached by
other clients (boto3 for S3, SQL drivers) are checked with ``check_host`` just before connecting;
their drivers resolve again, so a rebinding window remains there (documented in docs/security.md).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SETTING = "RAGAAS_EGRESS_ALLOW"


class EgressRefused(httpx.ConnectError):
    """A target is refused. A ``httpx.TransportError`` so callers' existing handlers of
    unreachable hosts report it (with this message) without further changes."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def refusal(address: IPAddress) -> str | None:
    """Why an address is not a public internet address, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None and (why := refusal(embedded)):
            return f"{why} (embedded in {address})"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved or not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


@dataclass(frozen=True)
class EgressPolicy:
    """The admin's allow-list: exact host names, and networks (a bare IP is a /32 or /128)."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_list(cls, entries: Iterable[str]) -> EgressPolicy:
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().strip("[]")
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if not entry:
                    continue
                hosts.add(entry.rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    @classmethod
    def from_settings(cls, settings: typing.Any) -> EgressPolicy:
        """From ``Settings.egress_allow`` (typed Any to keep this module free of settings)."""
        return cls.from_list(getattr(settings, "egress_allow", []) or [])

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".").strip("[]") in self.hosts

    def address_refusal(self, address: IPAddress) -> str | None:
        """Why this address may not be reached under this policy, or None."""
        if any(address in net for net in self.networks if net.version == address.version):
            return None
        return refusal(address)

    def check_static(self, url_or_host: str, what: str = "url") -> None:
        """Without DNS (for create/update, a 422): refuse IP literals that are not allowed.
        Host names are checked when resolved, at each connection (a name's addresses change).
        Raises ValueError with a one-line reason."""
        host = _host_of(url_or_host)
        address = _literal(host) if host and not self.host_allowed(host) else None
        if address is not None and (why := self.address_refusal(address)):
            raise ValueError(_message(what, host, address, why))

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """Every address of ``host``, checked; raises EgressRefused if any is refused."""
        host = host.strip("[]")
        literal = _literal(host)
        if literal is not None:
            addresses = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM
                )
            except OSError as exc:
                raise EgressRefused(
                    f"cannot resolve host {host!r}: {exc.strerror or exc}"
                ) from None
            addresses = list(dict.fromkeys(ipaddress.ip_address(_bare(i[4][0])) for i in infos))
        if not self.host_allowed(host):
            for address in addresses:
                if why := self.address_refusal(address):
                    raise EgressRefused(_message("", host, address, why))
        return addresses

    async def check_host(self, host: str, port: int) -> None:
        """For clients that connect themselves (S3, SQL): resolve and check before they do."""
        await self.resolve(host, port)

    async def check_url(self, url: str) -> None:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self.resolve(parts.hostname or "", port)

    def transport(self, **kwargs: typing.Any) -> httpx.AsyncHTTPTransport:
        """An httpx transport that connects only to checked, pinned addresses."""
        return _PinnedTransport(self, **kwargs)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host, then connects to the checked address itself."""

    def __init__(self, policy: EgressPolicy) -> None:
        self.policy = policy
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore.AsyncNetworkBackend API)
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.policy.resolve(host, port)
        last: Exception | None = None
        for address in addresses:  # like happy eyeballs' fallback, over checked addresses only
            try:
                return await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore.AsyncNetworkBackend API)
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefused("unix sockets are not reachable from outbound requests")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, policy: EgressPolicy, **kwargs: typing.Any) -> None:
        kwargs.pop("proxy", None)  # a proxy would make the connection, unchecked
        super().__init__(trust_env=False, **kwargs)
        # httpx takes no network backend argument: give its pool ours (attribute of httpcore's
        # AsyncConnectionPool, passed to every connection it opens).
        self._pool._network_backend = _PinnedBackend(policy)


def _host_of(url_or_host: str) -> str:
    if "://" in url_or_host:
        return urlsplit(url_or_host).hostname or ""
    return url_or_host.strip("[]")


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(_bare(host))
    except ValueError:
        return None


def _bare(address: object) -> str:
    return str(address).split("%")[0]  # drop an IPv6 zone id


def _ask() -> str:
    return f"an admin can allow it in {SETTING}"


def _message(what: str, host: str, address: IPAddress, why: str) -> str:
    shown = host if host == str(address) else f"{host} ({address})"
    prefix = f"{what}: " if what else ""
    return f"{prefix}refused outbound request to {shown}: {why} address; {_ask()}"
