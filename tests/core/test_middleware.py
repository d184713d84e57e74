"""A database that is down becomes 503 + Retry-After, whether a view or a middleware hit it."""

from __future__ import annotations

import json

import pytest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from django.test import RequestFactory

from paperfeed.core.middleware import DatabaseUnavailableMiddleware, server_error


def _middleware() -> DatabaseUnavailableMiddleware:
    return DatabaseUnavailableMiddleware(lambda request: HttpResponse())


@pytest.mark.parametrize(
    "exc", [OperationalError("connection refused"), InterfaceError("connection already closed")]
)
def test_a_view_that_loses_the_database_answers_503(exc: Exception) -> None:
    api = _middleware().process_exception(RequestFactory().get("/api/daily_papers"), exc)
    assert api is not None and api.status_code == 503 and int(api["Retry-After"]) > 0
    assert json.loads(api.content)["error"] == "service unavailable"
    page = _middleware().process_exception(RequestFactory().get("/"), exc)
    assert page is not None and page.status_code == 503 and b"Temporarily unavailable" in page.content
    assert b"connection" not in page.content  # no detail of the failure leaks


def test_other_errors_are_left_to_django() -> None:
    assert _middleware().process_exception(RequestFactory().get("/"), ValueError("bug")) is None


def test_the_500_handler_maps_a_database_error_raised_by_a_middleware() -> None:
    request = RequestFactory().get("/")
    try:
        raise OperationalError("the database system is shutting down")
    except OperationalError:
        resp = server_error(request)
    assert resp.status_code == 503 and resp["Retry-After"]
    try:
        raise ValueError("bug")
    except ValueError:
        assert server_error(request).status_code == 500
