"""Reports filed by API token, purges and their undo by a moderator's token, and the API's lists
after moderation."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from paperfeed.accounts import services as accounts
from paperfeed.feed.models import Submission
from paperfeed.moderation import services
from paperfeed.moderation.models import Action, Report
from tests.sitedata import make_user

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


def _post(path: str, body: Any, auth: dict[str, str]) -> Any:
    return Client().post(path, body, "application/json", **auth)


def test_a_moderator_purges_and_undoes_by_token(community: dict[str, Any]) -> None:
    spammer, c = community["spammer"], community["comment"]
    report = services.file_report(community["reader"], c, "spam")
    mod = _auth(community["mod"])
    r = _post("/api/moderation/users/Spammer/purge", {"reason": "pills <b>"}, mod)  # any case, as the CLI
    assert r.status_code == 201, r.content
    got = r.json()
    purge = Action.objects.get(kind=Action.Kind.PURGE_USER)
    assert got == {
        "action": "purge-user",
        "purge": purge.pk,
        "undoes": None,
        "user": "spammer",
        "suspended": True,
        "submissions": purge.touched["submissions"],
        "comments": [c.pk],
        "reportsClosed": 1,
        "reports": [report.pk],
        "sentence": "mod suspended user spammer and removed 3 submissions, hid 1 comment, closed 1 report:"
        " pills <b>",
    }
    spammer.refresh_from_db()
    assert spammer.is_suspended and len(got["submissions"]) == 3 and purge.moderator == community["mod"]
    assert not Submission.objects.visible().filter(submitted_by=spammer).exists()

    r = _post(f"/api/moderation/actions/{purge.pk}/undo", {"reason": "wrong account"}, mod)
    assert r.status_code == 201, r.content
    undo = r.json()
    assert (undo["action"], undo["undoes"], undo["reports"]) == ("unpurge-user", purge.pk, [report.pk])
    assert undo["sentence"] == (
        "mod lifted the suspension of user spammer and restored 3 submissions, unhid 1 comment,"
        " reopened 1 report: wrong account"
    )
    report.refresh_from_db()
    spammer.refresh_from_db()
    assert report.status == Report.Status.OPEN and not spammer.is_suspended
    again = _post(f"/api/moderation/actions/{purge.pk}/undo", {}, mod)
    assert again.status_code == 409 and again.json() == {"error": f"Action {purge.pk} is already undone."}
    # Only a purge is undone: the undo's own id is no purge.
    assert _post(f"/api/moderation/actions/{undo['purge']}/undo", {}, mod).status_code == 404


def test_only_moderators_purge_and_they_give_a_reason(community: dict[str, Any]) -> None:
    mod, reader = community["mod"], community["reader"]
    for who in (reader, make_user("suspended-mod", staff=True)):
        if who.is_staff:
            services.suspend(mod, who)
        auth = _auth(who)
        # The same 403 whether the account or the action exists or not: nothing is looked up first.
        for path in ("spammer/purge", "nobody/purge"):
            r = _post(f"/api/moderation/users/{path}", {"reason": "spam"}, auth)
            assert r.status_code == 403, r.content
        assert _post("/api/moderation/actions/1/undo", {}, auth).status_code == 403
        assert _post("/api/moderation/actions/999/undo", {}, auth).status_code == 403
    assert (
        "Only moderators"
        in _post("/api/moderation/users/spammer/purge", {"reason": "x"}, _auth(reader)).json()["error"]
    )
    auth = _auth(mod)
    r = _post("/api/moderation/users/nobody/purge", {"reason": "spam"}, auth)
    assert r.status_code == 404 and r.json() == {"error": "no user 'nobody'"}
    assert _post("/api/moderation/actions/999/undo", {}, auth).json() == {"error": "no purge with id 999"}
    for body in ({}, {"reason": "   "}):
        r = _post("/api/moderation/users/spammer/purge", body, auth)
        assert r.status_code == 400 and r.json()["error"].startswith("Give a reason for the log")
    assert _post("/api/moderation/users/mod/purge", {"reason": "x"}, auth).status_code == 400  # one's own
    assert not Action.objects.filter(kind=Action.Kind.PURGE_USER).exists()
    community["spammer"].refresh_from_db()
    assert not community["spammer"].is_suspended


def test_the_purge_operations_are_in_the_openapi_document() -> None:
    doc = Client().get("/api/openapi.json").json()
    purge = doc["paths"]["/api/moderation/users/{name}/purge"]["post"]
    undo = doc["paths"]["/api/moderation/actions/{action_id}/undo"]["post"]
    for op in (purge, undo):
        assert op["tags"] == ["moderation"] and op["security"] == [{"TokenAuth": []}]
        assert {"201", "400", "401", "403", "404", "409"} <= set(op["responses"])
    assert doc["components"]["schemas"]["PurgeIn"]["required"] == ["reason"]
    assert purge["requestBody"]["required"] is True and undo["requestBody"]["required"] is False
