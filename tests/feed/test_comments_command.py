"""`paperfeed comments rerender`, run in this process on the test database."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from paperfeed.feed.markup import MARKUP_VERSION
from paperfeed.feed.models import Comment
from tests.sitedata import PRICES_NOW, load_papers, stale_comment

pytestmark = pytest.mark.django_db


def test_rerender_reports_its_counts_and_a_second_run_finds_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    [p] = load_papers(1)
    changed = [stale_comment(p), stale_comment(p, hidden=True), stale_comment(p, author=None)]
    alike = stale_comment(p, "plain", "<p>plain</p>\n")
    call_command("comments", "rerender", "--batch", "2", "--json")
    assert json.loads(capsys.readouterr().out) == {
        "markupVersion": MARKUP_VERSION,
        "stale": 4,
        "rerendered": 4,
        "changed": 3,
        "skipped": 0,
        "markup_version": MARKUP_VERSION,  # the 0.1 name beside, as every command's
    }
    assert {Comment.objects.get(pk=c.pk).html for c in changed} == {PRICES_NOW}
    assert Comment.objects.get(pk=alike.pk).html == "<p>plain</p>\n"

    out = StringIO()
    call_command("comments", "rerender", stdout=out)
    assert out.getvalue() == f"every comment is rendered by the current rules (version {MARKUP_VERSION})\n"
    Comment.objects.filter(pk=alike.pk).update(markup_version=0)
    call_command("comments", "rerender", stdout=out)
    assert out.getvalue().endswith(
        f"1 comment re-rendered with the rules of version {MARKUP_VERSION}, 0 of them changed\n"
    )


def test_rerender_refuses_a_batch_out_of_bounds() -> None:
    with pytest.raises(CommandError, match="must be a whole number from 1 to 10000, not '0'"):
        call_command("comments", "rerender", "--batch", "0")
