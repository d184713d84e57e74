"""Submissions, votes and comments in the admin: an operator (a superuser, through a real client) can
list, search and open them, and cannot add, change or delete one (core.admin.ReadOnly)."""

from __future__ import annotations

import re

import pytest
from django.contrib.admin import site
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from paperfeed.accounts.models import User
from paperfeed.core.admin import CappedPaginator
from paperfeed.feed import services as feed
from paperfeed.feed.models import Comment, Submission, Vote
from paperfeed.papers.models import Paper
from tests.sitedata import load_papers, make_user

pytestmark = pytest.mark.django_db


def test_submissions_votes_and_comments_are_read_only_in_the_admin() -> None:
    papers = load_papers(2)
    reader = make_user("reader")
    sub = feed.submit(papers[0].arxiv_id, reader, timezone.localdate())
    feed.upvote(make_user("voter"), papers[0])
    feed.add_comment(reader, papers[0], "A <b>fine</b> paper")
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    for model, row in [
        ("submission", sub),
        ("vote", Vote.objects.get()),
        ("comment", Comment.objects.get()),
    ]:
        base = f"/admin/feed/{model}/"
        listing = client.get(f"{base}?q={papers[0].arxiv_id}")
        assert listing.status_code == 200 and list(listing.context["cl"].result_list) == [row], model
        assert f'href="{base}add/"' not in listing.content.decode()
        assert [x.pk for x in client.get(f"{base}?q={papers[1].arxiv_id}").context["cl"].result_list] == []
        view = client.get(f"{base}{row.pk}/change/")
        assert view.status_code == 200 and b'name="_save"' not in view.content, model
        assert client.get(f"{base}add/").status_code == 403, model
        assert client.post(f"{base}{row.pk}/change/", {}).status_code == 403, model
        assert client.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403, model
        bulk = {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
        client.post(base, bulk)  # no delete action is offered, so the rows stay
    assert client.get("/admin/feed/comment/").content.count(b"<b>fine</b>") == 0  # escaped, if shown at all
    sub.refresh_from_db()
    assert sub.removed_at is None and Vote.objects.count() == 1 and Comment.objects.count() == 1
    assert Submission.objects.count() == 1


def _counts_of_whole_tables(queries: list[dict[str, str]], table: str) -> list[str]:
    """The COUNTs over `table` not bounded by a LIMIT: what reads every row."""
    return [
        q["sql"]
        for q in queries
        if "COUNT(" in q["sql"].upper() and f'"{table}"' in q["sql"] and "LIMIT" not in q["sql"].upper()
    ]


def _every_voter_on_every_paper() -> tuple[list[Paper], list[User]]:
    """3 papers, 4 voters, 12 votes."""
    papers = load_papers(3)
    voters = [make_user(f"voter{i}") for i in range(4)]
    for paper in papers:
        for voter in voters:
            feed.upvote(voter, paper)
    return papers, voters


def test_the_lists_count_up_to_a_cap_and_search_by_id_or_exact_username(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    papers, voters = _every_voter_on_every_paper()  # voter0's votes put each on today's list
    for paper in papers:
        for voter in voters:
            feed.add_comment(voter, paper, "Seen")
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    for model, table, rows in [
        ("vote", "feed_vote", 12),
        ("comment", "feed_comment", 12),
        ("submission", "feed_submission", 3),
    ]:
        with CaptureQueriesContext(connection) as q:
            page = client.get(f"/admin/feed/{model}/")
        assert page.status_code == 200 and len(page.context["cl"].result_list) == rows, model
        assert _counts_of_whole_tables(q.captured_queries, table) == [], model
        assert f"{rows} {model}s" in page.content.decode(), model
        # The arXiv id in any form arXiv writes it, or a username exactly; anything else finds none.
        by_id = client.get(f"/admin/feed/{model}/?q=arXiv:{papers[1].arxiv_id}v2").context["cl"].result_list
        assert {r.paper_id for r in by_id} == {papers[1].pk}, model
        by_name = client.get(f"/admin/feed/{model}/?q=voter0").context["cl"].result_list
        assert len(by_name) == 3 and {r.paper_id for r in by_name} == {p.pk for p in papers}, model
        assert list(client.get(f"/admin/feed/{model}/?q=voter").context["cl"].result_list) == [], model
        assert client.get(f"/admin/feed/{model}/?q=%27%3B--%20%3Cb%3E").status_code == 200, model

    # Past the cap the list says it holds more than that, and pages through the first rows.
    monkeypatch.setattr(CappedPaginator, "CAP", 5)
    page = client.get("/admin/feed/vote/")
    assert page.status_code == 200 and "5+ votes" in page.content.decode()
    searched = client.get("/admin/feed/vote/", {"q": papers[0].arxiv_id}).content.decode()
    assert "4 results" in searched and "arXiv id" in searched  # under the cap, and how to search
    monkeypatch.setattr(CappedPaginator, "CAP", 2)
    assert "2+ results" in client.get("/admin/feed/comment/", {"q": "voter1"}).content.decode()


def test_the_submissions_list_has_a_fixed_date_filter_and_no_distinct_over_the_table() -> None:
    papers = load_papers(2)
    reader = make_user("reader")
    today = timezone.localdate()
    old = feed.submit(papers[0].arxiv_id, reader, today - timezone.timedelta(days=400))
    new = feed.submit(papers[1].arxiv_id, reader, today)
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    with CaptureQueriesContext(connection) as q:
        page = client.get("/admin/feed/submission/")
    # date_hierarchy listed the years of every submission (a DISTINCT over the table) on each view.
    assert page.status_code == 200
    assert not [s["sql"] for s in q.captured_queries if "DISTINCT" in s["sql"].upper()]
    assert "Past 7 days" in page.content.decode()
    week = {
        "day__gte": str(today - timezone.timedelta(days=7)),
        "day__lt": str(today + timezone.timedelta(days=1)),
    }
    assert [s.pk for s in client.get("/admin/feed/submission/", week).context["cl"].result_list] == [new.pk]
    assert old.pk in [s.pk for s in client.get("/admin/feed/submission/").context["cl"].result_list]


def test_past_the_cap_a_newest_first_list_pages_on_by_the_last_id_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, voters = _every_voter_on_every_paper()
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    monkeypatch.setattr(CappedPaginator, "CAP", 5)
    monkeypatch.setattr(site._registry[Vote], "list_per_page", 5)
    ids = list(Vote.objects.order_by("-pk").values_list("pk", flat=True))
    seen: list[int] = []
    url = "/admin/feed/vote/"
    while True:
        with CaptureQueriesContext(connection) as q:
            page = client.get(url)
        assert page.status_code == 200
        cl = page.context["cl"]
        seen += [v.pk for v in cl.result_list]
        votes = [x["sql"].upper() for x in q.captured_queries if '"FEED_VOTE"' in x["sql"].upper()]
        assert _counts_of_whole_tables(q.captured_queries, "feed_vote") == []
        if url != "/admin/feed/vote/":
            assert not any("OFFSET" in s for s in votes)  # a range of the primary key, not a skip
            assert f"after id {cl.after}" in page.content.decode() and "first page" in page.content.decode()
        if cl.next_after_url is None:
            break
        url = f"/admin/feed/vote/{cl.next_after_url}"
    assert seen == ids and len(seen) == 12

    # A search or a filter stays on the next pages.
    monkeypatch.setattr(CappedPaginator, "CAP", 2)
    searched = client.get("/admin/feed/vote/", {"q": "voter1"}).context["cl"]
    assert searched.next_after_url is None  # 3 votes: one page
    monkeypatch.setattr(site._registry[Vote], "list_per_page", 2)
    searched = client.get("/admin/feed/vote/", {"q": "voter1"}).context["cl"]
    assert "q=voter1" in searched.next_after_url
    rest = client.get(f"/admin/feed/vote/{searched.next_after_url}").context["cl"].result_list
    assert [v.pk for v in rest] == [v.pk for v in Vote.objects.filter(user=voters[1]).order_by("-pk")][2:]
    bad = client.get("/admin/feed/vote/", {"after": "<b>x"})
    assert bad.status_code == 302 and bad["Location"].endswith("?e=1")
    # Past the database's integers: every row is before it (no overflow error).
    assert len(client.get("/admin/feed/vote/", {"after": "9" * 30}).context["cl"].result_list) == 2


def _column(client: Client, name: str) -> str:
    """The `o` a click on the votes list's `name` header makes: the column's place in the list."""
    return str(client.get("/admin/feed/vote/").context["cl"].list_display.index(name))


def _vote_pages(client: Client, url: str) -> tuple[list[int], list[str]]:
    """Every vote from `url` on, following the "next" links; and the SQL of the pages after the first."""
    seen: list[int] = []
    sql: list[str] = []
    while True:
        with CaptureQueriesContext(connection) as q:
            page = client.get(url)
        assert page.status_code == 200, url
        if seen:
            sql += [x["sql"] for x in q.captured_queries if '"feed_vote"' in x["sql"]]
        cl = page.context["cl"]
        seen += [v.pk for v in cl.result_list]
        if cl.next_after_url is None:
            return seen, sql
        url = f"/admin/feed/vote/{cl.next_after_url}"


def _twelve_votes_in_pages_of_3(monkeypatch: pytest.MonkeyPatch) -> Client:
    """_every_voter_on_every_paper's votes, listed 3 a page with a cap of 3; a superuser's client."""
    _every_voter_on_every_paper()
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    monkeypatch.setattr(CappedPaginator, "CAP", 3)
    monkeypatch.setattr(site._registry[Vote], "list_per_page", 3)
    return client


def _tied_dates() -> None:
    """Give the votes 3 dates, 4 votes on each: a page's last vote then shares its date with the next
    page's first, which only the id tells apart."""
    start = timezone.now() - timezone.timedelta(days=7)
    for i, pk in enumerate(Vote.objects.order_by("pk").values_list("pk", flat=True)):
        Vote.objects.filter(pk=pk).update(created_at=start + timezone.timedelta(days=i % 3))


# The voter's index (feed_vote.user_id) and the date's (vote_created_at) each order the list.
_INDEXED = [("user", "user_id"), ("created_at", "created_at")]


@pytest.mark.parametrize(("name", "column"), _INDEXED)
def test_a_sort_by_an_indexed_column_pages_on_past_the_cap_by_that_column_and_id(
    monkeypatch: pytest.MonkeyPatch, name: str, column: str
) -> None:
    client = _twelve_votes_in_pages_of_3(monkeypatch)
    _tied_dates()
    by = _column(client, name)
    # Ties on the column go newest first, as Django's own order of the sorted list does, and so do
    # its numbered pages.
    for o, order in [(by, [column, "-pk"]), (f"-{by}", [f"-{column}", "-pk"])]:
        seen, sql = _vote_pages(client, f"/admin/feed/vote/?o={o}")
        assert seen == list(Vote.objects.order_by(*order).values_list("pk", flat=True)), o
        assert len(seen) == 12 and sql and not [s for s in sql if "OFFSET" in s.upper()], o
    # A hand-built link of a sort and a row keeps both, and says after which row it starts.
    third = Vote.objects.order_by(column, "-pk")[2]
    page = client.get("/admin/feed/vote/", {"o": by, "after": third.pk})
    rest = list(Vote.objects.order_by(column, "-pk").values_list("pk", flat=True))[3:6]
    assert [v.pk for v in page.context["cl"].result_list] == rest
    assert f"after id {third.pk}" in page.content.decode() and "(older)" not in page.content.decode()
    assert f"o={by}" in page.context["cl"].next_after_url


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
            return "\n".join(row[-1] for row in cursor.fetchall())
        cursor.execute("SET enable_seqscan = off")  # a tiny table: else the planner reads it whole
        cursor.execute(f"EXPLAIN {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("RESET enable_seqscan")
        return plan


@pytest.mark.parametrize(("name", "column"), _INDEXED)
def test_a_page_after_a_row_sorted_by_an_indexed_column_is_a_range_of_its_index(
    name: str, column: str
) -> None:
    _every_voter_on_every_paper()
    _tied_dates()
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    by = _column(client, name)
    for o, order, bound in [(by, [column, "-pk"], ">"), (f"-{by}", [f"-{column}", "-pk"], "<")]:
        after = Vote.objects.order_by(*order)[4].pk
        with CaptureQueriesContext(connection) as q:
            client.get("/admin/feed/vote/", {"o": o, "after": after})
        [page] = [x["sql"] for x in q.captured_queries if x["sql"].startswith('SELECT "feed_vote"."id", ')]
        plan = _plan(page)
        # The first column's bound is what an index reads, in either direction of the sort (which
        # index, the planner picks by size; only vote_created_at leads with the date).
        if connection.vendor == "sqlite":
            index = rf"SEARCH feed_vote USING (COVERING )?INDEX (?P<index>\w+) \({column}{bound}\?\)"
        else:
            index = rf"Scan (Backward )?(using|on) (?P<index>\w+) .*\n.*Index Cond: .*{column} {bound}= "
        found = re.search(index, plan)
        assert found, (o, plan)
        if column == "created_at":
            assert found["index"] == "vote_created_at", (o, plan)


def test_a_sort_no_index_orders_refuses_a_page_after_a_row_with_a_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = _twelve_votes_in_pages_of_3(monkeypatch)
    by_uncounted = _column(client, "uncounted")
    # No index leads with `uncounted` (vote_counted_paper leads with the paper): a page after a row
    # would sort the whole table each time. The sort is kept, the row dropped, and the list says so;
    # its pages are numbered up to the cap.
    row = Vote.objects.order_by("-pk")[4].pk
    refused = client.get("/admin/feed/vote/", {"o": by_uncounted, "after": row, "uncounted__exact": "0"})
    assert refused.status_code == 302
    assert refused["Location"] == f"/admin/feed/vote/?o={by_uncounted}&uncounted__exact=0"
    page = client.get(refused["Location"])
    assert "page numbers only" in page.content.decode() and "uncounted" in page.content.decode()
    assert page.context["cl"].next_after_url is None and len(page.context["cl"].result_list) == 3
    # A sort by an indexed column needs the row itself (its value in that column) to go on from.
    gone = client.get("/admin/feed/vote/", {"o": _column(client, "user"), "after": "999999"}, follow=True)
    assert "No row has the id 999999" in gone.content.decode()
    assert len(gone.context["cl"].result_list) == 3 and gone.context["cl"].after is None


def test_a_deep_numbered_page_skips_the_rows_before_it_by_id_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    _, voters = _every_voter_on_every_paper()
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 20))
    monkeypatch.setattr(site._registry[Vote], "list_per_page", 2)
    by_user = _column(client, "user")
    for query, order in [
        ({}, Vote.objects.order_by("-pk")),
        ({"o": by_user}, Vote.objects.order_by("user_id", "-pk")),
        ({"o": _column(client, "created_at")}, Vote.objects.order_by("created_at", "-pk")),
        ({"q": "voter2"}, Vote.objects.filter(user=voters[2]).order_by("-pk")),
    ]:
        ids = list(order.values_list("pk", flat=True))
        pages = [ids[i : i + 2] for i in range(0, len(ids), 2)]
        for number, expected in enumerate(pages, start=1):
            with CaptureQueriesContext(connection) as q:
                page = client.get("/admin/feed/vote/", {**query, "p": number})
            assert [v.pk for v in page.context["cl"].result_list] == expected, (query, number)
            skips = [x["sql"] for x in q.captured_queries if "OFFSET" in x["sql"].upper()]
            # Past the first page the skip reads the votes' ids alone (not every skipped vote's
            # account and paper, list_select_related's joins), and the page's rows are read by id.
            assert len(skips) == (number > 1), (query, number)
            assert [s.split(" FROM ")[0] for s in skips] == ['SELECT "feed_vote"."id" AS "pk"'] * len(skips)
