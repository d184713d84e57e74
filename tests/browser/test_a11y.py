"""Accessibility in a real browser: an audit (a11y_audit.js: names, labels, landmarks, headings,
ids, contrast from the computed colours, reflow) over every page, light and dark, wide and 320 px;
what a keyboard user does (skip link, visible focus not hidden under the sticky header, voting
keeps the focus); and what a reader without JavaScript gets back after an action."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from paperfeed.accounts import services as accounts
from paperfeed.accounts.models import User
from paperfeed.digests.models import Subscriber
from paperfeed.feed import services
from paperfeed.feed.models import Comment, SavedSearch
from paperfeed.moderation import services as moderation
from paperfeed.papers.models import Paper
from tests.browser.test_for_you import log_in
from tests.recs import conftest as recs_data
from tests.sitedata import load_papers, make_user

# Rendering, scripts and styles in the browser: the pages' queries are the view tests' to prove on both
# databases (tests/feed, tests/recs), so these run on SQLite only.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.database_agnostic]

AUDIT = (Path(__file__).resolve().parent / "a11y_audit.js").read_text()
catalogue = recs_data.catalogue  # papers "For you" can recommend


@pytest.fixture
def site(catalogue: dict[str, list[Paper]]) -> dict[str, Any]:
    """Every page with content: a day's list with votes, a comment, a collection, follows, a saved
    search, recommendations."""
    papers = load_papers(20)
    # A word longer than a phone is wide, as a URL or a formula can be, in a listed title and abstract.
    long = "https://example.org/" + "a-very-long-path-segment/" * 4
    Paper.objects.filter(pk=papers[3].pk).update(
        title=f"Robust {long} results", abstract=f"Code at {long} for all. " + papers[3].abstract
    )
    alice, bob = make_user("alice"), make_user("bob")
    today = timezone.localdate()
    for i, p in enumerate(papers[:12]):
        services.submit(p.arxiv_id, alice if i % 2 else bob, today)
    for p in papers[:4]:
        services.upvote(bob, p)
    services.upvote(alice, papers[0])
    com = services.add_comment(alice, papers[0], "Nice result: $E=mc^2$, **bold**")
    services.save_paper(alice, papers[0])
    services.save_paper(alice, catalogue["speech"][0])
    accounts.follow(alice, "category", papers[0].primary_category_id or "cs.CV")
    SavedSearch.objects.create(user=alice, query="diffusion")
    # The moderation pages: open reports on a paper and a comment, a removed paper, a suspended
    # account, and the log those actions wrote.
    mod = make_user("mod", staff=True)
    moderation.file_report(bob, com, "abuse", "Rude <b>and</b> off-topic")  # not her own
    first = moderation.submission_of(papers[1].arxiv_id)
    assert first is not None
    moderation.file_report(bob, first, "spam")
    removed = moderation.submission_of(papers[11].arxiv_id)
    assert removed is not None
    moderation.remove_submission(mod, removed, "advertising")
    moderation.suspend(mod, make_user("spammer"), "vote ring")
    return {"papers": papers, "alice": alice, "comment": com, "mod": mod}


def audit(page: Any, url: str) -> list[str]:
    page.goto(url)
    page.wait_for_load_state("networkidle")  # KaTeX has rendered
    return page.evaluate(AUDIT)


@pytest.mark.timeout(150)  # Chromium through every page: ~21 s quiet, 25 s at load 7
@pytest.mark.parametrize(("scheme", "width"), [("light", 1280), ("dark", 320)])
def test_every_page_passes_the_audit(
    live_server: Any, browser: Any, site: dict[str, Any], scheme: str, width: int
) -> None:
    base = live_server.url
    paper = site["papers"][0]
    author = paper.authors[0]["key"]
    cat = paper.primary_category_id
    # None of papers 12-19 is on a list and all were submitted today: the day of one shows the fresh list.
    fresh = f"/papers?date={site['papers'][15].announced}"
    assert "New on arXiv" in Client().get(fresh).content.decode()
    problems: dict[str, list[str]] = {}

    def check(page: Any, path: str, label: str = "") -> None:
        found = audit(page, base + path) if path else page.evaluate(AUDIT)
        if found:
            problems[label or path] = found

    ctx = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    for path in [
        "/", "/papers", f"/papers?week={timezone.localdate():%G-W%V}", "/trending", "/categories",
        f"/categories/{cat}", f"/papers/{paper.arxiv_id}", f"/authors/{author}", "/users/alice", "/search",
        "/search?q=diffusion", "/search?q=diffusion&since=notadate",  # an error
        "/login", "/signup", "/password-reset", "/password-reset/sent", "/signup/sent",
        "/no-such-page", "/papers?date=garbage",  # 404, 400
        fresh,  # a day nobody submitted to: arXiv's newest, each with its Submit
        "/papers/feed", f"/categories/{cat}/feed",  # where a feed link leads: addresses to copy, a preview
    ]:  # fmt: skip
        check(page, path)
    page.goto(f"{base}/signup")  # a form sent back with errors
    page.fill("#id_username", "a b")
    page.fill("#id_email", "not an address")
    page.fill("#id_password", "short")
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    check(page, "", "/signup with errors")

    log_in(page, base, site["alice"])
    for path in [
        "/papers", f"/papers/{paper.arxiv_id}", "/for-you", "/for-you/not-interested", "/settings",
        "/digests/settings", "/submit", "/users/alice", "/users/alice/collections/reading-list",
        f"/comments/{site['comment'].pk}/edit", "/search?q=diffusion", f"/categories/{cat}",
        "/library/import",  # its form's fields ran 10 px past a 375 px phone's edge
        fresh,
    ]:  # fmt: skip
        check(page, path)
    page.goto(f"{base}/for-you")
    with page.expect_navigation():
        page.locator("button.not-interested").first.click()
    check(page, "", "/for-you with a paper just marked")
    page.goto(f"{base}/submit")
    page.fill("#paper", "not an id")
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    check(page, "", "/submit with an error")
    for path in [f"/report/paper/{paper.arxiv_id}", f"/report/comment/{site['comment'].pk}"]:
        check(page, path)
    page.goto(f"{base}/report/paper/{paper.arxiv_id}")  # sent without a reason: the form's error
    page.evaluate("document.querySelector('form.stack').noValidate = true")
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    check(page, "", "/report with an error")
    log_in(page, base, site["mod"])
    for path in [
        "/moderation",
        "/moderation/log",
        "/moderation/users/alice",  # the purge's confirm page
        f"/comments/{site['comment'].pk}/hide?hidden=1",  # the reason asked before hiding
        f"/papers/{site['papers'][11].arxiv_id}",  # last: the removed note is looked for below
    ]:
        check(page, path)
        assert page.locator("main h1").count() == 1 and "Not allowed" not in page.title(), path
    assert page.locator("#removed-note").count() == 1  # the removed paper's page, as staff see it
    ctx.close()
    assert problems == {}


# WCAG 1.4.12: a reader's own style sheet may widen letters, words, lines and paragraphs.
SPACING = """* { line-height: 1.5 !important; letter-spacing: .12em !important; }
* { word-spacing: .16em !important; } p { margin-bottom: 2em !important; }"""
CLIPPED = """() => Array.from(document.querySelectorAll("main *")).filter(e => {
  const cs = getComputedStyle(e);
  if (e.closest(".sr, .katex-mathml") || ![cs.overflowX, cs.overflowY].includes("hidden")) return false;
  return e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1;
}).map(e => e.outerHTML.slice(0, 80))"""


def test_wider_text_spacing_on_a_phone_neither_scrolls_sideways_nor_clips(
    live_server: Any, browser: Any, site: dict[str, Any]
) -> None:
    base = live_server.url
    # The site's CSP allows no inline style: the test's style sheet goes in past it.
    ctx = browser.new_context(viewport={"width": 320, "height": 800}, bypass_csp=True)
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    log_in(page, base, site["alice"])
    found = {}
    for path in [
        "/papers",
        f"/papers/{site['papers'][3].arxiv_id}",
        "/search?q=diffusion",
        "/for-you",
        "/settings",
    ]:
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        page.add_style_tag(content=SPACING)
        wide = [p for p in page.evaluate(AUDIT) if p.startswith("reflow")]
        if wide or page.evaluate(CLIPPED):
            found[path] = wide + page.evaluate(CLIPPED)
    ctx.close()
    assert found == {}


def test_under_forced_colours_the_current_period_and_the_buttons_still_show(
    live_server: Any, browser: Any, site: dict[str, Any]
) -> None:
    ctx = browser.new_context(forced_colors="active", color_scheme="dark")
    ctx.set_default_timeout(15_000)
    page = ctx.new_page()
    page.goto(f"{live_server.url}/papers")

    def fill(selector: str) -> tuple[int, ...]:
        """The colour most of the element's pixels have as the screen shows it (computed styles keep
        the page's own colours under forced colours). Pillow comes with matplotlib (dev extras)."""
        from PIL import Image

        image = Image.open(io.BytesIO(page.locator(selector).first.screenshot())).convert("RGB")
        return max(image.getcolors(1 << 16) or [(0, (0, 0, 0))])[1]

    assert fill(".tabs a.on") != fill(".tabs a:not(.on)")
    assert fill(".sortbar a.on") != fill(".sortbar a:not(.on)")
    assert (
        page.locator(".subscribe button.btn").evaluate("b => parseFloat(getComputedStyle(b).borderTopWidth)")
        >= 1
    )
    ctx.close()


def test_the_audit_finds_what_it_looks_for(new_page: Any) -> None:
    """The checker itself: a page with one of each defect gets a complaint for each."""
    page, _ = new_page(320, 600)
    page.set_content("""<html><head><title>t</title></head><body>
      <h1>One</h1><h1>Two</h1><h3>Skipped a level</h3>
      <input id="x"><input id="x" placeholder="a placeholder is not a label">
      <button><span aria-hidden="true">▲</span></button>
      <a href="/y"></a>
      <p style="color:#aaa;background:#fff">faint text</p>
      <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
      <div role="tablist"><a role="tab" href="/z">Day</a></div>
      <input aria-invalid="true" aria-label="broken"><input aria-describedby="nothing" aria-label="x">
      <p class="error">An error the title does not announce</p>
      <div style="width:900px">too wide</div>
    </body></html>""")
    found = page.evaluate(AUDIT)
    rules = {p.split(":", 1)[0] for p in found}
    assert rules >= {
        "lang", "landmarks", "skip-link", "h1", "heading-order", "duplicate-id", "name", "label",
        "contrast", "alt", "aria-role", "error-link", "aria-ref", "reflow", "error-title",
    }, found  # fmt: skip
    page.set_content("""<html lang="en"><head><title>t</title></head><body><a href="#m">Skip</a>
      <main id="m"><h1>One</h1></main></body></html>""")
    assert [p for p in page.evaluate(AUDIT) if p.startswith("skip-link")] == [
        'skip-link: main#m "One" — the skip link\'s target cannot take the focus (tabindex=-1)'
    ]


FOCUSED = """() => {
  const e = document.activeElement, cs = getComputedStyle(e);
  const r = e.getClientRects()[0] || e.getBoundingClientRect();
  const header = document.querySelector("header.top");
  const corner = document.elementFromPoint(r.left + 2, r.top + 2);  // what the eye sees there
  return {what: e.outerHTML.slice(0, 90), inMain: !!e.closest("main"),
          ring: cs.outlineStyle !== "none" && parseFloat(cs.outlineWidth) >= 2,
          underHeader: !!corner && header.contains(corner) && !header.contains(e),
          inView: r.bottom > 0 && r.top < innerHeight};
}"""


def test_a_keyboard_reaches_everything_with_a_visible_focus_and_voting_keeps_it(
    live_server: Any, new_page: Any, site: dict[str, Any]
) -> None:
    base = live_server.url
    page, watch = new_page(1000, 700)  # the header takes two rows here
    log_in(page, base, site["alice"])
    page.goto(f"{base}/papers")
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED)
    assert "Skip to content" in first["what"] and first["inView"] and first["ring"]
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["inMain"]

    # Forward through the whole page, then back: every stop shows its focus, none under the header.
    page.keyboard.press("Home")
    page.evaluate("() => document.activeElement.blur()")
    stops = []
    for key in ["Tab"] * 80 + ["Shift+Tab"] * 80:
        page.keyboard.press(key)
        stops.append(page.evaluate(FOCUSED))
    stops = [s for s in stops if not s["what"].startswith("<body")]  # past the last stop: the browser's own
    assert len(stops) > 100
    assert [s["what"] for s in stops if not s["ring"]] == []
    assert [s["what"] for s in stops if s["underHeader"] or not s["inView"]] == []

    # A vote by keyboard: the focus stays on the button, whose name and state follow the vote.
    paper = Paper.objects.get(arxiv_id=site["papers"][5].arxiv_id)  # no votes yet
    title = paper.title if len(paper.title) <= 60 else paper.title[:59] + "…"
    button = page.get_by_role("button", name=f"Upvote “{title}”, 0 upvotes", pressed=False)
    button.focus()
    page.keyboard.press("Enter")
    voted = page.get_by_role("button", name=f"Upvote “{title}”, 1 upvote", pressed=True)
    voted.wait_for()
    assert voted.evaluate("b => b === document.activeElement")
    assert voted.locator(".tri").inner_text() == "▲"  # not by colour alone
    page.keyboard.press("Space")  # and again: taken back
    unvoted = page.get_by_role("button", name=f"Upvote “{title}”, 0 upvotes", pressed=False)
    unvoted.wait_for()
    assert unvoted.locator(".tri").inner_text() == "△"
    assert page.evaluate("() => document.activeElement.matches('form.vote button')")
    assert watch.errors == []


def test_without_javascript_actions_come_back_to_where_they_were(
    live_server: Any, browser: Any, site: dict[str, Any]
) -> None:
    base = live_server.url
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 700})
    ctx.set_default_timeout(15_000)
    try:
        page = ctx.new_page()
        log_in(page, base, site["alice"])
        page.goto(f"{base}/papers")
        # A paper far down the list: after its vote the page shows that paper, not the list's top.
        card = page.locator("li.card").nth(9)
        arxiv_id = card.get_attribute("id")[2:]
        with page.expect_navigation():
            card.locator("form.vote button").press("Enter")
        assert page.url == f"{base}/papers#p-{arxiv_id}"
        assert (
            page.locator(f"#p-{arxiv_id.replace('.', '\\.')} form.vote button").get_attribute("aria-pressed")
            == "true"
        )
        assert page.locator(f"#p-{arxiv_id.replace('.', '\\.')}").evaluate(
            "c => { const r = c.getBoundingClientRect(); return r.top >= 0 && r.top < innerHeight; }"
        )

        # "Not interested": the focus is on the message saying so, its Undo next.
        page.goto(f"{base}/for-you")
        with page.expect_navigation():
            page.locator("button.not-interested").nth(2).press("Enter")
        assert page.url.endswith("/for-you#marked")
        assert page.evaluate("() => document.activeElement.id") == "marked"
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent").startswith("Undo")

        # A refused comment: the focus is in the field, which names its error.
        paper = site["papers"][1]
        page.goto(f"{base}/papers/{paper.arxiv_id}")
        page.fill("#comment-body", "   ")  # the browser's `required` takes it; the site does not
        with page.expect_navigation():
            page.click("#comment-form button")
        field = page.locator("#comment-body")
        assert field.evaluate("t => t === document.activeElement")
        assert field.get_attribute("aria-invalid") == "true"
        said = page.locator("#" + (field.get_attribute("aria-describedby") or "missing")).inner_text()
        assert said == "A comment cannot be empty."
        assert Comment.objects.filter(paper=paper).count() == 0

        # Saving: back at the Save box, which says where the paper is and offers to take it out.
        page.locator("#coll").fill("Thesis")
        with page.expect_navigation():
            page.locator("#coll").press("Enter")
        assert page.url == f"{base}/papers/{paper.arxiv_id}#save"
        assert page.evaluate("() => document.activeElement.id") == "save"
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "Thesis"
        page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")  # Remove
        assert page.url == f"{base}/papers/{paper.arxiv_id}#save"
        assert "Saved in" not in page.inner_text("#save")
    finally:
        ctx.close()


def test_a_form_sent_back_with_errors_puts_the_keyboard_at_the_first_wrong_field(
    live_server: Any, new_page: Any, site: dict[str, Any]
) -> None:
    base = live_server.url
    page, _ = new_page()
    page.goto(f"{base}/signup")
    page.fill("#id_username", "fine-name")
    page.fill("#id_email", "not an address")
    page.fill("#id_password", "short")
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    assert page.evaluate("() => document.activeElement.id") == "id_email"
    assert not User.objects.filter(username="fine-name").exists()


def test_a_page_sent_back_with_errors_says_so_first_in_its_title(
    live_server: Any, new_page: Any, site: dict[str, Any]
) -> None:
    """WCAG 3.3.1: a screen reader reads the title first, so a form page with errors starts its title
    with "Error: ", whichever way the page shows them (a form's fields, a view's message, a message
    after a redirect); the same page without errors does not."""
    base = live_server.url
    paper = site["papers"][1]
    alice = site["alice"]
    Subscriber.objects.create(email=alice.email, user=alice, status=Subscriber.Status.CONFIRMED)
    forms: list[tuple[bool, str, dict[str, str]]] = [  # signed in, page, what is typed into its form
        (False, "/signup", {"#id_username": "a b", "#id_email": "x@example.org", "#id_password": "short"}),
        (False, "/login", {"#id_username": "alice", "#id_password": "not her password"}),
        (False, "/password-reset", {"#id_email": "not an address"}),
        (False, "/subscribe", {"input[name=email]": "someone@invalid"}),
        (True, "/settings", {"#id_categories": "xx.NOPE"}),
        (True, "/settings", {"#id_old_password": "wrong", "#id_new_password1": "x"}),
        (True, "/settings", {"#new-email": "new@example.org", "#email-password": "wrong"}),  # a redirect
        (True, "/digests/settings", {"#id_categories_text": "xx.NOPE"}),
        (True, "/submit", {"#paper": "not an id"}),
        (True, f"/comments/{site['comment'].pk}/edit", {"#body": "   "}),
        (True, f"/papers/{paper.arxiv_id}", {"#comment-body": "   "}),
    ]
    page, _ = new_page()
    wrong, was_signed_in = [], False
    for signed_in, path, fields in forms:  # the signed-out ones first
        if signed_in and not was_signed_in:
            log_in(page, base, alice)
            was_signed_in = True
        page.goto(base + path)
        title = page.title()
        assert not title.startswith("Error"), path
        for selector, value in fields.items():
            page.fill(selector, value)
        with page.expect_navigation():
            page.locator("form", has=page.locator(next(iter(fields)))).locator("button").last.click()
        assert page.locator("main .error, .msg.error").count(), (path, fields)  # the page shows an error
        if page.title() != f"Error: {title}":
            wrong.append((path, page.title()))
    page.goto(f"{base}/search?q=diffusion")
    assert page.title() == "diffusion — Search — paperfeed"
    page.goto(f"{base}/search?q=diffusion&since=notadate")  # a GET form
    if page.title() != "Error: diffusion — Search — paperfeed":
        wrong.append(("/search", page.title()))
    assert wrong == []


def test_the_skip_link_moves_the_focus_onto_main_without_ringing_it(
    live_server: Any, new_page: Any, site: dict[str, Any]
) -> None:
    """Chromium followed the link (the next Tab went into <main>) but the focus stayed on the link,
    so a screen reader announced nothing new: <main> takes the focus (tabindex=-1), and being no
    control, shows no ring around the whole page."""
    page, _ = new_page(1000, 700)
    page.goto(f"{live_server.url}/papers")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    got = page.evaluate(
        """() => { const e = document.activeElement, cs = getComputedStyle(e);
        return {id: e.id, outline: cs.outlineStyle, top: e.getBoundingClientRect().top}; }"""
    )
    assert got["id"] == "main" and got["outline"] == "none", got
    assert 0 <= got["top"] < 700
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["inMain"]
    page.keyboard.press("Shift+Tab")  # main is no stop of its own on the way back
    assert page.evaluate("() => document.activeElement.id") != "main"


@pytest.mark.parametrize("signed_in", [True, False])
def test_the_vote_button_keeps_its_size_on_a_phone(
    live_server: Any, new_page: Any, site: dict[str, Any], signed_in: bool
) -> None:
    """At 375 px a card is tall (its title and authors wrap) and the button, a flex item of the card,
    was stretched to the card's height."""
    page, _ = new_page(375, 812)
    if signed_in:
        log_in(page, live_server.url, site["alice"])
    page.goto(f"{live_server.url}/papers")
    selector = "form.vote button" if signed_in else "a.vote"
    sizes = page.locator("li.card").evaluate_all(
        f"""cards => cards.map(c => ({{card: c.getBoundingClientRect().height,
        vote: c.querySelector("{selector}").getBoundingClientRect().height}}))"""
    )
    assert len(sizes) == 11 and max(s["card"] for s in sizes) > 120  # 12 submitted, 1 removed; tall cards
    assert all(44 <= s["vote"] <= 64 for s in sizes), sizes  # min-height 48 px, one line of count
