"""Response shapes that follow Hugging Face's papers API field for field (camelCase included), so
huggingface_hub's HfApi(endpoint=…) reads us: list_daily_papers, paper_info and list_papers."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema


class UserOut(Schema):
    user: str = Field(description="username")
    fullname: str
    avatarUrl: str  # noqa: N815
    type: str = "user"
    isPro: bool = False  # noqa: N815


class AuthorOut(Schema):
    name: str
    hidden: bool = False
    key: str = Field(description="paperfeed author key (for /authors/{key})")


class PaperOut(Schema):
    id: str
    title: str
    summary: str
    authors: list[AuthorOut]
    publishedAt: str | None = Field(description="when arXiv published v1 (ISO 8601, UTC)")  # noqa: N815
    submittedOnDailyAt: str | None = None  # noqa: N815
    submittedOnDailyBy: UserOut | None = None  # noqa: N815
    upvotes: int
    numComments: int  # noqa: N815
    discussionId: str  # noqa: N815
    githubRepo: str | None = None  # noqa: N815
    projectPage: str | None = None  # noqa: N815
    categories: list[str]
    primaryCategory: str | None = None  # noqa: N815
    announcedAt: str | None = None  # noqa: N815
    version: int | None = None
    doi: str | None = None
    arxivUrl: str  # noqa: N815
    pdfUrl: str  # noqa: N815


class TrendingOut(Schema):
    rank: int
    score: float
    countedUpvotes: int  # noqa: N815
    ageHours: float  # noqa: N815
    reason: str


class DailyPaperOut(Schema):
    paper: PaperOut
    publishedAt: str | None = Field(description="when it was submitted to the daily list")  # noqa: N815
    title: str
    summary: str
    thumbnail: str = ""
    numComments: int  # noqa: N815
    submittedBy: UserOut | None = None  # noqa: N815
    isAuthorParticipating: bool = False  # noqa: N815
    trending: TrendingOut | None = None


class SearchHitOut(DailyPaperOut):
    score: float = 0.0
    highlight: str = Field("", description="HTML: an escaped excerpt with <mark> around matches")


class CommentOut(Schema):
    id: int
    paper: str
    author: UserOut
    body: str
    html: str
    createdAt: str  # noqa: N815
    editedAt: str | None = None  # noqa: N815


class VoteOut(Schema):
    id: str
    upvotes: int
    voted: bool


class SubmitIn(Schema):
    id: str = Field(max_length=300, description="arXiv id or URL")
    date: str | None = Field(None, max_length=10, description="YYYY-MM-DD; default today (UTC)")


class CommentIn(Schema):
    body: str = Field(min_length=1, max_length=10_000)


class ErrorOut(Schema):
    """Every 4xx answer: `error` says what was wrong; validation errors list their `detail`."""

    error: str = ""
    detail: Any = None


class UserPageOut(Schema):
    user: UserOut
    bio: str
    submissions: list[DailyPaperOut]
    upvoted: list[str]
    collections: list[dict[str, str | int]]
