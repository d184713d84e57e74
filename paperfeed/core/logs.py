"""paperfeed's two log formats, text and one JSON object per line (PAPERFEED_LOG_FORMAT), with the
same time in both."""

from __future__ import annotations

import datetime as dt
import json
import logging
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


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
    return str(value)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return log_time(record)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": log_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Counts passed as `extra=` become fields, so logs can be queried, not grepped.
        doc.update({k: v for k, v in vars(record).items() if k not in _RESERVED})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=json_default)
