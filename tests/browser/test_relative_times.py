"""Relative times on pages a cache shares: the reader's browser says "5 minutes ago" from the
absolute time in the HTML, so the same cached page stays true hours later; without JavaScript the
absolute time shows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from paperfeed.feed import services
from paperfeed.feed.models import Comment
from tests.sitedata import load_papers, make_user

# Rendering, scripts and styles in the browser: the pages' queries are the view tests' to prove on both
# databases (tests/feed, tests/recs), so these run on SQLite only.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]


def test_a_cached_paper_page_says_how_long_ago_by_the_readers_clock(live_server: Any, new_page: Any) -> None:
    [paper] = load_papers(1)
    author = make_user("writer")
    older = services.add_comment(author, paper, "first!")
    now = timezone.now()
    Comment.objects.filter(pk=older.pk).update(created_at=now - dt.timedelta(minutes=5, seconds=5))
    fresh = services.add_comment(author, paper, "second")
    url = f"{live_server.url}/papers/{paper.arxiv_id}"
    html = Client().get(f"/papers/{paper.arxiv_id}").content  # what the cache now holds

    def said(page: Any) -> dict[str, tuple[str, str | None]]:
        page.goto(url)
        return {
            # Words joined by a no-break space, as Django's timesince joins them.
            pk: (
                " ".join(page.inner_text(f"#c{pk} time").split()),
                page.get_attribute(f"#c{pk} time", "title"),
            )
            for pk in (older.pk, fresh.pk)
        }

    page, watch = new_page()
    first = said(page)
    assert first[older.pk][0] == "5 minutes ago" and first[fresh.pk][0] == "just now"
    assert first[older.pk][1] == f"{now - dt.timedelta(minutes=5, seconds=5):%-d %b %Y, %H:%M} UTC"
    # Two hours later, by the reader's clock, the same cached page says so.
    later, _ = new_page()
    later.clock.set_fixed_time(now + dt.timedelta(hours=2, minutes=1))
    assert [text for text, _ in said(later).values()] == ["2 hours ago", "2 hours ago"]
    assert Client().get(f"/papers/{paper.arxiv_id}").content == html  # served from the cache
    # Without JavaScript: the absolute time, still true.
    plain = page.context.browser.new_context(java_script_enabled=False)
    try:
        shown = said(plain.new_page())
    finally:
        plain.close()
    assert shown[fresh.pk] == (f"{fresh.created_at:%-d %b %Y, %H:%M} UTC", None)
    assert watch.errors == []
