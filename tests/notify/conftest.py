"""Notify fixtures: a real SMTP server and a real HTTP receiver on loopback, started per test."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from hrdshield.notify.channels import EmailChannel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SENDER = "notify@shield.example.test"


def free_port() -> int:
    """Return a loopback port nothing listens on (yet)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class _Handler:
    """aiosmtpd handler: keeps every accepted message, or answers DATA with a set reply."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.data_reply: str | None = None
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.data_reply is not None:
            return self.data_reply
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that the test can take down and bring back up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = _Handler()
        self._controller: Controller | None = None

    def up(self) -> None:
        """Start listening (on the same port every time)."""
        if self._controller is None:
            self._controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
            self._controller.start()

    def down(self) -> None:
        """Stop listening: connections are refused until `up`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        """Return the messages accepted so far."""
        with self.handler.lock:
            return list(self.handler.messages)

    def message_ids(self) -> Counter[str]:
        """Count accepted messages by Message-ID."""
        return Counter(str(message["Message-ID"]) for message in self.messages)

    def channel(self, **overrides: Any) -> EmailChannel:
        """Return an e-mail channel pointing at this server."""
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "sender": SENDER,
            "timeout_seconds": 5.0,
        }
        values.update(overrides)
        return EmailChannel(**values)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """Yield an SMTP server that is up; it is stopped at the end of the test."""
    server = SmtpServer()
    server.up()
    try:
        yield server
    finally:
        server.down()


class Receiver:
    """What the webhook receiver saw, and how it should answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 204
        self.delay_seconds = 0.0
        self.location: str | None = None
        self.lock = threading.Lock()

    def json_bodies(self) -> list[Any]:
        """Return the decoded bodies received so far."""
        with self.lock:
            return [json.loads(request["body"]) for request in self.requests]


class WebhookServer:
    """A real HTTP server on 127.0.0.1 in a thread, recording each POST."""

    def __init__(self) -> None:
        receiver = self.receiver = Receiver()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                if receiver.delay_seconds:
                    time.sleep(receiver.delay_seconds)
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                """Keep test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/hrd"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        """Serve in a background thread."""
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def webhook_server() -> Iterator[WebhookServer]:
    """Yield a running webhook receiver on loopback."""
    server = WebhookServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
