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


def test_the_500_page_is_the_sites_with_a_title_and_a_way_back() -> None:
    # It was Django's bare "<h1>Server Error (500)</h1>": no title, no language, no way back.
    try:
        raise ValueError("bug: secret detail")
    except ValueError:
        resp = server_error(RequestFactory().get("/papers"))
    html = resp.content.decode()
    assert resp.status_code == 500
    assert '<html lang="en">' in html and "<title>Server error — paperfeed</title>" in html
    assert html.count("<h1>") == 1 and '<main id="main"' in html and '<a href="/">' in html
    assert "secret detail" not in html and "ValueError" not in html


def test_the_500_under_api_is_json_with_no_detail() -> None:
    # It was the site's HTML page, which an API client cannot parse.
    try:
        raise ValueError("bug: secret detail")
    except ValueError:
        resp = server_error(RequestFactory().get("/api/daily_papers"))
    assert resp.status_code == 500 and resp["Content-Type"].startswith("application/json")
    assert json.loads(resp.content) == {"error": "server error"}


@pytest.mark.django_db
def test_a_form_sent_without_its_token_gets_the_sites_403_page_saying_what_to_do() -> None:
    # It was Django's own "403 Forbidden" page: no way back, and a signed-in reader shown logged out.
    from django.test import Client

    from tests.sitedata import make_user

    c = Client(enforce_csrf_checks=True)
    r = c.post("/login", {"username": "a", "password": "b"})
    html = r.content.decode()
    assert r.status_code == 403 and "<title>Not allowed — paperfeed</title>" in html
    assert "allow cookies for this site" in html and '<a href="/">' in html
    c.get("/login")  # now with the cookie, but a stale token in the form
    c.force_login(make_user("reader"))
    r = c.post("/settings", {"csrfmiddlewaretoken": "x" * 64, "bio": "hi"})
    html = r.content.decode()
    assert r.status_code == 403 and "This form has expired" in html
    assert 'href="/users/reader"' in html  # the header still knows who is signed in


@pytest.mark.django_db
def test_a_404_page_shows_only_messages_written_for_visitors() -> None:
    from django.http import Http404

    from paperfeed.core.middleware import NotFound, not_found

    request = RequestFactory().get("/somewhere")
    internal = not_found(request, Http404("No Paper matches the given query."))
    assert internal.status_code == 404 and b"There is nothing at this address." in internal.content
    assert b"matches the given query" not in internal.content
    told = not_found(request, NotFound("paperfeed has no <i>thing</i>", links=[("/x?a=1&b=2", "Go <there>")]))
    assert b"paperfeed has no &lt;i&gt;thing&lt;/i&gt;" in told.content
    assert b'<a href="/x?a=1&amp;b=2">Go &lt;there&gt;</a>' in told.content
    api = not_found(RequestFactory().get("/api/nothing"), NotFound("for people"))
    assert json.loads(api.content) == {"error": "no such API endpoint or resource: /api/nothing"}


@pytest.mark.django_db
def test_a_forms_address_opened_as_a_page_says_what_it_is_for() -> None:
    # /logout typed into the address bar was Django's empty 405: a blank page.
    from django.test import Client

    from tests.sitedata import load_papers, make_user

    c = Client()
    c.force_login(make_user("leaving"))
    r = c.get("/logout")
    html = r.content.decode()
    assert r.status_code == 405 and r["Allow"] == "POST"
    assert "<title>Not a page — paperfeed</title>" in html
    assert '<form method="post" action="/logout">' in html and ">Log out</button>" in html
    assert Client().get("/logout").content.decode().count("You are not logged in.") == 1
    [paper] = load_papers(1)
    r = Client().get(f"/papers/{paper.arxiv_id}/vote")
    assert r.status_code == 405 and b"takes a form sent from the site" in r.content
    api = Client().get(f"/api/papers/{paper.arxiv_id}/upvote")
    assert api.status_code == 405 and api["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_healthz_answers_a_load_balancer_by_the_process_address_over_http(settings) -> None:  # type: ignore[no-untyped-def]
    # A load balancer checks each process at its own address and over http: with production settings
    # the host check answered 400 and the SSL redirect 301, and every process looked down.
    from django.test import Client

    settings.ALLOWED_HOSTS = ["papers.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    health = client.get("/healthz", HTTP_HOST="10.0.0.5:8000")
    assert health.status_code == 200 and json.loads(health.content) == {"status": "ok", "database": "up"}
    assert health["Cache-Control"] == "no-store" and health["X-Content-Type-Options"] == "nosniff"
    assert client.head("/healthz", HTTP_HOST="10.0.0.5:8000").status_code == 200
    # Everything else keeps both rules.
    assert client.get("/", HTTP_HOST="10.0.0.5:8000").status_code == 400
    assert client.get("/", HTTP_HOST="papers.example.org").status_code == 301
    assert client.post("/healthz", HTTP_HOST="10.0.0.5:8000").status_code == 400
