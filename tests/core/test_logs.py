"""The two log formats carry the same time: ISO 8601 with milliseconds and the UTC offset."""

from __future__ import annotations

import json
import logging
import logging.config
from datetime import UTC, datetime

from django.conf import settings

from paperfeed.core.logs import JsonFormatter


def _record() -> logging.LogRecord:
    record = logging.LogRecord("paperfeed.x", logging.WARNING, __file__, 1, "disk %s full", ("/var",), None)
    record.created = 1_795_993_200.25
    return record


def _configured(name: str) -> logging.Formatter:
    """The formatter settings.LOGGING declares under `name`, built as logging's dictConfig builds it."""
    configurator = logging.config.DictConfigurator(settings.LOGGING)
    formatter: logging.Formatter = configurator.configure_formatter(settings.LOGGING["formatters"][name])
    return formatter


def test_json_time_is_iso_8601_utc_with_milliseconds() -> None:
    record = _record()
    doc = json.loads(JsonFormatter().format(record))
    assert doc["time"] == "2026-11-29T23:00:00.250+00:00"
    assert datetime.fromisoformat(doc["time"]) == datetime.fromtimestamp(record.created, UTC)


def test_text_line_starts_with_the_same_time_as_json() -> None:
    record = _record()
    line = _configured("text").format(record)
    assert line == "2026-11-29T23:00:00.250+00:00 WARNING paperfeed.x: disk /var full"
    assert line.split(" ", 1)[0] == json.loads(_configured("json").format(_record()))["time"]


def test_json_extra_times_are_iso_8601_with_t_and_offset() -> None:
    """Fields passed with `extra=` print as `--json` prints them: "2026-11-30 18:29:41+00:00" (str())
    is not ISO 8601's T form, and log stores read it as text."""
    record = _record()
    record.since = datetime(2026, 11, 30, 18, 29, 41, tzinfo=UTC)
    record.day = datetime(2026, 11, 30).date()
    doc = json.loads(JsonFormatter().format(record))
    assert doc["since"] == "2026-11-30T18:29:41+00:00"
    assert doc["day"] == "2026-11-30"
    assert datetime.fromisoformat(doc["since"]) == record.since
