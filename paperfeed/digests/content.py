"""What goes into a digest: pluggable sections, composed for a batch of subscribers at a time.

A section prepares what all subscribers share once per digest (the trending list, the window's new
papers by category and author, each distinct saved search's results) and then picks per subscriber
from memory, so composing 10,000 digests costs little more than their distinct queries. Each paper
appears at most once per subscriber across digests: papers of their deliveries of the last
SEEN_HORIZON_DAYS are left out.

Hooks for other apps: `set_for_you_provider(fn)` (a batch "for you"; without one, the
recommendations app's `recs.services.recommend(user_id, limit=, since=, until=, categories=)` is
called per user), and the trending, follows and saved-search sources below, which read the feed,
accounts and search apps when those provide them.
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from paperfeed.core import text
from paperfeed.digests.models import Delivery, Digest, Frequency, Subscriber
from paperfeed.papers.models import Paper, PaperCategory

log = logging.getLogger(__name__)

# Relevance knobs, in one place.
TRENDING_LIMIT = 10
FOLLOWS_LIMIT = 20
ALERT_LIMIT = 10  # per saved search
# An alert promises papers *matching* the search: keyword mode, so that a window without a match sends
# nothing rather than the nearest neighbours hybrid search always finds.
ALERT_MODE = "keyword"
# Newest matches asked of the search service, before the every-word check; a followed keyword takes
# all of them (to say how many did not fit: "N+ more" when the pool was full, as more may match).
ALERT_POOL = 100
FOR_YOU_LIMIT = 10
DIGEST_LIMIT = 50
SEEN_HORIZON_DAYS = 45

# (paper pk, section key, reason)
Item = tuple[int, str, str]


class ForYouProvider(Protocol):
    """for_you(user_ids, since, until, limit, categories=) -> {user_id: [(paper pk, reason), ...]},
    best first, papers announced from `since` to `until`: the digest's period, as in its other
    sections (a re-run or late digest shows no later papers, and a daily one not last month's).
    `limit` is deeper than the section shows: the digest takes the first FOR_YOU_LIMIT that its other
    sections did not show. `categories`: per user, those chosen in the digest's settings, to be
    counted as followed (a reader who told the digest what they read has no cold start)."""

    def __call__(
        self,
        user_ids: list[int],
        since: dt.date,
        until: dt.date,
        limit: int,
        *,
        categories: dict[int, list[str]],
    ) -> dict[int, list[tuple[int, str]]]: ...


_for_you: ForYouProvider | None = None


def set_for_you_provider(fn: ForYouProvider | None) -> None:
    """The recommendations app registers its batch "for you" function here (in its AppConfig.ready)."""
    global _for_you
    _for_you = fn


def _optional(module: str, name: str) -> Any:
    """An attribute of another app's module, or None while that app does not provide it."""
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def previous_period(frequency: str, period: dt.date) -> dt.date:
    if frequency == Frequency.WEEKLY:
        return period - dt.timedelta(days=7)
    day = period - dt.timedelta(days=1)
    while day.weekday() >= 5:
        day -= dt.timedelta(days=1)
    return day


def window(frequency: str, period: dt.date) -> tuple[dt.date, dt.date]:
    """The days whose new papers a digest covers: after the previous period, up to its own."""
    return previous_period(frequency, period) + dt.timedelta(days=1), period


@dataclass
class Context:
    digest: Digest
    first: dt.date
    last: dt.date
    now: dt.datetime
    shared: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, digest: Digest, now: dt.datetime | None = None) -> Context:
        first, last = window(digest.frequency, digest.period)
        return cls(digest, first, last, now or timezone.now())


class Section:
    key = ""
    title = ""
    flag = ""  # the Subscriber field that switches it on

    def prepare(self, ctx: Context, subs: list[Subscriber]) -> None:
        """Load what this batch needs (called once per batch; cache across batches in ctx.shared)."""

    def pick(self, ctx: Context, sub: Subscriber, skip: set[int]) -> list[Item]:
        """Candidates best first; `skip`: papers the subscriber has seen or this digest has shown."""
        raise NotImplementedError

    def more(self, ctx: Context, sub: Subscriber, shown: set[int]) -> list[Item]:
        """Notes on what the section had and this digest does not show (see `note`)."""
        return []


class Trending(Section):
    key, title, flag = "trending", "Trending", "trending"

    def prepare(self, ctx: Context, subs: list[Subscriber]) -> None:
        if "trending" in ctx.shared:
            return
        ctx.shared["trending"] = trending_papers(ctx.first, ctx.last, ctx.now, TRENDING_LIMIT * 3)

    def pick(self, ctx: Context, sub: Subscriber, skip: set[int]) -> list[Item]:
        return [(pk, self.key, why) for pk, why in ctx.shared["trending"]]


def trending_papers(first: dt.date, last: dt.date, now: dt.datetime, limit: int) -> list[tuple[int, str]]:
    """The community's papers of the window, as the daily page lists them (every submission: a young
    community's papers without a vote yet are the digest's news), ranked by feed.services' trending
    score as it stood at the window's end (feed.services.reference_time): a digest sent late or
    re-sent ranks by the votes cast by then, not by today's. Where the feed app does not provide
    them: the window's newest papers with code."""
    listing = _optional("paperfeed.feed.services", "listing")
    period_cls = _optional("paperfeed.feed.periods", "Period")
    if listing is not None and period_cls is not None:
        entries = listing(period_cls("day", first, last), sort="trending", now=now)
        return [(e.paper.pk, trending_reason(e.counted, e.rank, first, last)) for e in entries[:limit]]
    qs = Paper.objects.active().announced_between(first, last).with_code().order_by("-announced", "-arxiv_id")
    return [(pk, "new, with code") for pk in qs.values_list("pk", flat=True)[:limit]]


def trending_reason(upvotes: int, rank: int, first: dt.date, last: dt.date) -> str:
    """A trending paper's reason as a mail reader reads it: "3 upvotes · #1 trending on 27 Nov" (or
    "from 21 Nov to 27 Nov" for a week). The site's reason is the score's formula
    (feed.services._score), which explains a rank to someone comparing them; in a mail it read as
    noise. The upvotes are those the score counts."""
    votes = f"{upvotes} upvote{'' if upvotes == 1 else 's'}" if upvotes else "no upvotes yet"
    when = f"on {first:%-d %b}" if first == last else f"from {first:%-d %b} to {last:%-d %b}"
    return f"{votes} · #{rank} trending {when}"


class Follows(Section):
    """New papers of each followed author, category and keyword (the subscriber's own lists and
    their account's follows), taken in turns, one per follow per round (authors first: they are the
    narrowest), so that one busy category cannot crowd out the others; what does not fit is said,
    per follow, with a link to the rest on the site."""

    key, title, flag = "follows", "From what you follow", "follows"

    def prepare(self, ctx: Context, subs: list[Subscriber]) -> None:
        if "by_category" not in ctx.shared:
            papers = list(
                Paper.objects.active()
                .announced_between(ctx.first, ctx.last)
                .order_by("-announced", "-arxiv_id")
                .values_list("pk", "primary_category_id", "authors", "announced")
            )
            order = {pk: i for i, (pk, _, _, _) in enumerate(papers)}
            day_of = {pk: day for pk, _, _, day in papers}
            by_cat: dict[str, list[int]] = defaultdict(list)
            by_author: dict[str, list[int]] = defaultdict(list)
            names: dict[str, str] = {}
            # Each paper's authors as it names them, to say which followed ones wrote it.
            authors_of: dict[int, list[tuple[str, str]]] = {}
            for pk, primary, authors, _ in papers:
                if primary:
                    by_cat[primary].append(pk)
                authors_of[pk] = []
                for a in authors or []:
                    if a.get("key"):
                        by_author[a["key"]].append(pk)
                        names.setdefault(a["key"], a.get("name") or a["key"])
                        authors_of[pk].append((a["key"], a.get("name") or a["key"]))
            for pk, cat in PaperCategory.objects.filter(paper_id__in=list(order)).values_list(
                "paper_id", "category_id"
            ):
                if pk not in by_cat[cat]:
                    by_cat[cat].append(pk)
            for pks in by_cat.values():
                pks.sort(key=order.__getitem__)  # cross-lists in date order too
            ctx.shared.update(
                by_category=by_cat,
                by_author=by_author,
                author_names=names,
                authors_of=authors_of,
                order=order,
                day_of=day_of,
            )
            ctx.shared["by_keyword"] = {}
        ctx.shared["account_follows"] = account_follows([s.user_id for s in subs if s.user_id])

    def follows(self, ctx: Context, sub: Subscriber) -> list[tuple[str, str, list[int]]]:
        """(kind, value, the window's papers newest first) of each thing the subscriber follows."""
        extra = ctx.shared["account_follows"].get(sub.user_id) or AccountFollows()
        out: list[tuple[str, str, list[int]]] = []
        for a in sorted({*(sub.authors or []), *extra.authors}):
            out.append(("author", a, ctx.shared["by_author"].get(a, [])))
        for c in sorted({*(sub.categories or []), *extra.categories}):
            out.append(("category", c, ctx.shared["by_category"].get(c, [])))
        cache = ctx.shared["by_keyword"]
        for k in sorted(set(extra.keywords)):
            if k not in cache:
                cache[k] = search_new(k, ctx.first, ctx.last, ALERT_POOL)
            out.append(("keyword", k, cache[k].pks))
        return out

    def pick(self, ctx: Context, sub: Subscriber, skip: set[int]) -> list[Item]:
        follows = self.follows(ctx, sub)
        followed = {value for kind, value, _ in follows if kind == "author"}
        on_site = set((ctx.shared["account_follows"].get(sub.user_id) or AccountFollows()).authors)
        found: list[Item] = []
        for pk, turn in in_turns([[pk for pk in pks if pk not in skip] for _, _, pks in follows]):
            kind, value, _ = follows[turn]
            # A followed author is the sharpest reason, whichever turn found the paper (a category's
            # turn may reach it before its author's), and all of them are named.
            authors = [(k, n) for k, n in ctx.shared["authors_of"].get(pk, []) if k in followed]
            if authors:
                why = _by_followed([n for _, n in authors], [k in on_site for k, _ in authors])
            else:
                why = _follow_reason(kind, value)
            found.append((pk, self.key, why))
        return found

    def more(self, ctx: Context, sub: Subscriber, shown: set[int]) -> list[Item]:
        notes = []
        for kind, value, pks in self.follows(ctx, sub):
            if left := [pk for pk in pks if pk not in shown]:
                notes.append(self._note(ctx, kind, value, left))
        return notes

    def _note(self, ctx: Context, kind: str, value: str, left: list[int]) -> Item:
        n = len(left)
        if kind == "author":
            name = ctx.shared["author_names"].get(value, value)
            return note(self.key, f"{n} more by {name}", reverse("author", args=[value]))
        if kind == "category":
            days = [ctx.shared["day_of"][pk] for pk in left]
            return note(self.key, f"{n} more new in {value}", _category_listing(value, days, ctx))
        return search_note(self.key, ctx, value, n, ctx.shared["by_keyword"][value].more)


def search_note(key: str, ctx: Context, query: str, n: int, more: bool) -> Item:
    """ "12 more matching “query”" (12+ when the search stopped at its limit), linking to the search
    over the digest's dates, newest first."""
    params = urlencode(
        {"q": query, "sort": "date", "since": ctx.first.isoformat(), "until": ctx.last.isoformat()}
    )
    at_least = "+" if more else ""
    return note(key, f"{n}{at_least} more matching {text.quoted(query)}", f"{reverse('search')}?{params}")


def in_turns(queues: list[list[int]]) -> list[tuple[int, int]]:
    """(paper, index of the queue that reached it first), taking one from each queue per round, so
    that one long queue cannot crowd out the others; a paper in several queues comes once."""
    found: dict[int, int] = {}
    for depth in range(max(map(len, queues), default=0)):
        for turn, queue in enumerate(queues):
            if depth < len(queue):
                found.setdefault(queue[depth], turn)
    return list(found.items())


def _category_listing(code: str, days: list[dt.date], ctx: Context) -> str:
    """Where the site lists a category's papers left out of a digest: its page for the day or ISO
    week (?date=, ?week=) that holds them all, the narrowest the page offers. A weekly digest's
    window (Tuesday to Monday) spans two ISO weeks, and a month would bury them among four weeks'
    papers: then the search page, filtered to the category and exactly the window."""
    lo, hi = min(days), max(days)
    page = reverse("category", args=[code])
    if lo == hi:
        return f"{page}?date={lo.isoformat()}"
    (year, week, _), (year_hi, week_hi, _) = lo.isocalendar(), hi.isocalendar()
    if (year, week) == (year_hi, week_hi):
        return f"{page}?week={year}-W{week:02d}"
    query = {"category": code, "since": ctx.first.isoformat(), "until": ctx.last.isoformat(), "sort": "date"}
    return f"{reverse('search')}?{urlencode(query)}"


BY_NAMES = 3  # followed authors named in a reason; more are counted


def _by_followed(names: list[str], on_site: list[bool]) -> str:
    """The reason naming followed authors (`on_site`: whether the account follows each on the
    site): authors only on the digest's own list are ones "you chose for your digest", as the site
    shows no follow of them."""
    if all(on_site):
        how = "whom you follow"
    elif not any(on_site):
        how = "whom you chose for your digest"
    else:
        how = "whom you follow or chose for your digest"
    names = list(dict.fromkeys(names))
    if len(names) > BY_NAMES:
        rest = len(names) - BY_NAMES + 1
        names = [*names[: BY_NAMES - 1], f"{rest} more"]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"by {listed}, {how}"


def _follow_reason(kind: str, value: str) -> str:
    if kind == "category":
        return f"new in {value}"
    return f"matches {text.quoted(value)}, which you follow"


# A note closing a section ("12 more new in cs.LG", with a link): an item whose paper pk is NOTE
# (no paper has it), so it is stored with the delivery and a re-sent mail shows the same.
NOTE = 0


def note(key: str, text: str, path: str) -> Item:
    return (NOTE, key, f"{text}\n{path}")


def read_note(why: str) -> tuple[str, str]:
    """(text, site path) of a note item."""
    text, _, path = why.rpartition("\n")
    return text, path


@dataclass(frozen=True)
class AccountFollows:
    categories: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)


def account_follows(user_ids: list[int]) -> dict[int, AccountFollows]:
    """What these accounts follow (accounts.Follow, where it exists)."""
    follow = _optional("paperfeed.accounts.models", "Follow")
    out: dict[int, AccountFollows] = {}
    if follow is None or not user_ids:
        return out
    for uid, kind, value in (
        follow.objects.filter(user_id__in=user_ids).order_by("value").values_list("user_id", "kind", "value")
    ):
        got = out.setdefault(uid, AccountFollows())
        if kind == "category":
            got.categories.append(value)
        elif kind == "author":
            got.authors.append(value)
        elif kind == "keyword":
            got.keywords.append(value)
    return out


class Alerts(Section):
    key, title, flag = "alerts", "Your saved searches", "alerts"

    def prepare(self, ctx: Context, subs: list[Subscriber]) -> None:
        ctx.shared.setdefault("alert_results", {})
        ctx.shared["account_searches"] = account_searches([s.user_id for s in subs if s.user_id])

    def matches(self, ctx: Context, sub: Subscriber) -> list[tuple[str, Matches]]:
        """(query, its matches in the window) of each of the subscriber's saved searches."""
        queries = dict.fromkeys([*(sub.searches or []), *ctx.shared["account_searches"].get(sub.user_id, [])])
        cache = ctx.shared["alert_results"]
        for q in queries:
            if q not in cache:
                cache[q] = search_new(q, ctx.first, ctx.last, ALERT_LIMIT)
        return [(q, cache[q]) for q in queries]

    def pick(self, ctx: Context, sub: Subscriber, skip: set[int]) -> list[Item]:
        # In turns, as follows are: a reader's first saved searches used to fill the section alone.
        matches = self.matches(ctx, sub)
        queues = [[pk for pk in m.pks if pk not in skip] for _, m in matches]
        return [(pk, self.key, f"matches {text.quoted(matches[turn][0])}") for pk, turn in in_turns(queues)]

    def more(self, ctx: Context, sub: Subscriber, shown: set[int]) -> list[Item]:
        notes = []
        for q, m in self.matches(ctx, sub):
            if left := [pk for pk in m.pks if pk not in shown]:
                notes.append(search_note(self.key, ctx, q, len(left), m.more))
        return notes


def account_searches(user_ids: list[int]) -> dict[int, list[str]]:
    saved = _optional("paperfeed.feed.models", "SavedSearch")
    out: dict[int, list[str]] = defaultdict(list)
    if saved is None or not user_ids:
        return out
    for uid, query, cat in saved.objects.filter(user_id__in=user_ids).values_list(
        "user_id", "query", "category"
    ):
        out[uid].append(f"{query} cat:{cat}" if cat else query)
    return out


_TOKEN = re.compile(r'(-)?(?:(\w+):)?(?:"([^"]*)"?|(\S+))')


@dataclass(frozen=True)
class Matches:
    pks: list[int]
    # The window may hold matches past these: the limit, or the search service's pool, was reached.
    more: bool = False


def search_new(query: str, first: dt.date, last: dt.date, limit: int) -> Matches:
    """Papers of the window with every word of a saved search (quoted phrases as phrases, `cat:`,
    `-word` honoured), newest first: the search service's keyword index where it exists, else the
    same words matched in the database."""
    search = _optional("paperfeed.search.services", "search")
    if search is not None:
        try:
            found = _search_every_word(search, query, first, last, limit)
            if found is not None:
                return found
        except Exception:  # a broken index must not stop the digests; log it and match simply
            log.exception("search failed for saved search %r; falling back to word matching", query)
    return _database_every_word(query, first, last, limit)


def _search_every_word(search: Any, query: str, first: dt.date, last: dt.date, limit: int) -> Matches | None:
    """None when the search service has no keyword index yet. Its date sort prefers papers with
    every word, but rather than answer nothing it falls back to "the closest matches" (and a missing
    phrase to its loose words); an alert that says "matches" must not, so each hit is checked again
    against the index with the query as written."""
    engine = _optional("paperfeed.search.services", "engine")
    parse = _optional("paperfeed.search.query", "parse")
    filters = _optional("paperfeed.search.keyword", "Filters")
    index = engine().keyword if engine is not None else None
    if index is None or parse is None or filters is None:
        return None
    result = search(query, mode=ALERT_MODE, sort="date", limit=ALERT_POOL, since=first, until=last)
    hits = [h.paper_id for h in (getattr(result, "hits", None) or [])]
    if not hits:
        return Matches([])
    parsed = parse(query)
    ok = index.with_every_word(parsed.words, hits) & index.matching(parsed, filters(), hits)
    found = [pk for pk in hits if pk in ok]
    # A full pool may have left out older papers with every word; counting them would mean asking
    # for every hit of the window, so the note says "at least".
    return Matches(found[:limit], len(found) > limit or len(hits) >= ALERT_POOL)


def _database_every_word(query: str, first: dt.date, last: dt.date, limit: int) -> Matches:
    qs = Paper.objects.active().announced_between(first, last)
    for neg, field_name, quoted, word in _TOKEN.findall(query):
        value = (quoted or word).strip()
        if not value:
            continue
        field_name = field_name.lower()
        if field_name == "cat":
            if not neg:
                qs = qs.filter(pk__in=Paper.objects.in_category(value).values("pk"))
            continue
        if field_name == "ti":
            match = Q(title__icontains=value)
        elif field_name == "au":
            match = Q(authors_text__icontains=value)
        elif field_name == "abs":
            match = Q(abstract__icontains=value)
        else:
            # As in the search syntax, an unknown field ("title:secret") is two plain words.
            match = Q()
            for part in ([field_name] if field_name else []) + [value]:
                match &= Q(title__icontains=part) | Q(abstract__icontains=part)
        qs = qs.exclude(match) if neg else qs.filter(match)
    found = list(qs.order_by("-announced", "-arxiv_id").values_list("pk", flat=True)[: limit + 1])
    return Matches(found[:limit], len(found) > limit)


class ForYou(Section):
    key, title, flag = "for_you", "For you", "for_you"

    def prepare(self, ctx: Context, subs: list[Subscriber]) -> None:
        chosen = {s.user_id: list(s.categories or []) for s in subs if s.user_id and s.for_you}
        users = list(chosen)
        provider = _for_you or _recommend_each
        # Deep enough to fill the section after the sections above it took their papers: asked for
        # FOR_YOU_LIMIT only, a reader following categories alone got none, since their "for you"
        # is those categories' newest papers, which "From what you follow" lists first.
        above = [s.key for s in SECTIONS[: [s.key for s in SECTIONS].index(self.key)]]
        depth = FOR_YOU_LIMIT + sum(_LIMITS[key] for key in above)
        try:
            found = provider(users, ctx.first, ctx.last, depth, categories=chosen) if users else {}
            ctx.shared["for_you"] = found
        except Exception:  # recommendations are a bonus: a failure must not stop the digests
            log.exception("for-you recommendations failed for %d users", len(users))
            ctx.shared["for_you"] = {}

    def pick(self, ctx: Context, sub: Subscriber, skip: set[int]) -> list[Item]:
        return [(pk, self.key, why) for pk, why in ctx.shared["for_you"].get(sub.user_id, [])]


def _recommend_each(
    user_ids: list[int], since: dt.date, until: dt.date, limit: int, *, categories: dict[int, list[str]]
) -> dict[int, list[tuple[int, str]]]:
    """Without a registered batch provider: the recommendations app's per-user `recommend`, if any."""
    recommend = _optional("paperfeed.recs.services", "recommend")
    if recommend is None:
        return {}
    return {
        uid: [
            (r.paper.pk, r.reason)
            for r in recommend(uid, limit=limit, since=since, until=until, categories=categories.get(uid, ()))
        ]
        for uid in user_ids
    }


SECTIONS: list[Section] = [Trending(), Follows(), Alerts(), ForYou()]
SECTION_TITLES = {s.key: s.title for s in SECTIONS}
# "From what you follow" names the follows of the account on the site; categories and authors chosen
# only in the digest's settings are the reader's choice for the digest (the site shows no follow of
# them), as the papers' reasons say ("whom you chose for your digest").
FOLLOWS_TITLES = {
    (True, False): "From what you follow",
    (False, True): "From what you chose for your digest",
    (True, True): "From what you follow or chose for your digest",
}


def section_title(key: str, sub: Subscriber) -> str:
    """A section's heading in this subscriber's digest."""
    if key != Follows.key:
        return SECTION_TITLES.get(key, key)
    site = account_follows([sub.user_id]).get(sub.user_id) if sub.user_id else None
    site = site or AccountFollows()
    on_site = bool(site.categories or site.authors or site.keywords)
    chosen = bool(
        set(sub.categories or ()) - set(site.categories) or set(sub.authors or ()) - set(site.authors)
    )
    return FOLLOWS_TITLES.get((on_site, chosen), Follows.title)


_LIMITS = {
    "trending": TRENDING_LIMIT,
    "follows": FOLLOWS_LIMIT,
    "alerts": 3 * ALERT_LIMIT,
    "for_you": FOR_YOU_LIMIT,
}


def seen_papers(subscriber_ids: Iterable[int], before: Digest) -> dict[int, set[int]]:
    """Papers already shown to each subscriber in their recent digests (other than `before`)."""
    since = before.period - dt.timedelta(days=SEEN_HORIZON_DAYS)
    seen: dict[int, set[int]] = defaultdict(set)
    rows = (
        Delivery.objects.delivered_since(since)
        .filter(subscriber_id__in=list(subscriber_ids))
        .values_list("subscriber_id", "papers")
    )
    if before.pk:  # an unsaved digest (a dry run) has no deliveries of its own
        rows = rows.exclude(digest=before)
    for sid, papers in rows:
        seen[sid].update(p[0] for p in papers)
    return seen


def fair_shares(counts: list[int], total: int) -> list[int]:
    """How many of each section's items a digest of at most `total` shows: a section with fewer
    than an equal share keeps them all, and what it leaves is shared among the longer ones (a reader
    with many saved searches once lost "For you", the last section, to the cap entirely)."""
    shares = [0] * len(counts)
    left = total
    by_length = sorted(range(len(counts)), key=counts.__getitem__)
    for done, i in enumerate(by_length):
        shares[i] = min(counts[i], left // (len(counts) - done))
        left -= shares[i]
    return shares


def compose(ctx: Context, subs: list[Subscriber]) -> dict[int, list[Item]]:
    """Each subscriber's items, in section order, without papers seen before or repeated, then the
    sections' notes on what did not fit."""
    active = [s for s in SECTIONS if any(getattr(sub, s.flag) for sub in subs)]
    for section in active:
        section.prepare(ctx, subs)
    seen = seen_papers([s.pk for s in subs], ctx.digest)
    out: dict[int, list[Item]] = {}
    for sub in subs:
        before = set(seen.get(sub.pk, ()))
        shown = set(before)
        mine = [section for section in active if getattr(sub, section.flag)]
        picked: list[list[Item]] = []
        for section in mine:
            got: list[Item] = []
            for pk, key, why in section.pick(ctx, sub, shown):
                if pk in shown or len(got) >= _LIMITS[key]:
                    continue
                shown.add(pk)
                got.append((pk, key, why))
            picked.append(got)
        # Each section keeps its best: the digest's cap trims the longest ones, not the last ones.
        shares = fair_shares([len(got) for got in picked], DIGEST_LIMIT)
        items = [item for got, share in zip(picked, shares, strict=True) for item in got[:share]]
        shown = before | {pk for pk, _, _ in items}
        out[sub.pk] = items + [n for section in mine for n in section.more(ctx, sub, shown)]
    return out
