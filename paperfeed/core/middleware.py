"""A database that is down or restarting answers 503 + Retry-After, fast and without a traceback
(RELIABILITY L6), instead of a 500 per request while PostgreSQL restarts.

Two ways in, because Django turns an exception into a response at every middleware layer:
`process_exception` catches what a view raises; `server_error` (the project's handler500) catches
what a middleware raised (the session or rate-limit lookups run before any view).

The 400 and 404 handlers live here too: a page shows only messages written for visitors
(BadParameter, NotFound), never an exception's internal text."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from django.core.exceptions import BadRequest
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseServerError
from django.shortcuts import render

from paperfeed.core.http import json_answer, retry_later

log = logging.getLogger(__name__)

RETRY_AFTER = 10  # seconds: about one PostgreSQL restart


class HealthCheckMiddleware:
    """GET/HEAD /healthz answered before any other middleware. A load balancer checks each web
    process by its own address (Host: 10.0.0.5:8000, which ALLOWED_HOSTS refuses: 400) and over
    plain http (which PAPERFEED_PRODUCTION's SSL redirect answers with a 301): either way every
    process looked down. The answer names no host and reads no cookie, so nothing here needs them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from paperfeed.papers.views import healthz

        self.get_response = get_response
        self.healthz = healthz

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz" and request.method in ("GET", "HEAD"):
            response = self.healthz(request)
            # What the skipped middleware would have added that matters to a JSON status.
            response["X-Content-Type-Options"] = "nosniff"
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)


_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Unavailable — paperfeed</title>"
    "<h1>Temporarily unavailable</h1><p>The database is not answering. Please try again in a few seconds.</p>"
)


def database_down(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


def unavailable(request: HttpRequest, exc: BaseException) -> HttpResponse:
    # Not a template: base.html would look up the session user, in the database that is down.
    log.warning("database unavailable for %s %s: %s", request.method, request.path, str(exc).strip()[:200])
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        resp = retry_later("service unavailable", RETRY_AFTER)
    else:
        resp = HttpResponse(_PAGE, status=503)
        resp["Retry-After"] = str(RETRY_AFTER)
    resp["Cache-Control"] = "no-store"
    return resp


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A visitor's typo in ?date= is answered here too, so it is not logged with a traceback.
        if isinstance(exception, BadParameter):
            return bad_request(request, exception)
        return unavailable(request, exception) if database_down(exception) else None


class MethodNotAllowedPageMiddleware:
    """A form's address opened as a page (a typed or bookmarked /logout, a vote's address in a new
    tab) was Django's empty 405, a blank page: the site's page says what the address is for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        resp = self.get_response(request)
        if (
            resp.status_code != 405
            or resp.content
            or request.method not in ("GET", "HEAD")
            or request.path.startswith("/api/")
        ):
            return resp
        page = render(request, "405.html", status=405)
        page["Allow"] = resp["Allow"]
        return page


class NotFound(Http404):
    """A 404 whose message is written for the visitor ("paperfeed has no paper 2601.99999"), with
    (href, text) links to where to go instead. Any other Http404 (the resolver's, a
    get_object_or_404's "No User matches the given query.") shows a generic sentence."""

    def __init__(self, message: str, *, links: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.links = links or []


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: under /api/ a JSON error like every other API answer, not the site's page."""
    if request.path.startswith("/api/"):
        return json_answer({"error": f"no such API endpoint or resource: {request.path}"}, status=404)
    if isinstance(exception, NotFound):
        ctx = {"reason": str(exception), "links": exception.links}
    else:
        ctx = {"reason": "", "links": []}
    return render(request, "404.html", ctx, status=404)


class BadParameter(BadRequest):
    """A 400 whose message is written for the visitor (a bad ?date=, quoting at most 40 characters
    of it), with an optional (href, text) link to where to go instead. Django's own 400s (a bad
    Host header, too many fields) keep their reasons off the page."""

    def __init__(self, message: str, *, link: tuple[str, str] | None = None) -> None:
        super().__init__(message)
        self.link = link


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: says what was wrong with the request, as JSON under /api/."""
    reason = str(exception) if isinstance(exception, BadParameter) else ""
    if request.path.startswith("/api/"):
        return json_answer({"error": reason or "bad request"}, status=400)
    link = exception.link if isinstance(exception, BadParameter) else None
    return render(request, "400.html", {"reason": reason, "link": link}, status=400)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form sent without its valid token (a tab left open across a log-out,
    cookies refused) is the site's own 403 page saying what to do, not Django's bare one (which has
    no way back and shows a signed-in reader as logged out)."""
    from django.middleware.csrf import REASON_NO_CSRF_COOKIE

    if request.path.startswith("/api/"):
        return json_answer({"error": "CSRF check failed: use a bearer token"}, status=403)
    if reason == REASON_NO_CSRF_COOKIE:
        message = (
            "Your browser did not send this site's cookie, which sending a form needs: "
            "allow cookies for this site, then try again."
        )
    else:
        message = (
            "This form has expired (it was opened before a log-in or log-out, or long ago). "
            "Go back, reload the page and send it again."
        )
    return render(request, "403.html", {"exception": message}, status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: Django calls it inside its `except`, so the exception is sys.exc_info()'s."""
    exc = sys.exc_info()[1]
    if database_down(exc):
        return unavailable(request, exc)  # type: ignore[arg-type]
    if request.path.startswith("/api/"):
        # An API client parses every answer as JSON, a failure too; what failed stays in the log.
        return json_answer({"error": "server error"}, status=500)
    from django.views.defaults import server_error as default

    try:
        return default(request)
    except Exception:  # a broken 500 template must not turn into a second failure
        return HttpResponseServerError(
            "<!doctype html><html lang=en><title>Server error — paperfeed</title><h1>Server error</h1>"
        )
