"""Domain words on the account model."""

from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from paperfeed.accounts.models import User
from tests.sitedata import make_user

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
