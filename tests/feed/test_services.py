"""The feed's verbs on a real database: submissions, votes, comments, collections, trending."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paperfeed.feed import markup, periods, services
from paperfeed.feed.markup import MARKUP_VERSION
from paperfeed.feed.models import Comment, SavedSearch, Submission, Vote
from paperfeed.moderation import services as moderation
from paperfeed.papers.services import paper_extras
from paperfeed.search.query import MAX_QUERY_CHARS
from tests.sitedata import PRICES, PRICES_NOW, PRICES_THEN, load_papers, make_user, on_a_list, stale_comment

pytestmark = pytest.mark.django_db


def test_submit_by_id_url_and_errors() -> None:
    papers = load_papers(3)
    user = make_user("sub")
    s = services.submit(f"https://arxiv.org/abs/{papers[0].arxiv_id}v1", user)
    assert s.paper == papers[0] and s.day == timezone.localdate() and s.submitted_by == user
    with pytest.raises(services.AlreadySubmitted, match="already on the list"):
        services.submit(f"arXiv:{papers[0].arxiv_id}", user)
    # Nor on another day's: its votes would come along to the top of that day and of trending.
    with pytest.raises(services.AlreadySubmitted, match=f"already on the list of {s.day.isoformat()}"):
        services.submit(papers[0].arxiv_id, user, timezone.localdate() + dt.timedelta(days=1))
    services.submit(papers[1].arxiv_id, user, timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(services.FeedError, match="not an arXiv identifier"):
        services.submit("not-an-id", user)
    # Not stored, and arXiv cannot be reached from a test: said plainly, no library internals, and
    # not as "no such paper" (the API's 503, not its 404).
    with pytest.raises(
        services.ArxivUnreachable, match=r"^2501\.99999 is not stored here, and arXiv could not"
    ) as e:
        services.submit("2501.99999", user)
    assert "Error" not in str(e.value) and "http" not in str(e.value)
    assert not isinstance(e.value, services.PaperNotFound)
    assert Submission.objects.count() == 2


def test_votes_once_per_user_and_undo() -> None:
    [p] = load_papers(1)
    a, b = make_user("va"), make_user("vb")
    assert services.upvote(a, p) == 1
    assert services.upvote(a, p) == 1
    assert services.upvote(b, p) == 2
    assert services.unvote(a, p) == 1
    assert services.unvote(a, p) == 1
    assert paper_extras(p)["votes"] == 1  # what `paperfeed show --json` adds
    assert services.vote_counts([p.arxiv_id, "2501.99999"]) == {p.arxiv_id: 1}
    assert services.votes_by_pk([p.pk]) == {p.pk: 1.0}  # the "votes" sort search registers


def test_a_deactivated_accounts_votes_leave_every_count_until_it_is_back() -> None:
    """The counts of the lists, the paper's own, `show --json` and the order by votes; trending
    already left them out (Vote.voter_joined)."""
    p, q = on_a_list(load_papers(2))
    away, stays = make_user("away"), make_user("stays")
    services.upvote(away, p)
    services.upvote(away, q)
    assert services.upvote(stays, p) == 2

    def counts() -> tuple[int, dict[str, int], dict[int, float], list[int | None]]:
        listed = Submission.objects.with_counts().order_by("paper_id")
        return (
            paper_extras(p)["votes"],
            services.vote_counts([p.arxiv_id, q.arxiv_id]),
            services.votes_by_pk([p.pk, q.pk]),
            [s.n_votes for s in listed],
        )

    assert counts() == (2, {p.arxiv_id: 2, q.arxiv_id: 1}, {p.pk: 2.0, q.pk: 1.0}, [2, 1])
    away.is_active = False
    away.save(update_fields=["is_active"])
    assert counts() == (1, {p.arxiv_id: 1}, {p.pk: 1.0}, [1, None])
    assert Submission.objects.upvoted().get().paper == p
    assert services.unvote(stays, p) == 0
    away.is_active = True
    away.save(update_fields=["is_active"])
    assert counts() == (1, {p.arxiv_id: 1, q.arxiv_id: 1}, {p.pk: 1.0, q.pk: 1.0}, [1, 1])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 4), st.booleans()), max_size=40))
def test_score_always_equals_vote_rows(ops: list[tuple[int, bool]]) -> None:
    [p] = load_papers(1)
    Vote.objects.filter(paper=p).delete()  # examples share the test's transaction
    users = [make_user(f"h{i}-{timezone.now().timestamp()}") for i in range(5)]
    voted: set[int] = set()
    for i, up in ops:
        n = services.upvote(users[i], p) if up else services.unvote(users[i], p)
        (voted.add if up else voted.discard)(i)
        assert n == len(voted) == Vote.objects.filter(paper=p).count()


def test_vote_rate_limit() -> None:
    papers = load_papers(31)
    on_a_list(papers)  # else the submit limit, not the vote limit, would stop the 21st
    u = make_user("fast")
    for p in papers[:30]:
        services.upvote(u, p)
    with pytest.raises(services.throttle.RateLimited):
        services.upvote(u, papers[30])


def test_comments_edit_and_hide() -> None:
    [p] = load_papers(1)
    author, other, mod = make_user("author"), make_user("other"), make_user("mod", staff=True)
    with pytest.raises(services.FeedError, match="Verify"):
        services.add_comment(make_user("unverified", verified=False), p, "hi")
    c = services.add_comment(author, p, "Good: $E=mc^2$ <script>alert(1)</script>")
    assert '<span class="math">E=mc^2</span>' in c.html and "&lt;script&gt;" in c.html
    with pytest.raises(services.FeedError):
        services.edit_comment(other, c, "vandalised")
    services.edit_comment(author, c, "*better*")
    c.refresh_from_db()
    assert c.html.strip() == "<p><em>better</em></p>" and c.edited_at is not None
    with pytest.raises(services.FeedError):
        moderation.hide_comment(other, c)
    moderation.hide_comment(mod, c)
    assert not Comment.objects.visible().filter(pk=c.pk).exists()
    with pytest.raises(services.FeedError, match="empty"):
        services.add_comment(author, p, "   ")
    with pytest.raises(services.FeedError, match="at most"):
        services.add_comment(author, p, "x" * 10_001)


def test_collections() -> None:
    papers = load_papers(2)
    u = make_user("saver")
    c = services.save_paper(u, papers[0], "To read")
    assert services.save_paper(u, papers[1], "To read") == c
    services.save_paper(u, papers[1], "To read")
    assert c.items.count() == 2 and c.slug == "to-read"
    services.unsave_paper(u, papers[0], c)
    assert list(c.items.values_list("paper", flat=True)) == [papers[1].pk]


def test_a_saved_search_is_cut_where_the_search_cuts(monkeypatch: pytest.MonkeyPatch) -> None:
    u = make_user("searcher")
    long = "vision  transformers " * 40  # 840 characters, 800 once the spaces are collapsed
    saved = services.save_search(u, long)
    assert saved.query == " ".join(long.split())[:MAX_QUERY_CHARS]
    assert SavedSearch._meta.get_field("query").max_length == MAX_QUERY_CHARS
    # The one limit, not a copy of its value: a lower limit cuts saved searches lower too.
    monkeypatch.setattr(services, "MAX_QUERY_CHARS", 100)
    assert services.save_search(u, long).query == " ".join(long.split())[:100]
    with pytest.raises(services.FeedError, match="empty"):
        services.save_search(u, " \n ")


def test_a_saved_search_of_no_category_is_refused_as_a_digest_alert_is() -> None:
    from paperfeed.digests.services import searches_problem

    u = make_user("searcher")
    # A feed of cat:cs.zz would never list a paper: it was saved without a word.
    with pytest.raises(services.FeedError) as refused:
        services.save_search(u, "decoding cat:cs.zz")
    assert str(refused.value) == f"{searches_problem(['decoding cat:cs.zz'])} Nothing was saved."
    assert str(refused.value).startswith("No such category: “cs.zz” (codes look like cs.CL")
    with pytest.raises(services.FeedError, match=r"No such category: “eess\.XX” "):
        services.save_search(u, "decoding", category="eess.XX")  # the search page's filter too
    assert not SavedSearch.objects.exists()
    # arXiv's codes in any case, and those only stored papers have, are kept.
    assert services.save_search(u, "decoding cat:cs.cl", category="math.PR").query == "decoding cat:cs.cl"
    (paper,) = load_papers(1)
    assert services.save_search(u, f"cat:{paper.primary_category_id}")


def test_trending_formula_eligibility_and_reasons() -> None:
    papers = load_papers(3)
    now = timezone.now()
    day = timezone.localdate()
    old, fresh = papers[0], papers[1]
    s_old = services.submit(old.arxiv_id, None, day)
    s_fresh = services.submit(fresh.arxiv_id, None, day)
    Submission.objects.filter(pk=s_old.pk).update(created_at=now - dt.timedelta(hours=10))
    Submission.objects.filter(pk=s_fresh.pk).update(created_at=now - dt.timedelta(hours=1))
    voters = [make_user(f"t{i}") for i in range(5)]
    for u in voters[:4]:
        services.upvote(u, old)
    for u in voters[:2]:
        services.upvote(u, fresh)
    # Votes of new or unverified accounts are stored and shown, but do not count toward trending.
    services.upvote(make_user("newbie", age=dt.timedelta(hours=2)), fresh)
    services.upvote(make_user("unverified2", verified=False), fresh)
    ranked = services.trending(periods.day(day), now=timezone.now())
    by_id = {e.paper.arxiv_id: e for e in ranked}
    e_old, e_fresh = by_id[old.arxiv_id], by_id[fresh.arxiv_id]
    assert (e_fresh.votes, e_fresh.counted) == (4, 2) and (e_old.votes, e_old.counted) == (4, 4)
    assert e_old.score == pytest.approx(4 / (10 + 2) ** 1.8, rel=1e-3)
    assert e_fresh.score == pytest.approx(2 / (1 + 2) ** 1.8, rel=1e-3)
    assert ranked[0] == e_fresh and e_fresh.rank == 1  # fresher beats more votes
    assert "2 not counted" not in e_fresh.reason and "2 more from new or unverified" in e_fresh.reason
    assert "2 / (1 + 2)^1.8" in e_fresh.reason
    # A past period is scored as of its end, and votes cast after it do not count.
    past = periods.day(day - dt.timedelta(days=3))
    assert services.trending(past, now=now) == []


def test_a_past_period_s_trending_ties_break_by_the_votes_cast_by_its_end() -> None:
    # Unvoted-for-trending papers all score 0; the tie-break was today's total of votes, so votes
    # cast after a past day reordered it.
    early, late = load_papers(2)
    day = timezone.localdate() - dt.timedelta(days=10)
    at = dt.datetime.combine(day, dt.time(9), tzinfo=dt.UTC)
    for p in (early, late):
        services.submit(p.arxiv_id, None, day)
    Submission.objects.update(created_at=at)
    services.upvote(make_user("newbie", age=dt.timedelta(hours=1)), early)  # cast that day, not counted
    Vote.objects.update(created_at=at + dt.timedelta(hours=1))
    for i in range(2):  # cast since: they count for today's periods, not for that day's
        services.upvote(make_user(f"later{i}"), late)
    ranked = services.listing(periods.day(day), sort="trending")
    assert [e.paper for e in ranked] == [early, late], [(e.paper, e.score, e.votes) for e in ranked]
    assert [(e.score, e.cast, e.votes) for e in ranked] == [(0.0, 1, 1), (0.0, 0, 2)]


def test_listing_sorts_and_periods() -> None:
    papers = load_papers(4)
    day = timezone.localdate()
    for i, p in enumerate(papers):
        services.submit(p.arxiv_id, None, day - dt.timedelta(days=i))
    # Twice in the week, as a database from before "one list per paper" may hold: one entry still.
    Submission.objects.create(paper=papers[0], day=day - dt.timedelta(days=1))
    services.upvote(make_user("l1"), papers[2])
    week = periods.week_of(day)
    entries = services.listing(periods.Period("week", day - dt.timedelta(days=6), day))
    assert entries[0].paper == papers[2]
    assert len({e.paper.pk for e in entries}) == len(entries) == 4  # one entry per paper
    newest = services.listing(periods.Period("week", day - dt.timedelta(days=6), day), sort="publishedAt")
    keys = [(e.submission.day, e.submission.created_at) for e in newest]
    assert keys == sorted(keys, reverse=True)
    assert next(e for e in newest if e.paper == papers[0]).submission.day == day - dt.timedelta(days=1)
    assert all(week.contains(e.submission.day) for e in services.listing(week))


def test_periods_parse_and_navigate() -> None:
    assert periods.parse("2025-03-18").value == "2025-03-18"  # type: ignore[union-attr]
    w = periods.parse(week="2025-W09")
    assert w and w.first == dt.date(2025, 2, 24) and w.last == dt.date(2025, 3, 2)
    assert w.shifted(1).value == "2025-W10" and w.shifted(-9).value == "2024-W52"
    m = periods.parse(month_="2024-02")
    assert m and m.last == dt.date(2024, 2, 29) and m.shifted(-2).value == "2023-12"
    assert periods.parse() is None
    for bad in [
        ("2025-13-01", None, None),
        (None, "2025-W60", None),
        (None, None, "2025-00"),
        ("0001-01-01", None, None),
    ]:
        with pytest.raises(periods.BadPeriod):
            periods.parse(*bad)
    for args, said in [
        (("2025-03-18", "2025-W09", None), "date and week were given together"),
        (("2025-03-18", None, "2025-03"), "date and month were given together"),
        ((None, "2025-W09", "2025-03"), "week and month were given together"),
        (("2025-03-18", "2025-W09", "2025-03"), "date, week and month were given together"),
        (("2025-03-18", "nope", None), "date and week were given together"),  # before either's form
    ]:
        with pytest.raises(periods.BadPeriod, match=said):
            periods.parse(*args)


def test_a_period_after_today_is_refused_and_the_current_one_is_not() -> None:
    today = dt.date(2026, 11, 29)  # a Sunday: the last day of week 48
    for args, said in [
        (("2026-11-30",), "Monday, 30 November 2026 hasn't happened yet: today is 29 November 2026."),
        (("9999-12-31",), "Friday, 31 December 9999 hasn't happened yet"),
        ((None, "2026-W49"), "Week 49 of 2026 (30 Nov to 6 Dec) hasn't begun yet"),
        ((None, None, "2026-12"), "December 2026 hasn't begun yet"),
        ((None, None, "9999-12"), "December 9999 hasn't begun yet"),
    ]:
        with pytest.raises(periods.FuturePeriod) as e:
            periods.parse(*args, today=today)
        assert said in str(e.value), args
    for args in [("2026-11-29",), (None, "2026-W48"), (None, None, "2026-11")]:
        assert periods.parse(*args, today=today) is not None  # begun, if not over
    for args, said in [  # not periods at all: refused for what they are, not for being ahead
        (("10000-01-01",), "not a valid date: '10000-01-01' (dates look like 2025-02-28)"),
        ((None, "2025-W54"), "2025 has no week 54: its ISO weeks are 1 to 52"),
        ((None, "2025-W53"), "2025 has no week 53: its ISO weeks are 1 to 52"),
        ((None, "2026-W00"), "2026 has no week 0: its ISO weeks are 1 to 53"),
        ((None, None, "10000-01"), "month must look like 2025-02, not '10000-01'"),
        (("1899-12-31",), "'1899-12-31' is before 1901"),
    ]:
        with pytest.raises(periods.BadPeriod) as e:
            periods.parse(*args, today=today)
        assert not isinstance(e.value, periods.FuturePeriod) and said in str(e.value), args
    assert periods.parse(week="2020-W53", today=today) == periods.week_of(dt.date(2020, 12, 28))


def test_search_sorts_by_votes_through_the_feed(search_home) -> None:  # type: ignore[no-untyped-def]
    from paperfeed.feed import searching
    from paperfeed.search.indexing import Indexer

    papers = load_papers(40)
    Indexer().run(semantic=False)
    word = "image"
    plain = searching.run_search(word, mode="keyword", limit=40)
    assert len(plain.hits) > 2 and not plain.degraded
    last = plain.hits[-1].paper
    services.upvote(make_user("sorter"), last)
    ranked = searching.run_search(word, mode="keyword", sort="votes", limit=40)
    assert ranked.hits[0].paper == last
    assert {h.paper.pk for h in ranked.hits} <= {p.pk for p in papers}


def test_a_paper_arxiv_does_not_have_is_said_so_not_blamed_on_arxiv(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.fakes.arxiv import FakeArxiv

    fake = FakeArxiv([]).start()  # a real arXiv API on loopback that knows no paper
    try:
        monkeypatch.setenv("PAPERFEED_ARXIV_API", fake.url + "/api/query")
        monkeypatch.setenv("PAPERFEED_ARXIV_DELAY", "0")
        with pytest.raises(services.PaperNotFound) as found:
            services.submit("2501.99999", None)
    finally:
        fake.stop()
    # Not "arXiv could not be asked … try again in a few minutes": it was asked, and answered.
    assert str(found.value) == "arXiv has no paper 2501.99999"
    assert len(fake.requests) == 1


def test_rerender_comments_renders_every_stale_one_and_a_second_run_nothing() -> None:
    """Hidden comments and deleted accounts' too, a newer version's as well (a step back), in
    batches; those current stay as they are; what changed is counted apart from what did not."""
    [p] = load_papers(1)
    stale = [
        stale_comment(p),  # the old $ rule: changed
        stale_comment(p, hidden=True),  # hidden: changed all the same
        stale_comment(p, author=None),  # a deleted account's
        stale_comment(p, "*same*", "<p><em>same</em></p>\n"),  # rendered alike: unchanged
        stale_comment(p, "*newer*", "<p>newer</p>\n", markup_version=MARKUP_VERSION + 1),
    ]
    current = services.add_comment(make_user("fresh"), p, PRICES)
    Comment.objects.filter(pk=current.pk).update(html="<p>left alone</p>")  # its version is current
    with CaptureQueriesContext(connection) as queries:
        done = services.rerender_comments(batch=2)
    assert done.as_json() == {"stale": 5, "rerendered": 5, "changed": 4, "skipped": 0}
    rows = dict(Comment.objects.values_list("pk", "html"))
    assert [rows[c.pk] for c in stale] == [
        PRICES_NOW,
        PRICES_NOW,
        PRICES_NOW,
        "<p><em>same</em></p>\n",
        "<p><em>newer</em></p>\n",
    ]
    assert rows[current.pk] == "<p>left alone</p>"
    assert set(Comment.objects.values_list("markup_version", flat=True)) == {MARKUP_VERSION}
    reads = [q["sql"] for q in queries.captured_queries if "SELECT" in q["sql"] and "LIMIT" in q["sql"]]
    assert len(reads) == 4  # batches of 2, 2 and 1, and the empty read that ends the run
    assert Comment.objects.filter(author=None, hidden=False).count() == 1

    assert services.rerender_comments().as_json() == {"stale": 0, "rerendered": 0, "changed": 0, "skipped": 0}
    assert dict(Comment.objects.values_list("pk", "html")) == rows


def test_rerender_comments_leaves_comments_edited_while_it_ran_to_their_edits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Between a batch's read and its write (while it renders, outside the transaction), one comment
    is edited by this version and one by an older one still running during an upgrade (a new body,
    no version): neither is overwritten with the rendering of the body read. The first keeps the
    edit's HTML; the second stays stale, the older one's, and the next run renders it."""
    [p] = load_papers(1)
    author = make_user("editor")
    kept, edited, by_old = stale_comment(p), stale_comment(p, author=author), stale_comment(p)
    render, edits = markup.render_comment, []

    def render_while_they_are_edited(body: str) -> str:
        if not edits:  # the real rendering, with both edits made during the batch's first one
            edits.append(services.edit_comment(author, Comment.objects.get(pk=edited.pk), "*Edited*"))
            Comment.objects.filter(pk=by_old.pk).update(body="by the old code", html="<p>old code</p>\n")
        return render(body)

    monkeypatch.setattr(markup, "render_comment", render_while_they_are_edited)
    done = services.rerender_comments()
    assert done.as_json() == {"stale": 3, "rerendered": 1, "changed": 1, "skipped": 2}
    stored = {
        pk: (html, version)
        for pk, html, version in Comment.objects.values_list("pk", "html", "markup_version")
    }
    assert stored[kept.pk] == (PRICES_NOW, MARKUP_VERSION)
    assert stored[edited.pk] == ("<p><em>Edited</em></p>\n", MARKUP_VERSION)
    assert stored[by_old.pk] == ("<p>old code</p>\n", 0)

    monkeypatch.undo()
    assert services.rerender_comments().as_json() == {"stale": 1, "rerendered": 1, "changed": 1, "skipped": 0}
    assert Comment.objects.get(pk=by_old.pk).html == render("by the old code")


def test_rerender_comments_goes_on_from_where_a_stopped_run_left_off() -> None:
    """Each batch is committed on its own: a run stopped after its first batch (a comment marked
    stale again stands for those it did not reach) leaves only the rest to the next run."""
    [p] = load_papers(1)
    comments = [stale_comment(p) for _ in range(3)]
    assert services.rerender_comments(batch=1).rerendered == 3
    Comment.objects.filter(pk__in=[c.pk for c in comments[1:]]).update(markup_version=0, html=PRICES_THEN)
    assert services.rerender_comments().as_json() == {"stale": 2, "rerendered": 2, "changed": 2, "skipped": 0}
    assert Comment.objects.stale().count() == 0
