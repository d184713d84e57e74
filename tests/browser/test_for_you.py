"""The "For you" page in a real browser: titles are links that still mark a paper seen, and the
"Not interested" Undo stays in its message."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from paperfeed.accounts.models import User
from paperfeed.feed.models import Collection, CollectionItem
from paperfeed.recs.models import Feedback
from tests.deadline import seconds_left
from tests.recs import conftest as recs_data
from tests.sitedata import make_user

# Rendering, scripts and styles in the browser: the pages' queries are the view tests' to prove on both
# databases (tests/feed, tests/recs), so these run on SQLite only.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]

catalogue = recs_data.catalogue  # four topics of six papers each


def log_in(page: Any, base: str, user: User) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])


def eventually(check: Callable[[], bool]) -> bool:
    """For what the browser sends after it has moved on (a beacon): as long as the test's timeout
    allows, as a loaded machine may take a while to deliver it."""
    deadline = time.monotonic() + seconds_left()
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def reader(catalogue: dict[str, list[Any]]) -> User:
    user = make_user("reader")
    shelf = Collection.objects.create(user=user, name="Reading", slug="reading")
    CollectionItem.objects.create(collection=shelf, paper=catalogue["speech"][0])
    return user


def seen(user: User, paper: Any) -> bool:
    return Feedback.objects.filter(user=user, paper=paper, kind="seen").exists()


def test_a_title_is_a_link_and_following_it_marks_the_paper_seen(
    live_server: Any, new_page: Any, catalogue: dict[str, list[Any]], reader: User
) -> None:
    base = live_server.url
    page, watch = new_page(390, 844)  # a phone: titles wrap
    opens: list[str] = []  # every request for the "opened" endpoint: one per paper, or it is counted twice
    page.context.on("request", lambda r: "/open" in r.url and opens.append(f"{r.method} {r.url}"))
    log_in(page, base, reader)
    page.goto(f"{base}/for-you")
    clicked, middle = catalogue["speech"][1], catalogue["speech"][2]
    link = page.locator(f'.recs a[href="/papers/{clicked.arxiv_id}"]')
    assert link.inner_text() == clicked.title
    assert link.evaluate("a => getComputedStyle(a).textAlign") != "center"

    link.click()
    page.wait_for_url(f"{base}/papers/{clicked.arxiv_id}")
    assert clicked.title in page.inner_text("h1")
    assert eventually(lambda: seen(reader, clicked))

    page.goto(f"{base}/for-you")
    assert page.locator(f'.recs a[href="/papers/{clicked.arxiv_id}"]').count() == 0
    # A middle click opens a tab of its own and leaves this page where it was: opened all the same.
    with page.context.expect_page() as opened:
        page.locator(f'.recs a[href="/papers/{middle.arxiv_id}"]').click(button="middle")
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url == f"{base}/papers/{middle.arxiv_id}"
    assert page.url == f"{base}/for-you"
    assert eventually(lambda: seen(reader, middle))
    assert not seen(reader, catalogue["speech"][3])  # only what was opened
    # The beacons only: the links went straight to the papers, not through the no-JS redirect.
    assert opens == [f"POST {base}/for-you/{p.arxiv_id}/open" for p in (clicked, middle)]
    assert watch.errors == []


def test_without_javascript_following_a_title_marks_the_paper_seen(
    live_server: Any, browser: Any, catalogue: dict[str, list[Any]], reader: User
) -> None:
    base = live_server.url
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        log_in(page, base, reader)
        page.goto(f"{base}/for-you")
        clicked = catalogue["speech"][1]
        link = page.locator(".recs h3 a", has_text=clicked.title)
        assert link.count() == 1
        link.click()
        page.wait_for_url(f"{base}/papers/{clicked.arxiv_id}")
        assert clicked.title in page.inner_text("h1")
        # Recorded before the redirect was answered: nothing to wait for.
        assert seen(reader, clicked)
        assert Feedback.objects.filter(user=reader).count() == 1
        page.goto(f"{base}/for-you")
        assert page.locator(".recs h3 a", has_text=clicked.title).count() == 0
    finally:
        context.close()


def test_the_undo_of_not_interested_stays_in_its_message(
    live_server: Any, new_page: Any, catalogue: dict[str, list[Any]], reader: User
) -> None:
    base = live_server.url
    page, watch = new_page(375, 700)  # a phone: the page scrolls to the message (#marked)
    log_in(page, base, reader)
    page.goto(f"{base}/for-you")
    target = catalogue["speech"][1]
    card = page.locator(".recs .card", has=page.locator(f'a[href="/papers/{target.arxiv_id}"]'))
    with page.expect_navigation():
        card.locator("button.not-interested").click()
    status = page.locator(".msg[role=status]")
    assert "not interested" in status.inner_text()
    # Its focus ring (3 px, 2 px off the box) shows whole: it was cut by the top of the screen.
    assert status.evaluate("e => document.activeElement === e && e.getBoundingClientRect().top >= 5")
    # A form inside a <p> is moved out of it by the parser: the Undo would sit below the message.
    undo = status.locator("button", has_text="Undo")
    assert undo.count() == 1
    with page.expect_navigation():
        undo.click()
    assert "is back among your recommendations" in page.inner_text("body")
    assert page.locator(f'.recs a[href="/papers/{target.arxiv_id}"]').count() == 1
    assert not Feedback.objects.filter(user=reader, paper=target).exists()
    assert watch.errors == []
