"""The mailer used while EMAIL_URL is empty: Django's console backend, on stderr, readable.

Django's writes to stdout, where `--json` promises one JSON document: `digest send --json` printed
every mail before its report, and a script reading the report read a MIME message instead.

Django's also writes the MIME source: text parts in quoted-printable, so a confirmation or reset link
came out cut at 76 columns with a `=` at each cut (and `=3D` for each `=`): the link an operator
copied from the log of a site without SMTP answered 400. This one writes the headers decoded and each
text/plain part as the reader sees it; other parts are named with their size."""

from __future__ import annotations

import email
import email.policy
import sys
from typing import Any

from django.core.mail.backends.console import EmailBackend

SEPARATOR = "-" * 79


def readable(source: bytes) -> str:
    """A mail as a person reads it: its headers, then its plain-text parts, decoded."""
    msg = email.message_from_bytes(source, policy=email.policy.default)
    lines = [f"{name}: {value}" for name, value in msg.items()]
    for part in msg.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and not part.get_filename():
            lines += ["", part.get_content().rstrip("\n")]
        else:
            size = len(part.get_payload(decode=True) or b"")
            name = f" {part.get_filename()}" if part.get_filename() else ""
            lines += ["", f"[{kind} part{name}, {size:,} bytes, not shown]"]
    return "\n".join(lines)


class ConsoleBackend(EmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        # sys.stderr as it is now, not at import: a test (or a caller) may have replaced it.
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(fail_silently=fail_silently, **kwargs)

    def write_message(self, message: Any) -> None:
        self.stream.write(f"{readable(message.message().as_bytes())}\n{SEPARATOR}\n")
