"""The moderators' verbs and the readers' report. Every staff action goes through `_log`, in the
same transaction as the change it records, and bumps the feed's listing version after the commit
(cached pages must not keep showing a removed paper or a suspended reader's votes).

Who may moderate: staff accounts (`is_staff`) that are active and not suspended
(`User.can_moderate`). Reports: a signed-in reader with a verified email who is not suspended,
about someone else's submission or comment, one open report per reader and item, rate-limited as
comments are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from paperfeed.accounts import services as accounts
from paperfeed.accounts import throttle
from paperfeed.accounts.models import User
from paperfeed.feed import services as feed
from paperfeed.feed.models import Comment, Submission
from paperfeed.moderation.models import COMMAND_LINE as COMMAND_LINE  # re-exported
from paperfeed.moderation.models import MAX_REPORT_CHARS, Action, Report


class ModerationError(feed.FeedError):
    """A request moderation refuses, with a reason fit to show (a FeedError, so the API answers it)."""


class NotStaff(ModerationError, feed.NotAllowed):
    pass


class AlreadyReported(ModerationError):
    pass


class NothingChanged(ModerationError):
    """The item is already as the action would leave it (a second click, another moderator first)."""


class OwnItem(ModerationError, feed.NotAllowed):
    """A reader reporting what they submitted or wrote themselves: a 403, as for other refusals."""


Item = Submission | Comment


SUSPENDED_STAFF = (
    "Your account is suspended by the moderators: you cannot moderate until they lift the suspension."
)


def moderator(user: Any) -> User | None:
    """The moderator acting, or NotStaff for anyone who may not moderate now (the API asks before
    it looks anything up); None is `paperfeed moderate` without --by (whoever runs commands on the
    server can change the database anyway), logged as "command line"."""
    if user is None:
        return None
    if not getattr(user, "is_staff", False):
        raise NotStaff("Only moderators (staff accounts) can do this.")
    assert isinstance(user, User)
    if not user.can_moderate:
        raise NotStaff(SUSPENDED_STAFF)
    return user


def describe(item: Item) -> str:
    if isinstance(item, Submission):
        return f"submission of {item.paper.arxiv_id} ({item.day.isoformat()})"
    return f"comment {item.pk} by {item.author_name} on {item.paper.arxiv_id}"


def _reason(text: str | None) -> str:
    return " ".join((text or "").split())[:MAX_REPORT_CHARS]


def _log(staff: User | None, kind: Action.Kind, target: str, reason: str = "", **on: Any) -> Action:
    feed._bump_after_commit()
    by = staff.username if staff else COMMAND_LINE
    return Action.objects.create(
        kind=kind, moderator=staff, by=by, target=target[:300], reason=_reason(reason), **on
    )


def _close_reports(staff: User | None, item: Item, status: Report.Status) -> int:
    return Report.objects.open().about(item).update(status=status, closed_at=timezone.now(), closed_by=staff)


# --- reports ------------------------------------------------------------------------------------


def owns(user: Any, item: Item) -> bool:
    """Whether `user` submitted the submission or wrote the comment: theirs is not theirs to report."""
    author = item.submitted_by_id if isinstance(item, Submission) else item.author_id
    return author is not None and author == getattr(user, "pk", None)


def own_item_message(item: Item) -> str:
    return f"You cannot report your own {'submission' if isinstance(item, Submission) else 'comment'}."


def file_report(user: Any, item: Item, reason: str, text: str = "") -> Report:
    if not getattr(user, "is_authenticated", False):
        raise feed.NotAllowed("Log in to report.")
    if not user.email_verified:
        raise feed.NotAllowed("Verify your email address before reporting.")
    feed.check_not_suspended(user, "report")
    if owns(user, item):
        raise OwnItem(own_item_message(item))
    if reason not in Report.Reason.values:
        choices = ", ".join(Report.Reason.values)
        raise ModerationError(f"Pick a reason for the report ({choices}).")
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_REPORT_CHARS:
        raise ModerationError(f"A report's note can be at most {MAX_REPORT_CHARS} characters.")
    throttle.check("report:user", str(user.pk))
    target = {"submission": item} if isinstance(item, Submission) else {"comment": item}
    try:
        with transaction.atomic():
            return Report.objects.create(reporter=user, reason=reason, text=text, **target)
    except IntegrityError:  # the partial unique constraint: this reader's report is still open
        raise AlreadyReported(
            f"You have already reported this {'paper' if 'submission' in target else 'comment'}; "
            "the moderators will look at it."
        ) from None


def submission_of(arxiv_id: str) -> Submission | None:
    """The paper's (first) submission to the feed: what a report or a removal is about."""
    return (
        Submission.objects.filter(paper__arxiv_id=arxiv_id)
        .select_related("paper", "submitted_by")
        .order_by("day")
        .first()
    )


@dataclass
class QueueItem:
    """One reported item of the queue, with its open reports (newest first)."""

    item: Item
    reports: list[Report] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "submission" if isinstance(self.item, Submission) else "comment"

    @property
    def author(self) -> User | None:
        if isinstance(self.item, Submission):
            return self.item.submitted_by
        return self.item.author

    @property
    def newest(self) -> Any:
        return self.reports[0].created_at


def queue(limit: int = 200) -> list[QueueItem]:
    """Open reports grouped by item, the item most recently reported first: `limit` items, each
    with all its open reports (a limit on reports would show an item with many only in part)."""
    newest = (
        Report.objects.open()
        .values("submission_id", "comment_id")
        .annotate(newest=Max("created_at"), last=Max("pk"))
        .order_by("-newest", "-last")[:limit]
    )
    keys = [("s", g["submission_id"]) if g["submission_id"] else ("c", g["comment_id"]) for g in newest]
    if not keys:
        return []
    rows = (
        Report.objects.open()
        .filter(
            Q(submission_id__in=[pk for k, pk in keys if k == "s"])
            | Q(comment_id__in=[pk for k, pk in keys if k == "c"])
        )
        .select_related(
            "reporter",
            "submission__paper",
            "submission__submitted_by",
            "comment__paper",
            "comment__author",
        )
        .order_by("-created_at", "-pk")
    )
    groups: dict[tuple[str, int], QueueItem] = {}
    for r in rows:
        key = ("s", r.submission_id) if r.submission_id else ("c", r.comment_id or 0)
        groups.setdefault(key, QueueItem(r.item)).reports.append(r)
    return [groups[k] for k in keys if k in groups]


def queue_totals() -> dict[str, int]:
    """The whole queue's size, whatever part of it a page or `moderate reports --limit` shows."""
    open_reports = Report.objects.open()
    return {"openReports": open_reports.count(), "openItems": open_reports.item_count()}


# --- actions (staff) ----------------------------------------------------------------------------


def remove_submission(staff: Any, sub: Submission, reason: str = "") -> Submission:
    """Take the paper off every list (Submission.objects.visible); its page says moderators removed it."""
    staff = moderator(staff)
    with transaction.atomic():
        n = Submission.objects.filter(pk=sub.pk, removed_at__isnull=True).update(
            removed_at=timezone.now(), removed_by=staff
        )
        if not n:
            raise ModerationError(f"{sub.paper.arxiv_id} is already removed from the feed.")
        closed = _close_reports(staff, sub, Report.Status.RESOLVED)
        _log(staff, Action.Kind.REMOVE_SUBMISSION, describe(sub), reason, submission=sub, reports=closed)
    sub.refresh_from_db(fields=["removed_at", "removed_by"])
    return sub


def restore_submission(staff: Any, sub: Submission, reason: str = "") -> Submission:
    staff = moderator(staff)
    with transaction.atomic():
        n = Submission.objects.filter(pk=sub.pk, removed_at__isnull=False).update(
            removed_at=None, removed_by=None
        )
        if not n:
            raise ModerationError(f"{sub.paper.arxiv_id} is not removed from the feed.")
        _log(staff, Action.Kind.RESTORE_SUBMISSION, describe(sub), reason, submission=sub)
    sub.refresh_from_db(fields=["removed_at", "removed_by"])
    return sub


def hide_comment(staff: Any, comment: Comment, hidden: bool = True, reason: str = "") -> Comment:
    staff = moderator(staff)
    with transaction.atomic():
        # The conditional update, as remove_submission's: of two clicks (two tabs, two moderators)
        # one hides and logs, the other is told that nothing changed.
        n = Comment.objects.filter(pk=comment.pk, hidden=not hidden).update(
            hidden=hidden, hidden_by=staff if hidden else None
        )
        if not n:
            raise NothingChanged(f"Comment {comment.pk} is {'already' if hidden else 'not'} hidden.")
        closed = _close_reports(staff, comment, Report.Status.RESOLVED) if hidden else 0
        kind = Action.Kind.HIDE_COMMENT if hidden else Action.Kind.UNHIDE_COMMENT
        _log(staff, kind, describe(comment), reason, comment=comment, reports=closed)
    comment.refresh_from_db(fields=["hidden", "hidden_by"])
    return comment


def suspend(staff: Any, user: User, reason: str = "") -> User:
    """The account can still read and log in; it can no longer vote, comment, submit or report,
    and its votes stop counting (Vote.objects.counted). What it wrote stays unless removed."""
    staff = moderator(staff)
    if staff is not None and user.pk == staff.pk:
        raise ModerationError("You cannot suspend your own account.")
    with transaction.atomic():
        # The update copies the standing to the votes (UserQuerySet.update), which
        # Vote.objects.counted and counted_for_trending read.
        if not User.objects.filter(pk=user.pk, suspended_at__isnull=True).update(suspended_at=timezone.now()):
            raise ModerationError(f"{user.username} is already suspended.")
        _log(staff, Action.Kind.SUSPEND_USER, f"user {user.username}", reason, user=user)
    user.refresh_from_db(fields=["suspended_at"])
    return user


def unsuspend(staff: Any, user: User, reason: str = "") -> User:
    staff = moderator(staff)
    with transaction.atomic():
        if not User.objects.filter(pk=user.pk, suspended_at__isnull=False).update(suspended_at=None):
            raise ModerationError(f"{user.username} is not suspended.")
        _log(staff, Action.Kind.UNSUSPEND_USER, f"user {user.username}", reason, user=user)
    user.refresh_from_db(fields=["suspended_at"])
    return user


def dismiss(staff: Any, item: Item, reason: str = "") -> int:
    """Close the item's open reports without acting on it; how many were closed."""
    staff = moderator(staff)
    with transaction.atomic():
        closed = _close_reports(staff, item, Report.Status.DISMISSED)
        if not closed:
            raise ModerationError(f"There is no open report about this {_kind(item)}.")
        on = {"submission": item} if isinstance(item, Submission) else {"comment": item}
        _log(staff, Action.Kind.DISMISS_REPORTS, describe(item), reason, reports=closed, **on)
    return closed


def _kind(item: Item) -> str:
    return "paper" if isinstance(item, Submission) else "comment"


# --- a spammer in one step ------------------------------------------------------------------------


def posted_by(user: User) -> dict[str, int]:
    """What a purge of `user` would change now: their submissions still on the feed, their comments
    still shown, the open reports about either (the confirm page says these before it is sent)."""
    return {
        "submissions": Submission.objects.filter(submitted_by=user, removed_at__isnull=True).count(),
        "comments": Comment.objects.filter(author=user, hidden=False).count(),
        "reports": _reports_about(user).count(),
    }


def _reports_about(user: User) -> Any:
    return Report.objects.open().filter(Q(submission__submitted_by=user) | Q(comment__author=user))


def purge(staff: Any, user: User, reason: str) -> Action:
    """Suspend a spammer and take down everything they posted in one transaction: their submissions
    removed, their comments hidden, the open reports about them resolved, logged as one Action whose
    `touched` lists what this purge changed (and only that: what was removed before stays so on
    unpurge). A reason is required: the log is the only account of a wholesale removal."""
    staff = moderator(staff)
    reason = _reason(reason)
    if not reason:
        raise ModerationError("Give a reason for the log: it is the only record of why all of it went.")
    if staff is not None and user.pk == staff.pk:
        raise ModerationError("You cannot suspend your own account.")
    now = timezone.now()
    with transaction.atomic():
        suspended = bool(User.objects.filter(pk=user.pk, suspended_at__isnull=True).update(suspended_at=now))
        # Ids first, then the update of exactly those rows, locked: what is recorded is what changed.
        subs = list(
            Submission.objects.select_for_update()
            .filter(submitted_by=user, removed_at__isnull=True)
            .values_list("pk", flat=True)
        )
        coms = list(
            Comment.objects.select_for_update().filter(author=user, hidden=False).values_list("pk", flat=True)
        )
        if not (suspended or subs or coms):
            raise NothingChanged(f"{user.username} is already suspended and has nothing left on show.")
        Submission.objects.filter(pk__in=subs).update(removed_at=now, removed_by=staff)
        Comment.objects.filter(pk__in=coms).update(hidden=True, hidden_by=staff)
        # `of=("self",)`: PostgreSQL locks no row on the nullable side of the look-up's outer joins.
        reports = list(_reports_about(user).select_for_update(of=("self",)).values_list("pk", flat=True))
        closed = Report.objects.filter(pk__in=reports).update(
            status=Report.Status.RESOLVED, closed_at=now, closed_by=staff
        )
        touched = {"suspended": suspended, "submissions": subs, "comments": coms, "reports": reports}
        action = _log(
            staff,
            Action.Kind.PURGE_USER,
            f"user {user.username}",
            reason,
            user=user,
            reports=closed,
            touched=touched,
        )
    user.refresh_from_db(fields=["suspended_at"])
    return action


def unpurge(staff: Any, action: Action, reason: str = "") -> Action:
    """Undo one purge: lift the suspension if that purge made it, restore the submissions and unhide
    the comments it took down, those still down (a moderator may have restored some since), and
    reopen the reports it closed, back in the queue. Items removed before the purge, by anyone, stay
    removed. A report is left closed when its reader has reported the item again since (one open
    report per reader and item), and so are all of them for a purge that recorded none (made before
    `touched` listed its reports)."""
    staff = moderator(staff)
    if action.kind != Action.Kind.PURGE_USER:
        raise ModerationError(f"Action {action.pk} is not a purge, so there is nothing to undo.")
    if action.user is None:
        raise ModerationError(f"The account purged by action {action.pk} no longer exists.")
    user, t = action.user, action.touched or {}
    try:
        with transaction.atomic():
            Action.objects.select_for_update().filter(pk=action.pk).first()  # one undo at a time
            if Action.objects.filter(undoes=action).exists():
                raise NothingChanged(f"Action {action.pk} is already undone.")
            lifted = bool(t.get("suspended")) and bool(
                User.objects.filter(pk=user.pk, suspended_at__isnull=False).update(suspended_at=None)
            )
            subs = list(
                Submission.objects.filter(
                    pk__in=t.get("submissions", []), removed_at__isnull=False
                ).values_list("pk", flat=True)
            )
            coms = list(
                Comment.objects.filter(pk__in=t.get("comments", []), hidden=True).values_list("pk", flat=True)
            )
            Submission.objects.filter(pk__in=subs).update(removed_at=None, removed_by=None)
            Comment.objects.filter(pk__in=coms).update(hidden=False, hidden_by=None)
            reports = _reopen(t.get("reports", []))
            undo = _log(
                staff,
                Action.Kind.UNPURGE_USER,
                f"user {user.username}",
                reason,
                user=user,
                undoes=action,
                touched={"suspended": lifted, "submissions": subs, "comments": coms, "reports": reports},
            )
    except IntegrityError:
        # The one-to-one `undoes`: another undo committed first. Else a reader's new report about an
        # item whose report this reopened committed first (one open report per reader and item).
        if Action.objects.filter(undoes=action).exists():
            raise NothingChanged(f"Action {action.pk} is already undone.") from None
        raise ModerationError(
            "A reader reported one of these items while the purge was being undone; nothing was"
            " changed: undo it again."
        ) from None
    return undo


def _reopen(pks: list[int]) -> list[int]:
    """Reopen these closed reports, but not one whose reader has an open report about the same item
    now (the partial unique constraint allows one); the ids reopened."""
    again = Report.objects.open().filter(reporter_id=OuterRef("reporter_id"))
    ids = list(
        Report.objects.filter(pk__in=pks)
        .exclude(status=Report.Status.OPEN)
        .exclude(Exists(again.filter(submission_id=OuterRef("submission_id"))))
        .exclude(Exists(again.filter(comment_id=OuterRef("comment_id"))))
        .values_list("pk", flat=True)
    )
    Report.objects.filter(pk__in=ids).update(status=Report.Status.OPEN, closed_at=None, closed_by=None)
    return ids


def purge_action(pk: int) -> Action | None:
    return Action.objects.filter(pk=pk, kind=Action.Kind.PURGE_USER).select_related("user").first()


def purge_json(a: Action) -> dict[str, Any]:
    """A purge or its undo as `moderate purge --json` and the API answer it."""
    t = a.touched
    return {
        "action": a.kind,
        "purge": a.pk,
        "undoes": a.undoes_id,  # an undo's purge; null for a purge
        "user": a.user.username if a.user else None,
        "suspended": t["suspended"],
        "submissions": t["submissions"],
        "comments": t["comments"],
        "reportsClosed": a.reports,
        # The reports the purge closed, or its undo reopened (none recorded by a purge before 2026-12-02).
        "reports": t.get("reports", []),
        "sentence": a.sentence(),
    }


def purges_of(user: User) -> list[Action]:
    """The purges of this account, newest first, each with its undo if there is one."""
    return list(
        Action.objects.filter(user=user, kind=Action.Kind.PURGE_USER)
        .select_related("undone_by")
        .newest_first()
    )


def set_active(staff: Any, user: User, active: bool, reason: str = "") -> int:
    """accounts.services.set_active (a deactivated account cannot log in and its sessions end, its
    votes stop counting), recorded in the moderation log: it takes away votes as a suspension does."""
    staff = moderator(staff)
    if user.is_active == active:
        raise NothingChanged(f"{user.username} is already {'active' if active else 'deactivated'}.")
    if staff is not None and user.pk == staff.pk and not active:
        raise ModerationError("You cannot deactivate your own account.")
    with transaction.atomic():
        ended = accounts.set_active(user, active)
        kind = Action.Kind.REACTIVATE_USER if active else Action.Kind.DEACTIVATE_USER
        _log(staff, kind, f"user {user.username}", reason, user=user)
    return ended


def removed_submissions(limit: int = 100) -> list[Submission]:
    return list(
        Submission.objects.removed().select_related("paper", "removed_by").order_by("-removed_at")[:limit]
    )


def suspended_users(limit: int = 100) -> list[User]:
    return list(User.objects.suspended().order_by("-suspended_at")[:limit])


def log(limit: int = 100, offset: int = 0) -> list[Action]:
    return list(Action.objects.newest_first()[offset : offset + limit])


def report_json(r: Report) -> dict[str, Any]:
    return {
        "id": r.pk,
        "reason": r.reason,
        "text": r.text,
        "reporter": r.reporter.username,
        "createdAt": r.created_at.isoformat(),
        "status": r.status,
    }


def queue_json(items: list[QueueItem]) -> list[dict[str, Any]]:
    out = []
    for q in items:
        it = q.item
        d: dict[str, Any] = {
            "kind": q.kind,
            "target": describe(it),
            "reports": [report_json(r) for r in q.reports],
        }
        if isinstance(it, Submission):
            d |= {"paper": it.paper.arxiv_id, "removed": it.removed_at is not None}
        else:
            d |= {"comment": it.pk, "paper": it.paper.arxiv_id, "hidden": it.hidden}
        d["author"] = q.author.username if q.author else None
        out.append(d)
    return out
