"""A moderator purges a spammer from the queue without JavaScript: the link opens the confirm page,
the browser will not send it without a reason, and the undo is a button on the same page."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from paperfeed.accounts.models import User
from paperfeed.feed import services as feed
from paperfeed.moderation import services
from paperfeed.moderation.models import Action
from tests.browser.test_for_you import log_in
from tests.sitedata import load_papers, make_user

# What the purge changes is the service and view tests' to prove on both databases (tests/moderation).
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]


def test_suspend_and_remove_everything_confirms_without_javascript(live_server: Any, new_page: Any) -> None:
    papers = load_papers(2)
    spammer, reader, mod = make_user("spammer"), make_user("reader"), make_user("mod", staff=True)
    for p in papers:
        feed.submit(p.arxiv_id, spammer, timezone.localdate())
    comment = feed.add_comment(spammer, papers[0], "Buy cheap pills")
    services.file_report(reader, comment, "spam")
    base = live_server.url
    page, _ = new_page(javascript=False)
    log_in(page, base, mod)
    page.goto(f"{base}/moderation")
    page.click("text=Suspend spammer and remove everything they posted")
    assert page.url == f"{base}/moderation/users/spammer"
    button = "button[value=purge]"
    page.click(button)  # no reason: the browser keeps the form (required), nothing is sent
    assert page.url == f"{base}/moderation/users/spammer" and not Action.objects.exists()
    page.fill("#purge-reason", "spam")
    page.click(button)
    page.wait_for_selector("text=Done: mod suspended user spammer and removed 2 submissions, hid 1 comment")
    assert User.objects.get(username="spammer").is_suspended
    page.click("button[value=unpurge]")
    page.wait_for_selector("text=Done: mod lifted the suspension of user spammer")
    assert page.locator("button[value=unpurge]").count() == 0
    assert not User.objects.get(username="spammer").is_suspended
