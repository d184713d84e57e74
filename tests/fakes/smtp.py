"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives and can misbehave.

Faults (RELIABILITY E3 and 1c):
- per recipient, at RCPT: `responder(rcpt) -> reply or None` (None accepts), or `script(rcpt, replies)`
  for a sequence (e.g. 421 three times, then accept);
- after DATA: `data_responder(rcpts) -> reply or None` (554, 552 "message too large");
- `drop_every=N`: after every N-th accepted message, answer 250 and then close the connection;
- `late_replies={k, ...}`: the k-th accepted message (1-based) is kept, and its 250 held back until
  the client gives up (a reply that comes after the client's timeout);
- `slow_data={k: s, ...}`: the k-th accepted message is kept and its 250 comes s seconds late (a
  server that stalls mid-DATA, inside the client's timeout);
- `stall_connections={k, ...}`: the k-th connection (1-based) is accepted and never answered;
  `banner_delay=s` delays every greeting by s seconds;
- `slow_connections={k: s, ...}`: the k-th connection greets at once and then answers every command
  s seconds late (each reply inside the client's timeout, the whole conversation far longer);
- `log_path`: one JSON line per accepted (recipient, Message-ID, time).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import logging
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

# aiosmtpd logs every connection's events at INFO from the sink's own thread. A client that hangs up
# while pytest swaps its per-phase log handlers made that thread write to a handler pytest had just
# closed ("--- Logging error --- I/O operation on closed file" in CI's output, no test failing).
# Its warnings and errors still come through.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass
class Received:
    mail_from: str
    rcpt: str
    message: EmailMessage
    raw: bytes
    at: float = 0.0  # time.time() when the server accepted it

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part is not None else ""

    def html(self) -> str:
        part = self.message.get_body(("html",))
        return part.get_content() if part is not None else ""


class _FaultySMTP(SMTP):
    sink: SmtpSink
    reply_delay = 0.0
    greeted = False

    async def push(self, status: Any) -> None:
        if self.greeted and self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        self.greeted = True
        await super().push(status)

    async def _handle_client(self) -> None:
        n = self.sink._connection_opened()
        self.reply_delay = self.sink.slow_connections.get(n, 0.0)
        if n in self.sink.stall_connections:
            self.sink._stalled.append(self.transport)
            await asyncio.sleep(3600)  # accept TCP, never answer: the client must time out
            return
        if self.sink.banner_delay:
            await asyncio.sleep(self.sink.banner_delay)
        await super()._handle_client()


class _Controller(Controller):
    def __init__(self, sink: SmtpSink, **kwargs: Any) -> None:
        self.sink = sink
        super().__init__(sink, **kwargs)

    def factory(self) -> SMTP:
        server = _FaultySMTP(self.handler, **self.SMTP_kwargs)
        server.sink = self.sink
        return server

    def _create_server(self) -> Any:
        return self._listen()

    async def _listen(self) -> asyncio.AbstractServer:
        # Port 0: the kernel's pick, taken while it is bound. A port found free first and bound later
        # could be taken in between by another test process's server or client.
        server = await self.loop.create_server(self._factory_invoker, host=self.hostname, port=0)
        self.port = int(server.sockets[0].getsockname()[1])
        return server


class SmtpSink:
    def __init__(
        self, responder: Callable[[str], str | None] | None = None, *, log_path: Path | None = None
    ) -> None:
        self.responder = responder
        self.data_responder: Callable[[list[str]], str | None] | None = None
        self.scripts: dict[str, list[str]] = {}
        self.drop_every = 0
        self.stall_connections: set[int] = set()
        self.slow_connections: dict[int, float] = {}
        self.late_replies: set[int] = set()
        self.slow_data: dict[int, float] = {}
        self.banner_delay = 0.0
        self.log_path = log_path
        self.received: list[Received] = []
        self.attempts: list[str] = []  # every RCPT TO seen, accepted or not
        self.rcpt_replies: dict[str, list[str]] = defaultdict(list)  # what each recipient was answered
        self.connections = 0
        self.accepted = 0
        self._stalled: list[Any] = []
        self.lock = threading.Lock()
        self.host, self.port = "127.0.0.1", 0  # the port is known once started
        # aiosmtpd gives a server 5 s to start and answer its probe: a loaded machine can take longer.
        self.controller = _Controller(self, hostname=self.host, port=0, ready_timeout=60)

    def script(self, rcpt: str, replies: list[str]) -> None:
        """Answer RCPT for `rcpt` with these replies in turn, then accept."""
        self.scripts[rcpt.lower()] = list(replies)

    def _connection_opened(self) -> int:
        with self.lock:
            self.connections += 1
            return self.connections

    # aiosmtpd handler hooks
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        rcpt = address.lower()
        with self.lock:
            self.attempts.append(rcpt)
            queued = self.scripts.get(rcpt)
            reply = queued.pop(0) if queued else None
        if reply is None and self.responder:
            reply = self.responder(address)
        self.rcpt_replies[rcpt].append(reply or "250 OK")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        if self.data_responder and (reply := self.data_responder([r.lower() for r in envelope.rcpt_tos])):
            return reply
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        now = time.time()
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append(Received(envelope.mail_from, rcpt.lower(), msg, raw, now))  # type: ignore[arg-type]
                if self.log_path is not None:
                    with self.log_path.open("a") as f:
                        f.write(
                            json.dumps(
                                {"rcpt": rcpt.lower(), "message_id": str(msg["Message-ID"]), "at": now}
                            )
                            + "\n"
                        )
            self.accepted += 1
            n = self.accepted
            drop = self.drop_every and n % self.drop_every == 0
        if n in self.slow_data:
            await asyncio.sleep(self.slow_data[n])
        if n in self.late_replies:
            # Cancelled with the connection when the client, past its timeout, closes it.
            await asyncio.sleep(3600)
        if drop:
            # The 250 is written first; closing then resets the connection before QUIT.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        self.controller.start()
        self.port = self.controller.port
        with self.lock:
            self.connections = 0  # the controller's own readiness probe does not count
        return self

    def stop(self) -> None:
        # The server waits for its connections to end: end the stalled ones first.
        self.controller.loop.call_soon_threadsafe(lambda: [t.close() for t in self._stalled])
        self.controller.stop()

    def to(self, rcpt: str) -> list[Received]:
        return [r for r in self.received if r.rcpt == rcpt.lower()]

    def mailer_settings(self, timeout: float | None = None) -> dict[str, Any]:
        """A MAILERS entry that sends here through Django's real SMTP backend.

        No client timeout unless a test stalls the sink: a timeout is also the deadline of every
        healthy reply, and a 250 to DATA that a loaded machine delivers after it reads as a failure
        and the accepted mail goes out again (SMTP cannot tell the two apart), which a test asserting
        one mail per recipient would take for a bug. A sink that never stalls needs no deadline: a
        hung test is still stopped by pytest-timeout."""
        options: dict[str, Any] = {"host": self.host, "port": self.port}
        if timeout is not None:
            options["timeout"] = timeout
        return {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": options}

    @property
    def url(self) -> str:
        """EMAIL_URL for a `paperfeed` child process."""
        return f"smtp://{self.host}:{self.port}"


class SilentServer:
    """A plain loopback socket that accepts every connection and never says a word (no greeting):
    a mail server that is up as far as TCP goes and answers nothing. `connections` counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.host, self.port = "127.0.0.1", int(self.sock.getsockname()[1])
        self.connections = 0
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self._held.append(conn)  # kept open, unread and unanswered
            self.connections += 1

    def mailer_settings(self, timeout: float) -> dict[str, Any]:
        return {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": self.host, "port": self.port, "timeout": timeout},
        }

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for conn in self._held:
            conn.close()
        self.sock.close()
