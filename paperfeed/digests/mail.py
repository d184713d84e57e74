"""Building and sending digest mail: headers (RFC 8058 one-click unsubscribe, Message-ID), optional
DKIM signing, and a transport over Django's SMTP backend that classifies failures.

A transport is a small interface (`send(message)`, `close()`) with the real SMTP one and an in-memory
one (for composition tests and dry runs); errors come out as SendError saying whether to retry.
"""

from __future__ import annotations

import contextlib
import email.message
import email.policy
import errno
import smtplib
import socket
import threading
from dataclasses import dataclass, field
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from paperfeed.conf import env
from paperfeed.core import clock
from paperfeed.digests import tokens
from paperfeed.digests.models import Digest, Subscriber

ONE_CLICK = "List-Unsubscribe=One-Click"  # RFC 8058 §3.1: this exact value


def from_address() -> str:
    return str(settings.DEFAULT_FROM_EMAIL)


def from_domain() -> str:
    return parseaddr(from_address())[1].rpartition("@")[2].lower() or "localhost"


def absolute(path: str) -> str:
    return f"{settings.BASE_URL}{path}"


def unsubscribe_url(sub: Subscriber) -> str:
    return absolute(reverse("digests:unsubscribe", args=[tokens.make("unsubscribe", sub)]))


def manage_url(sub: Subscriber) -> str:
    return absolute(reverse("digests:manage", args=[tokens.make("manage", sub)]))


def confirm_url(sub: Subscriber) -> str:
    return absolute(reverse("digests:confirm", args=[tokens.make("confirm", sub)]))


def message_id(digest: Digest, sub: Subscriber) -> str:
    """Derived from the (digest, subscriber) pair: a re-send after a crash repeats it exactly."""
    return f"<digest.{digest.uid}.{sub.pk}@{from_domain()}>"


def notice_message_id(kind: str) -> str:
    """A notice's Message-ID (a confirmation link, a password reset), made when its job is queued
    and handed to it as an argument, so stored with the job before anything is sent. A worker that
    dies between the server's 250 and the job's end leaves the job to run again: the mail it sends
    then repeats this Message-ID, as a digest re-sent after a crash repeats its own. Nothing is lost,
    and a repeat is known for the same message (by mailbox providers that merge them, and by us)."""
    return make_msgid(f"notice.{kind}", domain=from_domain())


def list_headers(sub: Subscriber) -> dict[str, str]:
    mailto = env("PAPERFEED_UNSUBSCRIBE_MAILTO") or parseaddr(from_address())[1]
    subject = quote(f"unsubscribe {tokens.make('unsubscribe', sub)}")
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(sub)}>, <mailto:{mailto}?subject={subject}>",
        "List-Unsubscribe-Post": ONE_CLICK,
        "List-Id": f"paperfeed digests <digests.{from_domain()}>",
    }


# --- DKIM ------------------------------------------------------------------------------------------

SIGNED_HEADERS = (
    "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id",
)  # fmt: skip


@dataclass(frozen=True)
class DkimKey:
    selector: str
    domain: str
    private_key: bytes


def dkim_key() -> DkimKey | None:
    path = env("PAPERFEED_DKIM_KEY")
    if not path:
        return None
    return DkimKey(
        env("PAPERFEED_DKIM_SELECTOR"), env("PAPERFEED_DKIM_DOMAIN") or from_domain(), Path(path).read_bytes()
    )


class _Signed(email.message.EmailMessage):
    """A parsed message that serialises to exactly the bytes that were signed (re-folding the
    headers could otherwise break the signature)."""

    raw: bytes

    def as_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        return self.raw

    def as_string(self, *args: Any, **kwargs: Any) -> str:
        return self.raw.decode("utf-8", "replace")


def dkim_sign(raw: bytes, key: DkimKey) -> bytes:
    import dkim

    signature: bytes = dkim.sign(
        raw,
        key.selector.encode(),
        key.domain.encode(),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=[h.lower().encode() for h in SIGNED_HEADERS],
    )
    return signature + raw


class DigestEmail(EmailMultiAlternatives):
    """Django's multipart message, DKIM-signed at serialisation when a key is configured."""

    def message(self, *, policy: Any = email.policy.default) -> Any:
        # The List-Unsubscribe URL is one long word: with the default 78-column folding the policy
        # would turn it into RFC 2047 encoded-words, which no mailbox provider reads as a URL.
        policy = policy.clone(max_line_length=998)
        msg = super().message(policy=policy)
        key = dkim_key()
        if key is None:
            return msg
        signed = dkim_sign(msg.as_bytes(policy=policy), key)
        out: Any = email.message_from_bytes(signed, _class=_Signed, policy=policy)
        out.raw = signed
        return out


def build(sub: Subscriber, subject: str, text: str, html: str | None, headers: dict[str, str]) -> DigestEmail:
    msg = DigestEmail(subject=subject, body=text, from_email=from_address(), to=[sub.email], headers=headers)
    if html is not None:
        msg.attach_alternative(html, "text/html")
    return msg


# --- transports ------------------------------------------------------------------------------------


class SendError(Exception):
    """`unreachable`: no connection could be opened (refused, no route, DNS), or none answered in
    time: the server, not the message or the recipient, is the problem."""

    def __init__(
        self,
        reason: str,
        *,
        code: int | None = None,
        permanent: bool = False,
        suppress: bool = False,
        unreachable: bool = False,
    ):
        super().__init__(reason)
        self.code, self.permanent, self.suppress = code, permanent, suppress
        self.unreachable = unreachable


class Transport(Protocol):
    def send(self, message: EmailMultiAlternatives, within: float | None = None) -> None:
        """`within`: (scaled) seconds the whole send may take, retries and reconnects included;
        past it the send is abandoned as a timeout (None: no overall deadline)."""

    def close(self) -> None: ...


def _classify(e: Exception) -> SendError:
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        code, resp = next(iter(e.recipients.values()), (0, b""))
        text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else str(resp)
        return _by_code(code, f"RCPT {code} {text}", recipient=True)
    if isinstance(e, smtplib.SMTPSenderRefused):
        # Our own From address refused: not the subscriber's fault, never suppress them.
        return SendError(f"MAIL FROM refused: {e.smtp_code} {e.smtp_error!r}", code=e.smtp_code)
    if isinstance(e, smtplib.SMTPDataError):
        error = (
            e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else str(e.smtp_error)
        )
        return _by_code(e.smtp_code, f"DATA {e.smtp_code} {error}")
    if isinstance(e, smtplib.SMTPResponseException):
        return SendError(f"SMTP {e.smtp_code}: {e.smtp_error!r}", code=e.smtp_code)
    if _timed_out(e):  # also a reply that did not come in time, which smtplib calls a disconnect
        return SendError(f"timed out: {e}")
    if isinstance(e, ConnectionRefusedError | socket.gaierror) or (
        isinstance(e, OSError) and e.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH)
    ):
        return SendError(f"connection: {type(e).__name__}: {e}", unreachable=True)
    if isinstance(e, smtplib.SMTPException | OSError):
        return SendError(f"connection: {type(e).__name__}: {e}")
    if isinstance(e, ValueError):  # an address or header Django refuses to put on the wire
        return SendError(f"invalid message: {e}", permanent=True)
    raise e


def _by_code(code: int, reason: str, recipient: bool = False) -> SendError:
    if 500 <= code < 600:
        # 552 after DATA is "message too large" (5.3.4): our content, not the address, is at fault.
        too_large = code == 552 and not recipient
        return SendError(reason, code=code, permanent=True, suppress=not too_large)
    return SendError(reason, code=code)


def _timed_out(e: BaseException) -> bool:
    """smtplib reports a greeting that never came as SMTPServerDisconnected, raised while handling
    the socket's timeout."""
    return isinstance(e, TimeoutError) or isinstance(e.__context__, TimeoutError)


# Connections in a row that time out before the server has greeted us, after which the server is
# taken to be down for this run. Two, not one: a single stalled connection is abandoned and the mail
# goes out on the next (RELIABILITY E3); a server that never answers costs two timeouts, not a
# backoff per message.
OPEN_TIMEOUTS = 2


class SmtpTransport:
    """One SMTP connection (Django's backend from MAILERS["default"]) reused across messages.

    A server that refuses connections, or whose connections time out before its greeting
    OPEN_TIMEOUTS times in a row, is `unreachable` (the sender stops the run); every other failure
    belongs to the message in hand."""

    def __init__(self) -> None:
        self.backend: Any = None
        self.timeout: float | None = None  # the configured per-read timeout, before any shortening

    def _where(self) -> str:
        return f"{getattr(self.backend, 'host', '?')}:{getattr(self.backend, 'port', '?')}"

    def _connect(self, deadline: float | None = None) -> None:
        """Open a connection if none is open (connect, greeting, STARTTLS, login). With a deadline,
        each read and write of the new connection waits at most the time left before it: the
        watchdog cannot reach a socket smtplib has not handed back yet."""
        timeouts = 0
        while True:
            if self.backend is None:
                self.backend = mail.mailers.default
                self.timeout = getattr(self.backend, "timeout", None)
            if getattr(self.backend, "connection", None) is not None:
                return
            if hasattr(self.backend, "timeout"):
                left = self._left(deadline)
                shortest = [t for t in (self.timeout, left) if t is not None]
                self.backend.timeout = min(shortest) if shortest else None
            try:
                self.backend.open()
                return
            except Exception as e:
                where, timeout = self._where(), self.timeout
                self.close()
                if not _timed_out(e):
                    error = _classify(e)
                    if error.unreachable:
                        error = SendError(f"{where}: {error}", unreachable=True)
                    raise error from e
                timeouts += 1
                if timeouts >= OPEN_TIMEOUTS:
                    raise SendError(
                        f"{where} did not answer within {timeout:g} s, {timeouts} connections in a row",
                        unreachable=True,
                    ) from e
                if deadline is not None and clock.monotonic() >= deadline:
                    raise SendError(f"timed out: {where} did not greet us before the send's deadline") from e

    def send(self, message: EmailMultiAlternatives, within: float | None = None) -> None:
        """The per-read timeout alone does not bound a send: a server answering every command just
        inside it keeps one going for minutes. With `within`, a watchdog shuts the connection's
        socket down once it has passed (ending whatever read or write smtplib is blocked in), and
        no new connection or retry starts after it."""
        if within is None:
            self._send(message, None)
            return
        deadline = clock.monotonic() + within
        done, expired = threading.Event(), threading.Event()
        watchdog = threading.Thread(target=self._watch, args=(deadline, done, expired), daemon=True)
        watchdog.start()
        try:
            self._send(message, deadline)
        except SendError as e:
            if expired.is_set() or clock.monotonic() >= deadline:
                raise SendError(f"timed out: the send took over its {within:g} s deadline ({e})") from e
            raise
        finally:
            done.set()
            watchdog.join()

    def _watch(self, deadline: float, done: threading.Event, expired: threading.Event) -> None:
        while not done.wait(max(0.0, deadline - clock.monotonic()) / clock.scale()):
            if clock.monotonic() >= deadline:
                break
        else:
            return
        expired.set()
        # Again until the send gives up: a connection still being opened at the deadline has no
        # socket to reach yet (its connect and greeting are bounded by the shortened timeout).
        while True:
            self._abort()
            if done.wait(0.05):
                return

    def _abort(self) -> None:
        backend = self.backend
        for conn in (getattr(backend, "connection", None), getattr(backend, "_partial_connection", None)):
            sock = getattr(conn, "sock", None)
            if sock is not None:
                # shutdown, not close: the sending thread still owns the descriptor.
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def _left(self, deadline: float | None) -> float | None:
        """Real seconds to the deadline (None: none), raising once it has passed."""
        if deadline is None:
            return None
        left = (deadline - clock.monotonic()) / clock.scale()
        if left <= 0:
            raise SendError("timed out: no time left before the send's deadline")
        return left

    def _send(self, message: EmailMultiAlternatives, deadline: float | None) -> None:
        for fresh_try in (False, True):
            fresh = self.backend is None or getattr(self.backend, "connection", None) is None or fresh_try
            self._connect(deadline)
            try:
                self.backend.send_messages([message])
                return
            except (smtplib.SMTPServerDisconnected, ConnectionResetError, BrokenPipeError) as e:
                self.close()
                # A reused connection the server dropped (listmonk #2070: relays close the pipe after
                # N messages): try once more on a new one before counting a failure. Not a reply we
                # stopped waiting for (smtplib reports a read timeout as a disconnect): the server may
                # have accepted the mail meanwhile, so that is an attempt, logged and counted, and its
                # retry waits out the backoff rather than going out again unseen at once. Nor a
                # connection the deadline's watchdog ended.
                if fresh or _timed_out(e) or (deadline is not None and clock.monotonic() >= deadline):
                    raise _classify(e) from e
            except Exception as e:
                self.close()
                raise _classify(e) from e

    def close(self) -> None:
        if self.backend is not None:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                self.backend.close()
            self.backend = None


@dataclass
class MemoryTransport:
    """Keeps messages in a list; `fail(rcpt) -> SendError | None` injects failures."""

    sent: list[EmailMultiAlternatives] = field(default_factory=list)
    fail: Any = None

    def send(self, message: EmailMultiAlternatives, within: float | None = None) -> None:
        if self.fail is not None and (error := self.fail(message.to[0])):
            raise error
        self.sent.append(message)

    def close(self) -> None:
        pass
