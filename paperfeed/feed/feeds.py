"""RSS 2.0 and Atom feeds of the daily list, trending, each category and each saved search; the
same lists the pages show (feed.services), links built from PAPERFEED_BASE_URL. The period feeds
(daily, trending, category) read the page's own ?date=, ?week= or ?month= by the pages' rule
(periods.asked). Each answers If-None-Match (an ETag of its bytes) and, where its Last-Modified is
true, If-Modified-Since, with 304 (core.http)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.http import HttpRequest, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import render
from django.urls import reverse
from django.utils import feedgenerator, timezone

from paperfeed.core.http import answer_conditionally
from paperfeed.core.middleware import NotFound
from paperfeed.core.text import quoted
from paperfeed.feed import periods, searching, services
from paperfeed.feed.models import SavedSearch
from paperfeed.feed.views import category_or_404
from paperfeed.papers import tex
from paperfeed.papers.models import Category, Paper


class _ChangedAt(feedgenerator.SyndicationFeed):
    """The feed's date (Atom's feed <updated>, RSS's lastBuildDate, the Last-Modified header) is when
    its list last changed: the newest of its entries' dates and of the times their rows were
    written. Entry dates alone said "unchanged" to an If-Modified-Since after a paper dated no
    later than the newest was added (a second batch of the same day, a saved search's new match
    from last month): a 304 for a list that had grown. An empty feed is dated the start of the
    day, not the current second, which made every poll's bytes (and ETag) new."""

    def latest_post_date(self) -> dt.datetime:
        dates = [
            d for i in self.items for d in (i.get("updateddate"), i.get("pubdate"), i.get("written")) if d
        ]
        if dates:
            return max(dates)
        return dt.datetime.combine(timezone.now().astimezone(dt.UTC).date(), dt.time(), tzinfo=dt.UTC)


class _Rss(_ChangedAt, feedgenerator.Rss201rev2Feed):
    pass


class _Atom1(_ChangedAt, feedgenerator.Atom1Feed):
    pass


_GZIP = GZipMiddleware(lambda request: HttpResponse())


class _PaperFeed(Feed):
    feed_type: type[feedgenerator.SyndicationFeed] = _Rss
    description_template = "feed/feed_item.html"
    # A feed whose items show upvotes and ranks: those change without any item's date changing, so
    # the newest date (Django's Last-Modified) would answer a reader's If-Modified-Since with a 304
    # for a list that did change. Such a feed is validated by its ETag alone.
    counts_votes = False

    def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().__call__(request, *args, **kwargs)
        if self.counts_votes and response.has_header("Last-Modified"):
            del response["Last-Modified"]
        # Compressed for a reader that asks (every feed reader does): a category feed is ~210 KB of
        # XML, ~60 KB gzipped, fetched whole at every change by every subscriber. Only the feeds:
        # their bodies hold no secret for a BREACH-style guess, where pages carry a CSRF token.
        # The ETag becomes weak, which If-None-Match compares weakly: a 304 still answers it.
        packed = _GZIP.process_response(request, answer_conditionally(request, response))
        assert isinstance(packed, HttpResponse)  # the one it was given, its content replaced
        return packed

    def item_title(self, item: Any) -> str:
        return tex.plain(_paper(item).title)  # feed readers show a title as text: no KaTeX there

    def item_link(self, item: Any) -> str:
        return settings.BASE_URL + reverse("paper", args=[_paper(item).arxiv_id])

    def item_guid(self, item: Any) -> str:
        return self.item_link(item)

    # Atom's feed-level author (RFC 4287 4.1.1: required unless every entry has its own), for an
    # entry of a paper stored without author names.
    author_name = "paperfeed"

    def item_author_name(self, item: Any) -> str | None:
        # The names the item's text lists (its first ten), each whole: authors_text is arXiv's own
        # line ("A and B"), which was cut at 300 characters, in the middle of a name.
        names = [n for a in _paper(item).authors if (n := a.get("name", "").strip())]
        if not names:  # no empty <author><name/></author> or <dc:creator/>
            return None
        return ", ".join(names[:10]) + (" et al." if len(names) > 10 else "")

    def item_pubdate(self, item: Any) -> dt.datetime | None:
        if isinstance(item, services.Entry):
            return item.submission.created_at
        p = _paper(item)
        return p.published or (
            dt.datetime.combine(p.announced, dt.time(), tzinfo=dt.UTC) if p.announced else None
        )

    def item_updateddate(self, item: Any) -> dt.datetime | None:
        # Atom requires an <updated> per entry (RFC 4287 4.1.2): the paper's latest version, else
        # when it was listed.
        # Never before its <published>: a paper listed today may be a version from a year ago.
        dates = [d for d in (_paper(item).updated, self.item_pubdate(item)) if d is not None]
        return max(dates) if dates else None

    def item_categories(self, item: Any) -> list[str]:
        return _paper(item).category_codes()

    def item_extra_kwargs(self, item: Any) -> dict[str, Any]:
        # Read by _ChangedAt only; no element is written from it.
        return {"written": _paper(item).modified_at}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        ctx = super().get_context_data(**kwargs)
        item = ctx["obj"]
        ctx["paper"] = _paper(item)
        ctx["entry"] = item if isinstance(item, services.Entry) else None
        return ctx


def _paper(item: Any) -> Paper:
    return item.paper if isinstance(item, services.Entry) else item


class _Atom:
    feed_type: type[feedgenerator.SyndicationFeed] = _Atom1


def _seven_days_to(last: dt.date) -> periods.Period:
    return periods.Period("day", last - dt.timedelta(days=6), last)


class _PeriodFeed(_PaperFeed):
    """A list read by period: the rolling default, or the page's own ?date=/?week=/?month=."""

    url_name, page, name = "", "", ""  # the feed's URL name, its page's URL name, what it lists

    def get_object(self, request: HttpRequest) -> periods.Period | None:
        # The page's own parameters: a feed link copied from a page lists that page's period.
        return periods.asked(request)

    def title(self, obj: periods.Period | None) -> str:
        return f"paperfeed: {self.name}" + (f", {obj.label}" if obj else "")

    def link(self, obj: periods.Period | None) -> str:
        return settings.BASE_URL + reverse(self.page) + (f"?{obj.query()}" if obj else "")

    def feed_url(self, obj: periods.Period | None) -> str:  # the feed's own address, period included
        return settings.BASE_URL + reverse(self.url_name) + (f"?{obj.query()}" if obj else "")


class DailyFeed(_PeriodFeed):
    url_name, page, name = "daily-rss", "daily", "daily papers"
    description = "Papers the community submitted, newest first."
    counts_votes = True

    def items(self, obj: periods.Period | None) -> list[services.Entry]:
        # Newest first, as a reader expects; the last seven listed days unless a period was asked for.
        period = obj or _seven_days_to(services.latest_day() or timezone.localdate())
        return services.listing(period, sort="publishedAt")[:100]


class DailyAtom(_Atom, DailyFeed):
    url_name = "daily-atom"


class TrendingFeed(_PeriodFeed):
    url_name, page, name = "trending-rss", "trending", "trending papers"
    description = (
        "Upvotes with time decay, this week unless a period is given (see the trending page for the formula)."
    )
    counts_votes = True

    def items(self, obj: periods.Period | None) -> list[services.Entry]:
        return services.trending(services.trending_period(obj), limit=50)


class TrendingAtom(_Atom, TrendingFeed):
    url_name = "trending-atom"


class CategoryFeed(_PaperFeed):
    """The newest papers of a category, or those of the page's own period when given one."""

    url_name = "category-rss"

    def get_object(self, request: HttpRequest, code: str) -> tuple[Category, periods.Period | None]:
        return category_or_404(code), periods.asked(request)

    def title(self, obj: tuple[Category, periods.Period | None]) -> str:
        cat, period = obj
        return f"paperfeed: new papers in {cat.code}" + (f", {period.label}" if period else "")

    def description(self, obj: tuple[Category, periods.Period | None]) -> str:
        cat = obj[0]
        return f"Papers newly announced in {cat.code}{' (' + cat.name + ')' if cat.name else ''}."

    def link(self, obj: tuple[Category, periods.Period | None]) -> str:
        cat, period = obj
        return (
            settings.BASE_URL
            + reverse("category", args=[cat.code])
            + (f"?{period.query()}" if period else "")
        )

    def feed_url(self, obj: tuple[Category, periods.Period | None]) -> str:
        # The self link from PAPERFEED_BASE_URL like every other link (Django's default takes the
        # request's host, which behind a proxy is not the public one).
        cat, period = obj
        return (
            settings.BASE_URL
            + reverse(self.url_name, args=[cat.code])
            + (f"?{period.query()}" if period else "")
        )

    def items(self, obj: tuple[Category, periods.Period | None]) -> list[Paper]:
        cat, period = obj
        qs = Paper.objects.active().in_category(cat.code)
        if period:
            qs = qs.announced_between(period.first, period.last)
        return list(qs.order_by("-announced", "-arxiv_id").for_listing()[:100])


class CategoryAtom(_Atom, CategoryFeed):
    url_name = "category-atom"


class SavedSearchFeed(_PaperFeed):
    url_name = "search-rss"

    def get_object(self, request: HttpRequest, token: str) -> SavedSearch:
        found = SavedSearch.objects.of_active_accounts().filter(token=token).first()
        if found is None:  # deleted, its address reset, a deactivated account's, or mistyped
            raise NotFound("No saved search has this feed: it may have been deleted or its address reset.")
        return found

    def title(self, obj: SavedSearch) -> str:
        return f"paperfeed: search {quoted(obj.query, 200)}"

    def description(self, obj: SavedSearch) -> str:
        return f"Newest papers matching {quoted(obj.query, 200)}."

    def link(self, obj: SavedSearch) -> str:
        return settings.BASE_URL + reverse("search") + "?" + _qs(obj)

    def feed_url(self, obj: SavedSearch) -> str:
        return settings.BASE_URL + reverse(self.url_name, args=[obj.token])

    def items(self, obj: SavedSearch) -> list[Paper]:
        res = searching.run_search(obj.query, category=obj.category or None, sort="date", limit=50)
        return [h.paper for h in res.hits]


def _qs(obj: SavedSearch) -> str:
    from urllib.parse import urlencode

    return urlencode({"q": obj.query, "category": obj.category, "sort": "date"})


class SavedSearchAtom(_Atom, SavedSearchFeed):
    url_name = "search-atom"


# --- the page a reader lands on from the site's feed links ------------------------------------------


PREVIEW_ITEMS = 10


def about(rss: type[_PaperFeed], atom: type[_PaperFeed]) -> Any:
    """The HTML page the site links for a feed: a browser shows a feed's XML as raw text (and XSLT,
    which could dress it, is leaving browsers), so a reader who clicks "RSS" lands here instead:
    what the feed lists, its RSS and Atom addresses to copy into a feed reader, and its first
    entries. The feed addresses themselves stay XML whatever the Accept header says: feed readers
    send all sorts, and a reader given HTML would drop the subscription."""

    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        feed, twin = rss(), atom()
        obj = feed.get_object(request, **kwargs)
        items = list(feed.items(obj))[:PREVIEW_ITEMS]
        return render(
            request,
            "feed/feed_about.html",
            {
                "title": _attr(feed, "title", obj),  # for feed readers, which show it among other sites'
                "heading": _attr(feed, "title", obj).removeprefix("paperfeed: "),
                "description": _attr(feed, "description", obj),
                "page_url": _attr(feed, "link", obj),
                "rss_url": feed.feed_url(obj),
                "atom_url": twin.feed_url(obj),
                "preview": [(_paper(i), feed.item_pubdate(i)) for i in items],
            },
        )

    return view


def _attr(feed: _PaperFeed, name: str, obj: Any) -> str:
    # Django's Feed takes a title, description or link as a string or as a method of the object.
    value = getattr(feed, name)
    return str(value(obj) if callable(value) else value)
