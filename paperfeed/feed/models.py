"""The community feed: submissions (a paper on a day's list), votes, comments, collections, saved searches.

A paper's score is always the number of its Vote rows: there is no counter to drift. One vote per
(user, paper) and one submission per (paper, day) are database constraints, so concurrent clicks
cannot double-count. Trending (services.trending) reads the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Iterable
from typing import Any, NamedTuple

from django.conf import settings
from django.db import DatabaseError, models, transaction
from django.db.models import Count
from django.utils import timezone

from paperfeed.core.models import OwnedQuerySet
from paperfeed.feed.markup import MARKUP_VERSION, render_comment
from paperfeed.papers.models import LISTED_WITH, Paper
from paperfeed.search.query import MAX_QUERY_CHARS

log = logging.getLogger(__name__)


class SubmissionQuerySet(models.QuerySet["Submission"]):
    def on_day(self, day: dt.date) -> SubmissionQuerySet:
        return self.filter(day=day)

    def between(self, first: dt.date, last: dt.date) -> SubmissionQuerySet:
        return self.filter(day__gte=first, day__lte=last)

    def by_user(self, user: Any) -> SubmissionQuerySet:
        return self.filter(submitted_by=user)

    def visible(self) -> SubmissionQuerySet:
        """What every list shows (daily, trending, their feeds, the API's lists, digests, user
        pages): submissions of active papers that moderators have not removed. The one place that
        decides."""
        return self.standing().filter(paper__status=Paper.Status.ACTIVE)

    def standing(self) -> SubmissionQuerySet:
        """Not removed by moderators: what a paper's own page and API answer may still name as its
        submission (a withdrawn paper included), where a removed one is never named."""
        return self.filter(removed_at__isnull=True)

    def removed(self) -> SubmissionQuerySet:
        return self.filter(removed_at__isnull=False)

    def upvoted(self) -> SubmissionQuerySet:
        """Submissions of papers with at least one counted upvote: what a trending list can show."""
        return self.filter(models.Exists(Vote.objects.counted().filter(paper=models.OuterRef("paper"))))

    def with_counts(self) -> SubmissionQuerySet:
        """Annotate `n_votes` (the paper's counted votes) and `n_comments` (visible comments)."""
        return self.annotate(
            n_votes=models.Subquery(
                Vote.objects.counted()
                .filter(paper=models.OuterRef("paper"))
                .values("paper")
                .annotate(c=Count("*"))
                .values("c")[:1]
            ),
            n_comments=models.Subquery(
                Comment.objects.filter(paper=models.OuterRef("paper"), hidden=False)
                .values("paper")
                .annotate(c=Count("*"))
                .values("c")[:1]
            ),
        )

    def for_ranking(self) -> SubmissionQuerySet:
        """The rows a list is sorted by, with the paper, its category and submitter."""
        return self.select_related("paper", "paper__primary_category", "submitted_by")

    def for_listing(self) -> SubmissionQuerySet:
        return self.for_ranking().prefetch_related(*(f"paper__{name}" for name in LISTED_WITH))


class Submission(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="submissions", db_index=False)
    day = models.DateField()
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="submissions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Taken off the lists by a moderator (paperfeed.moderation); reversible, the row and votes stay.
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paper", "day"], name="uniq_submission_paper_day")]
        indexes = [models.Index(fields=["day", "created_at"], name="submission_day")]

    def __str__(self) -> str:
        return f"{self.paper_id} on {self.day}"


class VoteQuerySet(models.QuerySet["Vote"]):
    def counted(self) -> VoteQuerySet:
        """The votes a paper's count shows: not those of suspended or deactivated accounts (kept, so
        that lifting a suspension or reactivating gives them back). Read from the vote's own
        `uncounted` flag through a partial index, not by a join on users: the join made the daily
        list's counts 2-3x slower."""
        return self.filter(uncounted=False)

    def counted_for_trending(self, at: dt.datetime | None = None) -> VoteQuerySet:
        """The votes trending counts at `at`: cast by then, by an account verified, active and not
        suspended now that was TRENDING_MIN_ACCOUNT_AGE old by then. Read from the vote's own
        `voter_joined` (no join on users: it made trending's counting 2-3x slower)."""
        from paperfeed.accounts.models import TRENDING_MIN_ACCOUNT_AGE

        at = at or timezone.now()
        return self.filter(voter_joined__lte=at - TRENDING_MIN_ACCOUNT_AGE, created_at__lte=at)

    def cast_by(self, at: dt.datetime) -> VoteQuerySet:
        """Those cast by `at`: a past period's trending is not reordered by votes cast after it."""
        return self.filter(created_at__lte=at)

    def per_paper(self, paper_ids: Iterable[int]) -> dict[int, int]:
        """How many of these votes each of the papers has, in one query; papers with none left out."""
        return dict(
            self.filter(paper_id__in=paper_ids)
            .values("paper_id")
            .annotate(c=Count("*"))
            .values_list("paper_id", "c")
        )

    def follow_voter(self, user_id: int) -> int:
        """Copy the voter's standing onto their votes: what User.save calls after writing the user
        row (suspending, verifying, deactivating or re-dating an account), in the same transaction.
        How many votes changed."""
        return self.follow_voters([user_id])

    def follow_voters(self, user_ids: Iterable[int]) -> int:
        """Copy each voter's standing onto their votes, for any number of voters in one UPDATE
        (UserQuerySet.update calls it per batch: one per voter made a bulk change of 100,000
        accounts 200,000 statements). The user rows are read in that statement, under the lock the
        caller's write holds, not taken from a caller's objects: one loaded before a concurrent
        suspension would undo the suspension's copy. Votes already right are not written. How
        many votes changed."""
        from paperfeed.accounts.models import User

        voter = User.objects.filter(pk=models.OuterRef("user_id"))
        # Vote.standing_of's two halves, read in SQL: suspended or deactivated, ...
        uncounted = models.Exists(
            voter.filter(models.Q(suspended_at__isnull=False) | models.Q(is_active=False))
        )
        # ... and date_joined while the account counts, else NULL.
        counts = voter.in_good_standing()
        wrong = (
            (models.Q(uncounted=True) & ~uncounted)
            | (models.Q(uncounted=False) & uncounted)
            | (models.Q(voter_joined__isnull=True) & models.Exists(counts))
            | (
                models.Q(voter_joined__isnull=False)
                & ~models.Exists(counts.filter(date_joined=models.OuterRef("voter_joined")))
            )
        )
        changed = (
            self.filter(user_id__in=list(user_ids))
            .filter(wrong)
            .update(uncounted=uncounted, voter_joined=models.Subquery(counts.values("date_joined")[:1]))
        )
        if changed:
            from paperfeed.feed.services import bump_listing_version

            # The pages cached for visitors show these counts: a deactivation from the command line
            # (no moderation log, which bumps) left them showing the votes until the next vote.
            transaction.on_commit(bump_listing_version, using=self.db)
        return changed

    def bulk_create(self, objs: Iterable[Vote], *args: Any, **kwargs: Any) -> list[Vote]:  # type: ignore[override]
        """New votes take their voter's standing here too, as Vote.save gives it one by one."""
        votes = list(objs)
        for vote in votes:
            vote.take_standing()
        super().bulk_create(votes, *args, **kwargs)  # type: ignore[arg-type]  # the stubs lose QuerySet["Vote"]
        return votes


class Vote(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="votes")
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="votes", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    # The voter's standing, copied here so that counting needs no join on users: set when the vote
    # is made (from the user row upvote locks) and by Vote.objects.follow_voter in the transaction
    # of every change to it (User.save and UserQuerySet.update, hence bulk_update, for suspension,
    # verification, activation and date_joined). `uncounted`: the voter is suspended or deactivated
    # (Vote.objects.counted leaves the vote out; the row stays, so lifting either counts it again).
    uncounted = models.BooleanField(default=False)
    # The voter's date_joined while the account may count toward trending (email verified, active,
    # not suspended), else NULL. Trending compares it with its reference time less the minimum
    # account age, so the age passing needs no write, and that constant can change without one.
    voter_joined = models.DateTimeField(null=True, blank=True)

    objects = VoteQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["paper", "user"], name="uniq_vote_paper_user")]
        # The counted votes of a paper, read from the index alone (no table row per vote); with
        # created_at, trending's tie-break (those cast by its reference time) is read from it too.
        # `uncounted`, fixed by the condition, is kept: without it SQLite reads the table rows.
        indexes = [
            models.Index(
                fields=["paper", "uncounted", "created_at"],
                condition=models.Q(uncounted=False),
                name="vote_counted_paper",
            ),
            # ... and those trending may count, with what it compares (no table row per vote).
            models.Index(
                fields=["paper", "voter_joined", "created_at"],
                condition=models.Q(voter_joined__isnull=False),
                name="vote_trending_paper",
            ),
            # The admin's votes sorted by date, paged on past its cap (core.admin.KeysetChangeList):
            # the key (created_at, id) read as a range of this, either way. Neither index above
            # leads with the date. The column alone: the ties on a date (a microsecond) are few, so
            # PostgreSQL sorts them as it reads (SQLite's index holds the id already).
            models.Index(fields=["created_at"], name="vote_created_at"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} +1 {self.paper_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self._state.adding:
            self.take_standing()
        super().save(*args, **kwargs)

    @staticmethod
    def standing_of(user: Any) -> tuple[bool, dt.datetime | None]:
        """(uncounted, voter_joined) for a vote by `user` as the object has it."""
        counts = user.email_verified and user.is_active and user.suspended_at is None
        return user.suspended_at is not None or not user.is_active, (user.date_joined if counts else None)

    def take_standing(self) -> None:
        self.uncounted, self.voter_joined = Vote.standing_of(self.user)


class Rendering(NamedTuple):
    """`html`, what the current rules render of `body`, for comment `pk` read holding `body` at
    markup `version`."""

    pk: int
    body: str
    version: int
    html: str


class CommentQuerySet(models.QuerySet["Comment"]):
    def visible(self) -> CommentQuerySet:
        return self.filter(hidden=False)

    def stale(self) -> CommentQuerySet:
        """Those whose HTML other rules than the current ones rendered (a newer version's too, after
        a step back): hidden ones and those of deleted accounts alike."""
        return self.exclude(markup_version=MARKUP_VERSION)

    def write_renderings(self, renderings: Iterable[Rendering]) -> list[bool]:
        """Store each rendering by the current rules, in one transaction, only if its row still
        holds the body and version it was read with: an edit since, by this version or by an older
        one still running during an upgrade, keeps its own rendering (the older one's stays stale,
        for the next reader). Whether each was written."""
        written = []
        with transaction.atomic(using=self.db):
            for r in renderings:
                as_read = self.filter(pk=r.pk, body=r.body, markup_version=r.version)
                written.append(as_read.update(html=r.html, markup_version=MARKUP_VERSION) == 1)
        return written

    def store_renderings(self, comments: Iterable[Comment]) -> int:
        """Write back the HTML of those loaded stale (Comment.from_db rendered them again in
        memory), so that the next read renders nothing; each only if its row is still as loaded
        (write_renderings). Best effort, from pages and the API's reads: a database that takes no
        write now (a read-only SQLite file, a lock held too long) costs the read nothing, and the
        comment is rendered again next time. How many were written."""
        stale = [
            (c, Rendering(c.pk, c.body, c.loaded_stale, c.html))
            for c in comments
            if c.loaded_stale is not None
        ]
        if not stale:
            return 0
        try:
            written = self.write_renderings(r for _, r in stale)
        except DatabaseError as e:
            log.warning("stale comments not written back: %s", e, extra={"comments": len(stale)})
            return 0
        for c, _ in stale:
            c.loaded_stale = None
        return sum(written)


# Who wrote a comment whose account was deleted since.
DELETED_AUTHOR = "[deleted account]"


class Comment(models.Model):
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="discussion", db_index=False)
    # NULL once the author deleted their account: the comment stays, text and all, signed
    # DELETED_AUTHOR. Reddit keeps a deleted account's comments so (author "[deleted]") and Hacker
    # News deletes no comments with an account: the comments after it answer it, and a discussion
    # with holes in it reads as nonsense. A comment the writer wants gone goes by an edit first.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    body = models.TextField(max_length=10_000)  # Markdown + TeX as written
    html = models.TextField()  # rendered and sanitised by render(), at write time
    # The markup.MARKUP_VERSION that rendered `html`. Rows the database fills in say 0, stale: those
    # of before this was kept (migration 0010), and those an older version, still running for a
    # minute during an upgrade (docs/deploy.md), writes without it.
    markup_version = models.PositiveSmallIntegerField(db_default=0)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    hidden = models.BooleanField(default=False)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CommentQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["paper", "created_at"], name="comment_paper")]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.paper_id}"

    @property
    def author_name(self) -> str:
        return self.author.username if self.author is not None else DELETED_AUTHOR

    # The version a comment was loaded with when it was stale and so rendered again in memory
    # (from_db), until Comment.objects.store_renderings writes it back; None otherwise.
    loaded_stale: int | None = None

    def render(self) -> None:
        """`html` from `body` by the current rules, sanitised; what every write of a body calls."""
        self.html, self.markup_version = render_comment(self.body), MARKUP_VERSION

    @classmethod
    def from_db(cls, db: str | None, field_names: Any, values: Any, **kwargs: Any) -> Comment:
        """A stale comment comes out of the database rendered again by the current rules, so that
        every reader (the paper page, the API, the admin, what comes next) shows the rendering
        of this version whether or not the stored HTML was brought up to date yet."""
        comment = super().from_db(db, field_names, values, **kwargs)
        loaded = not {"body", "html", "markup_version"} & comment.get_deferred_fields()
        if loaded and comment.markup_version != MARKUP_VERSION:
            comment.loaded_stale = comment.markup_version
            comment.render()
        return comment


class Collection(models.Model):
    """A user's named list of saved papers."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100)
    public = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    papers = models.ManyToManyField(Paper, through="CollectionItem", related_name="+")

    objects = OwnedQuerySet["Collection"].as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "slug"], name="uniq_collection_slug")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items", db_index=False)
    paper = models.ForeignKey(Paper, on_delete=models.CASCADE, related_name="saved_in")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "paper"], name="uniq_collection_paper")]
        ordering = ["-added_at"]

    def __str__(self) -> str:
        return f"{self.paper_id} in {self.collection_id}"


def _feed_token() -> str:
    return secrets.token_urlsafe(16)


class SavedSearch(models.Model):
    """A query a user keeps; its RSS/Atom feed is public by an unguessable token (feed readers have
    no session). Digests read these for saved-search alerts."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    query = models.CharField(max_length=MAX_QUERY_CHARS)
    category = models.CharField(max_length=40, blank=True)
    token = models.CharField(max_length=32, unique=True, default=_feed_token)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OwnedQuerySet["SavedSearch"].as_manager()

    class Meta:
        verbose_name_plural = "saved searches"
        constraints = [
            models.UniqueConstraint(fields=["user", "query", "category"], name="uniq_saved_search")
        ]

    def __str__(self) -> str:
        return self.query

    def reset_token(self) -> None:
        """A new feed address, as the "for you" feed's reset gives: whoever had the old one (a
        shared link, a reader synced somewhere) gets 404 from now on."""
        self.token = _feed_token()
        self.save(update_fields=["token"])
