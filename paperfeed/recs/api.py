"""`/api/recommendations`: the "for you" list as JSON, for a bearer token or a signed-in session.
Mounted on the site's django-ninja API by RecsConfig.ready() when that API exists."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.security import SessionAuth
from pydantic import TypeAdapter

from paperfeed.api.paging import SearchPaging, link_pages
from paperfeed.api.schemas import DailyPaperOut, old_name
from paperfeed.core.http import retry_later, with_old_keys
from paperfeed.recs import index, services

NOT_READY = (
    "recommendations are being prepared (the server is building its index of recent papers after a"
    " start or an upgrade); try again after Retry-After"
)


def not_ready(exc: index.NotReady) -> HttpResponse:
    """The API's and the page's JSON twin's answer while the window is built: 503 + Retry-After,
    not a list of another kind under the same shape (a client could not tell it from its ranking)."""
    resp = retry_later(NOT_READY, exc.retry_after)
    resp["Cache-Control"] = "no-store"
    return resp


class RecommendationOut(DailyPaperOut):
    """A list entry as every other list of the API has it (the paper as /api/papers/{id} gives it),
    with why it is recommended."""

    rank: int = Field(description="The place in the whole list, from 1 (not the page): the order to show.")
    score: float = Field(
        description="Never rises down the list; where followed keywords' matches and the followed"
        " categories' newest papers take turns, a paper's score is capped by the one above it."
    )
    reason: str = Field(description="why it is recommended, in words")
    because: list[str] = Field(description="arXiv ids of the liked papers the reason names")
    # The shape of 0.1 (still the `paperfeed recommend --json` one), kept beside it until 0.2.
    id: str = Field(deprecated=True, description="use paper.id")
    authors: list[str] = Field(deprecated=True, description="use paper.authors[].name")
    primary_category: str | None = Field(deprecated=True, description="use paper.primaryCategory")
    announced: str | None = Field(deprecated=True, description="use paper.announcedAt")


_ENTRIES = TypeAdapter(list[RecommendationOut])


class NotInterestedOut(Schema):
    id: str
    notInterested: bool = Field(description="whether the paper is marked now (false after undo=true)")
    not_interested: bool = old_name("notInterested")


def as_json(recs: list[services.Recommendation]) -> list[dict[str, Any]]:
    """/api/recommendations' entries, also those of the page's JSON twin (/for-you?format=json)."""
    from paperfeed.api.views import listed  # the API's shapes, loaded by now

    entries = listed([r.paper for r in recs])
    # Through the schema, as ninja serialises the API's answer, so both have its defaults too.
    return _ENTRIES.dump_python(
        _ENTRIES.validate_python([e | r.as_json() for r, e in zip(recs, entries, strict=True)]), mode="json"
    )


def router(token_auth: Any, responses: Any) -> Router:
    """`responses(schema, *errors)` is the API's success-plus-documented-errors helper, so these
    operations declare their errors in the same shapes as the rest of the API."""
    r = Router(tags=["recommendations"], auth=[token_auth, SessionAuth()])

    @r.get(
        "/recommendations",
        response=responses(list[RecommendationOut], 400, 401, 503),
        openapi_extra={
            "responses": {
                503: {
                    "description": "Service Unavailable: the recommendations are being prepared (a"
                    " server just started on a home without its index of recent papers), or the"
                    " database is down; try again after Retry-After"
                }
            }
        },
    )
    def recommendations(
        request: HttpRequest, response: HttpResponse, q: Query[SearchPaging]
    ) -> list[dict[str, Any]] | HttpResponse:
        """The signed-in user's recommendations, best first, each with its reason: the best
        100 in pages (`p` from 0), a page past them empty. 503 with Retry-After while a server
        that just started prepares them."""
        start, end = q.window()
        if start >= services.MAX_LIMIT:
            link_pages(request, response, q, 0)
            return []
        # A longer list starts with the shorter one, so a page is the tail of the list up to its end.
        try:
            recs = services.recommend(request.auth, limit=min(end, services.MAX_LIMIT))  # type: ignore[attr-defined]
        except index.NotReady as e:
            return not_ready(e)
        page = as_json(recs[start:end])
        link_pages(request, response, q, len(page))
        return page

    # paper_id: the API's converter (one segment, or an old-style id's two), registered with the API.
    @r.post(
        "/recommendations/{paper_id:arxiv_id}/not_interested",
        response=responses(NotInterestedOut, 401, 403, 404, 422),
    )
    def not_interested(request: HttpRequest, arxiv_id: str, undo: bool = False) -> dict[str, Any]:
        """Mark a paper "not interested" (undo=true takes it back): similar papers move down."""
        from paperfeed.api.views import stored_paper  # the API's lookup and its 404s, loaded by now

        paper = stored_paper(arxiv_id)
        services.not_interested(request.auth, paper, undo=undo)  # type: ignore[attr-defined]
        return with_old_keys({"id": paper.arxiv_id, "notInterested": not undo}, "notInterested")

    return r
