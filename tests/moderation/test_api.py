"""Reports filed by API token, and the API's lists after moderation."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from paperfeed.accounts import services as accounts
from paperfeed.moderation import services
from paperfeed.moderation.models import Report

pytestmark = pytest.mark.django_db


def _auth(user: Any) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {accounts.create_api_token(user).secret}"}


def test_reports_by_token(community: dict[str, Any]) -> None:
    c, paper = Client(), community["papers"][0]
    auth = _auth(community["reader"])
    r = c.post(
        f"/api/papers/{paper.arxiv_id}/report",
        {"reason": "off-topic", "text": "not ML"},
        "application/json",
        **auth,
    )
    assert r.status_code == 201 and r.json()["status"] == "open" and r.json()["reason"] == "off-topic"
    again = c.post(f"/api/papers/{paper.arxiv_id}/report", {"reason": "spam"}, "application/json", **auth)
    assert again.status_code == 409 and "already reported" in again.json()["error"]
    com = community["comment"]
    assert (
        c.post(f"/api/comments/{com.pk}/report", {"reason": "spam"}, "application/json", **auth).status_code
        == 201
    )
    services.hide_comment(community["mod"], com)  # resolves that report; a hidden comment is not reportable
    r = c.post(f"/api/comments/{com.pk}/report", {"reason": "spam"}, "application/json", **auth)
    assert r.status_code == 404
    services.suspend(community["mod"], community["reader"])
    r = c.post(
        f"/api/papers/{community['papers'][1].arxiv_id}/report",
        {"reason": "spam"},
        "application/json",
        **auth,
    )
    assert r.status_code == 403 and "suspended" in r.json()["error"]
    assert Report.objects.count() == 2


def test_api_lists_leave_out_removed_submissions_and_suspended_votes(
    community: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    papers, mod, c = community["papers"], community["mod"], Client()

    def upvotes(path: str) -> dict[str, int]:
        return {x["paper"]["id"]: x["paper"]["upvotes"] for x in c.get(path).json()}

    assert upvotes("/api/daily_papers")[papers[2].arxiv_id] == 2
    with django_capture_on_commit_callbacks(execute=True):  # the lists' cache version moves on
        services.suspend(mod, community["spammer"])
    assert upvotes("/api/daily_papers")[papers[2].arxiv_id] == 1
    assert upvotes("/api/trending")[papers[2].arxiv_id] == 1
    assert c.get(f"/api/papers/{papers[2].arxiv_id}").json()["upvotes"] == 1
    # A suspended account's token cannot vote either.
    r = c.post(f"/api/papers/{papers[0].arxiv_id}/upvote", **_auth(community["spammer"]))
    assert r.status_code == 403 and "suspended" in r.json()["error"]
    sub = services.submission_of(papers[2].arxiv_id)
    assert sub is not None
    with django_capture_on_commit_callbacks(execute=True):
        services.remove_submission(mod, sub)
    assert papers[2].arxiv_id not in upvotes("/api/daily_papers")
    assert papers[2].arxiv_id not in upvotes("/api/trending")
    # The paper's own answer (and any list that still shows the paper, e.g. a search) no longer
    # names who submitted it; restored, it does again.
    one = c.get(f"/api/papers/{papers[2].arxiv_id}").json()
    assert one["submittedOnDailyBy"] is None and one["submittedOnDailyAt"] is None
    with django_capture_on_commit_callbacks(execute=True):
        services.restore_submission(mod, sub)
    assert c.get(f"/api/papers/{papers[2].arxiv_id}").json()["submittedOnDailyBy"]["user"] == "spammer"


def test_a_reader_cannot_report_their_own_submission_or_comment_by_token(community: dict[str, Any]) -> None:
    c, auth = Client(), _auth(community["spammer"])
    paper, com = community["papers"][0], community["comment"]
    r = c.post(f"/api/papers/{paper.arxiv_id}/report", {"reason": "spam"}, "application/json", **auth)
    assert r.status_code == 403 and r.json() == {"error": "You cannot report your own submission."}
    r = c.post(f"/api/comments/{com.pk}/report", {"reason": "spam"}, "application/json", **auth)
    assert r.status_code == 403 and r.json() == {"error": "You cannot report your own comment."}
    assert not Report.objects.exists()
