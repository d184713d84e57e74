"""The 429 a rate limit met in a page's view gets (accounts.middleware), through Django's client on a
real database: the limiter's own refusals, and waits out of its range raised by a view here."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from paperfeed import urls
from paperfeed.accounts.throttle import LIMITS, Limit, RateLimited
from paperfeed.core import ratelimit
from paperfeed.core.text import about
from tests.sitedata import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _refuse(request: HttpRequest, seconds: int) -> HttpResponse:
    raise RateLimited("vote:user", seconds)  # 30 a minute: its longest wait is 120 s


# The site's URLs (the 429 page extends base.html, which links to them) and one view that is refused.
urlpatterns = [path("refused/<int:seconds>", _refuse), *urls.urlpatterns]


def test_a_refused_reset_says_the_wait_in_words_and_the_same_wait_in_retry_after(
    smtp_sink: Any, immediate_tasks: None, rate_counters: str
) -> None:
    make_user("forgetful", password=PASSWORD)
    for i in range(5):  # 5 a day per account
        Client(REMOTE_ADDR=f"10.3.0.{i}").post("/password-reset", {"email": "forgetful@example.org"})
    r = Client(REMOTE_ADDR="10.3.0.9").post("/password-reset", {"email": "forgetful@example.org"})
    assert r.status_code == 429 and r["Content-Type"].startswith("text/html")
    wait = int(r["Retry-After"])
    # A day's 5 weigh into the next day: hours, more than the hour other Retry-Afters stop at.
    assert 3600 < wait <= ratelimit.longest_wait(LIMITS["reset:account"].window)
    page = r.content.decode()
    # The JSON 429's sentence (core.http.too_many_requests): the limit met and the wait in words.
    said = f"Too many requests (password reset mails for one account: 5 a day); try again in {about(wait)}."
    assert f"<h1>Too many requests</h1><p>{said}</p>" in page and "hours" in about(wait)
    assert "reset:account" not in page  # the scope's name is internal
    assert "second" not in page.split("<main", 1)[-1]


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("said", "header", "words"),
    [
        (10**6, "120", "about 2 minutes"),  # held to two of the limit's windows
        (0, "1", "about a minute"),  # never 0: a client told 0 comes straight back
        (95, "95", "about 2 minutes"),
    ],
)
def test_the_wait_is_held_to_the_limits_longest_on_the_page_and_in_json(
    said: int, header: str, words: str
) -> None:
    error = f"too many requests (upvotes and their removals: 30 a minute); try again in {words}"
    r = Client().get(f"/refused/{said}")
    assert r.status_code == 429 and r["Retry-After"] == header
    # The page says what the JSON says, as a sentence: one builder for both, and for str(exc).
    assert f"<p>T{error[1:]}.</p>" in r.content.decode()
    r = Client().get(f"/refused/{said}", HTTP_ACCEPT="application/json")
    assert r.status_code == 429 and r["Retry-After"] == header
    assert r.json()["retryAfter"] == int(header) and r.json()["error"] == error
    assert r.json()["limit"] == "upvotes and their removals: 30 a minute"


@pytest.mark.urls(__name__)
def test_the_limit_named_is_escaped_on_the_page_and_plain_in_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(LIMITS, "vote:user", Limit(30, 60, what="<b>votes</b> & co"))
    page = Client().get("/refused/5").content.decode()
    said = "Too many requests (&lt;b&gt;votes&lt;/b&gt; &amp; co: 30 a minute); try again in about a minute."
    assert f"<p>{said}</p>" in page
    assert "<b>votes" not in page
    r = Client().get("/refused/5", HTTP_ACCEPT="application/json")
    assert r.json()["limit"] == "<b>votes</b> & co: 30 a minute"
