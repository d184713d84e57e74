"""Moderation: reports readers file about a submission or a comment, and the log of what staff did.

The state a decision leaves lives on the thing itself (Submission.removed_at, Comment.hidden,
User.suspended_at), so the lists read it without a join to this app; this app keeps who asked
(Report) and who decided what, when and why (Action), which nothing ever deletes.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from paperfeed.core.text import counted
from paperfeed.feed.models import Comment, Submission

MAX_REPORT_CHARS = 1000
# Who acted when `paperfeed moderate` runs without --by: stored as `Action.by`, read in a sentence
# as OPERATOR ("an operator (command line) removed …"). No username has a space, so none is mistaken.
COMMAND_LINE = "command line"
OPERATOR = "an operator (command line)"


class ReportQuerySet(models.QuerySet["Report"]):
    def open(self) -> ReportQuerySet:
        return self.filter(status=Report.Status.OPEN)

    def about(self, item: Submission | Comment) -> ReportQuerySet:
        if isinstance(item, Submission):
            return self.filter(submission=item)
        return self.filter(comment=item)

    def item_count(self) -> int:
        """How many submissions and comments these reports are about (one report names one of them)."""
        return self.values("submission_id", "comment_id").distinct().count()


class Report(models.Model):
    class Reason(models.TextChoices):
        SPAM = "spam", "Spam or advertising"
        OFF_TOPIC = "off-topic", "Off-topic for this feed"
        ABUSE = "abuse", "Abusive, harassing or hateful"
        VOTE_GAMING = "vote-gaming", "Vote manipulation"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"  # the item was removed or hidden
        DISMISSED = "dismissed"

    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports")
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    text = models.TextField(blank=True, max_length=MAX_REPORT_CHARS)
    created_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ReportQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(submission__isnull=False, comment__isnull=True)
                | Q(submission__isnull=True, comment__isnull=False),
                name="report_one_item",
            ),
            # One open report per reader and item: a second click cannot pile up the queue.
            models.UniqueConstraint(
                fields=["reporter", "submission"],
                condition=Q(status="open"),
                name="uniq_open_report_submission",
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"], condition=Q(status="open"), name="uniq_open_report_comment"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="report_queue")]

    def __str__(self) -> str:
        return f"report {self.pk} ({self.reason})"

    @property
    def item(self) -> Submission | Comment:
        item = self.submission or self.comment
        assert item is not None
        return item


class ActionQuerySet(models.QuerySet["Action"]):
    def newest_first(self) -> ActionQuerySet:
        return self.order_by("-created_at", "-pk")


class Action(models.Model):
    """One line of the moderation log. `target` and `by` are kept as text too, so the line still
    says what it was about after an account or comment is deleted."""

    class Kind(models.TextChoices):
        REMOVE_SUBMISSION = "remove-submission", "removed submission"
        RESTORE_SUBMISSION = "restore-submission", "restored submission"
        HIDE_COMMENT = "hide-comment", "hid comment"
        UNHIDE_COMMENT = "unhide-comment", "unhid comment"
        SUSPEND_USER = "suspend-user", "suspended user"
        UNSUSPEND_USER = "unsuspend-user", "lifted suspension of"
        DISMISS_REPORTS = "dismiss-reports", "dismissed reports about"
        PURGE_USER = "purge-user", "suspended and removed the posts of"
        UNPURGE_USER = "unpurge-user", "undid the purge of"
        DEACTIVATE_USER = "deactivate-user", "deactivated"
        REACTIVATE_USER = "reactivate-user", "reactivated"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    moderator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True, max_length=MAX_REPORT_CHARS)
    target = models.CharField(max_length=300)
    submission = models.ForeignKey(
        Submission, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    comment = models.ForeignKey(Comment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reports = models.PositiveIntegerField(default=0)  # open reports this action closed
    # A purge's record of what it changed, so that its undo restores exactly that and not what others
    # removed before: {"suspended": bool, "submissions": [pk, ...], "comments": [pk, ...], "reports":
    # [pk, ...]} (the reports it closed; purges before 2026-12-02 have no "reports"). An undo records
    # what it put back (the reports it reopened) in the same shape.
    touched = models.JSONField(default=dict, blank=True)
    # The purge an unpurge undid; one undo per purge (the unique key refuses a second).
    undoes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="undone_by"
    )

    objects = ActionQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="moderation_log")]

    def __str__(self) -> str:
        return self.sentence()

    def wording(self) -> tuple[str, str, str]:
        """The log line as a sentence, in three parts: who did what, to what (which the log page
        links), and the rest: "alice removed the | submission of 2501.01234 (2026-12-01) | : spam"."""
        n = self.reports
        reports = f"{n} report{'s' if n != 1 else ''}"
        verbs: dict[str, str] = {
            self.Kind.REMOVE_SUBMISSION: "removed the",
            self.Kind.RESTORE_SUBMISSION: "restored the",
            self.Kind.HIDE_COMMENT: "hid the",
            self.Kind.UNHIDE_COMMENT: "unhid the",
            self.Kind.SUSPEND_USER: "suspended",
            self.Kind.UNSUSPEND_USER: "lifted the suspension of",
            self.Kind.DISMISS_REPORTS: f"dismissed {reports} about the",
            self.Kind.DEACTIVATE_USER: "deactivated",
            self.Kind.REACTIVATE_USER: "reactivated",
        }
        if self.kind in (self.Kind.PURGE_USER, self.Kind.UNPURGE_USER):
            verb, rest = self._purge_wording(reports)
        else:
            closed = n and self.kind != self.Kind.DISMISS_REPORTS
            verb, rest = verbs.get(self.kind, self.kind), f" ({reports} closed)" if closed else ""
        if self.reason:
            rest += f": {self.reason}"
        who = OPERATOR if self.by == COMMAND_LINE else self.by
        return f"{who} {verb} ", self.target, rest

    def _purge_wording(self, reports: str) -> tuple[str, str]:
        """A purge's verb and rest: "suspended | user bob | and removed 4 submissions, hid 12 comments,
        closed 3 reports", its undo's "lifted the suspension of | user bob | and restored …, reopened
        3 reports"."""
        t, undo = self.touched or {}, self.kind == self.Kind.UNPURGE_USER
        subs, coms = len(t.get("submissions", [])), len(t.get("comments", []))
        done = (
            f"{'restored' if undo else 'removed'} {subs} submission{'s' if subs != 1 else ''}, "
            f"{'unhid' if undo else 'hid'} {coms} comment{'s' if coms != 1 else ''}"
        )
        if self.reports:
            done += f", closed {reports}"
        if undo and t.get("reports"):
            done += f", reopened {counted(len(t['reports']), 'report')}"
        if t.get("suspended"):
            return ("lifted the suspension of" if undo else "suspended"), f" and {done}"
        return ("undid the purge of" if undo else "purged"), f": {done}"

    def sentence(self) -> str:
        """The log line the page and `paperfeed moderate log` both print."""
        return "".join(self.wording())
