"""The mailer used while EMAIL_URL is empty: Django's console backend, on stderr.

Django's writes to stdout, where `--json` promises one JSON document: `digest send --json` printed
every mail before its report, and a script reading the report read a MIME message instead."""

from __future__ import annotations

import sys
from typing import Any

from django.core.mail.backends.console import EmailBackend


class ConsoleBackend(EmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        # sys.stderr as it is now, not at import: a test (or a caller) may have replaced it.
        kwargs.setdefault("stream", sys.stderr)
        super().__init__(fail_silently=fail_silently, **kwargs)
