"""A small community: six papers on today's list, a moderator, a reader who reports, a spammer who
submitted and voted, and a comment."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from paperfeed.feed import services as feed
from tests.sitedata import load_papers, make_user


@pytest.fixture
def community() -> dict[str, Any]:
    papers = load_papers(6)
    mod = make_user("mod", staff=True)
    reader, spammer, other = make_user("reader"), make_user("spammer"), make_user("other")
    today = timezone.localdate()
    for p in papers[:3]:
        feed.submit(p.arxiv_id, spammer, today)
    for p in papers[3:5]:
        feed.submit(p.arxiv_id, other, today)
    # The spammer's votes lift their own paper 2 above paper 3, which one honest reader likes.
    feed.upvote(spammer, papers[2])
    feed.upvote(other, papers[2])
    feed.upvote(reader, papers[3])
    comment = feed.add_comment(spammer, papers[3], "Buy cheap <b>pills</b> at https://spam.example")
    return {
        "papers": papers,
        "mod": mod,
        "reader": reader,
        "spammer": spammer,
        "other": other,
        "comment": comment,
    }
