"""`paperfeed subscribers add` in this process (the subprocess tests in test_commands.py run the
main checkout's code)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command

from paperfeed.digests.management.commands.subscribers import Command
from paperfeed.digests.models import Subscriber
from paperfeed.papers.models import Category

pytestmark = pytest.mark.django_db


def test_unknown_categories_are_named_and_nothing_is_saved() -> None:
    # A CommandError is what the command line turns into its message on stderr; a mistake in the
    # arguments, as argparse's own are: status 2.
    with pytest.raises(CommandError) as refused:
        call_command(
            "subscribers", "add", "--confirmed", "--categories", "cs.CL, cs.XX,deep", "a@example.org"
        )
    assert str(refused.value) == (
        "--category: no such category: “cs.XX”, “deep” (codes look like cs.CL, math.PR, hep-th); "
        "nobody was added"
    )
    assert refused.value.returncode == 2
    assert not Subscriber.objects.exists()


def test_an_alert_that_could_never_match_is_refused_as_the_settings_page_refuses_it() -> None:
    # `--search 'x cat:cs.XX'` was saved: an alert that lists nothing, ever, without a word.
    with pytest.raises(CommandError) as refused:
        call_command("subscribers", "add", "--confirmed", "--search", "x cat:cs.XX", "a@example.org")
    assert str(refused.value) == (
        "--search: no such category: “cs.XX” (codes look like cs.CL, math.PR, hep-th); nobody was added"
    )
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="--search: a saved search is at most 200 characters"):
        call_command("subscribers", "add", "--search", "x" * 201, "a@example.org")
    assert not Subscriber.objects.exists()
    call_command("subscribers", "add", "--confirmed", "--search", "x cat:cs.cl", "a@example.org")
    assert Subscriber.objects.get().searches == ["x cat:cs.cl"]


def test_known_categories_are_stored_as_arxiv_writes_them() -> None:
    Category.objects.create(code="cmp-lg")  # a retired archive, known from the stored papers
    call_command("subscribers", "add", "--confirmed", "--categories", "cs.cl,hep-th,cmp-lg,cs.CL", "a@x.org")
    assert Subscriber.objects.get().categories == ["cs.CL", "hep-th", "cmp-lg"]
    # The spelling search and similar take: repeated --category, each one code or a comma list.
    call_command(
        "subscribers", "add", "--confirmed", "--category", "cs.cl", "--category", "hep-th,cmp-lg", "b@x.org"
    )
    assert Subscriber.objects.get(email="b@x.org").categories == ["cs.CL", "hep-th", "cmp-lg"]


def test_a_run_that_adds_or_removes_nobody_fails_after_its_report(capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="no address was added: 2 refused"):
        call_command("subscribers", "add", "--confirmed", "bad@@x", "not an email")
    assert "invalid: 2" in capsys.readouterr().out  # the report still names what was refused
    # One good address among bad ones is a finished run: the bad ones are reported, not fatal.
    call_command("subscribers", "add", "--confirmed", "bad@@x", "good@example.org")
    assert list(Subscriber.objects.values_list("email", flat=True)) == ["good@example.org"]
    with pytest.raises(CommandError, match="no subscriber has the address"):
        call_command("subscribers", "remove", "nobody@example.org")
    call_command("subscribers", "remove", "nobody@example.org", "good@example.org")
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED


def test_removing_or_suppressing_twice_reports_the_second_time_as_unchanged(capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("subscribers", "add", "--confirmed", "bob@lab.example")
    capsys.readouterr()
    for action, state in (("remove", "unsubscribed"), ("suppress", "suppressed")):
        call_command("subscribers", action, "bob@lab.example", "--json")
        assert json.loads(capsys.readouterr().out) == {"changed": 1, "unchanged": [], "unknown": []}
        # Found and already so: reported as unchanged, and not a failure (no CommandError).
        call_command("subscribers", action, "bob@lab.example", "--json")
        assert json.loads(capsys.readouterr().out) == {
            "changed": 0,
            "unchanged": ["bob@lab.example"],
            "unknown": [],
        }
        call_command("subscribers", action, "bob@lab.example")
        assert f"unchanged (already {state}): bob@lab.example" in capsys.readouterr().out
    bob = Subscriber.objects.get()
    assert (
        bob.status == Subscriber.Status.UNSUBSCRIBED and bob.suppressed_reason == "suppressed by an operator"
    )


def test_list_gives_dates_in_iso_8601_and_help_names_every_action(capsys) -> None:  # type: ignore[no-untyped-def]
    call_command("subscribers", "add", "--confirmed", "bob@lab.example")
    call_command("subscribers", "suppress", "bob@lab.example")
    capsys.readouterr()
    call_command("subscribers", "list", "--json")
    (row,) = json.loads(capsys.readouterr().out)["subscribers"]
    bob = Subscriber.objects.get()
    assert bob.suppressed_at is not None
    assert row["created_at"] == bob.created_at.isoformat() and "T" in row["created_at"]
    assert row["suppressed_at"] == bob.suppressed_at.isoformat()
    assert dt.datetime.fromisoformat(row["created_at"]) == bob.created_at
    helptext = Command().create_parser("paperfeed", "subscribers").format_help()
    assert all(f"`{a}`" in helptext for a in ("add", "list", "remove", "suppress"))


def test_every_surface_words_an_unknown_category_as_no_such_categories_does() -> None:
    # One function, one message (the search page and API show search's: tests/search/test_surfaces.py):
    # search's filter, the follow and digest settings forms, the command line.
    from paperfeed.accounts.forms import ProfileForm
    from paperfeed.digests.forms import SettingsForm
    from paperfeed.papers.services import no_such_categories
    from paperfeed.search.query import InvalidFilter
    from paperfeed.search.services import known_categories

    said = no_such_categories(["cs.XX"])
    with pytest.raises(InvalidFilter) as search:
        known_categories(["cs.CL", "cs.XX"])
    assert str(search.value) == said
    with pytest.raises(CommandError) as cli:
        call_command("subscribers", "add", "--category", "cs.XX", "a@example.org")
    assert str(cli.value) == f"--category: {said[0].lower()}{said[1:-1]}; nobody was added"
    here = no_such_categories(["cs.XX"], stored_only=True)
    follow = ProfileForm({"categories": "cs.XX"})
    assert not follow.is_valid() and follow.errors["categories"] == [here]
    sub = Subscriber.objects.create(email="b@example.org", status=Subscriber.Status.CONFIRMED)
    digest = SettingsForm({"frequency": "daily", "send_hour": "7", "categories_text": "cs.XX"}, instance=sub)
    assert not digest.is_valid() and digest.errors["categories_text"] == [here]
