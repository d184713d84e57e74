"""A vote the site refuses says why, beside its button, and leaves the button as it was; the note
sits in the flow of the page, covering nothing, until it is dismissed or the next vote."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from paperfeed.accounts import throttle
from paperfeed.feed import services
from paperfeed.feed.models import Vote
from tests.browser.test_for_you import log_in
from tests.fakes.clock import freeze
from tests.sitedata import PASSWORD, load_papers, make_user, on_a_list

# Rendering, scripts and styles in the browser: the pages' queries are the view tests' to prove on both
# databases (tests/feed, tests/recs), so these run on SQLite only.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]

VOTE = ".paper-head form.vote"
NOTE = ".paper-head .vote-note"

# The elements of the page whose box the note's box overlaps, other than the note's own ancestors
# and descendants: an absolutely placed note over the next card or the abstract shows up here.
OVERLAPPED = """note => {
  const box = note.getBoundingClientRect();
  const hit = [];
  for (const el of document.querySelectorAll("main *")) {
    if (el.contains(note) || note.contains(el)) continue;
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height) continue;
    const x = Math.min(box.right, r.right) - Math.max(box.left, r.left);
    const y = Math.min(box.bottom, r.bottom) - Math.max(box.top, r.top);
    if (x > 0.5 && y > 0.5) hit.push(el.outerHTML.slice(0, 80));
  }
  return hit;
}"""


# The vote limit cut to one a minute, its words kept: what a refusal names. The rate limits' clock
# stands still a second into a window (tests/fakes/clock.py), so the wait said is the same each run:
# the second vote's weighs until that one is out of the sliding window, 2 minutes at most.
ONE_A_MINUTE = replace(throttle.LIMITS["vote:user"], limit=1)
REFUSED = "Too many requests (upvotes and their removals: 1 a minute); try again in about 2 minutes."


@pytest.fixture
def one_vote_a_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(throttle.LIMITS, "vote:user", ONE_A_MINUTE)
    freeze(monkeypatch, [1000 * 60 + 1.0])


def test_a_rate_limited_vote_says_so_and_keeps_the_vote(
    live_server: Any, new_page: Any, one_vote_a_minute: None
) -> None:
    [paper] = load_papers(1)
    user = make_user("voter")
    base = live_server.url
    page, watch = new_page(390, 844)
    log_in(page, base, user)
    page.goto(f"{base}/papers/{paper.arxiv_id}")
    page.click(f"{VOTE} button")
    page.wait_for_selector(f"{VOTE}.on")
    page.click(f"{VOTE} button")  # taking it back is over the limit
    status = page.wait_for_selector(f"{NOTE} [role=status]:not(:empty)")
    # The site's own sentence (its JSON 429's `error`, as its 429 page says it), not the script's.
    assert status.inner_text() == REFUSED
    assert status.is_visible()
    assert page.get_attribute(f"{VOTE} button", "aria-pressed") == "true"
    assert page.is_enabled(f"{VOTE} button")
    assert page.inner_text(f"{VOTE} .count") == "1" and page.locator(f"{VOTE}.on").count() == 1
    assert Vote.objects.filter(user=user, paper=paper).exists()
    # Under the title and authors, over none of them nor the abstract below.
    assert page.eval_on_selector(NOTE, OVERLAPPED) == []
    assert page.locator(".abstract").is_visible()
    assert [e for e in watch.errors if "429" not in e] == []


def test_a_refused_vote_says_what_the_429_page_says_without_javascript(
    live_server: Any, new_page: Any, one_vote_a_minute: None
) -> None:
    """One sentence for the limit met, wherever it is met: the note beside the button and the page
    a browser without JavaScript gets (templates/429.html) say the same words."""
    papers = on_a_list(load_papers(2))
    base = live_server.url
    plain, _ = new_page(javascript=False)
    log_in(plain, base, make_user("plain"))
    plain.goto(f"{base}/papers/{papers[0].arxiv_id}")
    plain.click(f"{VOTE} button")  # the form's own POST: counted, and back to the paper
    plain.click(f"{VOTE} button")
    assert plain.locator("h1").inner_text() == "Too many requests"
    assert plain.locator("main p").first.inner_text() == REFUSED
    page, watch = new_page()
    log_in(page, base, make_user("scripted"))
    page.goto(f"{base}/papers/{papers[1].arxiv_id}")
    page.click(f"{VOTE} button")
    page.wait_for_selector(f"{VOTE}.on")
    page.click(f"{VOTE} button")
    assert page.wait_for_selector(f"{NOTE} [role=status]:not(:empty)").inner_text() == REFUSED
    assert [e for e in watch.errors if "429" not in e] == []


def test_a_429_without_the_sites_json_gets_a_sentence_of_the_scripts_own(
    live_server: Any, new_page: Any
) -> None:
    """A 429 whose body is no JSON (a proxy's own page: nginx's limit_req, a CDN's) has no sentence of
    the site's to show, and its HTML must not be shown as text: the script says it in its own words.
    The proxy is played by the browser's request routing, in front of the real site."""
    [paper] = on_a_list(load_papers(1))
    base = live_server.url
    page, watch = new_page()
    log_in(page, base, make_user("voter"))
    page.goto(f"{base}/papers/{paper.arxiv_id}")
    page.route(
        f"{base}/papers/{paper.arxiv_id}/vote",
        lambda route: route.fulfill(
            status=429,
            headers={"Retry-After": "30"},
            content_type="text/html",
            body="<html><body><h1>429 Too Many Requests</h1><hr>nginx</body></html>",
        ),
    )
    page.click(f"{VOTE} button")
    status = page.wait_for_selector(f"{NOTE} [role=status]:not(:empty)")
    assert status.inner_text() == "Too many requests: wait a little, then try again."
    assert page.get_attribute(f"{VOTE} button", "aria-pressed") == "false"
    assert not Vote.objects.exists()
    assert [e for e in watch.errors if "429" not in e] == []


def test_a_vote_after_the_session_ended_shows_the_sites_message(live_server: Any, new_page: Any) -> None:
    [paper] = on_a_list(load_papers(1))  # else the vote that works says it listed the paper
    base = live_server.url
    page, watch = new_page()
    user = make_user("voter")
    log_in(page, base, user)
    page.goto(f"{base}/papers/{paper.arxiv_id}")
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)  # logged out in another tab
    page.click(f"{VOTE} button")
    status = page.wait_for_selector(f"{NOTE} [role=status]:not(:empty)")
    assert status.inner_text() == "Log in to vote."  # the API's {"error": "log in to vote"}
    assert page.get_attribute(f"{VOTE} button", "aria-pressed") == "false"
    assert page.is_enabled(f"{VOTE} button")
    assert page.inner_text(f"{VOTE} .count") == "0" and page.locator(f"{VOTE}.on").count() == 0
    assert not Vote.objects.exists()
    # Logged in again, the same button votes, and the message goes.
    log_in(page, base, user)
    page.click(f"{VOTE} button")
    page.wait_for_selector(f"{VOTE}.on")
    assert page.locator(f"{NOTE} [role=status]:not(:empty)").count() == 0
    assert page.locator(f"{NOTE} .vote-dismiss").is_hidden()
    assert Vote.objects.filter(user=user, paper=paper).exists()
    assert [e for e in watch.errors if "401" not in e] == []


def test_a_refused_vote_on_a_list_covers_no_other_card_and_can_be_dismissed(
    live_server: Any, new_page: Any, one_vote_a_minute: None
) -> None:
    papers = load_papers(3)
    curator, user = make_user("curator"), make_user("voter")
    for p in papers:
        services.submit(p.arxiv_id, curator, timezone.localdate())
    base = live_server.url
    page, watch = new_page(390, 844)  # a phone: the narrowest column a note has to fit in
    log_in(page, base, user)
    page.goto(f"{base}/papers?date={timezone.localdate()}")
    first = page.locator(".cards > .card").first
    below = page.locator(".cards > .card").nth(1)
    first.locator("form.vote button").click()
    first.locator("form.vote.on").wait_for()
    first.locator("form.vote button").click()  # over the limit
    status = first.locator(".vote-note [role=status]:not(:empty)")
    status.wait_for()
    assert status.inner_text() == REFUSED
    note = first.locator(".vote-note")
    assert note.evaluate(OVERLAPPED) == []
    # The next card is still all there to be read and used: nothing lies on its title or button.
    for target in (below.locator("h3 a"), below.locator("form.vote button")):
        assert target.evaluate(
            "el => { const r = el.getBoundingClientRect();"
            " return el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2)); }"
        )
    assert first.locator("form.vote button").is_enabled()
    # Dismissed, the note empties (its live region stays for the next one) and focus goes back to
    # the vote it was about.
    note.locator(".vote-dismiss").click()
    assert status.count() == 0 and note.locator("[role=status]").count() == 1
    assert note.locator(".vote-dismiss").is_hidden()
    assert first.locator("form.vote button").evaluate("b => b === document.activeElement")
    assert Vote.objects.filter(user=user).count() == 1
    assert [e for e in watch.errors if "429" not in e] == []


def test_an_upvote_that_lists_the_paper_says_so_in_the_page(live_server: Any, new_page: Any) -> None:
    # The vote on a paper no list has puts it on today's list (services.upvote): the page said
    # "Not on a list yet" after it, and the vote seemed to go nowhere.
    [paper] = load_papers(1)
    base = live_server.url
    page, watch = new_page(390, 844)
    log_in(page, base, make_user("voter"))
    page.goto(f"{base}/papers/{paper.arxiv_id}")
    assert page.get_attribute(f"{VOTE} button", "title") == "Upvote and put it on today's list"
    assert page.is_visible("#unlisted-note")
    page.click(f"{VOTE} button")
    status = page.wait_for_selector(f"{NOTE} [role=status]:not(:empty)")
    assert status.inner_text() == f"Your upvote put it on the list of {timezone.localdate():%-d %B}."
    assert page.inner_text(f"{VOTE} .count") == "1"
    assert not page.is_visible("#unlisted-note")
    assert paper.submissions.get().day == timezone.localdate()
    assert watch.errors == []


def test_a_vote_without_javascript_after_the_session_ended_logs_in_and_comes_back(
    live_server: Any, new_page: Any
) -> None:
    """The form posted with no script and no session (logged out in another tab): the log-in page,
    then the list again at that paper, where the vote is one press away."""
    papers = on_a_list(load_papers(2))
    user = make_user("voter", password=PASSWORD)
    base = live_server.url
    page, _ = new_page(javascript=False)
    log_in(page, base, user)
    page.goto(f"{base}/papers")
    card = f"[id='p-{papers[1].arxiv_id}']"
    page.context.clear_cookies(name=settings.SESSION_COOKIE_NAME)
    page.click(f"{card} form.vote button")
    assert page.url.startswith(f"{base}/login?next=") and page.locator("h1").inner_text() == "Log in"
    page.fill("input[name=username]", "voter")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    assert page.url == f"{base}/papers#p-{papers[1].arxiv_id}"
    assert not Vote.objects.exists()
    assert page.get_attribute(f"{card} form.vote button", "aria-pressed") == "false"
    page.click(f"{card} form.vote button")
    assert page.get_attribute(f"{card} form.vote button", "aria-pressed") == "true"
    assert Vote.objects.get().user == user and page.inner_text(f"{card} form.vote .count") == "1"
