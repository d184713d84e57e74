"""Vote.objects.counted_for_trending reads the voter's standing copied onto each vote: these tests
hold it to what the join on users counted (User.objects.counted_for_trending) through every change
of an account, on a real database."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from paperfeed.accounts import models as account_models
from paperfeed.accounts import services as accounts
from paperfeed.accounts.models import TRENDING_MIN_ACCOUNT_AGE, User
from paperfeed.feed import services as feed
from paperfeed.feed.markup import MARKUP_VERSION, render_comment
from paperfeed.feed.models import Comment, Submission, Vote
from paperfeed.moderation import services as moderation
from paperfeed.papers.models import Paper
from tests.sitedata import PRICES, PRICES_NOW, PRICES_THEN, load_papers, make_user, on_a_list, stale_comment

pytestmark = pytest.mark.django_db


def joined_on_users(at: dt.datetime) -> set[int]:
    """The votes trending counted by the join it had: the reference the copy must match."""
    return set(
        Vote.objects.filter(user__in=User.objects.counted_for_trending(at), created_at__lte=at).values_list(
            "pk", flat=True
        )
    )


def counted(at: dt.datetime | None = None) -> set[int]:
    at = at or timezone.now()
    got = set(Vote.objects.counted_for_trending(at).values_list("pk", flat=True))
    assert got == joined_on_users(at)
    return got


@pytest.fixture
def paper() -> Paper:
    return on_a_list(load_papers(1))[0]


def test_trending_counts_without_a_join_on_users(paper: Paper) -> None:
    feed.upvote(make_user("reader"), paper)
    query = str(Vote.objects.counted_for_trending().filter(paper=paper).query).upper()
    assert " JOIN " not in query and "ACCOUNTS_USER" not in query
    assert len(counted()) == 1


def test_the_counts_trending_and_the_lists_make_read_the_index_alone() -> None:
    """The tie-break's count (counted votes cast by the reference time) and the lists' counts are
    read from vote_counted_paper without a table row per vote (bench/README.md "trending's counted
    votes"); PostgreSQL is kept off the table scan it picks for a table this small."""
    papers = load_papers(3)
    for i, user in enumerate([make_user("a"), make_user("b")]):
        for p in papers[i:]:
            feed.upvote(user, p)
    ids, first = [p.pk for p in papers], papers[0].votes.get().created_at
    with CaptureQueriesContext(connection) as q:
        assert Vote.objects.counted().cast_by(timezone.now()).per_paper(ids) == {
            ids[0]: 1,
            ids[1]: 2,
            ids[2]: 2,
        }
        assert Vote.objects.counted().cast_by(first).per_paper(ids) == {ids[0]: 1}
        assert sorted(s.n_votes for s in Submission.objects.with_counts()) == [1, 2, 2]
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET LOCAL enable_seqscan = off")
            cur.execute("SET LOCAL enable_bitmapscan = off")
            explain, wanted = "EXPLAIN ", "Index Only Scan using vote_counted_paper"
        else:
            explain, wanted = "EXPLAIN QUERY PLAN ", "COVERING INDEX vote_counted_paper"
        for query in q.captured_queries:
            cur.execute(explain + query["sql"])
            plan = " ".join(str(row) for row in cur.fetchall())
            assert wanted in plan, (query["sql"], plan)


def test_a_vote_cast_before_verification_counts_once_the_address_is_verified(paper: Paper) -> None:
    user = make_user("late", verified=False)
    feed.upvote(user, paper)
    assert counted() == set()
    assert accounts.verify_email(accounts.verification_token(user)) == user
    assert counted() == set(Vote.objects.filter(user=user).values_list("pk", flat=True))


def test_deactivating_and_reactivating_an_account(paper: Paper) -> None:
    user = make_user("away")
    feed.upvote(user, paper)
    (vote,) = counted()
    user.is_active = False
    user.save()  # as the admin's form saves it: every field
    assert counted() == set() and not Vote.objects.counted().exists()
    user.is_active = True
    user.save(update_fields=["is_active"])
    assert counted() == {vote} and set(Vote.objects.counted().values_list("pk", flat=True)) == {vote}


def test_a_change_of_standing_in_bulk_reaches_the_votes(paper: Paper) -> None:
    """A QuerySet update (or bulk_update) of a standing field, as a script or an admin action would
    write it, stops or restarts the votes counting as a save does."""
    away, gone, stays = make_user("away"), make_user("gone"), make_user("stays")
    for user in (away, gone, stays):
        feed.upvote(user, paper)
    kept = set(Vote.objects.filter(user=stays).values_list("pk", flat=True))
    assert User.objects.filter(username__in=["away", "gone"]).update(is_active=False) == 2
    assert counted() == kept
    away.is_active = True
    User.objects.bulk_update([away], ["is_active"])
    assert counted() == kept | set(Vote.objects.filter(user=away).values_list("pk", flat=True))
    User.objects.filter(pk=stays.pk).update(date_joined=timezone.now())  # too new again
    assert counted() == set(Vote.objects.filter(user=away).values_list("pk", flat=True))


def _statements(qs: Any, **changes: Any) -> int:
    """The SQL statements `qs.update(**changes)` runs (the test's savepoints left out)."""
    with CaptureQueriesContext(connection) as ran:
        qs.update(**changes)
    return sum(not q["sql"].upper().startswith(("SAVEPOINT", "RELEASE")) for q in ran.captured_queries)


def test_a_bulk_change_of_standing_costs_a_few_statements_per_batch_whatever_its_size(
    paper: Paper, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A change of standing in bulk follows its voters a batch at a time: it ran two statements per
    account (read the row, update its votes), 200,000 for a 100,000-account clean-up."""
    monkeypatch.setattr(account_models, "STANDING_BATCH", 4)
    users = [make_user(f"bulk{i}", verified=i % 3 != 0) for i in range(12)]
    for user in users:
        feed.upvote(user, paper)
    ids = [u.pk for u in users]
    now = timezone.now()
    one_batch = _statements(User.objects.filter(pk__in=ids[:4]), suspended_at=now)
    three_batches = _statements(User.objects.filter(pk__in=ids), is_active=False)
    assert three_batches - one_batch == 2 * 2  # two batches more: an UPDATE of users and one of votes
    assert one_batch <= 4  # lock the rows, update them, update their votes (PostgreSQL: JIT off)
    # A mix of every standing, changed in bulk again: each vote holds what its voter's save gives.
    User.objects.filter(pk__in=ids[4:]).update(is_active=True)
    User.objects.filter(pk__in=ids[::2]).update(date_joined=now)  # too new to count again
    for user in User.objects.filter(pk__in=ids):
        assert set(Vote.objects.filter(user=user).values_list("uncounted", "voter_joined")) == {
            Vote.standing_of(user)
        }
    # Active (4-11), verified (not every third) and old enough (odd): 5, 7 and 11.
    assert counted() == set(
        Vote.objects.filter(user_id__in=[ids[5], ids[7], ids[11]]).values_list("pk", flat=True)
    )


def test_an_update_of_other_fields_leaves_the_votes_alone(paper: Paper) -> None:
    user = make_user("quiet")
    feed.upvote(user, paper)
    with CaptureQueriesContext(connection) as q:
        assert User.objects.filter(pk=user.pk).update(bio="hello") == 1
    assert len(q.captured_queries) == 1 and "feed_vote" not in q.captured_queries[0]["sql"]


def test_suspending_and_unsuspending_an_account(paper: Paper) -> None:
    mod, user = make_user("mod", staff=True), make_user("loud")
    feed.upvote(user, paper)
    (vote,) = counted()
    moderation.suspend(mod, user)
    assert counted() == set()
    moderation.unsuspend(mod, user)
    assert counted() == {vote}


def test_the_account_age_passing_counts_the_votes_with_no_write(paper: Paper) -> None:
    user = make_user("new", age=dt.timedelta(hours=1))
    feed.upvote(user, paper)
    now = timezone.now()
    assert counted(now) == set()
    joined = User.objects.get(pk=user.pk).date_joined
    assert counted(joined + TRENDING_MIN_ACCOUNT_AGE - dt.timedelta(seconds=1)) == set()
    assert len(counted(joined + TRENDING_MIN_ACCOUNT_AGE)) == 1
    # A past reference time still leaves out votes cast after it.
    assert counted(now - dt.timedelta(minutes=5) + TRENDING_MIN_ACCOUNT_AGE) == set(
        Vote.objects.filter(user=user).values_list("pk", flat=True)
    )
    assert counted(joined + TRENDING_MIN_ACCOUNT_AGE - dt.timedelta(hours=2)) == set()


def test_a_new_date_joined_moves_the_threshold(paper: Paper) -> None:
    user = make_user("redated", age=dt.timedelta(hours=1))
    feed.upvote(user, paper)
    assert counted() == set()
    user.date_joined = timezone.now() - dt.timedelta(days=2)  # as an admin might correct it
    user.save()
    assert len(counted()) == 1


def test_a_save_from_an_object_older_than_a_suspension_does_not_undo_it(paper: Paper) -> None:
    mod, user = make_user("mod", staff=True), make_user("spam", verified=False)
    feed.upvote(user, paper)
    token = accounts.verification_token(user)
    stale = User.objects.get(pk=user.pk)
    moderation.suspend(mod, user)
    stale.email_verified = True
    stale.save(update_fields=["email_verified"])  # the object still says "not suspended"
    assert accounts.verify_email(token) is not None
    assert counted() == set()
    assert set(Vote.objects.values_list("uncounted", flat=True)) == {True}


def test_votes_made_in_bulk_take_their_voter_s_standing(paper: Paper) -> None:
    other = load_papers(2)[1]
    good, unverified = make_user("good"), make_user("unverified", verified=False)
    Vote.objects.bulk_create([Vote(user=good, paper=paper), Vote(user=unverified, paper=paper)])
    Vote.objects.create(user=good, paper=other)
    assert counted() == set(Vote.objects.filter(user=good).values_list("pk", flat=True))


def test_the_migration_copies_the_standing_of_votes_cast_before_it(paper: Paper) -> None:
    mod = make_user("mod", staff=True)
    users = {
        "ok": make_user("ok"),
        "new": make_user("new", age=dt.timedelta(hours=2)),
        "unverified": make_user("unverified", verified=False),
        "inactive": make_user("inactive"),
        "suspended": make_user("suspended"),
    }
    for u in users.values():
        feed.upvote(u, paper)
    User.objects.filter(pk=users["inactive"].pk).update(is_active=False)
    moderation.suspend(mod, users["suspended"])
    Vote.objects.update(voter_joined=None)  # as the new column starts
    migration = importlib.import_module("paperfeed.feed.migrations.0004_vote_voter_joined")
    migration.copy_standing(apps, SimpleNamespace(connection=connection))
    now = timezone.now()
    assert counted(now) == set(Vote.objects.filter(user=users["ok"]).values_list("pk", flat=True))
    assert len(counted(now + TRENDING_MIN_ACCOUNT_AGE)) == 2  # "new" has come of age


def test_the_migration_leaves_out_the_votes_of_accounts_deactivated_before_it(paper: Paper) -> None:
    """feed.0006: the flag that said "suspended" says "suspended or deactivated"; undone, it says
    "suspended" again."""
    mod = make_user("mod", staff=True)
    users = {name: make_user(name) for name in ("ok", "inactive", "suspended", "both")}
    for u in users.values():
        feed.upvote(u, paper)
    User.objects.filter(username__in=["inactive", "both"]).update(is_active=False)
    for name in ("suspended", "both"):
        moderation.suspend(mod, users[name])
    Vote.objects.filter(user__suspended_at__isnull=True).update(uncounted=False)  # as the flag was before it
    migration = importlib.import_module("paperfeed.feed.migrations.0006_vote_uncounted")

    def counted_by() -> set[str]:
        return set(Vote.objects.counted().values_list("user__username", flat=True))

    assert counted_by() == {"ok", "inactive"}
    migration.mark_inactive_votes(apps, SimpleNamespace(connection=connection))
    assert counted_by() == {"ok"}
    migration.unmark_inactive_votes(apps, SimpleNamespace(connection=connection))
    assert counted_by() == {"ok", "inactive"}


def _stored(pk: int) -> tuple[str, int]:
    return Comment.objects.filter(pk=pk).values_list("html", "markup_version").get()


def test_a_stale_comment_is_read_rendered_by_the_current_rules_and_kept_so() -> None:
    [p] = load_papers(1)
    c = stale_comment(p)
    assert render_comment(PRICES) == PRICES_NOW and MARKUP_VERSION > 0
    read = Comment.objects.get(pk=c.pk)
    assert (read.html, read.markup_version, read.loaded_stale) == (PRICES_NOW, MARKUP_VERSION, 0)
    assert _stored(c.pk) == (PRICES_THEN, 0)  # reading alone writes nothing
    assert Comment.objects.store_renderings([read]) == 1
    assert _stored(c.pk) == (PRICES_NOW, MARKUP_VERSION) and read.loaded_stale is None
    assert Comment.objects.store_renderings([read]) == 0
    again = Comment.objects.get(pk=c.pk)
    assert again.loaded_stale is None and again.html == PRICES_NOW
    # Without its body, version or HTML loaded, nothing is rendered (nor loaded to render).
    assert Comment.objects.filter(pk=c.pk).update(markup_version=0) == 1
    partial = Comment.objects.only("pk", "paper").get(pk=c.pk)
    assert partial.loaded_stale is None and "html" in partial.get_deferred_fields()


def test_a_stale_rendering_is_sanitised_as_a_new_one() -> None:
    """Re-rendering is the writer's path: whatever the stored HTML was, the body's raw HTML, event
    handlers and javascript: links come out escaped or gone."""
    [p] = load_papers(1)
    body = '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)"> $a<b$'
    c = stale_comment(p, body, "<p>old</p>")
    html = Comment.objects.get(pk=c.pk).html
    assert html == render_comment(body)
    assert "<script" not in html and "href" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and '<span class="math">a&lt;b</span>' in html


def test_an_edit_after_a_stale_read_is_not_overwritten_by_its_write_back() -> None:
    [p] = load_papers(1)
    author = make_user("editor")
    c = stale_comment(p, author=author)
    read = Comment.objects.get(pk=c.pk)  # a page's read, stale ...
    feed.edit_comment(author, Comment.objects.get(pk=c.pk), "*Edited*")  # ... an edit meanwhile ...
    assert Comment.objects.store_renderings([read]) == 0  # ... and the page's write-back
    assert _stored(c.pk) == ("<p><em>Edited</em></p>\n", MARKUP_VERSION)
    # An older version still running during an upgrade edits without the version: the row stays
    # stale, and the body the read saw is not the row's any more, so it is left for the next read.
    Comment.objects.filter(pk=c.pk).update(markup_version=0)
    read = Comment.objects.get(pk=c.pk)
    Comment.objects.filter(pk=c.pk).update(body="by the old code", html="<p>by the old code</p>\n")
    assert Comment.objects.store_renderings([read]) == 0
    assert Comment.objects.get(pk=c.pk).html == "<p>by the old code</p>\n"


def test_new_and_edited_comments_carry_the_current_version() -> None:
    [p] = load_papers(1)
    author = make_user("writer")
    c = feed.add_comment(author, p, PRICES)
    assert _stored(c.pk) == (PRICES_NOW, MARKUP_VERSION)
    Comment.objects.filter(pk=c.pk).update(markup_version=0)
    feed.edit_comment(author, Comment.objects.get(pk=c.pk), "$x$")
    assert _stored(c.pk) == ('<p><span class="math">x</span></p>\n', MARKUP_VERSION)
    assert Comment.objects.stale().count() == 0
