"""Submissions, votes and comments in the admin, to look at only (core.admin.ReadOnly): removing a
submission or hiding a comment is moderation, which logs it (/moderation, `paperfeed moderate`), and
a vote edited here would skip the counts and the listing version a vote moves. Each list is counted
up to a cap and searched by arXiv id or exact username (core.admin.ByPaperOrUser): at a million
votes Django's own count and `icontains` search read the whole table on every view."""

from __future__ import annotations

from django.contrib import admin

from paperfeed.core.admin import ByPaperOrUser, ReadOnly
from paperfeed.feed.models import Comment, Submission, Vote


@admin.register(Submission)
class SubmissionAdmin(ByPaperOrUser, ReadOnly):
    list_display = ("day", "paper", "submitted_by", "created_at", "removed_at")
    # The feed's day as a filter of fixed periods: `date_hierarchy` listed the years of every
    # submission (a DISTINCT over the whole table) on each view, as it did the papers'.
    list_filter = (("removed_at", admin.EmptyFieldListFilter), ("day", admin.DateFieldListFilter))
    list_select_related = ("paper", "submitted_by")
    search_fields = ("=paper__arxiv_id", "=submitted_by__username")  # what get_search_results does
    user_field = "submitted_by"


@admin.register(Vote)
class VoteAdmin(ByPaperOrUser, ReadOnly):
    list_display = ("created_at", "user", "paper", "uncounted")
    list_filter = ("uncounted",)
    list_select_related = ("user", "paper")
    search_fields = ("=paper__arxiv_id", "=user__username")


@admin.register(Comment)
class CommentAdmin(ByPaperOrUser, ReadOnly):
    list_display = ("created_at", "author", "paper", "hidden", "edited_at")
    list_filter = ("hidden",)
    list_select_related = ("author", "paper")
    search_fields = ("=paper__arxiv_id", "=author__username")
    user_field = "author"
