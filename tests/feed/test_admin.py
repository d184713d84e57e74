"""Submissions, votes and comments in the admin: an operator (a superuser, through a real client) can
list, search and open them, and cannot add, change or delete one (core.admin.ReadOnly)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from paperfeed.accounts.models import User
from paperfeed.feed import services as feed
from paperfeed.feed.models import Comment, Submission, Vote
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
