"""One HTTP attempt: POST to the pinned address, bounded in time, no redirects, body read <= 4 KiB."""
from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Callable

from moderation.webhooks.models import EXCERPT_BYTES
from moderation.webhooks.ssrf import Target

Connector = Callable[[tuple[str, int], float], socket.socket]
USER_AGENT = "moderation-webhooks/1"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str | None
    latency_ms: int
    excerpt: str | None = None
    retry_after: str | None = None

    @property
    def result(self) -> str:
        """The label of metrics and logs: success, http_error, timeout, refused or connection_error."""
        if self.status_code is not None:
            return "success" if 200 <= self.status_code < 300 else "http_error"
        return (self.error or "connection_error").split(":", 1)[0]


def default_connector(address: tuple[str, int], timeout: float) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the address resolved by the SSRF guard; Host stays the URL's name."""

    def __init__(self, target: Target, connect_timeout: float, connector: Connector):
        super().__init__(target.host, target.port, timeout=connect_timeout)
        self._target, self._connector = target, connector

    def connect(self):
        self.sock = self._connector((self._target.ip, self._target.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """TLS to the pinned address; SNI and certificate checks use the URL's name, not the address."""

    def __init__(self, target: Target, connect_timeout: float, connector: Connector, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=connect_timeout, context=context)
        self._target, self._connector = target, connector

    def connect(self):
        raw = self._connector((self._target.ip, self._target.port), self.timeout)
        try:
            self.sock = self._context.wrap_socket(raw, server_hostname=self._target.host)
        except BaseException:
            raw.close()
            raise


def post(
    target: Target,
    headers: dict[str, str],
    body: bytes,
    *,
    connect_timeout: float,
    timeout: float,
    connector: Connector = default_connector,
    tls_context: ssl.SSLContext | None = None,
) -> Outcome:
    """Never raises for network trouble: every failure is an Outcome with an error label."""
    started = time.monotonic()
    deadline = started + timeout

    def remaining() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("total timeout")
        return left

    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    if target.scheme == "https":
        connection = _PinnedHTTPS(target, min(connect_timeout, timeout), connector,
                                  tls_context or ssl.create_default_context())
    else:
        connection = _PinnedHTTP(target, min(connect_timeout, timeout), connector)
    try:
        connection.connect()
        sock = connection.sock  # http.client lets go of it once a response says it will close
        sock.settimeout(remaining())
        connection.request("POST", target.path, body=body, headers={**headers, "User-Agent": USER_AGENT})
        sock.settimeout(remaining())
        response = connection.getresponse()
        sock.settimeout(remaining())
        try:
            # Only a bounded excerpt is kept; the rest is never read (we close the connection).
            excerpt = response.read(EXCERPT_BYTES)
        except (OSError, http.client.HTTPException):
            excerpt = b""  # the status line is the receiver's answer; a stalled body does not undo it
        return Outcome(
            status_code=response.status,
            error=None,
            latency_ms=elapsed_ms(),
            excerpt=excerpt.decode("utf-8", "replace"),
            retry_after=response.getheader("Retry-After"),
        )
    except (TimeoutError, socket.timeout) as error:
        return Outcome(None, f"timeout: {error}"[:300], elapsed_ms())
    except ssl.SSLError as error:
        return Outcome(None, f"tls_error: {error}"[:300], elapsed_ms())
    except (OSError, http.client.HTTPException) as error:
        return Outcome(None, f"connection_error: {type(error).__name__}: {error}"[:300], elapsed_ms())
    finally:
        connection.close()
