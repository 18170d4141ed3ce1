"""SSRF-safe HTTP for webhook deliveries.

An endpoint URL names a host the account chose, so a delivery must never reach the
server's own network: loopback, private, link-local (cloud metadata at 169.254.169.254),
carrier-grade NAT, multicast, reserved and unspecified addresses, IPv4 and IPv6 alike
(IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry).

The check runs at connect time, inside the resolver aiohttp connects with: the addresses
checked are exactly the addresses connected to, so a name that resolved to a public
address when the endpoint was saved and resolves to 10.0.0.1 now (DNS rebinding) is
refused now. aiohttp skips the resolver for IP literals, so those are checked before the
request. Redirects are not followed (a 3xx is a failed attempt), proxies from the
environment are ignored, and each attempt has a total timeout.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
USER_AGENT = "Neurall-Webhooks/1"


class AddressRefusedError(OSError):
    """The endpoint's host is, or resolves to, an address deliveries must not reach."""


def address_allowed(address: IPAddress, *, allow_loopback: bool = False) -> bool:
    """True for a globally routable unicast address (or loopback, when allowed)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if allow_loopback and address.is_loopback:
        return True
    return address.is_global and not address.is_multicast


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedResolver(AbstractResolver):
    """Resolves with ``inner`` and keeps only the addresses deliveries may reach; none
    left is an AddressRefusedError (aiohttp reports it as a connection error)."""

    def __init__(self, inner: AbstractResolver, *, allow_loopback: bool) -> None:
        self._inner = inner
        self._allow_loopback = allow_loopback

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        allowed = [
            r
            for r in results
            if address_allowed(ipaddress.ip_address(r["host"]), allow_loopback=self._allow_loopback)
        ]
        if not allowed:
            raise AddressRefusedError(f"{host} resolves to no address webhooks may reach")
        return allowed

    async def close(self) -> None:
        await self._inner.close()


@dataclass(frozen=True)
class Answer:
    """What an attempt learnt: the status (None without an answer) and the time taken."""

    status: int | None
    duration_ms: int
    retry_after: str | None = None
    error: str | None = None  # a short class name for the log, never a body


ResolverFactory = Callable[[], AbstractResolver]


class WebhookHTTP:
    """Posts signed bodies under the rules above."""

    def __init__(
        self,
        *,
        timeout_s: float,
        allow_insecure: bool,
        resolver_factory: ResolverFactory | None = None,
    ) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._allow_insecure = allow_insecure
        self._resolver_factory = resolver_factory or aiohttp.DefaultResolver

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> Answer:
        started = time.perf_counter()

        def answer(status: int | None = None, **kw: Any) -> Answer:
            elapsed = int((time.perf_counter() - started) * 1000)
            return Answer(status=status, duration_ms=elapsed, **kw)

        host = urlsplit(url).hostname or ""
        literal = literal_address(host)
        if literal is not None and not address_allowed(
            literal, allow_loopback=self._allow_insecure
        ):
            return answer(error="AddressRefused")
        resolver = GuardedResolver(self._resolver_factory(), allow_loopback=self._allow_insecure)
        connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False, force_close=True)
        try:
            async with (
                aiohttp.ClientSession(connector=connector, timeout=self._timeout) as session,
                session.post(
                    url,
                    data=body,
                    headers={
                        **headers,
                        "Content-Type": "application/json",
                        "User-Agent": USER_AGENT,
                    },
                    allow_redirects=False,
                ) as response,
            ):
                # The response body is neither read nor kept: only its status matters.
                return answer(response.status, retry_after=response.headers.get("Retry-After"))
        except aiohttp.ClientConnectorError as exc:
            refused = isinstance(exc.os_error, AddressRefusedError)
            return answer(error="AddressRefused" if refused else "ConnectionError")
        except TimeoutError:
            return answer(error="Timeout")
        except aiohttp.ClientError as exc:
            return answer(error=type(exc).__name__)
