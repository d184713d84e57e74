"""A user's private "for you" feed (RSS 2.0 and Atom): the recommendations /for-you lists, from the
same services.recommend, each item's description opening with its reason. The address holds the
user's FeedToken (a feed reader has no session); reading it marks nothing seen, as its items link to
the paper's page and not to /for-you/<id>/open."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from paperfeed.core.http import retry_later_page
from paperfeed.core.middleware import NotFound
from paperfeed.feed import feeds
from paperfeed.recs import api, index, services
from paperfeed.recs.models import FeedToken

FEED_ITEMS = 50


@dataclass
class Listing:
    """One request's feed: whose it is, and each listed paper's recommendation (for its reason)."""

    token: FeedToken
    recs: dict[int, services.Recommendation] = field(default_factory=dict)


class ForYouFeed(feeds._PaperFeed):
    url_name = "for-you-rss"
    description_template = "recs/feed_item.html"
    # The list and its reasons change as the reader acts and new papers come, with no item's date
    # changing: validated by its ETag alone.
    counts_votes = True
    title = "paperfeed: for you"
    description = "New papers chosen from what you upvote, save and follow, each with its reason."

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            response = super().__call__(request, *args, **kwargs)
        except index.NotReady as e:
            return api.not_ready(e)  # as the API: a reader retries rather than keep another list
        return _private(response)

    def get_object(self, request: HttpRequest, token: str) -> Listing:
        found = FeedToken.objects.of_active_accounts().select_related("user").filter(token=token).first()
        if found is None:  # reset, a deactivated or deleted account, or a mistyped address
            raise NotFound("No feed has this address: its link may have been reset.")
        return Listing(found)

    def link(self, obj: Listing) -> str:
        return settings.BASE_URL + reverse("for-you")

    def feed_url(self, obj: Listing) -> str:
        return settings.BASE_URL + reverse(self.url_name, args=[obj.token.token])

    def items(self, obj: Listing) -> list[Any]:
        recs = services.recommend(obj.token.user, limit=FEED_ITEMS)
        obj.recs = {r.paper.pk: r for r in recs}
        return [r.paper for r in recs]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        rec = kwargs["obj"].recs.get(ctx["paper"].pk)
        ctx["reason"] = rec.reason if rec else ""
        return ctx


class ForYouAtom(feeds._Atom, ForYouFeed):
    url_name = "for-you-atom"


_about = feeds.about(ForYouFeed, ForYouAtom)


PREPARING = (
    "Your recommendations are being prepared: the server is building its index of recent papers"
    " after a start or an upgrade."
)


def about(request: HttpRequest, token: str) -> HttpResponse:
    """The feed's page, as every feed has one; private like the feed, so no cache keeps it. While
    the recommendations are prepared it is the site's 503 page, saying when to come back (a person
    reads it in a browser; it was the JSON the feed's own addresses answer a feed reader with)."""
    try:
        response: HttpResponse = _about(request, token=token)
    except index.NotReady as e:
        response = _private(retry_later_page(request, "503.html", e.retry_after, reason=PREPARING))
        response["Cache-Control"] = "no-store"  # as api.not_ready's: the next visit may find it ready
        return response
    return _private(response)


def _private(response: HttpResponse) -> HttpResponse:
    # One reader's list under a secret address: no shared cache keeps it, no search engine lists it.
    response["Cache-Control"] = "private"
    response["X-Robots-Tag"] = "noindex"
    return response
