"""SSRF guard: http(s) only, resolve the host once, refuse non-public addresses unless allowed."""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Callable
from urllib.parse import urlsplit

from moderation.errors import ModerationError

Resolver = Callable[[str, int], list[str]]


class UnsafeUrl(ModerationError):
    """The URL cannot be delivered to: wrong scheme, no host, or an address we refuse."""

    code = "webhook-url-refused"


@dataclass(frozen=True)
class Target:
    """Where one attempt goes: the resolved address, plus the name sent as Host and SNI."""

    scheme: str
    host: str
    port: int
    ip: str
    path: str


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeUrl(f"cannot resolve {host}: {error}") from error
    return [info[4][0] for info in infos]


def split_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path+query) of an http(s) URL without credentials, or UnsafeUrl."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl(f"invalid URL: {error}") from error
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeUrl("only http and https URLs are delivered to")
    if not parts.hostname:
        raise UnsafeUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("credentials in the URL are not allowed")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80), path


def is_allowed(address: str, allowed_networks) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback, whatever its spelling
    if any(ip.version == network.version and ip in network for network in allowed_networks):
        return True
    return ip.is_global and not ip.is_multicast


def resolve_target(url: str, allowed_networks=(), resolver: Resolver = system_resolver) -> Target:
    """Resolve once; every address must be allowed (a mixed answer is a rebinding attempt)."""
    scheme, host, port, path = split_url(url)
    addresses = resolver(host, port)
    if not addresses:
        raise UnsafeUrl(f"{host} has no address")
    refused = [address for address in addresses if not is_allowed(address, allowed_networks)]
    if refused:
        raise UnsafeUrl(f"{host} resolves to a non-public address ({refused[0]})")
    return Target(scheme=scheme, host=host, port=port, ip=addresses[0], path=path)
