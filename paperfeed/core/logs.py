"""paperfeed's two log formats, text and one JSON object per line (PAPERFEED_LOG_FORMAT), with the
same time and the same fields in both: what a call passes with `extra=` is a JSON field, or a
key=value after the text line's message (quoted and escaped when it needs to be, so a line stays one
line). A call whose message already says its fields (the access log, progress lines) passes
`IN_MESSAGE: True` with them, and the text line does not repeat them."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

IN_MESSAGE = "fields_in_message"
# A request's WSGI environ key (request.META is that dict) that keeps its line out of the access
# log: a healthy /healthz, which load balancers poll every few seconds (weblog.GunicornLogger).
QUIET_ACCESS = "paperfeed.quiet_access"
_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", IN_MESSAGE}
_BARE = re.compile(r'[^\s"=\\]+')  # a key or value printed as it is; any other is quoted
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def log_time(record: logging.LogRecord) -> str:
    """ISO 8601 with milliseconds and the zone: log stores parse it without being told the
    server's zone, and lines of one second keep their order."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def json_default(value: Any) -> Any:
    """What a JSON log line or `--json` prints for a value JSON has no type for: a time in ISO 8601
    with its `T` and offset, as the API prints it (str() gives "2026-11-30 18:29:41+00:00", which
    log stores read as text), anything else as text."""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, set | frozenset):  # in a stable order, so two runs' documents compare
        try:
            return sorted(value)
        except TypeError:
            return sorted(value, key=repr)
    return str(value)


def dumps(value: Any, **kwargs: Any) -> str:
    """JSON as every `--json` document, benchmark file and JSON log line writes it."""
    return json.dumps(value, default=json_default, **kwargs)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """What the call passed with `extra=`."""
    return {k: v for k, v in vars(record).items() if k not in _RESERVED}


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool | int | float | list | tuple | dict | set | frozenset):
        return dumps(value, ensure_ascii=False)
    out = json_default(value)
    return out if isinstance(out, str) else dumps(out, ensure_ascii=False)


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    if ch.isprintable():
        return ch
    return f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}"


def logfmt(text: str) -> str:
    """`text` as one key or value of a key=value pair: as it is when it can be, else in double quotes
    with quotes, backslashes and anything unprintable (line breaks of any kind) escaped."""
    if _BARE.fullmatch(text) and text.isprintable():
        return text
    return '"' + "".join(map(_escape, text)) + '"'


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return log_time(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        if getattr(record, IN_MESSAGE, False):
            return line
        pairs = "".join(f" {logfmt(k)}={logfmt(_plain(v))}" for k, v in fields(record).items())
        return line + pairs


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": log_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Counts passed as `extra=` become fields, so logs can be queried, not grepped.
        doc.update(fields(record))
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return dumps(doc)


class UnavailableIsNotAnError(logging.Filter):
    """On django.request, which logs every answer of 500 or more at ERROR: a 503 is this site saying
    "busy, come back" (core.http.retry_later: the database down or restarting, arXiv not answering),
    which its answer and Retry-After already handle, so it is a WARNING, and without the traceback of
    the database error behind it (core.middleware.unavailable logs that error in one line): during a
    PostgreSQL restart every request got one at ERROR, and alerts on ERROR fired for a working
    site. Django logs a 4xx, a 429 too, at WARNING already; a 500 stays an ERROR with its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 503 and record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.exc_info, record.exc_text = None, None
        return True
