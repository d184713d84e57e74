"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives and can misbehave.

Faults are decided per recipient by `responder(rcpt) -> reply or None` (e.g. "450 4.2.0 busy",
"550 5.1.1 no such user"); None accepts. Tests that need more (dropping connections, stalling)
extend this class rather than writing another server.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    mail_from: str
    rcpt: str
    message: EmailMessage
    raw: bytes

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(("html",))
        return part.get_content() if part is not None else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpSink:
    def __init__(self, responder: Callable[[str], str | None] | None = None) -> None:
        self.responder = responder
        self.received: list[Received] = []
        self.attempts: list[str] = []  # every RCPT TO seen, accepted or not
        self.lock = threading.Lock()
        self.host, self.port = "127.0.0.1", free_port()
        self.controller = Controller(self, hostname=self.host, port=self.port)

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self.lock:
            self.attempts.append(address.lower())
        reply = self.responder(address) if self.responder else None
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append(Received(envelope.mail_from, rcpt.lower(), msg, raw))  # type: ignore[arg-type]
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def to(self, rcpt: str) -> list[Received]:
        return [r for r in self.received if r.rcpt == rcpt.lower()]

    def mailer_settings(self) -> dict[str, Any]:
        """A MAILERS entry that sends here through Django's real SMTP backend."""
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": self.host, "port": self.port, "timeout": 10},
        }
