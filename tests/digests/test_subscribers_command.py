"""`paperfeed subscribers add` in this process (the subprocess tests in test_commands.py run the
main checkout's code)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from paperfeed.digests.models import Subscriber
from paperfeed.papers.models import Category

pytestmark = pytest.mark.django_db


def test_unknown_categories_are_named_and_nothing_is_saved() -> None:
    # A CommandError is what the command line turns into its message on stderr and exit status 1.
    with pytest.raises(CommandError) as refused:
        call_command(
            "subscribers", "add", "--confirmed", "--categories", "cs.CL, cs.XX,deep", "a@example.org"
        )
    assert str(refused.value) == (
        "--categories: not an arXiv category: cs.XX, deep (use codes such as cs.CL, math.PR, hep-th); "
        "nobody was added"
    )
    assert refused.value.returncode != 0
    assert not Subscriber.objects.exists()


def test_known_categories_are_stored_as_arxiv_writes_them() -> None:
    Category.objects.create(code="cmp-lg")  # a retired archive, known from the stored papers
    call_command("subscribers", "add", "--confirmed", "--categories", "cs.cl,hep-th,cmp-lg,cs.CL", "a@x.org")
    assert Subscriber.objects.get().categories == ["cs.CL", "hep-th", "cmp-lg"]


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
