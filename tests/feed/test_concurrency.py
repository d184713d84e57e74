"""Concurrent upvotes: no lost or double counts, on SQLite and PostgreSQL (issue 4, RELIABILITY S5)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from paperfeed.feed import services
from paperfeed.feed.models import Vote
from tests.sitedata import load_papers, make_user, on_a_list

pytestmark = pytest.mark.django_db(transaction=True)


def _together(fns: list) -> list[BaseException]:  # type: ignore[type-arg]
    barrier = threading.Barrier(len(fns))
    errors: list[BaseException] = []

    def run(fn) -> None:  # type: ignore[no-untyped-def]
        try:
            barrier.wait()
            fn()
        except BaseException as e:
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(fn,)) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_fifty_users_upvote_at_once() -> None:
    [p] = load_papers(1)
    users = [make_user(f"c{i}") for i in range(50)]
    errors = _together([lambda u=u: services.upvote(u, p) for u in users])
    assert not errors
    assert Vote.objects.filter(paper=p).count() == 50


def test_one_user_fifty_identical_clicks() -> None:
    [p] = load_papers(1)
    u = make_user("clicker")
    errors = _together([lambda: services.upvote(u, p) for _ in range(50)])
    # Past the 30-per-minute limit some are refused with 429; none is counted twice.
    assert all(isinstance(e, services.throttle.RateLimited) for e in errors)
    assert Vote.objects.filter(paper=p).count() == 1


def test_votes_cast_while_their_accounts_are_verified_take_the_verification() -> None:
    """A vote takes its voter's standing from the row upvote locks, which the verification's save
    writes under the same lock: whichever commits first, the vote ends up counted for trending
    (Vote.voter_joined), never left with the standing the request's own user object had."""
    from paperfeed.accounts import services as accounts

    papers = on_a_list(load_papers(2))
    users = [make_user(f"v{i}", verified=False) for i in range(12)]
    tokens = [accounts.verification_token(u) for u in users]
    fns = []
    for u, token in zip(users, tokens, strict=True):
        fns += [lambda u=u: [services.upvote(u, p) for p in papers], lambda t=token: accounts.verify_email(t)]
    assert not _together(fns)
    assert Vote.objects.count() == 2 * len(users)
    assert not Vote.objects.filter(voter_joined__isnull=True).exists()
