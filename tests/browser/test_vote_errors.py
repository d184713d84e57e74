"""A vote the site refuses says why, beside its button, and leaves the button as it was."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings

from paperfeed.accounts import throttle
from paperfeed.feed.models import Vote
from tests.browser.test_for_you import log_in
from tests.sitedata import load_papers, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VOTE = ".paper-head form.vote"


def test_a_rate_limited_vote_says_so_and_keeps_the_vote(
    live_server: Any, new_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(throttle.LIMITS, "vote:user", throttle.Limit(1, 60))
    [paper] = load_papers(1)
    user = make_user("voter")
    base = live_server.url
    page, watch = new_page(390, 844)
    log_in(page, base, user)
    page.goto(f"{base}/papers/{paper.arxiv_id}")
    page.click(f"{VOTE} button")
    page.wait_for_selector(f"{VOTE}.on")
    page.click(f"{VOTE} button")  # taking it back is over the limit
    status = page.wait_for_selector(f"{VOTE} [role=status]:not(:empty)")
    assert status.inner_text().startswith("Too many votes: try again in ")
    assert status.is_visible()
    assert page.get_attribute(f"{VOTE} button", "aria-pressed") == "true"
    assert page.is_enabled(f"{VOTE} button")
    assert page.inner_text(f"{VOTE} .count") == "1" and page.locator(f"{VOTE}.on").count() == 1
    assert Vote.objects.filter(user=user, paper=paper).exists()
    assert [e for e in watch.errors if "429" not in e] == []


def test_a_vote_after_the_session_ended_shows_the_sites_message(live_server: Any, new_page: Any) -> None:
    [paper] = load_papers(1)
    base = live_server.url
    page, watch = new_page()
    user = make_user("voter")
    log_in(page, base, user)
    page.goto(f"{base}/papers/{paper.arxiv_id}")
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)  # logged out in another tab
    page.click(f"{VOTE} button")
    status = page.wait_for_selector(f"{VOTE} [role=status]:not(:empty)")
    assert status.inner_text() == "Log in to vote."  # the API's {"error": "log in to vote"}
    assert page.get_attribute(f"{VOTE} button", "aria-pressed") == "false"
    assert page.is_enabled(f"{VOTE} button")
    assert page.inner_text(f"{VOTE} .count") == "0" and page.locator(f"{VOTE}.on").count() == 0
    assert not Vote.objects.exists()
    # Logged in again, the same button votes, and the message goes.
    log_in(page, base, user)
    page.click(f"{VOTE} button")
    page.wait_for_selector(f"{VOTE}.on")
    assert page.locator(f"{VOTE} [role=status]:not(:empty)").count() == 0
    assert Vote.objects.filter(user=user, paper=paper).exists()
    assert [e for e in watch.errors if "401" not in e] == []
