"""Domain words on the account model."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from paperfeed.accounts.models import User
from paperfeed.feed.models import Vote
from tests.sitedata import load_papers, make_user

pytestmark = pytest.mark.django_db


def test_named_finds_an_account_as_log_in_does() -> None:
    alice = make_user("Alice_R")
    make_user("bob")
    for text in ("Alice_R", "alice_r", "ALICE_R", "alice_r@EXAMPLE.org", "Alice_R@example.org"):
        assert list(User.objects.named(text)) == [alice], text
    assert not User.objects.named("alice").exists()
    assert not User.objects.named("bob@example.com").exists()


def test_recommend_takes_the_name_in_any_case(capsys) -> None:  # type: ignore[no-untyped-def]
    make_user("QA_Alice")
    call_command("recommend", "qa_alice", "--json")
    assert json.loads(capsys.readouterr().out)["user"] == "QA_Alice"
    with pytest.raises(CommandError, match="no user 'qa_bob'"):
        call_command("recommend", "qa_bob")


def test_a_save_of_the_standing_copies_it_to_the_votes_and_other_saves_do_not() -> None:
    """Vote.voter_joined follows the account (tests/feed/test_models.py for each change); a save of
    other fields, as each log-in saves last_login, leaves the votes alone."""
    user = make_user("voter", verified=False)
    Vote.objects.create(user=user, paper=load_papers(1)[0])
    with CaptureQueriesContext(connection) as q:
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
        user.bio = "hello"
        user.save(update_fields=["bio"])
    assert not [x for x in q.captured_queries if "feed_vote" in x["sql"]]
    user.email_verified = True
    user.save(update_fields=["email_verified"])
    assert Vote.objects.get(user=user).voter_joined == User.objects.get(pk=user.pk).date_joined
