"""Reports, the staff verbs and their log, and what they do to every list (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from paperfeed.accounts import throttle
from paperfeed.accounts.models import User
from paperfeed.feed import periods
from paperfeed.feed import services as feed
from paperfeed.feed.models import Submission, Vote
from paperfeed.moderation import services
from paperfeed.moderation.models import Action, Report
from tests.sitedata import make_user

pytestmark = pytest.mark.django_db


def _today() -> periods.Period:
    return periods.day(timezone.localdate())


def _listed(**kw: Any) -> list[str]:
    return [e.paper.arxiv_id for e in feed.listing(_today(), **kw)]


def test_a_report_is_one_open_report_per_reader_and_item(community: dict[str, Any]) -> None:
    reader, papers, mod = community["reader"], community["papers"], community["mod"]
    sub = services.submission_of(papers[0].arxiv_id)
    assert sub is not None
    r = services.file_report(reader, sub, "spam", "  an ad\r\nfor pills ")
    assert (r.status, r.text, r.item) == ("open", "an ad\nfor pills", sub)
    with pytest.raises(services.AlreadyReported, match="already reported this paper"):
        services.file_report(reader, sub, "off-topic")
    # Another reader may report it too; once it is closed, the first reader may report it again.
    services.file_report(community["other"], sub, "off-topic")
    assert services.dismiss(mod, sub, "fine for this feed") == 2
    services.file_report(reader, sub, "spam")
    assert Report.objects.open().about(sub).count() == 1


def test_who_may_report_and_what(community: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    sub = services.submission_of(community["papers"][0].arxiv_id)
    assert sub is not None
    with pytest.raises(feed.NotAllowed, match="Verify"):
        services.file_report(make_user("new", verified=False), sub, "spam")
    with pytest.raises(services.ModerationError, match="Pick a reason"):
        services.file_report(community["reader"], sub, "i-dont-like-it")
    with pytest.raises(services.ModerationError, match="at most 1000"):
        services.file_report(community["reader"], sub, "other", "x" * 1001)
    assert not Report.objects.exists()  # nothing was stored for any of them
    monkeypatch.setitem(throttle.LIMITS, "report:user", throttle.Limit(1, 3600))
    services.file_report(community["reader"], sub, "spam")
    with pytest.raises(throttle.RateLimited):
        services.file_report(community["reader"], community["comment"], "spam")


def test_the_queue_groups_open_reports_by_item_newest_first(community: dict[str, Any]) -> None:
    reader, other, papers, c = (
        community["reader"],
        community["other"],
        community["papers"],
        community["comment"],
    )
    s0 = services.submission_of(papers[0].arxiv_id)
    assert s0 is not None
    services.file_report(reader, s0, "spam")
    services.file_report(reader, c, "abuse", "rude")
    services.file_report(other, s0, "off-topic")
    q = services.queue()
    assert [(x.kind, len(x.reports)) for x in q] == [("submission", 2), ("comment", 1)]
    assert [r.reporter.username for r in q[0].reports] == ["other", "reader"]
    assert q[0].author == community["spammer"] and q[1].author == community["spammer"]
    # The totals are the whole queue's, whatever part of it is shown.
    assert [x.kind for x in services.queue(limit=1)] == ["submission"]
    assert services.queue_totals() == {"openReports": 3, "openItems": 2}
    services.dismiss(community["mod"], c)
    assert services.queue_totals() == {"openReports": 2, "openItems": 1}


def test_removing_a_submission_takes_it_off_every_list_and_restoring_brings_it_back(
    community: dict[str, Any],
) -> None:
    papers, mod, reader = community["papers"], community["mod"], community["reader"]
    spam = papers[2]
    sub = services.submission_of(spam.arxiv_id)
    assert sub is not None
    services.file_report(reader, sub, "spam")
    with pytest.raises(services.NotStaff):
        services.remove_submission(reader, sub)
    assert spam.arxiv_id in _listed() and spam.arxiv_id in [e.paper.arxiv_id for e in feed.trending(_today())]
    services.remove_submission(mod, sub, "advertising")
    assert spam.arxiv_id not in _listed()
    assert spam.arxiv_id not in [e.paper.arxiv_id for e in feed.trending(_today())]
    assert spam.arxiv_id not in _listed(submitter="spammer")
    assert Submission.objects.visible().filter(paper=spam).count() == 0
    assert Report.objects.get().status == Report.Status.RESOLVED
    with pytest.raises(services.ModerationError, match="already removed"):
        services.remove_submission(mod, sub)
    # Submitting it again would undo the decision.
    with pytest.raises(feed.AlreadySubmitted, match="removed from the feed by the moderators"):
        feed.submit(spam.arxiv_id, reader)
    services.restore_submission(mod, sub, "appeal upheld")
    assert spam.arxiv_id in _listed()
    log = [(a.by, a.kind, a.reason, a.reports) for a in Action.objects.newest_first()]
    assert log == [
        ("mod", "restore-submission", "appeal upheld", 0),
        ("mod", "remove-submission", "advertising", 1),
    ]


def test_a_day_whose_only_submission_was_removed_is_no_day_with_submissions(
    community: dict[str, Any],
) -> None:
    today = timezone.localdate()
    assert feed.latest_day() == today
    for p in community["papers"][:5]:
        sub = services.submission_of(p.arxiv_id)
        assert sub is not None
        services.remove_submission(community["mod"], sub)
    assert feed.latest_day() is None


def test_a_suspended_account_cannot_write_and_its_votes_stop_counting(community: dict[str, Any]) -> None:
    papers, mod, spammer = community["papers"], community["mod"], community["spammer"]
    by_votes = {e.paper.arxiv_id: e.votes for e in feed.listing(_today())}
    assert by_votes[papers[2].arxiv_id] == 2
    trending = {e.paper.arxiv_id: e.counted for e in feed.trending(_today())}
    assert trending[papers[2].arxiv_id] == 2
    with pytest.raises(services.NotStaff):
        services.suspend(community["reader"], spammer)
    with pytest.raises(services.ModerationError, match="your own account"):
        services.suspend(mod, mod)
    services.suspend(mod, spammer, "vote ring")
    assert {e.paper.arxiv_id: e.votes for e in feed.listing(_today())}[papers[2].arxiv_id] == 1
    assert {e.paper.arxiv_id: e.counted for e in feed.trending(_today())}[papers[2].arxiv_id] == 1
    assert feed.vote_counts([papers[2].arxiv_id]) == {papers[2].arxiv_id: 1}
    assert feed.stats(papers[2])["votes"] == 1
    spammer.refresh_from_db()
    for act, words in [
        (lambda: feed.upvote(spammer, papers[0]), "cannot vote"),
        (lambda: feed.unvote(spammer, papers[2]), "cannot vote"),
        (lambda: feed.add_comment(spammer, papers[0], "more spam"), "cannot comment"),
        (lambda: feed.edit_comment(spammer, community["comment"], "edited spam"), "cannot comment"),
        (lambda: feed.submit(papers[5].arxiv_id, spammer), "cannot submit"),
        (lambda: services.file_report(spammer, community["comment"], "spam"), "cannot report"),
    ]:
        with pytest.raises(feed.Suspended, match=words):
            act()
    # What the account wrote stays until removed: its submissions are still listed.
    assert {p.arxiv_id for p in papers[:3]} <= set(_listed())
    with pytest.raises(services.ModerationError, match="already suspended"):
        services.suspend(mod, spammer)
    services.unsuspend(mod, spammer)
    assert feed.stats(papers[2])["votes"] == 2
    assert [a.kind for a in Action.objects.newest_first()] == ["unsuspend-user", "suspend-user"]


def test_hiding_a_comment_is_logged_and_closes_its_reports(community: dict[str, Any]) -> None:
    c, mod = community["comment"], community["mod"]
    services.file_report(community["reader"], c, "spam")
    services.hide_comment(mod, c, True, "spam link")
    with pytest.raises(services.NothingChanged):  # a second click changes nothing and logs nothing
        services.hide_comment(mod, c, True)
    assert feed.stats(c.paper)["comments"] == 0
    assert Report.objects.get().status == Report.Status.RESOLVED
    services.hide_comment(mod, c, False)
    a = Action.objects.newest_first()
    assert [(x.kind, x.target) for x in a] == [
        ("unhide-comment", f"comment {c.pk} by spammer on {c.paper.arxiv_id}"),
        ("hide-comment", f"comment {c.pk} by spammer on {c.paper.arxiv_id}"),
    ]
    with pytest.raises(services.ModerationError, match="no open report"):
        services.dismiss(mod, c)


def test_the_log_keeps_its_lines_when_the_accounts_are_deleted(community: dict[str, Any]) -> None:
    mod, spammer = community["mod"], community["spammer"]
    services.suspend(mod, spammer, "spam")
    spammer.delete()
    mod.delete()
    [a] = Action.objects.all()
    assert (a.by, a.target, a.moderator, a.user) == ("mod", "user spammer", None, None)


def test_counted_votes_follow_the_suspension_without_a_join(community: dict[str, Any]) -> None:
    """Vote.objects.counted() reads the vote's own flag, set in the suspension's transaction and
    cleared when it is lifted; a vote by an account object loaded before its suspension (a request
    in flight) is refused under the user row's lock, so no vote is counted that should not be."""
    spammer, papers = community["spammer"], community["papers"]
    stale = User.objects.get(pk=spammer.pk)  # as a request that started before the suspension has it
    services.suspend(community["mod"], spammer)
    assert set(Vote.objects.filter(user=spammer).values_list("uncounted", flat=True)) == {True}
    assert " JOIN " not in str(Vote.objects.counted().filter(paper=papers[2]).query).upper()
    with pytest.raises(feed.Suspended):
        feed.upvote(stale, papers[4])
    assert not Vote.objects.filter(user=spammer, paper=papers[4]).exists()
    assert Vote.objects.counted().filter(paper=papers[2]).count() == 1  # the other reader's
    services.unsuspend(community["mod"], spammer)
    assert Vote.objects.counted().filter(paper=papers[2]).count() == 2
    feed.upvote(stale, papers[4])  # lifted: the same object votes again
    assert Vote.objects.counted().filter(paper=papers[4]).count() == 1


def test_purge_suspends_and_takes_down_everything_in_one_logged_action(community: dict[str, Any]) -> None:
    mod, spammer, papers, c = (
        community["mod"],
        community["spammer"],
        community["papers"],
        community["comment"],
    )
    other_mod = make_user("other-mod", staff=True)
    first = services.submission_of(papers[0].arxiv_id)
    assert first is not None
    earlier = services.file_report(community["other"], first, "spam")
    services.remove_submission(other_mod, first, "earlier, by someone else")  # resolves `earlier`
    c2 = feed.add_comment(spammer, papers[4], "more pills")
    closed = [services.file_report(community["reader"], c2, "spam")]
    sub1 = services.submission_of(papers[1].arxiv_id)
    assert sub1 is not None
    closed.append(services.file_report(community["reader"], sub1, "spam"))
    with pytest.raises(services.ModerationError, match="Give a reason"):
        services.purge(mod, spammer, "   ")
    with pytest.raises(services.ModerationError, match="your own account"):
        services.purge(mod, mod, "x")
    with pytest.raises(services.NotStaff):
        services.purge(community["reader"], spammer, "spam")
    assert services.posted_by(spammer) == {"submissions": 2, "comments": 2, "reports": 2}

    a = services.purge(mod, spammer, "spam")
    spammer.refresh_from_db()
    assert spammer.is_suspended
    assert services.posted_by(spammer) == {"submissions": 0, "comments": 0, "reports": 0}
    assert _listed() == [papers[3].arxiv_id, papers[4].arxiv_id]
    assert (
        a.sentence()
        == "mod suspended user spammer and removed 2 submissions, hid 2 comments, closed 2 reports: spam"
    )
    assert sorted(a.touched["reports"]) == sorted(r.pk for r in closed)
    assert not Report.objects.open().exists()
    assert Action.objects.filter(kind=Action.Kind.PURGE_USER).count() == 1
    assert Action.objects.count() == 2  # the earlier removal, and the purge as one line
    with pytest.raises(services.NothingChanged, match="nothing left"):
        services.purge(mod, spammer, "again")

    # Undo: back what the purge took down, not the submission removed before it by someone else.
    undo = services.unpurge(other_mod, a, "a misunderstanding")
    spammer.refresh_from_db()
    first.refresh_from_db()
    c.refresh_from_db()
    assert not spammer.is_suspended and first.removed_at is not None and not c.hidden
    assert services.posted_by(spammer)["submissions"] == 2 and services.posted_by(spammer)["comments"] == 2
    assert undo.sentence() == (
        "other-mod lifted the suspension of user spammer and restored 2 submissions, unhid 2 comments,"
        " reopened 2 reports: a misunderstanding"
    )
    # The reports the purge closed are open again, as they were; the one another action resolved is not.
    assert sorted(undo.touched["reports"]) == sorted(r.pk for r in closed)
    assert [
        (r.status, r.closed_at, r.closed_by) for r in Report.objects.filter(pk__in=undo.touched["reports"])
    ] == [("open", None, None)] * 2
    earlier.refresh_from_db()
    assert earlier.status == Report.Status.RESOLVED and earlier.closed_by == other_mod
    assert services.queue_totals() == {"openReports": 2, "openItems": 2}
    assert [x.undone_by for x in services.purges_of(spammer)] == [undo]
    with pytest.raises(services.NothingChanged, match="already undone"):
        services.unpurge(mod, a)
    with pytest.raises(services.ModerationError, match="not a purge"):
        services.unpurge(mod, undo)


def test_a_purge_of_a_suspended_account_leaves_the_suspension_to_its_own_undo(
    community: dict[str, Any],
) -> None:
    mod, spammer = community["mod"], community["spammer"]
    services.suspend(mod, spammer, "votes")
    a = services.purge(None, spammer, "and the spam")
    assert a.touched["suspended"] is False and a.by == services.COMMAND_LINE
    assert a.sentence() == (
        "an operator (command line) purged user spammer: removed 3 submissions, hid 1 comment: and the spam"
    )
    services.unpurge(mod, a)
    spammer.refresh_from_db()
    assert spammer.is_suspended  # suspended before, by another action: still so
    assert services.posted_by(spammer) == {"submissions": 3, "comments": 1, "reports": 0}


def test_an_undo_leaves_closed_a_report_its_reader_has_made_again(community: dict[str, Any]) -> None:
    """One open report per reader and item: a reader who reported the item again after the purge
    (a moderator had put it back) keeps that report, and the purge's stays closed."""
    mod, reader, other, spammer = (community[k] for k in ("mod", "reader", "other", "spammer"))
    sub = services.submission_of(community["papers"][0].arxiv_id)
    assert sub is not None
    mine, theirs = services.file_report(reader, sub, "spam"), services.file_report(other, sub, "spam")
    a = services.purge(mod, spammer, "spam")
    services.restore_submission(mod, sub, "this one is fine")
    again = services.file_report(reader, sub, "off-topic")
    undo = services.unpurge(mod, a)
    assert undo.touched["reports"] == [theirs.pk]
    assert undo.sentence().endswith("unhid 1 comment, reopened 1 report")
    assert set(Report.objects.open().values_list("pk", flat=True)) == {again.pk, theirs.pk}
    mine.refresh_from_db()
    assert mine.status == Report.Status.RESOLVED


def test_the_undo_of_a_purge_that_listed_no_reports_reopens_none(community: dict[str, Any]) -> None:
    """A purge made before `touched` listed its reports: its undo cannot tell them, and says nothing."""
    mod, spammer = community["mod"], community["spammer"]
    services.file_report(community["reader"], community["comment"], "spam")
    a = services.purge(mod, spammer, "spam")
    Action.objects.filter(pk=a.pk).update(touched={k: v for k, v in a.touched.items() if k != "reports"})
    a.refresh_from_db()
    undo = services.unpurge(mod, a)
    assert undo.touched["reports"] == [] and "reopened" not in undo.sentence()
    assert not Report.objects.open().exists()


def test_hiding_a_hidden_comment_says_nothing_changed(community: dict[str, Any]) -> None:
    c, mod = community["comment"], community["mod"]
    services.hide_comment(mod, c, True, "spam link")
    with pytest.raises(services.NothingChanged, match="already hidden"):
        services.hide_comment(mod, c, True)
    services.hide_comment(mod, c, False)
    with pytest.raises(services.NothingChanged, match="not hidden"):
        services.hide_comment(mod, c, False)
    assert Action.objects.count() == 2


def test_the_queue_limits_items_not_reports(community: dict[str, Any]) -> None:
    papers, c = community["papers"], community["comment"]
    readers = [make_user(f"r{i}") for i in range(3)]
    sub = services.submission_of(papers[0].arxiv_id)
    assert sub is not None
    for r in readers:
        services.file_report(r, sub, "spam")
    services.file_report(community["reader"], c, "abuse")  # the newest: first
    q = services.queue(limit=2)
    assert [(x.kind, len(x.reports)) for x in q] == [("comment", 1), ("submission", 3)]
    assert [(x.kind, len(x.reports)) for x in services.queue(limit=1)] == [("comment", 1)]


def test_deactivating_is_logged_and_ends_sessions(community: dict[str, Any]) -> None:
    mod, spammer = community["mod"], community["spammer"]
    services.set_active(mod, spammer, False, "in the admin")
    spammer.refresh_from_db()
    assert not spammer.is_active
    with pytest.raises(services.NothingChanged):
        services.set_active(mod, spammer, False)
    with pytest.raises(services.ModerationError, match="your own account"):
        services.set_active(mod, mod, False)
    services.set_active(None, spammer, True)
    assert [a.sentence() for a in Action.objects.newest_first()] == [
        "an operator (command line) reactivated user spammer",
        "mod deactivated user spammer: in the admin",
    ]


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="SQLite has one writer: the two cannot overlap")
@pytest.mark.django_db(transaction=True)
def test_an_undo_that_meets_the_readers_new_report_changes_nothing_and_says_why(
    community: dict[str, Any],
) -> None:
    """A reader reports an item again (a moderator had put it back) while its report, closed by the
    purge, is being reopened: one of the two must fail (one open report per reader and item). When
    the undo does, it is not "already undone", and nothing of it is kept."""
    mod, reader, spammer = community["mod"], community["reader"], community["spammer"]
    sub = services.submission_of(community["papers"][0].arxiv_id)
    assert sub is not None
    mine = services.file_report(reader, sub, "spam")
    a = services.purge(mod, spammer, "spam")
    services.restore_submission(mod, sub, "this one is fine")
    inserted, release = threading.Event(), threading.Event()
    got: dict[str, Any] = {}

    def report_again() -> None:
        try:
            with transaction.atomic():  # the reader's new report, not committed until released
                Report.objects.create(reporter=reader, submission=sub, reason="off-topic")
                inserted.set()
                release.wait(30)
        finally:
            connection.close()

    def undo() -> None:
        try:
            services.unpurge(mod, a)
        except services.ModerationError as e:
            got["error"] = e
        finally:
            connection.close()

    threads = [threading.Thread(target=report_again), threading.Thread(target=undo)]
    threads[0].start()
    assert inserted.wait(30)
    threads[1].start()
    # The undo reopens `mine` and waits on the reader's uncommitted row in the unique index.
    with connection.cursor() as cursor:
        for _ in range(3000):
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname ="
                " current_database()"
            )
            if cursor.fetchone()[0]:
                break
            threading.Event().wait(0.01)
        else:
            pytest.fail("the undo never waited for the reader's report")
    release.set()
    for t in threads:
        t.join(30)
    assert not isinstance(got.get("error"), services.NothingChanged)
    assert "reported one of these items while the purge was being undone" in str(got.get("error"))
    assert not Action.objects.filter(kind=Action.Kind.UNPURGE_USER).exists()
    spammer.refresh_from_db()
    mine.refresh_from_db()
    assert spammer.is_suspended and mine.status == Report.Status.RESOLVED
    assert list(Report.objects.open().values_list("reason", flat=True)) == ["off-topic"]
    assert services.unpurge(mod, a).touched["reports"] == []  # again: the reader's new report stands
