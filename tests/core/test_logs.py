"""The two log formats carry the same time: ISO 8601 with milliseconds and the UTC offset; a 503 is
logged as a warning, not as a server error."""

from __future__ import annotations

import copy
import json
import logging
import logging.config
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import path

from paperfeed.core.http import retry_later
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


# --- django.request's levels: a 503 is not a server error ------------------------------------------


def _down(request: HttpRequest) -> HttpResponse:
    raise OperationalError("the database system is shutting down")


def _broken(request: HttpRequest) -> HttpResponse:
    raise ValueError("bug")


# This module is the URLconf of the tests marked with it: answers as the site's views give them.
urlpatterns = [
    path("down", _down),
    path("busy", lambda request: retry_later("service unavailable", 10)),
    path("limited", lambda request: retry_later("rate limited", 5, status=429)),
    path("broken", _broken),
]


@pytest.mark.urls(__name__)
def test_503_and_429_are_warnings_and_a_500_stays_an_error(caplog: pytest.LogCaptureFixture) -> None:
    # Every 503 was logged at ERROR, with the database error's traceback: a PostgreSQL restart
    # filled the log with errors (and fired the alerts on them) for a site answering as meant.
    client = Client(raise_request_exception=False)
    answers = [client.get(f"/{name}").status_code for name in ("down", "busy", "limited", "broken")]
    assert answers == [503, 503, 429, 500]
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.status_code, r.levelname) for r in records] == [  # type: ignore[attr-defined]
        (503, "WARNING"),
        (503, "WARNING"),
        (429, "WARNING"),
        (500, "ERROR"),
    ]
    assert [r.exc_info is not None for r in records] == [False, False, False, True]
    # The database's error is said once, in one line, by the middleware that answered 503.
    said = [r.getMessage() for r in caplog.records if r.name == "paperfeed.core.middleware"]
    assert said == ["database unavailable for GET /down: the database system is shutting down"]


def test_a_503_from_the_500_handler_is_a_warning_without_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A middleware's database error (the session's look-up) reaches Django's handler500, which logs
    # the answer with the exception: a traceback at ERROR per request until the database was back.
    request = RequestFactory().get("/")
    try:
        raise OperationalError("connection refused")
    except OperationalError as e:
        resp = response_for_exception(request, e)
    assert resp.status_code == 503
    (record,) = [r for r in caplog.records if r.name == "django.request"]
    assert (record.levelname, record.exc_info, record.getMessage()) == (
        "WARNING",
        None,
        "Service Unavailable: /",
    )
    # The formatters print it as a warning too, with no traceback (they read the record's own fields).
    assert json.loads(_configured("json").format(record))["level"] == "WARNING"
    assert "Traceback" not in _configured("text").format(record)
