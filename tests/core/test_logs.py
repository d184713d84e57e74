"""The two log formats carry the same time: ISO 8601 with milliseconds and the UTC offset."""

from __future__ import annotations

import copy
import json
import logging
import logging.config
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

from paperfeed.core.logs import IN_MESSAGE, JsonFormatter


def _record() -> logging.LogRecord:
    record = logging.LogRecord("paperfeed.x", logging.WARNING, __file__, 1, "disk %s full", ("/var",), None)
    record.created = 1_795_993_200.25
    return record


def _configured(name: str) -> logging.Formatter:
    """The formatter settings.LOGGING declares under `name`, built as logging's dictConfig builds it
    (from a copy: dictConfig pops the factory out of the dict it is given)."""
    config = copy.deepcopy(settings.LOGGING)
    configurator = logging.config.DictConfigurator(config)
    formatter: logging.Formatter = configurator.configure_formatter(config["formatters"][name])
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


def test_text_line_ends_with_the_extra_fields_as_key_value_on_one_line() -> None:
    """`extra=` fields were in JSON lines only: the text line dropped them. A value with a space,
    quote, `=` or line break of any kind is quoted and escaped, so the line stays one line."""
    record = _record()
    for key, value in {
        "job": "digest",
        "rows": 1200,
        "ratio": 0.5,
        "done": True,
        "worker": None,
        "since": datetime(2026, 11, 30, 18, 29, 41, tzinfo=UTC),
        "day": datetime(2026, 11, 30).date(),
        "home": Path("/var/lib/paper feed"),
        "tags": {"b", "a"},
        "counts": {"created": 2},
        "title": 'He said "hi"\nthen\u2028left\\',
        "empty": "",
        "a=b": "x",
    }.items():
        setattr(record, key, value)
    line = _configured("text").format(record)
    assert line == (
        "2026-11-29T23:00:00.250+00:00 WARNING paperfeed.x: disk /var full job=digest rows=1200"
        " ratio=0.5 done=true worker=null since=2026-11-30T18:29:41+00:00 day=2026-11-30"
        ' home="/var/lib/paper feed" tags="[\\"a\\", \\"b\\"]" counts="{\\"created\\": 2}"'
        ' title="He said \\"hi\\"\\nthen\\u2028left\\\\" empty="" "a=b"=x'
    )
    assert len(line.splitlines()) == 1
    doc = json.loads(_configured("json").format(record))
    assert doc["tags"] == ["a", "b"] and doc["home"] == "/var/lib/paper feed" and doc["rows"] == 1200


def test_a_message_that_already_says_its_fields_is_not_repeated_in_text() -> None:
    logger = logging.getLogger("paperfeed.test_logs")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("GET / 200", extra={"method": "GET", "status": 200, IN_MESSAGE: True})
    finally:
        logger.removeHandler(handler)
    [record] = records
    assert _configured("text").format(record).endswith(" WARNING paperfeed.test_logs: GET / 200")
    doc = json.loads(_configured("json").format(record))
    assert doc["method"] == "GET" and doc["status"] == 200 and IN_MESSAGE not in doc
