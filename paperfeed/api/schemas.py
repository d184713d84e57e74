"""Response shapes that follow Hugging Face's papers API field for field (camelCase included), so
huggingface_hub's HfApi(endpoint=…) reads us: list_daily_papers, paper_info and list_papers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, WithJsonSchema

from paperfeed.accounts import throttle
from paperfeed.core.http import MAX_RETRY_AFTER, too_many_requests

# Strings in the document with the format they are in, so a client generated from it reads a time or
# a day, not any text: api.views._ts writes RFC 3339 in UTC ("2026-03-02T09:30:00.000Z").
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
Day = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]


class UserOut(Schema):
    user: str = Field(description="username")
    fullname: str
    avatarUrl: str
    type: str = "user"
    isPro: bool = False


class AuthorOut(Schema):
    name: str
    hidden: bool = False
    key: str = Field(description="paperfeed author key (for /authors/{key})")


class PaperOut(Schema):
    id: str
    title: str
    summary: str
    authors: list[AuthorOut]
    publishedAt: Timestamp | None = Field(
        description="when arXiv published v1 (RFC 3339, UTC), else the day it was announced (at 00:00 UTC)"
    )
    submittedOnDailyAt: Timestamp | None = Field(None, description="its first submission to the daily list")
    submittedOnDailyBy: UserOut | None = None
    upvotes: int
    numComments: int
    discussionId: str
    githubRepo: str | None = None
    projectPage: str | None = None
    categories: list[str]
    primaryCategory: str | None = None
    announcedAt: Day | None = Field(None, description="the day arXiv announced it (YYYY-MM-DD)")
    version: int | None = Field(
        None,
        description="the version stored (the latest paperfeed has seen); null when its source did not say"
        " (a snapshot record without a versions list). /api/papers/{id} with another version is a 404",
    )
    doi: str | None = None
    arxivUrl: str
    pdfUrl: str


class TrendingOut(Schema):
    rank: int
    score: float
    countedUpvotes: int
    ageHours: float
    reason: str


class DailyPaperOut(Schema):
    paper: PaperOut
    publishedAt: Timestamp | None = Field(
        description="in a day's list (daily_papers, trending, a user's submissions): when it was"
        " submitted to it; in search results and recommendations, which are no day's list: the"
        " paper's publishedAt"
    )
    title: str
    summary: str
    thumbnail: str = ""
    numComments: int
    submittedBy: UserOut | None = Field(
        None,
        description="who submitted it to that day's list; null in search results and recommendations"
        " (paper.submittedOnDailyBy names the first submitter everywhere)",
    )
    isAuthorParticipating: bool = False
    trending: TrendingOut | None = Field(None, description="with sort=trending and in /api/trending")


class SearchHitOut(DailyPaperOut):
    score: float = 0.0
    highlight: str = Field("", description="HTML: an escaped excerpt with <mark> around matches")


class CommentOut(Schema):
    id: int
    paper: str
    author: UserOut | None = Field(None, description="null once its author has deleted their account")
    body: str
    html: str
    createdAt: Timestamp
    editedAt: Timestamp | None = None


class CitationOut(Schema):
    id: str
    format: Literal["bibtex", "ris", "csl-json"]
    key: str = Field(description="the citation key, e.g. vaswani2017attention")
    citation: str = Field(description="the document in that format (CSL-JSON as its JSON text)")
    mediaType: str = Field(description="the format's media type, for saving `citation` to a file")


class VoteOut(Schema):
    id: str
    upvotes: int
    voted: bool


class SubmitIn(Schema):
    id: str = Field(max_length=300, description="arXiv id or URL")
    date: str | None = Field(None, max_length=10, description="YYYY-MM-DD; default today (UTC)")


class ReportIn(Schema):
    reason: Literal["spam", "off-topic", "abuse", "vote-gaming", "other"] = Field(
        description="spam, off-topic, abuse (abusive, harassing or hateful), vote-gaming, other"
    )
    text: str = Field("", max_length=1000, description="anything the moderators should know (optional)")


class ReportOut(Schema):
    id: int
    target: str = Field(description='what was reported, in words: "submission of 2501.00001 (2026-03-02)"')
    reason: str
    text: str
    status: str = Field(description="open until a moderator acts on it or dismisses it")
    createdAt: Timestamp


class PurgeIn(Schema):
    # Required, but missing is the service's 400 ("Give a reason for the log …"), as a blank one is,
    # not a 422: the document lists it as required all the same.
    model_config = ConfigDict(json_schema_extra={"required": ["reason"]})

    reason: str = Field(
        "", max_length=1000, description="why, for the moderation log (required: missing or blank is a 400)"
    )


class UndoIn(Schema):
    reason: str = Field("", max_length=1000, description="why, for the moderation log (optional)")


class PurgeOut(Schema):
    """A purge, or its undo, as the moderation log keeps it (`paperfeed moderate purge --json` too)."""

    action: Literal["purge-user", "unpurge-user"]
    purge: int = Field(
        description="this action's id in the log: a purge's is what /api/moderation/actions/{id}/undo takes"
    )
    undoes: int | None = Field(description="the purge an undo undid; null for a purge")
    user: str | None = Field(description="the account's username (null once the account is deleted)")
    suspended: bool = Field(
        description="whether this action suspended the account (an undo: lifted the suspension); false"
        " when it was suspended before, by another action, which an undo leaves to that action"
    )
    submissions: list[int] = Field(description="the submissions it removed from the feed (an undo: restored)")
    comments: list[int] = Field(description="the comments it hid (an undo: showed again)")
    reportsClosed: int = Field(description="how many open reports about them it resolved (an undo: 0)")
    reports: list[int] = Field(
        description="the reports it closed (an undo: reopened, all the purge closed but one whose reader"
        " has reported the item again since)"
    )
    sentence: str = Field(description="the log's line, as /moderation/log shows it")


class CommentIn(Schema):
    body: str = Field(min_length=1, max_length=10_000)


class ErrorOut(Schema):
    """Every 4xx answer but a 422: `error` says what was wrong, in words. No other key."""

    error: str = Field(description="what was wrong, in words")


class ValidationIssue(Schema):
    """One field that did not validate, as pydantic words it (without the value sent)."""

    type: str = Field(description="pydantic's error type, e.g. missing, string_too_short")
    loc: list[str | int] = Field(description='where: ["query", "since"], ["body", "body", "id"]')
    msg: str
    ctx: dict[str, Any] = Field(default_factory=dict, description="the rule's parameters, when it has any")


class ValidationErrorOut(ErrorOut):
    """A 422: the request's parameters or body did not validate; `detail` lists each problem."""

    detail: list[ValidationIssue]


class CollectionOut(Schema):
    name: str
    slug: str = Field(description="its papers: /api/users/{username}/collections/{slug}")
    public: bool = Field(description="false only in the owner's own list (their token): others never see it")
    papers: int = Field(description="how many papers it holds")


class UserPageOut(Schema):
    user: UserOut
    bio: str
    submissions: list[DailyPaperOut] = Field(description="the 50 newest, newest first (not paged)")
    upvoted: list[str] = Field(
        description="arXiv ids of the 100 papers upvoted last, last first; all of them, paged and as"
        " papers: /api/users/{username}/upvotes"
    )
    collections: list[dict[str, str | int]] = Field(description="the public ones: name, slug, papers")


def old_name(new: str) -> Any:
    """The field of a key's 0.1 snake_case name, sent beside its camelCase one `new` until 0.2
    (core.http.with_old_keys), marked deprecated so a client reads which one to use."""
    return Field(deprecated=True, description=f"use {new} (the same value); gone in 0.2")


# The limits an API request can meet (accounts.throttle), and the longest wait a 429 of theirs can
# say: two of the longest one's windows (core.ratelimit.longest_wait), two hours for submit:user's
# and report:user's hourly limits: RateLimitedOut's bound. A 503 says at most an hour
# (core.http.MAX_RETRY_AFTER), RetryLaterOut's; it documented two hours for 503s too until 2026-12.
# Kept by hand, since the checks are made in the services the operations call (feed.services,
# moderation.services), not at the routes: tests/api/test_limits.py walks every operation's calls
# and fails when a limit it can meet is missing here, or one here is met by none.
API_LIMITS = ("api:ip", "submit:user", "vote:user", "comment:user", "report:user")
LONGEST_RETRY_AFTER = max(2 * throttle.LIMITS[scope].window for scope in API_LIMITS)


class RetryLaterOut(Schema):
    """A 503 or 429 (core.http.retry_later): the database down or restarting (503, any path), arXiv
    not answering a paper's look-up (503, a submission), or a rate limit met (429, RateLimitedOut);
    try again after `retryAfter` seconds, as the Retry-After header says too."""

    error: str = Field(description="what is wrong, in words")
    retryAfter: int = Field(
        ge=1, le=MAX_RETRY_AFTER, description="seconds to wait, as in Retry-After: at most an hour"
    )
    retry_after: int = old_name("retryAfter")


class RateLimitedOut(RetryLaterOut):
    """A 429: a rate limit met. `limit` names it in words, as the site's 429 page does, and so
    does `error`."""

    error: str = Field(
        description="the limit met and the wait, in words (the seconds are in `retryAfter`)",
        examples=[too_many_requests(throttle.LIMITS["vote:user"].description, 42)],
    )
    retryAfter: int = Field(
        ge=1,
        le=LONGEST_RETRY_AFTER,
        description="seconds to wait, as in Retry-After: up to two of the limit's windows (the longest"
        " its refusal can make anyone wait: 2 hours for the hourly submit:user and report:user)",
    )

    limit: str = Field(
        description="the limit met, in words: one of "
        + "; ".join(f"“{throttle.LIMITS[scope].description}”" for scope in API_LIMITS),
        examples=[throttle.LIMITS["api:ip"].description],
    )
