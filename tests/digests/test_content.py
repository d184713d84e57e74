"""Composition: sections, each paper at most once per subscriber across digests, empty digests."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from paperfeed.accounts.models import User
from paperfeed.digests import content, services
from paperfeed.digests.mail import MemoryTransport
from paperfeed.digests.models import Delivery, Digest, Subscriber
from paperfeed.papers.models import Paper
from tests.digests.conftest import PERIOD, make_papers, real_papers

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_sender")]


def compose(*subs: Subscriber, period: dt.date = PERIOD) -> dict[int, list[content.Item]]:
    digest, _ = Digest.objects.get_or_create(frequency="daily", period=period)
    return content.compose(content.Context.of(digest), list(subs))


def send_one() -> tuple[Any, str]:
    """Send the period's digest to its one subscriber: the message and its HTML part."""
    transport = MemoryTransport()
    assert services.send("daily", PERIOD, transport=transport).as_json()["sent"] == 1
    (message,) = transport.sent
    return message, message.alternatives[0][0]


def ids(items: list[content.Item]) -> list[str]:
    by_pk = dict(Paper.objects.values_list("pk", "arxiv_id"))
    return [by_pk[pk] for pk, _, _ in items]


def test_windows_follow_the_calendar() -> None:
    monday = dt.date(2026, 11, 30)
    assert content.window("daily", monday) == (dt.date(2026, 11, 28), monday)  # the weekend is Monday's
    assert content.window("daily", PERIOD) == (PERIOD, PERIOD)
    assert content.window("weekly", monday) == (dt.date(2026, 11, 24), monday)


def test_follows_by_category_and_author() -> None:
    make_papers(3, cats=("cs.CV",), abstract="no code {i}")
    make_papers(2, prefix="2610", cats=("cs.CL", "cs.AI"), abstract="no code {i}")
    sub = Subscriber.objects.create(
        email="a@example.org", trending=False, categories=["cs.AI"], authors=["sam-author2"]
    )
    (items,) = compose(sub).values()
    assert ids(items)[0] == "2611.00002"  # by a followed author first
    assert set(ids(items)) == {"2611.00002", "2610.00001", "2610.00002"}  # cs.AI as a cross-list counts too
    assert {key for _, key, _ in items} == {"follows"}


def test_a_paper_by_followed_authors_names_them_escaped_in_both_parts() -> None:
    """Jane Doe is followed on the site, Amy Lee only on the digest's list: the reason said "whom
    you follow" of both, though the site shows no follow of Amy Lee."""
    from paperfeed.accounts.models import Follow
    from paperfeed.papers.records import AuthorName, PaperRecord
    from paperfeed.papers.services import Ingestor

    with Ingestor("test") as ing:
        ing.add(PaperRecord(
            arxiv_id="2611.00001", title="Two followed authors", abstract="x", categories=["cs.CL"],
            authors=[AuthorName("Doe", "Jane"), AuthorName("Roe", "Rick"), AuthorName("<b>Lee</b>", "Amy")],
            announced=PERIOD,
        ))  # fmt: skip
    keys = [a["key"] for a in Paper.objects.get().authors]
    user = User.objects.create_user("reader", "a@example.org", "x" * 20)
    Follow.objects.create(user=user, kind=Follow.Kind.AUTHOR, value=keys[0])
    sub = Subscriber.objects.create(
        email="a@example.org",
        user=user,
        status=Subscriber.Status.CONFIRMED,
        trending=False,
        for_you=False,
        authors=[keys[2]],
    )
    why = "by Jane Doe and Amy <b>Lee</b>, whom you follow or chose for your digest"
    (items,) = compose(sub).values()
    assert [why for _, _, why in items] == [why]
    transport = MemoryTransport()
    assert services.send("daily", PERIOD, transport=transport).as_json()["sent"] == 1
    (message,) = transport.sent
    assert f"why: {why}" in " ".join(message.body.split())  # the text part wraps at 76 columns
    html = message.alternatives[0][0]
    assert "· by Jane Doe and Amy &lt;b&gt;Lee&lt;/b&gt;, whom you follow or chose for your digest" in html
    assert "<b>Lee" not in html


def test_a_followed_authors_paper_found_in_a_categorys_turn_still_names_the_author() -> None:
    """The author's newer paper takes the author's first turn; their older one is the category's
    first: its reason is still the followed author, not "new in cs.CL"."""
    from paperfeed.papers.records import AuthorName, PaperRecord
    from paperfeed.papers.services import Ingestor

    with Ingestor("test") as ing:
        for arxiv_id, cat, author in (
            ("2611.00001", "cs.CL", AuthorName("Poe", "Al")),
            ("2611.00002", "cs.CL", AuthorName("Roe", "Rick")),
            ("2611.00003", "cs.CV", AuthorName("Roe", "Rick")),
        ):
            ing.add(PaperRecord(
                arxiv_id=arxiv_id, title=f"Paper {arxiv_id}", abstract="x", categories=[cat],
                authors=[author], announced=PERIOD,
            ))  # fmt: skip
    roe = Paper.objects.get(arxiv_id="2611.00002").authors[0]["key"]
    sub = Subscriber.objects.create(
        email="a@example.org", trending=False, categories=["cs.CL"], authors=[roe]
    )
    (items,) = compose(sub).values()
    reasons = {Paper.objects.get(pk=pk).arxiv_id: why for pk, _, why in items}
    assert reasons == {  # Rick Roe is on the digest's list, not followed on the site
        "2611.00003": "by Rick Roe, whom you chose for your digest",
        "2611.00002": "by Rick Roe, whom you chose for your digest",
        "2611.00001": "new in cs.CL",
    }


def test_a_back_dated_digests_trending_is_what_was_trending_at_its_end() -> None:
    """Re-sent a week later, the digest of 20 November ranks by the votes cast by its end: by today's
    votes 00003 and 00002 (6 each) would lead 00001 (2). Papers upvoted only since, or never, are
    still the period's submissions and follow (a digest of a young community's unvoted papers is its
    news: it was once sent with nothing in it)."""
    from paperfeed.feed.models import Submission, Vote
    from tests.sitedata import make_user

    day = dt.date(2026, 11, 20)  # a Friday
    at = lambda d, h: dt.datetime(2026, 11, d, h, tzinfo=dt.UTC)  # noqa: E731
    make_papers(4, day=day)
    papers = list(Paper.objects.order_by("arxiv_id"))
    for p in papers:
        Submission.objects.create(paper=p, day=day, created_at=at(20, 9))
    voters = iter(make_user(f"voter{i}", age=dt.timedelta(days=60)) for i in range(20))
    for paper, times in zip(
        papers, [[at(20, 12)] * 2, [at(20, 13)] + [at(25, 10)] * 5, [at(25, 10)] * 6, []], strict=True
    ):
        Vote.objects.bulk_create(Vote(user=next(voters), paper=paper, created_at=t) for t in times)
    sub = Subscriber.objects.create(email="t@example.org", categories=[], for_you=False, alerts=False)
    (items,) = compose(sub, period=day).values()
    assert ids(items) == ["2611.00001", "2611.00002", "2611.00003", "2611.00004"]
    assert {key for _, key, _ in items} == {"trending"}
    # The votes counted by its end: the 5 cast since are not in it.
    assert [why for _, _, why in items] == [
        "2 upvotes · #1 trending on 20 Nov",
        "1 upvote · #2 trending on 20 Nov",
        "no upvotes yet · #3 trending on 20 Nov",
        "no upvotes yet · #4 trending on 20 Nov",
    ]


def test_a_trending_papers_reason_reads_as_upvotes_and_rank_in_both_parts_the_site_keeps_its_formula() -> (
    None
):
    """The mail said the site's formula ("3 counted upvotes; submitted 9 h before …: 3 / (9 + 2)^1.8
    = 0.0402"), which a mail reader cannot use."""
    from paperfeed.feed import periods
    from paperfeed.feed import services as feed
    from paperfeed.feed.models import Submission, Vote
    from tests.sitedata import make_user

    make_papers(2)
    first, second = Paper.objects.order_by("arxiv_id")
    at = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
    for p in (first, second):
        Submission.objects.create(paper=p, day=PERIOD, created_at=at)
    voters = [make_user(f"voter{i}", age=dt.timedelta(days=60)) for i in range(3)]
    Vote.objects.bulk_create(Vote(user=u, paper=second, created_at=at) for u in voters)
    Vote.objects.create(user=voters[0], paper=first, created_at=at)
    Subscriber.objects.create(
        email="t@example.org", status=Subscriber.Status.CONFIRMED, categories=[], for_you=False, alerts=False
    )
    message, html = send_one()
    text = " ".join(message.body.split())
    assert (
        "why: 3 upvotes · #1 trending on 27 Nov" in text and "why: 1 upvote · #2 trending on 27 Nov" in text
    )
    assert "· 3 upvotes · #1 trending on 27 Nov</span>" in html and "^" not in text + html
    # A week's digest names its days.
    assert content.trending_reason(0, 5, dt.date(2026, 11, 24), dt.date(2026, 11, 30)) == (
        "no upvotes yet · #5 trending from 24 Nov to 30 Nov"
    )
    site = feed.listing(periods.Period("day", PERIOD, PERIOD), sort="trending")
    assert site[0].reason.startswith("3 counted upvotes; submitted") and "^" in site[0].reason


def test_tex_in_a_mail_is_spelled_in_plain_characters() -> None:
    """Mail clients run no KaTeX: the subject, both parts' titles and the HTML's abstract spell it."""
    from paperfeed.papers.records import PaperRecord
    from paperfeed.papers.services import Ingestor

    with Ingestor("test") as ing:
        ing.add(PaperRecord(
            arxiv_id="2611.00001", title="GUI-C$^2$: grounding with $\\alpha$-blending",
            abstract="Costs $O(n^2)$ with a Vision Transformer~(ViT) and \\mbox{token embeddings}~\\cite{x}.",
            categories=["cs.CL"], authors=[], announced=PERIOD,
        ))  # fmt: skip
    Subscriber.objects.create(
        email="a@example.org", status=Subscriber.Status.CONFIRMED, trending=False, categories=["cs.CL"]
    )
    transport = MemoryTransport()
    assert services.send("daily", PERIOD, transport=transport).as_json()["sent"] == 1
    (message,) = transport.sent
    html = message.alternatives[0][0]
    title = "GUI-C²: grounding with \N{GREEK SMALL LETTER ALPHA}-blending"
    assert title in message.subject
    assert title in message.body and "$" not in message.body
    assert title in html and "$" not in html
    assert "Costs O(n²) with a Vision Transformer (ViT) and token embeddings." in html
    assert "\\" not in html


def test_a_titles_typography_is_in_both_parts_of_a_mail() -> None:
    """The text part is what a plain-text client shows: a title's -- and ``…'' as the page sets them."""
    from paperfeed.papers.records import PaperRecord
    from paperfeed.papers.services import Ingestor

    with Ingestor("test") as ing:
        ing.add(PaperRecord(
            arxiv_id="2611.00001", title="Self--Supervised ``Zero-Shot'' <b>x</b> --- a Survey",
            abstract="An abstract.", categories=["cs.CL"], authors=[], announced=PERIOD,
        ))  # fmt: skip
    Subscriber.objects.create(
        email="a@example.org", status=Subscriber.Status.CONFIRMED, trending=False, categories=["cs.CL"]
    )
    message, _ = send_one()
    shown = "Self\u2013Supervised \u201cZero-Shot\u201d <b>x</b> \u2014 a Survey"
    assert f"\n* {shown}\n" in message.body
    html = message.alternatives[0][0]
    assert shown.replace("<", "&lt;").replace(">", "&gt;") + "</a>" in html and "<b>x" not in html


def test_the_text_part_reads_in_a_plain_text_client() -> None:
    """Its lines fit 76 columns, broken at spaces (an address stays whole on its own line), each
    paper has its abstract as the HTML part does, spelled in plain characters, papers are one blank
    line apart, and the footer starts with the signature separator "-- " (clients fold or dim it).
    Titles, abstracts and reasons ran to single lines of hundreds of characters, with no abstract."""
    from paperfeed.digests.render import TEXT_WIDTH
    from paperfeed.papers.records import AuthorName, PaperRecord
    from paperfeed.papers.services import Ingestor

    long_title = "A very long title about Vision-Language grounding " * 4 + "with $\\alpha$-blending"
    with Ingestor("test") as ing:
        for i, title in enumerate([long_title.strip(), "Short one"]):
            ing.add(PaperRecord(
                arxiv_id=f"2611.0000{i + 1}", title=title,
                abstract="We study $O(n^2)$ costs of Vision-Language models\nwith arXiv's hard wraps. " * 3,
                categories=["cs.CL"], authors=[AuthorName("Doe", "Jane")], announced=PERIOD,
            ))  # fmt: skip
    Subscriber.objects.create(
        email="a@example.org", status=Subscriber.Status.CONFIRMED, trending=False, categories=["cs.CL"]
    )
    message, _ = send_one()
    body = message.body
    for line in body.splitlines():
        assert len(line) <= TEXT_WIDTH or " " not in line.strip(), line
    assert (
        "* A very long title about Vision-Language grounding A very long title about\n  Vision-Language"
        in body
    )
    assert (
        "-blending\n  Jane Doe · cs.CL\n  We study O(n²) costs of Vision-Language models with arXiv" in body
    )
    assert "$" not in body and "\n\n\n* " not in body and "\n\n* Short one\n" in body
    assert "\n-- \nChange what you get or when:\n  https://" in body


def test_a_reason_names_at_most_three_followed_authors() -> None:
    assert content._by_followed(["A"], [True]) == "by A, whom you follow"
    assert content._by_followed(["A", "B", "C"], [True] * 3) == "by A, B and C, whom you follow"
    assert (
        content._by_followed(["A", "B", "C", "D", "E"], [True] * 5) == "by A, B and 3 more, whom you follow"
    )
    assert content._by_followed(["A"], [False]) == "by A, whom you chose for your digest"
    assert (
        content._by_followed(["A", "B"], [False, True])
        == "by A and B, whom you follow or chose for your digest"
    )


def test_saved_search_alerts_match_words_and_categories() -> None:
    make_papers(2, cats=("cs.CL",), title="Speculative decoding for LLMs {i}", abstract="x")
    make_papers(2, prefix="2610", cats=("cs.CV",), title="Speculative decoding of images {i}", abstract="x")
    sub = Subscriber.objects.create(
        email="a@example.org", trending=False, searches=["speculative decoding cat:cs.CL"]
    )
    (items,) = compose(sub).values()
    assert sorted(ids(items)) == ["2611.00001", "2611.00002"]
    assert all("speculative decoding" in why for _, _, why in items)


def test_follows_take_turns_across_categories_and_say_what_did_not_fit() -> None:
    # cs.CV has the newest (highest) arXiv ids and the most papers: it used to fill every slot.
    make_papers(30, prefix="2611", cats=("cs.CV",), abstract="no code {i}")
    make_papers(10, prefix="2610", cats=("cs.CL",), abstract="no code {i}")
    make_papers(5, prefix="2609", cats=("cs.LG",), abstract="no code {i}")
    sub = Subscriber.objects.create(
        email="a@example.org", status=Subscriber.Status.CONFIRMED, trending=False,
        categories=["cs.CL", "cs.CV", "cs.LG"],
    )  # fmt: skip
    (items,) = compose(sub).values()
    papers = [i for i in items if i[0] != content.NOTE]
    reasons = Counter(why for _, _, why in papers)
    assert len(papers) == content.FOLLOWS_LIMIT
    assert reasons == {"new in cs.CL": 8, "new in cs.CV": 7, "new in cs.LG": 5}
    assert ids(papers)[:3] == ["2610.00010", "2611.00030", "2609.00005"]  # newest of each, in turn
    notes = [content.read_note(why) for pk, _, why in items if pk == content.NOTE]
    assert notes == [
        ("2 more new in cs.CL", f"/categories/cs.CL?date={PERIOD}"),
        ("23 more new in cs.CV", f"/categories/cs.CV?date={PERIOD}"),
    ]
    message, html = send_one()
    assert f"23 more new in cs.CV: https://papers.example.org/categories/cs.CV?date={PERIOD}" in message.body
    assert f'<a href="https://papers.example.org/categories/cs.CV?date={PERIOD}"' in html
    assert "20 papers" in message.subject  # the notes are not papers


MONDAY = dt.date(2026, 11, 30)  # a weekly digest's period: its window is Tuesday 24 to Monday 30


def _weekly_notes(*categories: str) -> list[tuple[str, str]]:
    sub = Subscriber.objects.create(
        email="w@example.org", frequency="weekly", trending=False, categories=list(categories)
    )
    digest = Digest.objects.create(frequency="weekly", period=MONDAY)
    (items,) = content.compose(content.Context.of(digest), [sub]).values()
    return [content.read_note(why) for pk, _, why in items if pk == content.NOTE]


def _listed(path: str) -> str:
    from django.test import Client

    response = Client().get(path)
    assert response.status_code == 200
    return response.content.decode()


def test_a_weekly_digest_links_more_of_a_category_to_its_week() -> None:
    make_papers(21, dt.date(2026, 11, 26), cats=("cs.CV",), abstract="no code {i}")
    make_papers(4, dt.date(2026, 11, 25), prefix="2610", cats=("cs.CV",), abstract="no code {i}")
    make_papers(3, dt.date(2026, 12, 2), prefix="2612", cats=("cs.CV",), abstract="no code {i}")  # later
    assert _weekly_notes("cs.CV") == [("5 more new in cs.CV", "/categories/cs.CV?week=2026-W48")]
    page = _listed("/categories/cs.CV?week=2026-W48")
    # The five oldest did not fit: Thursday's first and Wednesday's.
    assert all(i in page for i in ["2611.00001", *(f"2610.{i:05d}" for i in range(1, 5))])


def test_a_weekly_digest_spanning_two_weeks_links_more_to_the_window_in_search() -> None:
    make_papers(12, MONDAY, prefix="2611", cats=("cs.CV",), abstract="no code {i}")
    make_papers(1, dt.date(2026, 11, 27), prefix="2609", cats=("cs.CV",), abstract="no code {i}")
    make_papers(12, MONDAY, prefix="2610", cats=("cs.CL",), abstract="no code {i}")
    make_papers(1, dt.date(2026, 11, 23), prefix="2608", cats=("cs.CV",), abstract="no code {i}")  # before
    (cl, cv) = _weekly_notes("cs.CL", "cs.CV")
    assert cl == ("2 more new in cs.CL", f"/categories/cs.CL?date={MONDAY}")
    assert cv == ("3 more new in cs.CV", "/search?category=cs.CV&since=2026-11-24&until=2026-11-30&sort=date")
    page = _listed(cv[1])
    assert all(i in page for i in ["2611.00001", "2611.00002", "2609.00001"])
    assert "2608.00001" not in page


def test_followed_keywords_need_every_word() -> None:
    from paperfeed.accounts.models import Follow

    _distillation_papers()
    user = User.objects.create_user("reader", "reader@example.org", "x" * 20)
    Follow.objects.create(user=user, kind=Follow.Kind.KEYWORD, value="knowledge distillation")
    sub = Subscriber.objects.create(
        email="reader@example.org", user=user, trending=False, for_you=False, categories=[]
    )
    (items,) = compose(sub).values()
    assert sorted(ids(items)) == ["2608.00001", "2611.00001"]
    assert {why for _, _, why in items} == {"matches “knowledge distillation”, which you follow"}


@pytest.mark.parametrize("indexed", [True, False], ids=["search-index", "database"])
@pytest.mark.parametrize(("matching", "said"), [(30, "10 more"), (content.ALERT_POOL + 5, "80+ more")])
def test_a_followed_keyword_says_at_least_when_its_pool_was_full(
    indexed: bool, matching: int, said: str, request: pytest.FixtureRequest
) -> None:
    from paperfeed.accounts.models import Follow

    make_papers(matching, title="Knowledge distillation, part {i}", abstract="x")
    if indexed:
        request.getfixturevalue("keyword_index")()
    user = User.objects.create_user("reader", "reader@example.org", "x" * 20)
    Follow.objects.create(user=user, kind=Follow.Kind.KEYWORD, value="knowledge distillation")
    sub = Subscriber.objects.create(
        email="reader@example.org", user=user, trending=False, for_you=False, categories=[]
    )
    (items,) = compose(sub).values()
    notes = [content.read_note(why)[0] for pk, _, why in items if pk == content.NOTE]
    # 20 shown. Of 105, only the pool's newest 100 were fetched: "80 more" would be false.
    assert notes == [f"{said} matching “knowledge distillation”"]


def _distillation_papers() -> None:
    make_papers(1, title="Knowledge distillation for small models {i}", abstract="x")
    make_papers(1, prefix="2610", title="Knowledge graphs at scale {i}", abstract="no other word")
    make_papers(1, prefix="2609", title="We distill a teacher {i}", abstract="into a student")
    make_papers(1, prefix="2608", title="Distillation of knowledge {i}", abstract="the words, not the phrase")


def _alert(query: str) -> list[str]:
    sub = Subscriber.objects.create(email=f"{len(query)}@example.org", trending=False, searches=[query])
    (items,) = compose(sub).values()
    assert all(key == "alerts" for _, key, _ in items)
    return sorted(ids(items))


@pytest.mark.parametrize("indexed", [True, False], ids=["search-index", "database"])
def test_alerts_need_every_word_and_phrases_as_phrases(indexed: bool, request: pytest.FixtureRequest) -> None:
    _distillation_papers()
    if indexed:
        request.getfixturevalue("keyword_index")()
    assert _alert("knowledge distillation") == ["2608.00001", "2611.00001"]
    assert _alert('"knowledge distillation"') == ["2611.00001"]
    assert _alert("knowledge distillation -teacher") == ["2608.00001", "2611.00001"]
    assert _alert("knowledge graphs transformers") == []  # one word missing: nothing, not the closest


def test_each_paper_at_most_once_per_subscriber_across_digests() -> None:
    make_papers(4)
    sub = Subscriber.objects.create(
        email="a@example.org", status=Subscriber.Status.CONFIRMED, categories=["cs.CL"]
    )
    other = Subscriber.objects.create(
        email="b@example.org", status=Subscriber.Status.CONFIRMED, categories=["cs.CL"]
    )
    earlier = Digest.objects.create(frequency="weekly", period=dt.date(2026, 11, 23))
    shown = list(Paper.objects.filter(arxiv_id__in=["2611.00001", "2611.00003"]).values_list("pk", flat=True))
    Delivery.objects.create(digest=earlier, subscriber=sub, status=Delivery.Status.SENT, message_id="<x@y>",
                            papers=[[pk, "trending", ""] for pk in shown])  # fmt: skip
    got = compose(sub, other)
    assert sorted(ids(got[sub.pk])) == ["2611.00002", "2611.00004"]
    assert len(got[other.pk]) == 4
    assert len({pk for pk, _, _ in got[other.pk]}) == 4  # and once within a digest


def test_empty_digests_are_not_sent_unless_asked_for() -> None:
    quiet = Subscriber.objects.create(email="q@example.org", status=Subscriber.Status.CONFIRMED)
    asked = Subscriber.objects.create(
        email="e@example.org", status=Subscriber.Status.CONFIRMED, send_empty=True
    )
    transport = MemoryTransport()
    report = services.send("daily", PERIOD, transport=transport).as_json()
    assert [m.to for m in transport.sent] == [[asked.email]]
    assert report["empty"] == 1 and report["sent"] == 1 and report["complete"]
    assert Delivery.objects.get(subscriber=quiet).status == Delivery.Status.EMPTY


Call = tuple[list[int], dt.date, dict[int, list[str]]]


@pytest.fixture
def recommender() -> Iterator[list[Call]]:
    calls: list[Call] = []

    def for_you(
        user_ids: list[int], since: dt.date, until: dt.date, limit: int, *, categories: dict[int, list[str]]
    ) -> dict[int, list[tuple[int, str]]]:
        calls.append((user_ids, since, categories))
        pk = Paper.objects.get(arxiv_id="2611.00002").pk
        return {uid: [(pk, "like papers you upvoted")] for uid in user_ids}

    content.set_for_you_provider(for_you)
    yield calls
    content.set_for_you_provider(None)


def test_for_you_hook_is_called_once_per_batch(recommender: list[Call]) -> None:
    make_papers(2, abstract="no code {i}")
    user = User.objects.create_user("reader", "reader@example.org", "x" * 20)
    with_account = Subscriber.objects.create(
        email="reader@example.org", user=user, trending=False, categories=["cs.LG"]
    )
    bare = Subscriber.objects.create(email="bare@example.org", trending=False)
    got = compose(with_account, bare)
    assert recommender == [([user.pk], PERIOD, {user.pk: ["cs.LG"]})]  # the digest's own categories too
    assert got[with_account.pk] == [
        (Paper.objects.get(arxiv_id="2611.00002").pk, "for_you", "like papers you upvoted")
    ]
    assert got[bare.pk] == []


@pytest.mark.parametrize(
    ("now", "due"),
    [
        # Monday 00:30 UTC: hour 0 gets Monday's; later hours still get Friday's only if < 24 h late:
        # Friday 01:00 is 71.5 h ago, so nothing else is due (a weekend is not made up for).
        ("2026-11-30T00:30:00", {"2026-11-30": [0]}),
        # Friday 23:59: every hour's Friday digest is due; none is 24 h late.
        ("2026-11-27T23:59:00", {"2026-11-27": list(range(24))}),
        # Saturday 10:00: Friday's for hours 10-23 are less than 24 h late; 0-9 are too late.
        ("2026-11-28T10:00:00", {"2026-11-27": list(range(10, 24))}),
    ],
)
def test_due_periods_at_day_boundaries(now: str, due: dict[str, list[int]]) -> None:
    at = dt.datetime.fromisoformat(now).replace(tzinfo=dt.UTC)
    got = services.due_now("daily", at)
    assert {p.isoformat(): hours for p, hours in got.items()} == due


def test_weekly_digests_are_mondays() -> None:
    assert services.named_period("weekly", dt.date(2026, 11, 27)) == dt.date(2026, 11, 23)
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)
    # Hours 0-9 get this Monday's; for 10-23 last Monday's is 7 days late (> 72 h): skipped.
    assert services.due_now("weekly", at) == {dt.date(2026, 11, 30): list(range(10))}


def _compose_for_reader_of(
    category: str | None, frequency: str, period: dt.date, **choices: Any
) -> list[Any]:
    """The items of one digest for a reader whose account follows `category` (None: nothing), with
    the subscriber's section `choices`; the recommender's candidate window is rebuilt for this
    test's papers."""
    from paperfeed.accounts.models import Follow
    from paperfeed.recs import index

    user = User.objects.create_user("reader", "reader@example.org", "x" * 20)
    if category is not None:
        Follow.objects.create(user=user, kind=Follow.Kind.CATEGORY, value=category)
    sub = Subscriber.objects.create(email="reader@example.org", user=user, frequency=frequency, **choices)
    digest, _ = Digest.objects.get_or_create(frequency=frequency, period=period)
    index.reset()  # the candidate window of an earlier test's papers
    try:
        (items,) = content.compose(content.Context.of(digest), [sub]).values()
    finally:
        index.reset()
    return list(items)


def test_a_digest_leaves_the_for_you_page_s_cached_scores(monkeypatch: pytest.MonkeyPatch) -> None:
    # The digest asks with its subscription's categories; its cache entry replaced the page's, so the
    # reader's next "for you" after each digest scored every candidate again.
    from paperfeed.accounts.models import Follow
    from paperfeed.recs import index
    from paperfeed.recs import services as recs

    make_papers(3, abstract="speculative decoding {i}")
    user = User.objects.create_user("reader", "reader@example.org", "x" * 20)
    Follow.objects.create(user=user, kind=Follow.Kind.CATEGORY, value="cs.CL")
    sub = Subscriber.objects.create(
        email="reader@example.org",
        user=user,
        trending=False,
        follows=False,
        alerts=False,
        categories=["cs.LG"],
    )
    digest, _ = Digest.objects.get_or_create(frequency="daily", period=PERIOD)
    index.reset()
    try:
        recs.recommend(user)  # the page
        scored: list[int] = []
        real = recs._score
        monkeypatch.setattr(recs, "_score", lambda *a: (scored.append(1), real(*a))[1])
        content.compose(content.Context.of(digest), [sub])
        assert scored == [1]  # the digest's categories differ: scored for it
        recs.recommend(user)
        assert scored == [1]  # the page's are still there
    finally:
        index.reset()


def _for_you_only(frequency: str, period: dt.date) -> list[str]:
    """The ids a digest's "For you" lists for a reader following cs.CL who asked for that section only."""
    only_for_you = {"trending": False, "follows": False, "alerts": False, "categories": []}
    items = _compose_for_reader_of("cs.CL", frequency, period, **only_for_you)
    assert {key for _, key, _ in items} == {"for_you"}
    return sorted(ids(items))


def test_a_back_dated_digest_recommends_nothing_announced_after_its_period() -> None:
    make_papers(3, PERIOD, abstract="no code {i}")
    make_papers(3, dt.date(2026, 12, 2), prefix="2612", abstract="no code {i}")  # after PERIOD
    assert _for_you_only("daily", PERIOD) == ["2611.00001", "2611.00002", "2611.00003"]


@pytest.mark.parametrize(
    ("frequency", "period", "expected"),
    [
        ("daily", PERIOD, ["2611.00001", "2611.00002"]),
        ("weekly", dt.date(2026, 11, 30), ["2610.00001", "2610.00002", "2611.00001", "2611.00002"]),
    ],
)
def test_for_you_lists_only_papers_of_the_digests_period(
    frequency: str, period: dt.date, expected: list[str]
) -> None:
    # A daily digest's "For you" listed papers from anywhere in the last 90 days, unlike its other
    # sections; the reader expects what was announced that day (that week, for a weekly one).
    make_papers(2, PERIOD, abstract="no code {i}")  # Friday
    make_papers(2, PERIOD - dt.timedelta(days=2), prefix="2610", abstract="no code {i}")  # Wednesday
    make_papers(2, PERIOD - dt.timedelta(days=9), prefix="2609", abstract="no code {i}")  # the week before
    assert _for_you_only(frequency, period) == expected


@pytest.mark.parametrize(
    ("frequency", "period"), [("daily", dt.date(2025, 4, 2)), ("weekly", dt.date(2025, 3, 31))]
)
def test_a_reader_following_only_a_category_gets_a_full_for_you(frequency: str, period: dt.date) -> None:
    # Their "for you" is the category's newest papers, which "From what you follow" lists first:
    # asked for 10, the section got the same 10 and showed none of them (0 of 10 on these days).
    real_papers(3000)
    items = _compose_for_reader_of("cs.CV", frequency, period, categories=[])
    papers = [(pk, key) for pk, key, _ in items if pk != content.NOTE]
    for_you = [pk for pk, key in papers if key == "for_you"]
    follows = [pk for pk, key in papers if key == "follows"]
    assert len(follows) == content.FOLLOWS_LIMIT
    assert len(for_you) == content.FOR_YOU_LIMIT
    assert len({pk for pk, _ in papers}) == len(papers)  # no paper twice
    first, last = content.window(frequency, period)
    got = Paper.objects.filter(pk__in=for_you)
    assert all(first <= p.announced <= last and "cs.CV" in p.category_codes() for p in got)


def test_for_you_starts_from_the_categories_chosen_in_the_digest_settings() -> None:
    """An account that follows nothing, whose digest settings chose cs.CV: its "For you" was empty
    (the recommender saw no follows, no votes), although the reader had said what they read."""
    make_papers(3, abstract="no code {i}")  # cs.CL
    make_papers(3, prefix="2610", cats=("cs.CV",), abstract="no code {i}")
    only_for_you = {"trending": False, "follows": False, "alerts": False, "categories": ["cs.CV"]}
    items = _compose_for_reader_of(None, "daily", PERIOD, **only_for_you)
    assert sorted(ids(items)) == ["2610.00001", "2610.00002", "2610.00003"]
    assert {(key, why) for _, key, why in items} == {
        ("for_you", "New in cs.CV, which you chose for your digest")
    }


def test_for_you_says_which_categories_are_followed_and_which_only_chosen_for_the_digest() -> None:
    """The account follows cs.RO on the site; the digest settings chose cs.CV. The mail said "New in
    cs.CV, which you follow" although the site shows no such follow."""
    from paperfeed.accounts.models import Follow
    from paperfeed.recs import index

    make_papers(2, prefix="2610", cats=("cs.CV",), abstract="no code {i}")
    make_papers(2, prefix="2609", cats=("cs.RO",), abstract="no code {i}")
    user = User.objects.create_user("reader", "reader@example.org", "x" * 20)
    Follow.objects.create(user=user, kind=Follow.Kind.CATEGORY, value="cs.RO")
    Subscriber.objects.create(
        email="reader@example.org", user=user, status=Subscriber.Status.CONFIRMED,
        trending=False, follows=False, alerts=False, categories=["cs.CV"],
    )  # fmt: skip
    transport = MemoryTransport()
    index.reset()  # the candidate window of an earlier test's papers
    try:
        assert services.send("daily", PERIOD, transport=transport).as_json()["sent"] == 1
    finally:
        index.reset()
    (message,) = transport.sent
    html = message.alternatives[0][0]
    for part, sep in ((message.body, "why: "), (html, "· ")):
        assert part.count(f"{sep}New in cs.RO, which you follow") == 2
        assert part.count(f"{sep}New in cs.CV, which you chose for your digest") == 2
        assert "cs.CV, which you follow" not in part


def test_a_reader_with_many_alerts_still_gets_every_section_when_the_cap_binds() -> None:
    """Trending 10, follows 20, alerts 30 (four busy saved searches) and "For you" 10 make 70: cut to
    50 in section order, "For you" lost everything. Now the short sections keep theirs and the two
    longest share the rest; the follows and search notes count what was cut."""
    from paperfeed.feed.models import Submission

    for prefix, word in (("2601", "Alpha"), ("2602", "Beta"), ("2603", "Gamma"), ("2604", "Delta")):
        make_papers(12, prefix=prefix, cats=("cs.CL",), title=f"{word} study {{i}}", abstract="no code {i}")
    for pk in make_papers(10, prefix="2605", cats=("cs.AI",), title="Submitted {i}", abstract="no code {i}"):
        paper = Paper.objects.get(arxiv_id=pk)
        Submission.objects.create(
            paper=paper, day=PERIOD, created_at=dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
        )
    make_papers(40, prefix="2611", cats=("cs.CV",), title="Vision {i}", abstract="no code {i}")
    items = _compose_for_reader_of("cs.CV", "daily", PERIOD, searches=["alpha", "beta", "gamma", "delta"])
    papers = [(pk, key) for pk, key, _ in items if pk != content.NOTE]
    assert len(papers) == content.DIGEST_LIMIT
    assert Counter(key for _, key in papers) == {"trending": 10, "follows": 15, "alerts": 15, "for_you": 10}
    assert len({pk for pk, _ in papers}) == len(papers)  # no paper twice
    shown = set(ids([(pk, key, "") for pk, key in papers]))
    assert sum(i.startswith("2611.") for i in shown) == 25  # follows' 15, then "For you"'s next 10
    # The saved searches take turns (the first two used to fill the section alone), and each says
    # what it left out: its search stopped at 10 of its 12 matches, hence "at least".
    alerts = Counter(why for _, key, why in items if key == "alerts" and why.startswith("matches"))
    assert sorted(alerts.values()) == [3, 4, 4, 4]
    notes = [content.read_note(why)[0] for pk, _, why in items if pk == content.NOTE]
    assert notes[0] == "15 more new in cs.CV"  # 40, less the 25 shown
    shown_per_search = {why.removeprefix("matches "): n for why, n in alerts.items()}
    assert notes[1:] == [f"{10 - n}+ more matching {q}" for q, n in shown_per_search.items()]


def test_fair_shares_keep_short_sections_whole_and_trim_the_longest() -> None:
    assert content.fair_shares([10, 20, 30, 10], 50) == [10, 15, 15, 10]
    assert content.fair_shares([10, 20, 30, 10], 70) == [10, 20, 30, 10]  # the cap does not bind
    assert content.fair_shares([0, 30, 30], 50) == [0, 25, 25]  # a section with nothing leaves its share
    assert sum(content.fair_shares([30, 30, 30], 50)) == 50


def test_a_capped_digest_always_has_exactly_the_cap() -> None:
    """Every split of up to four sections of 0-30 papers (the sections' own limits): the shares add up
    to the cap whenever the sections have that many, none exceeds its section, and a section below
    an equal share keeps all of it. (The floor division leaves its remainder to the longer
    sections, and the longest takes whatever is left up to its length.)"""
    import itertools

    for n in range(1, 5):
        for counts in itertools.product(range(0, 31, 3 if n == 4 else 1), repeat=n):
            shares = content.fair_shares(list(counts), content.DIGEST_LIMIT)
            assert sum(shares) == min(content.DIGEST_LIMIT, sum(counts)), counts
            assert all(0 <= s <= c for s, c in zip(shares, counts, strict=True)), counts
            assert all(s == c for s, c in zip(shares, counts, strict=True) if c <= content.DIGEST_LIMIT // n)


@pytest.mark.parametrize(
    ("site", "chosen", "title"),
    [
        (["cs.CL"], [], "From what you follow"),
        ([], ["cs.CL"], "From what you chose for your digest"),
        (["cs.CL"], ["cs.CL"], "From what you follow"),  # chosen for the digest and followed too
        (["cs.AI"], ["cs.CL"], "From what you follow or chose for your digest"),
        (None, ["cs.CL"], "From what you chose for your digest"),  # an address without an account
    ],
)
def test_the_follows_section_title_says_where_its_follows_come_from(
    site: list[str] | None, chosen: list[str], title: str
) -> None:
    """A reader who chose cs.CL in the digest's settings and follows nothing on the site read
    "From what you follow" above its papers, though the site shows no such follow (as the papers'
    own reasons already said, "which you chose for your digest"). Both parts of the mail."""
    from paperfeed.accounts.models import Follow

    make_papers(1, cats=("cs.CL", "cs.AI"))
    user = None
    if site is not None:
        user = User.objects.create_user("reader", "a@example.org", "x" * 20)
        for code in site:
            Follow.objects.create(user=user, kind=Follow.Kind.CATEGORY, value=code)
    Subscriber.objects.create(
        email="a@example.org",
        user=user,
        status=Subscriber.Status.CONFIRMED,
        trending=False,
        for_you=False,
        categories=chosen,
    )
    message, html = send_one()
    assert f"== {title} ==" in message.body
    assert f">{title}<" in html
    others = set(content.FOLLOWS_TITLES.values()) - {title}
    assert not any(f"== {t} ==" in message.body or f">{t}<" in html for t in others)
