"""A real HTTP receiver on loopback for webhook tests: records every request, answers as told."""
from __future__ import annotations

import datetime as dt
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


class Receiver:
    def __init__(self, port: int = 0, tls: ssl.SSLContext | None = None):
        self.requests: list[Received] = []
        self.server_names: list[str | None] = []
        self.answer: Callable[[Received], Answer] = lambda _request: Answer()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if len(body) < length:
                    # The sender went away mid-body (the kill tests SIGKILL it): no receiver would take
                    # this as a delivery, and its event is sent again whole once its lease expires.
                    return
                request = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body, time.monotonic())
                with receiver._arrived:
                    receiver.requests.append(request)
                    receiver._arrived.notify_all()
                answer = receiver.answer(request)
                time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up (timeout): that is what some tests want

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        if tls is not None:
            tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def ids(self) -> list[str]:
        with self._lock:
            return [request.msg_id for request in self.requests]

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._arrived.wait(left)
            return True

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify(request: Received, secret: str) -> dict:
    """What the site does: the reference verifier on the raw body; raises if anything is off."""
    return Webhook(secret).verify(request.body, request.headers)


class FakeClock:
    """The scheduling clock of the tests; signatures keep using the wall clock (receivers check it)."""

    def __init__(self, start: dt.datetime | None = None):
        self.now = start or dt.datetime.now(dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> dt.datetime:
        self.now += dt.timedelta(seconds=seconds)
        return self.now
