"""The report form, the staff pages and what a suspended reader is told, through Django's test client."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from paperfeed.accounts.models import User
from paperfeed.feed.models import Submission
from paperfeed.moderation import services, views
from paperfeed.moderation.models import Action, Report
from tests.sitedata import make_user

pytestmark = pytest.mark.django_db

STAFF_PAGES = ["/moderation", "/moderation/log", "/moderation/users/spammer"]


def _client(user: Any, **kw: Any) -> Client:
    c = Client(**kw)
    c.force_login(user)
    return c


def _csrf(page: bytes) -> str:
    m = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert m
    return m.group(1).decode()


def test_only_staff_see_the_moderation_pages(community: dict[str, Any]) -> None:
    for path in STAFF_PAGES:
        anon = Client().get(path)
        assert anon.status_code == 302 and anon["Location"].startswith("/login"), path
        r = _client(community["reader"]).get(path)
        assert r.status_code == 403 and b"Moderation log" not in r.content, path
        assert _client(community["mod"]).get(path).status_code == 200, path
    sub = services.submission_of(community["papers"][2].arxiv_id)
    assert sub is not None
    for who in (community["reader"], community["spammer"]):
        r = _client(who).post("/moderation/act", {"action": "remove", "submission": sub.pk})
        assert r.status_code == 403
    assert Client().post("/moderation/act", {"action": "remove", "submission": sub.pk}).status_code == 302
    sub.refresh_from_db()
    assert sub.removed_at is None and not Action.objects.exists()
    # The nav links the queue for staff only.
    assert b'href="/moderation"' in _client(community["mod"]).get("/papers").content
    assert b'href="/moderation"' not in _client(community["reader"]).get("/papers").content


def test_a_reader_reports_a_paper_and_a_comment(community: dict[str, Any]) -> None:
    paper, c = community["papers"][0], community["comment"]
    reader = _client(community["reader"], enforce_csrf_checks=True)
    page = reader.get(f"/papers/{paper.arxiv_id}")
    assert f'href="/report/paper/{paper.arxiv_id}"'.encode() in page.content
    assert f'href="/report/comment/{c.pk}"'.encode() in reader.get(f"/papers/{c.paper.arxiv_id}").content
    form = reader.get(f"/report/paper/{paper.arxiv_id}")
    assert form.status_code == 200 and b'name="reason"' in form.content
    assert reader.post(f"/report/paper/{paper.arxiv_id}", {"reason": "spam"}).status_code == 403  # no CSRF
    token = _csrf(form.content)
    r = reader.post(
        f"/report/paper/{paper.arxiv_id}",
        {"reason": "spam", "text": "<script>alert(1)</script>", "csrfmiddlewaretoken": token},
    )
    assert r.status_code == 302 and r["Location"] == f"/papers/{paper.arxiv_id}"
    again = reader.post(f"/report/paper/{paper.arxiv_id}", {"reason": "spam", "csrfmiddlewaretoken": token})
    assert again.status_code == 400 and b"already reported this paper" in again.content
    bad = reader.post(
        f"/report/comment/{c.pk}", {"reason": "", "text": "keep me", "csrfmiddlewaretoken": token}
    )
    assert bad.status_code == 400 and b"Pick a reason" in bad.content and b"keep me" in bad.content
    r = reader.post(f"/report/comment/{c.pk}", {"reason": "abuse", "csrfmiddlewaretoken": token})
    assert r.status_code == 302 and r["Location"].endswith(f"#c{c.pk}")
    assert Report.objects.open().count() == 2
    # A paper not on the feed, a comment that is not there: nothing to report.
    assert reader.get(f"/report/paper/{community['papers'][5].arxiv_id}").status_code == 404
    assert reader.get("/report/comment/999999").status_code == 404
    assert Client().get(f"/report/paper/{paper.arxiv_id}").status_code == 302  # log in first
    unverified = _client(make_user("new", verified=False))
    r = unverified.post(f"/report/paper/{paper.arxiv_id}", {"reason": "spam"})
    assert r.status_code == 403 and b"Verify your email" in r.content
    # The queue shows both items with the reports, the reader's text escaped.
    q = _client(community["mod"]).get("/moderation")
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in q.content and b"<script>alert(1)" not in q.content
    assert b"Spam or advertising" in q.content and b"Abusive, harassing or hateful" in q.content
    assert b"Buy cheap &lt;b&gt;pills&lt;/b&gt;" in q.content


def test_staff_act_from_the_queue_and_the_log_says_so(
    community: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    spam, c = community["papers"][2], community["comment"]
    sub = services.submission_of(spam.arxiv_id)
    assert sub is not None
    services.file_report(community["reader"], sub, "spam")
    anon = Client()
    assert spam.title.split()[0].encode() in anon.get("/papers").content  # cached for visitors
    mod = _client(community["mod"], enforce_csrf_checks=True)
    token = _csrf(mod.get("/moderation").content)
    assert mod.post("/moderation/act", {"action": "remove", "submission": sub.pk}).status_code == 403  # CSRF
    with django_capture_on_commit_callbacks(execute=True):  # the listing version's bump
        r = mod.post(
            "/moderation/act",
            {
                "action": "remove",
                "submission": sub.pk,
                "reason": "pills <b>ad</b>",
                "csrfmiddlewaretoken": token,
            },
        )
    assert r.status_code == 302
    daily = anon.get("/papers").content.decode()
    assert f"/papers/{spam.arxiv_id}" not in daily  # the visitors' cached page went with the change
    page = anon.get(f"/papers/{spam.arxiv_id}")
    assert b"The moderators removed this paper from the community feed" in page.content
    assert spam.arxiv_id not in json.dumps(anon.get("/api/daily_papers").json())
    assert spam.arxiv_id not in anon.get("/papers/feed.rss").content.decode()
    subs = anon.get("/api/users/spammer").json()["submissions"]
    assert [x["paper"]["id"] for x in subs] == [p.arxiv_id for p in reversed(community["papers"][:2])]
    for action, form in [
        ("hide", {"comment": c.pk}),
        ("suspend", {"user": "spammer"}),
        ("restore", {"submission": sub.pk}),
        ("remove", {"comment": c.pk}),  # does not apply to a comment: said, nothing done
    ]:
        r = mod.post("/moderation/act", {"action": action, "csrfmiddlewaretoken": token, **form}, follow=True)
        assert r.status_code == 200
    assert "does not apply to a comment" in r.content.decode()
    log = mod.get("/moderation/log").content.decode()
    assert "pills &lt;b&gt;ad&lt;/b&gt;" in log
    # Each line a sentence (Action.wording, as `paperfeed moderate log` prints it), its object a link.
    for words in (
        f'mod removed the <a href="/papers/{spam.arxiv_id}">submission of {spam.arxiv_id}',
        f'mod hid the <a href="/papers/{c.paper.arxiv_id}#c{c.pk}">comment {c.pk} by spammer',
        'mod suspended <a href="/users/spammer">user spammer</a>',
        "mod restored the <a",
    ):
        assert words in log, words
    assert [a.kind for a in Action.objects.newest_first()] == [
        "restore-submission",
        "suspend-user",
        "hide-comment",
        "remove-submission",
    ]
    r = mod.post("/moderation/act", {"action": "nuke", "csrfmiddlewaretoken": token})
    # The site's 400 page with the reason and a way back, not a bare text/plain line.
    assert r.status_code == 400 and r["Content-Type"].startswith("text/html")
    page = r.content.decode()
    assert "<h1>Bad request</h1>" in page and "Unknown action (one of remove," in page
    assert 'href="/moderation">Back to the queue' in page


def test_a_suspended_reader_is_told_why_not_given_a_500(community: dict[str, Any]) -> None:
    spammer, paper = community["spammer"], community["papers"][0]
    services.suspend(community["mod"], spammer)
    c = _client(spammer)
    r = c.post(f"/papers/{paper.arxiv_id}/vote", HTTP_ACCEPT="application/json")
    assert r.status_code == 403 and "suspended" in r.json()["error"]
    r = c.post(f"/papers/{paper.arxiv_id}/vote")  # without JavaScript: the site's 403 page, with the reason
    assert r.status_code == 403 and r["Content-Type"].startswith("text/html")
    assert b"<h1>Not allowed</h1>" in r.content and b"suspended" in r.content
    page = c.get(f"/papers/{paper.arxiv_id}").content
    assert b"you cannot comment until" in page and b'name="body"' not in page  # no form to fill in vain
    r = c.post(f"/papers/{paper.arxiv_id}/comments", {"body": "more spam"})
    assert r.status_code == 302 and "you cannot comment" in c.session["feed:comment-draft"]["error"]
    r = c.post("/submit", {"paper": community["papers"][5].arxiv_id})
    assert r.status_code == 400 and b"you cannot submit papers" in r.content
    theirs = community["papers"][3]  # submitted by another reader: the suspension is what refuses it
    r = c.post(f"/report/paper/{theirs.arxiv_id}", {"reason": "spam"})
    assert r.status_code == 403 and b"you cannot report" in r.content


def test_the_admin_shows_reports_and_the_log_read_only(community: dict[str, Any]) -> None:
    admin = make_user("root", staff=True)
    admin.is_superuser = True
    admin.save()
    services.suspend(community["mod"], community["spammer"], "vote ring")
    c = _client(admin)
    r = c.get("/admin/moderation/action/")
    assert r.status_code == 200 and b"vote ring" in r.content
    assert c.get("/admin/moderation/report/").status_code == 200
    assert c.get("/admin/moderation/action/add/").status_code == 403


def test_a_suspended_moderator_cannot_moderate(community: dict[str, Any]) -> None:
    """The staff flag stays through a suspension (so lifting it gives the role back), but neither the
    pages, the actions nor the paper page's buttons are open to the suspended account meanwhile."""
    boss, mod = make_user("boss", staff=True), community["mod"]
    services.suspend(boss, mod)
    c = _client(mod)
    for path in STAFF_PAGES:
        r = c.get(path)
        assert r.status_code == 403 and b"you cannot moderate" in r.content, path
    sub = services.submission_of(community["papers"][2].arxiv_id)
    assert sub is not None
    assert c.post("/moderation/act", {"action": "remove", "submission": sub.pk}).status_code == 403
    assert c.post("/moderation/act", {"action": "unsuspend", "user": "mod"}).status_code == 403
    com = community["comment"]
    assert c.post(f"/comments/{com.pk}/hide", {"hidden": "1"}).status_code == 403
    page = c.get(f"/papers/{community['papers'][2].arxiv_id}").content
    assert b'href="/moderation"' not in page and b'value="remove"' not in page
    sub.refresh_from_db()
    com.refresh_from_db()
    assert mod.is_staff and sub.removed_at is None and not com.hidden
    assert Action.objects.filter(moderator=mod).count() == 0
    r = c.get("/admin/")  # the admin too: its login page, not its index
    assert r.status_code == 302 and "login" in r["Location"]
    services.unsuspend(boss, mod)
    assert c.get("/moderation").status_code == 200 and c.get("/admin/").status_code == 200


def test_a_reader_cannot_report_what_they_posted(community: dict[str, Any]) -> None:
    spammer, paper, com = community["spammer"], community["papers"][0], community["comment"]
    c = _client(spammer)
    page = c.get(f"/papers/{paper.arxiv_id}").content  # the spammer submitted it: no report link
    assert f'href="/report/paper/{paper.arxiv_id}"'.encode() not in page
    for r in (c.get(f"/report/paper/{paper.arxiv_id}"), c.get(f"/report/comment/{com.pk}")):
        # Typed by hand: the form is not offered at all, rather than refused once filled in.
        assert r.status_code == 403 and b"You cannot report your own" in r.content
        assert b"<form" not in r.content.split(b"<main", 1)[-1].split(b"</main>")[0]
    r = c.post(f"/report/paper/{paper.arxiv_id}", {"reason": "spam"})
    assert r.status_code == 403 and b"You cannot report your own submission." in r.content
    r = c.post(f"/report/comment/{com.pk}", {"reason": "spam"})
    assert r.status_code == 403 and b"You cannot report your own comment." in r.content
    assert not Report.objects.exists()


def test_only_moderators_see_who_submitted_a_removed_paper(
    community: dict[str, Any], django_capture_on_commit_callbacks: Any
) -> None:
    paper = community["papers"][0]
    sub = services.submission_of(paper.arxiv_id)
    assert sub is not None
    named = b' by <a href="/users/spammer">spammer</a>'
    assert named in Client().get(f"/papers/{paper.arxiv_id}").content  # on the feed: named to all
    with django_capture_on_commit_callbacks(execute=True):  # the cache version bump
        services.remove_submission(community["mod"], sub)
    for who in (None, community["reader"], community["spammer"]):
        page = (_client(who) if who else Client()).get(f"/papers/{paper.arxiv_id}").content
        assert b"removed by the moderators" in page and named not in page, who
    assert named in _client(community["mod"]).get(f"/papers/{paper.arxiv_id}").content


def test_remove_and_restore_from_a_paper_page_return_to_it(community: dict[str, Any]) -> None:
    paper = community["papers"][2]
    sub = services.submission_of(paper.arxiv_id)
    assert sub is not None
    mod = _client(community["mod"], enforce_csrf_checks=True)
    page = mod.get(f"/papers/{paper.arxiv_id}").content.decode()
    back = f"/papers/{paper.arxiv_id}#moderate"
    assert f'name="next" value="{back}"' in page and 'id="moderate"' in page  # where it was sent from
    token = _csrf(page.encode())
    form = {"submission": sub.pk, "csrfmiddlewaretoken": token, "next": back}
    r = mod.post("/moderation/act", {**form, "action": "remove"})
    assert r.status_code == 302 and r["Location"] == back
    shown = mod.get(r["Location"]).content.decode()
    assert "Removed the submission of" in shown and 'value="restore"' in shown
    # A refusal (already removed) goes back too, with its message there.
    r = mod.post("/moderation/act", {**form, "action": "remove"}, follow=True)
    assert r.redirect_chain[-1][0] == back and "already removed" in r.content.decode()
    # An address off the site, or one a browser reads as another host, is never followed: the queue.
    for bad in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        r = mod.post("/moderation/act", {**form, "action": "restore", "next": bad})
        assert r.status_code == 302 and r["Location"] == "/moderation#main", bad
        services.remove_submission(community["mod"], sub)
    # Without `next` (the queue's own buttons) it is the queue, as before.
    r = mod.post("/moderation/act", {**form, "action": "restore", "next": ""})
    assert r["Location"] == "/moderation#main"
    sub.refresh_from_db()
    assert sub.removed_at is None


def test_the_queue_heading_counts_the_whole_queue(
    community: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    c, sub = community["comment"], services.submission_of(community["papers"][0].arxiv_id)
    assert sub is not None
    services.file_report(community["reader"], c, "abuse")
    mod = _client(community["mod"])
    page = mod.get("/moderation").content.decode()
    assert "1 reported item " in page and "(1 open report)" in page and "Showing the" not in page
    # 200 reports about one paper, newer than the comment's: the page limits items, not reports, so
    # the comment is still listed and the paper with all of its reports (it once showed 200 of 201).
    readers = User.objects.bulk_create(User(username=f"r{i}", email=f"r{i}@example.org") for i in range(200))
    Report.objects.bulk_create(Report(reporter=u, submission=sub, reason="spam") for u in readers)
    page = mod.get("/moderation").content.decode()
    assert "2 reported items" in page and "(201 open reports)" in page and "Showing the" not in page
    assert page.count("<li><strong>Spam or advertising</strong>") == 200 and "Abusive" in page
    monkeypatch.setattr(views, "QUEUE_ITEMS", 1)  # more items than the page lists
    page = mod.get("/moderation").content.decode()
    assert "Showing the 1 most recently reported" in page and "Abusive" not in page


def test_the_removed_and_suspended_lists_say_when_they_stop_short(community: dict[str, Any]) -> None:
    mod = _client(community["mod"])
    services.suspend(community["mod"], community["spammer"])
    page = mod.get("/moderation").content.decode()
    assert 'Suspended accounts <span class="muted">(1)</span>' in page and "Showing the" not in page
    # 101 of each, one more than the page lists.
    now, paper = timezone.now(), community["papers"][5]
    User.objects.bulk_create(
        User(username=f"s{i}", email=f"s{i}@example.org", suspended_at=now) for i in range(100)
    )
    Submission.objects.bulk_create(
        Submission(paper=paper, day=timezone.localdate() - dt.timedelta(days=i + 1), removed_at=now)
        for i in range(101)
    )
    page = mod.get("/moderation").content.decode()
    assert "Showing the 100 most recently suspended of 101." in page
    assert "Showing the 100 most recently removed of 101." in page


def test_suspend_and_remove_everything_from_the_queue_and_undo_it(community: dict[str, Any]) -> None:
    mod, spammer, c = _client(community["mod"]), community["spammer"], community["comment"]
    services.file_report(community["reader"], c, "spam")
    queue = mod.get("/moderation").content.decode()
    assert 'href="/moderation/users/spammer">Suspend spammer and remove everything they posted' in queue
    page = mod.get("/moderation/users/spammer").content.decode()  # the confirm step: nothing done yet
    assert "<strong>3</strong> submissions" in page and "<strong>1</strong> comment " in page
    assert 'name="reason" maxlength="1000" required' in page
    assert not Action.objects.exists()
    r = mod.post("/moderation/users/spammer", {"action": "purge", "reason": " "})
    assert r.status_code == 400 and "Give a reason" in r.content.decode()
    assert not Action.objects.exists()
    r = mod.post("/moderation/users/spammer", {"action": "purge", "reason": "spam <script>"}, follow=True)
    text = r.content.decode()
    assert (
        "Done: mod suspended user spammer and removed 3 submissions, hid 1 comment, closed 1 report" in text
    )
    assert "spam &lt;script&gt;" in text and "<script>" not in text.split("<main", 1)[-1]
    spammer.refresh_from_db()
    assert spammer.is_suspended and Report.objects.open().count() == 0
    assert 'value="unpurge"' in text
    purge = Action.objects.get(kind=Action.Kind.PURGE_USER)
    other = make_user("victim")
    assert (
        mod.post(f"/moderation/users/{other.username}", {"action": "unpurge", "purge": purge.pk}).status_code
        == 400
    )
    r = mod.post("/moderation/users/spammer", {"action": "unpurge", "purge": purge.pk}, follow=True)
    assert (
        "Done: mod lifted the suspension of user spammer and restored 3 submissions, unhid 1 comment,"
        " reopened 1 report." in r.content.decode()
    )
    assert 'value="unpurge"' not in r.content.decode() and "(undone:" in r.content.decode()
    spammer.refresh_from_db()
    c.refresh_from_db()
    assert not spammer.is_suspended and not c.hidden
    assert Report.objects.open().count() == 1  # the report the purge closed is back in the queue
    assert 'href="/moderation/users/spammer">Suspend spammer' in mod.get("/moderation").content.decode()
    own = mod.get("/moderation/users/mod").content.decode()
    assert "This is your own account" in own and 'value="purge"' not in own
    # The log's purge and undo lines link to the account's moderation page (the purges and their
    # undo are there), not to the public profile.
    log = mod.get("/moderation/log").content.decode()
    assert log.count('<a href="/moderation/users/spammer">user spammer</a>') == 2
    assert '<a href="/users/spammer">' not in log


# A log page line: the action's id (with the word a screen reader says before it), then the sentence.
LOG_LINE = re.compile(
    r'<li><span class="muted"><span class="sr">Action </span>#(\d+)</span> '
    r"<time[^>]*>[^<]*</time>: (.*?)</li>"
)


def test_each_log_line_shows_the_id_the_command_line_takes(community: dict[str, Any]) -> None:
    mod, spammer = _client(community["mod"]), community["spammer"]
    services.hide_comment(community["mod"], community["comment"], reason="pills")
    services.purge(community["mod"], spammer, "spam <script>alert(1)</script>")
    page = mod.get("/moderation/log").content.decode()
    lines = LOG_LINE.findall(page)
    assert [int(n) for n, _ in lines] == [a.pk for a in Action.objects.newest_first()]
    assert "spam &lt;script&gt;alert(1)&lt;/script&gt;" in lines[0][1] and "<script>" not in page
    # The number the page shows is the one `moderate unpurge` takes, and `moderate log` prints.
    call_command("moderate", "unpurge", lines[0][0], stdout=io.StringIO())
    spammer.refresh_from_db()
    assert not spammer.is_suspended
    ids = [n for n, _ in LOG_LINE.findall(mod.get("/moderation/log").content.decode())]
    out = io.StringIO()
    call_command("moderate", "log", stdout=out)
    assert ids == [line.split()[0] for line in out.getvalue().splitlines()]
    assert len(ids) == 3 and ids[0] == str(Action.objects.get(kind=Action.Kind.UNPURGE_USER).pk)


def test_comment_hide_asks_a_reason_and_refuses_with_a_page(community: dict[str, Any]) -> None:
    com, paper = community["comment"], community["comment"].paper
    mod = _client(community["mod"])
    page = mod.get(f"/papers/{paper.arxiv_id}").content.decode()
    assert f'href="/comments/{com.pk}/hide?hidden=1"' in page
    form = mod.get(f"/comments/{com.pk}/hide?hidden=1").content.decode()
    assert 'name="reason"' in form and "Hide comment" in form and "Buy cheap &lt;b&gt;pills" in form
    r = mod.post(f"/comments/{com.pk}/hide", {"hidden": "1", "reason": "pills"}, follow=True)
    assert f"Hid the comment {com.pk} by spammer" in r.content.decode()
    assert (
        Action.objects.get().sentence()
        == f"mod hid the comment {com.pk} by spammer on {paper.arxiv_id} (0 reports closed): pills".replace(
            " (0 reports closed)", ""
        )
    )
    r = mod.post(f"/comments/{com.pk}/hide", {"hidden": "1"}, follow=True)
    assert f"Nothing changed: Comment {com.pk} is already hidden." in r.content.decode()
    assert Action.objects.count() == 1
    reader = _client(community["reader"])
    for refused in (
        reader.get(f"/comments/{com.pk}/hide"),
        reader.post(f"/comments/{com.pk}/hide", {"hidden": "0"}),
    ):
        assert refused.status_code == 403 and b'class="top"' in refused.content  # the site's page
        assert b"Only moderators can hide comments." in refused.content


def test_a_comment_whose_author_deleted_their_account_is_still_reported_and_moderated(
    community: dict[str, Any],
) -> None:
    """Its author is gone (accounts.services.delete_account keeps the comment, signed "[deleted
    account]"): the report form, the queue, the hide form and the log name no one and link no one."""
    from paperfeed.accounts import services as accounts

    c = community["comment"]
    reader, mod = _client(community["reader"]), _client(community["mod"])
    assert reader.post(f"/report/comment/{c.pk}", {"reason": "spam"}).status_code == 302
    accounts.delete_account(community["spammer"])
    form = reader.get(f"/report/comment/{c.pk}")
    assert form.status_code == 200 and b"A comment by [deleted account] on" in form.content
    queue = mod.get("/moderation").content.decode()
    assert 'Comment by <span class="muted">[deleted account]</span> on' in queue
    assert "spammer" not in queue and "Buy cheap &lt;b&gt;pills&lt;/b&gt;" in queue
    hide = mod.get(f"/comments/{c.pk}/hide?hidden=1")
    assert hide.status_code == 200 and b"[deleted account]" in hide.content
    assert b"/moderation/users/" not in hide.content  # no account to suspend
    assert mod.post(f"/comments/{c.pk}/hide", {"hidden": "1", "reason": "spam"}).status_code == 302
    assert Action.objects.get().target == f"comment {c.pk} by [deleted account] on {c.paper.arxiv_id}"
