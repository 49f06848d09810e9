"""A real HTTP receiver on 127.0.0.1 that records webhook requests and can be told to fail."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    received: float


@dataclass
class Receiver:
    url: str
    requests: list[Request] = field(default_factory=list)
    fail_when: bytes | None = None  # answer `status` to a body holding these bytes
    status: int = 500
    location: str | None = None  # sent with the failing answer
    delay_s: float = 0.0


class _Server(ThreadingHTTPServer):
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) is expected


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        receiver.requests.append(Request(self.path, dict(self.headers.items()), body, time.time()))
        if receiver.delay_s:
            time.sleep(receiver.delay_s)
        failing = receiver.fail_when is not None and receiver.fail_when in body
        self.send_response(receiver.status if failing else 204)
        if failing and receiver.location:
            self.send_header("Location", receiver.location)
        reply = b"receiver broke: database is down" if failing else b""
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.receiver = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks/bureau?token=t0k3n")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
