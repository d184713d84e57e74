"""Real papers and users for the site's tests: the first records of the shared snapshot."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
from functools import cache

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from paperfeed.accounts.models import User
from paperfeed.feed.models import Comment
from paperfeed.papers.models import Paper
from paperfeed.papers.records import PaperRecord
from paperfeed.papers.services import Ingestor
from paperfeed.papers.sources.snapshot import read_snapshot
from paperfeed.recs import index
from tests.conftest import SNAPSHOT

PASSWORD = "correct horse battery staple 9"


@cache
def _records(n: int) -> tuple[PaperRecord, ...]:
    out = []
    for _, rec, _ in itertools.islice(read_snapshot(SNAPSHOT), n):
        assert isinstance(rec, PaperRecord)
        out.append(rec)
    return tuple(out)


def load_papers(n: int = 20, **changes: object) -> list[Paper]:
    """Store the snapshot's first n records (optionally with fields replaced) and return them."""
    records = _records(n)
    with Ingestor("test") as ing:
        for r in records:
            if changes:
                r = dataclasses.replace(r, **changes)  # type: ignore[arg-type]
            ing.add(r)
    return list(Paper.objects.filter(arxiv_id__in=[r.arxiv_id for r in records]).order_by("arxiv_id"))


def on_a_list(papers: list[Paper], day: dt.date | None = None) -> list[Paper]:
    """Put the papers on `day`'s list (today's), unless on one already: a vote on a paper no list
    has submits it (feed.services.upvote), which an unverified voter may not do."""
    from paperfeed.feed.models import Submission

    day = day or timezone.localdate()
    Submission.objects.bulk_create((Submission(paper=p, day=day) for p in papers), ignore_conflicts=True)
    return papers


def make_user(
    username: str,
    *,
    verified: bool = True,
    age: dt.timedelta = dt.timedelta(days=3),
    staff: bool = False,
    password: str | None = None,
) -> User:
    u = User.objects.create_user(username, f"{username}@example.org", password, is_staff=staff)
    u.email_verified = verified
    u.date_joined = timezone.now() - age
    u.save()
    return u


# A comment as the rules before 338cd3f rendered it (its "$" paired as an abstract's), and the same
# text by the current ones: prices, no formula.
PRICES = "It costs 5$ and 10$ per run."
PRICES_THEN = '<p>It costs 5<span class="math"> and 10</span> per run.</p>\n'
PRICES_NOW = "<p>It costs 5$ and 10$ per run.</p>\n"


def stale_comment(paper: Paper, body: str = PRICES, html: str = PRICES_THEN, **fields: object) -> Comment:
    """A comment as older rules stored it: their HTML and their version (0: before versions were
    kept). `fields` (hidden, author=None, markup_version) written as they are."""
    from paperfeed.feed import services

    c = services.add_comment(make_user(f"commenter{Comment.objects.count()}"), paper, body)
    Comment.objects.filter(pk=c.pk).update(**{"html": html, "markup_version": 0, **fields})
    return c


def queries_for(url: str, client: Client | None = None) -> int:
    """The SQL queries a second GET of `url` runs: the first warms what a process loads once.

    The recommendations' candidate window is the process's, not the test's: one an earlier test
    left would be used (a page builds none), and a window asks the change log whether papers
    changed when CHECK_EVERY_S has passed since it last did, two or three queries more in
    whichever GET the clock picks. So the window is dropped first and its checks are held off
    while counting: the count is the page's own, whatever the test order or the machine's speed."""
    index.reset()
    every, index.CHECK_EVERY_S = index.CHECK_EVERY_S, math.inf
    try:
        c = client or Client()
        assert c.get(url).status_code == 200
        with CaptureQueriesContext(connection) as q:
            assert c.get(url).status_code == 200
    finally:
        index.CHECK_EVERY_S = every
    return len(q.captured_queries)
