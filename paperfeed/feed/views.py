"""Pages of the community site. Lists come from feed.services (the API and RSS read the same), and
what anonymous visitors see of a list is cached under a version bumped by every vote, submission
and comment, so a cached page is never staler than the last change."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST

from paperfeed.accounts.models import Follow, User
from paperfeed.accounts.views import safe_next
from paperfeed.core.http import json_answer
from paperfeed.core.middleware import BadParameter, NotFound
from paperfeed.core.paging import site_number, site_page
from paperfeed.core.text import quoted
from paperfeed.feed import library, periods, searching, services
from paperfeed.feed.models import Collection, Comment, SavedSearch, Submission, Vote
from paperfeed.papers import citations, references
from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.models import Author, Category, Paper
from paperfeed.search.query import MAX_QUERY_CHARS, DatesReversed, InvalidFilter, date_filter, date_range


def _period(request: HttpRequest, default: periods.Period) -> periods.Period:
    return periods.asked(request) or default


def _neighbours(
    period: periods.Period, *, upvoted: bool
) -> tuple[periods.Period | None, periods.Period | None]:
    """The ← and → arrows of the daily page (over periods nobody submitted to) and of trending
    (`upvoted`: over periods with no upvoted paper, which it would show as "nothing is trending").
    Both stop at the first; past the last, → leads to the current period (the page's own, which may
    yet fill up), and never to one after it, which the period rule refuses."""
    prev, nxt = period.neighbours(
        services.latest_day(before=period.first, upvoted=upvoted),
        services.latest_day(after=period.last, upvoted=upvoted),
    )
    now = period.around(timezone.localdate())
    if nxt is None or nxt.first > now.first:  # none listed later, or only on a day still ahead
        nxt = now if now.first > period.last else None
    return prev, nxt


def _arrows(
    prev: periods.Period | None, nxt: periods.Period | None, sort: str = "votes"
) -> dict[str, str | None]:
    """The ← and → links of a period page, keeping its sort (the default one is left out)."""
    keep = f"&sort={sort}" if sort and sort != "votes" else ""
    return {
        "prev_href": f"?{prev.query()}{keep}" if prev else None,
        "next_href": f"?{nxt.query()}{keep}" if nxt else None,
    }


def _feed_query(request: HttpRequest, period: periods.Period) -> str:
    """What a page's RSS/Atom links add: its period when one was asked for, so a feed subscribed
    from a week's or month's page lists that period; none on the default page, whose feed rolls on."""
    return f"?{period.query()}" if request.GET.keys() & {"date", "week", "month"} else ""


def _default_day() -> periods.Period:
    today = timezone.localdate()
    latest = services.latest_day()
    if latest is None or Submission.objects.on_day(today).visible().exists():
        return periods.day(today)
    return periods.day(latest)


# The token {% csrf_token %} renders into a cached page, replaced by each visitor's own token.
CSRF_MARK = "csrf-token-placeholder-8d1c0e"


def _page(request: HttpRequest, key: str, template: str, context: Any) -> HttpResponse:
    """Render `template` with `context()`. Anonymous visitors (with no message pending) get the whole
    page from a cache entry under the listing version, which every vote, submission and comment
    bumps; only their CSRF token differs, filled in per request."""
    if request.user.is_authenticated or get_messages(request):
        # Rendered for this visitor alone: only here may the page hold what is theirs (the address
        # the subscribe box fills in), never in the shared entry below, and no shared HTTP cache
        # may keep it for another visitor.
        own = {"own_email": getattr(request.user, "email", "")}
        response = render(request, template, {**context(), **own})
        patch_cache_control(response, private=True)
        return response
    full = (services.listing_version(), key, request.get_full_path())
    parts = _PAGES.get(full)
    if parts is None:
        html = render_to_string(template, {**context(), "csrf_token": CSRF_MARK}, request=request)
        parts = html.encode().split(CSRF_MARK.encode())
        _PAGES.put(full, parts)
    return HttpResponse(get_token(request).encode().join(parts))


class _PageCache:
    """Rendered pages (split at the CSRF placeholder) in this process's memory, keyed by (version,
    page, path): the one shared read per request is the version number, so no page is served after
    a change committed anywhere, and a page is not decoded from the database cache every time."""

    def __init__(self, size: int = 256) -> None:
        self.size, self.lock = size, threading.Lock()
        self.items = OrderedDict[tuple[int, str, str], list[bytes]]()

    def get(self, key: tuple[int, str, str]) -> list[bytes] | None:
        with self.lock:
            html = self.items.get(key)
            if html is not None:
                self.items.move_to_end(key)
            return html

    def put(self, key: tuple[int, str, str], parts: list[bytes]) -> None:
        with self.lock:
            self.items[key] = parts
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_PAGES = _PageCache()


def _voted(request: HttpRequest, entries: list[services.Entry]) -> set[int]:
    voted = services.voted_ids(request.user, [e.paper.pk for e in entries])
    for e in entries:
        e.voted = e.paper.pk in voted
    return voted


def daily(request: HttpRequest) -> HttpResponse:
    period = periods.asked(request) or _default_day()
    sort = request.GET.get("sort", "votes")
    if sort not in ("votes", "trending", "publishedAt"):
        sort = "votes"

    def context() -> dict[str, Any]:
        # Ranked whole (a card's rank is its place in the period), shown and loaded a page at a
        # time: a month of 600 cards took a second to render, most of it for cards below the fold.
        page = _paged(request, services.listing(period, sort=sort, loaded=False), DAILY_PER_PAGE)
        entries = services.load(list(page.object_list))
        prev, nxt = _neighbours(period, upvoted=False)
        _voted(request, entries)
        # The JSON twin lists the same papers: this page's window, in this order.
        window = f"sort={sort}&p={page.number - 1}&limit={DAILY_PER_PAGE}"
        # A day nobody submitted to shows what arXiv announced (a week's or month's page stays the
        # curated list: those are read to look back at what the community picked).
        fresh = services.new_on_arxiv(period.last) if not entries and period.kind == "day" else None
        return {
            "new_on_arxiv": fresh,
            "entries": entries,
            "page": page,
            "period": period,
            "prev": prev,
            "next": nxt,
            **_arrows(prev, nxt, sort),
            "feed_query": _feed_query(request, period),
            "sort": sort,
            "multi": period.kind != "day",
            "json_url": f"/api/daily_papers?{period.query()}&{window}",
            "export_links": export_links([e.paper for e in entries]),
        }

    # The date is in the key: whether "next" links anywhere changes at midnight.
    return _page(request, f"daily:{period.value}:{sort}:{timezone.localdate()}", "feed/daily.html", context)


def home(request: HttpRequest) -> HttpResponse:
    return daily(request)


def trending(request: HttpRequest) -> HttpResponse:
    period = services.trending_period(periods.asked(request))

    def context() -> dict[str, Any]:
        entries = services.trending(period)
        prev, nxt = _neighbours(period, upvoted=True)
        _voted(request, entries)
        return {
            "entries": entries,
            "period": period,
            "prev": prev,
            "next": nxt,
            **_arrows(prev, nxt),
            "feed_query": _feed_query(request, period),
            "gravity": services.GRAVITY,
            "offset": services.AGE_OFFSET_HOURS,
            "json_url": f"/api/trending?{period.query()}",
        }

    # Ages move with the clock: a cached ranking lives for the hour at most.
    return _page(request, f"trending:{period.value}:{timezone.now():%Y%m%d%H}", "feed/trending.html", context)


def _not_an_id(text: str) -> NotFound:
    return NotFound(
        f"{quoted(text)} is not an arXiv id.",
        links=[(reverse("search") + "?" + urlencode({"q": text[:200]}), "Search for it")],
    )


def _paper_or_404(arxiv_id: str) -> Paper:
    try:
        ident = parse_arxiv_id(arxiv_id).id
    except InvalidArxivId:
        raise _not_an_id(arxiv_id) from None
    paper = Paper.objects.filter(arxiv_id=ident).for_listing().first()
    if paper is None:
        raise NotFound(
            f"paperfeed has no paper {ident}.",
            links=[
                (f"https://arxiv.org/abs/{ident}", f"arXiv:{ident} on arXiv"),
                (f"{reverse('submit')}?{urlencode({'paper': ident})}", "Submit it to today's list"),
            ],
        )
    return paper


def not_a_paper(request: HttpRequest, text: str) -> HttpResponse:
    """/papers/<a segment no id pattern matched>: say so, rather than that nothing is there."""
    raise _not_an_id(text)


def paper(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    try:
        ident = parse_arxiv_id(arxiv_id)
    except InvalidArxivId:
        raise _not_an_id(arxiv_id) from None
    canonical = ident.id
    if canonical != arxiv_id:
        if ident.version is not None:
            _say_which_version(request, canonical, ident.version)
        return redirect("paper", canonical)
    user = request.user
    basis = searching.similar_basis(arxiv_id)

    def context() -> dict[str, Any]:
        p = _paper_or_404(arxiv_id)
        mine = Collection.objects.filter(user_id=user.pk or 0)  # none for an anonymous visitor
        comments = Comment.objects.filter(paper=p).select_related("author").order_by("created_at")
        if not getattr(user, "can_moderate", False):
            comments = comments.filter(hidden=False)
        similar = cache.get(f"similar:{p.pk}:{basis}")
        if similar is None:
            similar = [s.pk for s in searching.similar(p)]
            cache.set(f"similar:{p.pk}:{basis}", similar, 3600)
        similar_papers = sorted(  # active: the ids are kept an hour, a paper may be withdrawn meanwhile
            Paper.objects.filter(pk__in=similar).active().for_listing(), key=lambda s: similar.index(s.pk)
        )
        submissions = list(Submission.objects.filter(paper=p).select_related("submitted_by").order_by("day"))
        saved_in = list(mine.filter(items__paper=p)) if user.is_authenticated else []
        voted = bool(services.voted_ids(user, [p.pk]))
        # The Save box offers only the collections the paper is not in yet (saving again into one
        # it is in did nothing and said "Saved"), its name field filled with the first of them.
        others = [c for c in mine if c not in saved_in] if user.is_authenticated else []
        in_reading_list = any(c.name.casefold() == "reading list" for c in saved_in)
        shown = list(comments)
        Comment.objects.store_renderings(shown)  # stale ones come rendered again: kept so
        ctx: dict[str, Any] = {
            "paper": p,
            "authors": p.authors,
            "categories": p.category_codes(),
            "comments": shown,
            "votes": Vote.objects.counted().filter(paper=p).count(),
            "voted": voted,
            "submissions": submissions,
            "removed": any(s.removed_at for s in submissions),
            # The first upvote puts it on today's list (services.upvote): the button says so.
            "unlisted": not submissions and p.status == Paper.Status.ACTIVE,
            # A paper not active on arXiv takes no vote (the server refuses it), but one cast before.
            "closed": services.vote_closed(p, voted),
            "similar": similar_papers,
            "collections": others,
            "save_into": (others[0].name if others else "") if in_reading_list else "Reading list",
            **_comment_draft(request, p.arxiv_id),
            "saved_in": saved_in,
            "json_url": f"/api/papers/{p.arxiv_id}",
            "bibtex": citations.export([p], "bibtex"),
            "formats": citations.FORMATS.values(),
        }
        return ctx

    # Cached under the id, so an anonymous visitor's page costs no paper query at all (only the
    # look-up of its embedding, which the similar list shown depends on).

    try:
        return _page(request, f"paper:{arxiv_id}:{basis}", "feed/paper.html", context)
    except Http404:  # raised by context() only, so a cached page costs no query for this
        # Not a dead end: the submit form looks a paper up on arXiv and stores it.
        return render(request, "feed/paper_missing.html", {"arxiv_id": canonical}, status=404)


def _comment_draft(request: HttpRequest, arxiv_id: str) -> dict[str, str]:
    """The text of a comment this visitor just had refused on this paper and why (once), for the
    comment form: {"draft": text, "draft_error": reason}, empty strings when there is none."""
    draft = {}
    if request.user.is_authenticated and COMMENT_DRAFT in request.session:
        draft = request.session.pop(COMMENT_DRAFT)
        if draft.get("paper") != arxiv_id:
            draft = {}
    return {"draft": str(draft.get("body", "")), "draft_error": str(draft.get("error", ""))}


def _say_which_version(request: HttpRequest, arxiv_id: str, asked: int) -> None:
    """The page shows the latest version stored here; say so when another one was asked for."""
    stored = Paper.objects.filter(arxiv_id=arxiv_id).only("arxiv_id", "version").first()
    said = stored.version_note(asked, "This page shows") if stored else None
    if said:
        messages.info(request, said)


def paper_markdown(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """The paper as Markdown (huggingface_hub's `read_paper` reads /papers/{id}.md)."""
    p = _paper_or_404(arxiv_id)
    text = render_to_string("feed/paper.md", {"paper": p, "categories": p.category_codes()})
    return HttpResponse(text, content_type="text/markdown; charset=utf-8")


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
def vote(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    p = _paper_or_404(arxiv_id)
    if not request.user.is_authenticated:
        if _wants_json(request):
            return json_answer({"error": "log in to vote"}, status=401)
        # A form posted from a page whose session has ended since (no JavaScript): to the log-in
        # page, which sends the reader back to that page, where the button is again.
        back = safe_next(request, reverse("paper", args=[p.arxiv_id]))
        return HttpResponseRedirect(f"{reverse('login')}?{urlencode({'next': back})}")
    assert isinstance(request.user, User)
    up = request.POST.get("action", "up") != "down"
    listed = Submission.objects.filter(paper=p).exists()
    try:
        count = services.upvote(request.user, p) if up else services.unvote(request.user, p)
    except services.FeedError as e:  # suspended, or unverified on a paper no list has: said under the paper
        if _wants_json(request):
            return json_answer({"error": str(e)}, status=403)
        raise PermissionDenied(str(e)) from None
    answer: dict[str, Any] = {"id": p.arxiv_id, "upvotes": count, "voted": up}
    mine = None if listed else Submission.objects.filter(paper=p, submitted_by=request.user).first()
    if mine is not None:
        answer["listed"] = mine.day.isoformat()
        answer["message"] = f"Your upvote put it on the list of {mine.day:%-d %B}."
    if _wants_json(request):
        return json_answer(answer)
    if mine is not None:
        messages.success(request, answer["message"])
    return HttpResponseRedirect(safe_next(request, reverse("paper", args=[p.arxiv_id])))


COMMENT_DRAFT = "feed:comment-draft"


@login_required
@require_POST
def comment(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    p = _paper_or_404(arxiv_id)
    assert isinstance(request.user, User)
    try:
        c = services.add_comment(request.user, p, request.POST.get("body", ""))
    except services.FeedError as e:
        # The text comes back in the form, and the reason beside it, tied to the field: a refused
        # comment must not cost its writer the words.
        request.session[COMMENT_DRAFT] = {
            "paper": p.arxiv_id,
            "body": request.POST.get("body", "")[:20_000],
            "error": str(e),
        }
        # To the field itself: a fragment navigation focuses its target when it can (here the
        # textarea, with or without JavaScript) and drops the focus otherwise.
        return redirect(reverse("paper", args=[p.arxiv_id]) + "#comment-body")
    return redirect(reverse("paper", args=[p.arxiv_id]) + f"#c{c.pk}")


@login_required
def comment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    c = get_object_or_404(Comment.objects.select_related("paper"), pk=pk)
    if c.author_id != request.user.pk:
        raise PermissionDenied("Only its author can edit a comment.")
    assert isinstance(request.user, User)
    body, error = c.body, ""
    if request.method == "POST":
        body = request.POST.get("body", "")[:20_000]
        try:
            services.edit_comment(request.user, c, body)
        except services.FeedError as e:
            error = str(e)  # said beside the field, which keeps the refused text
        else:
            return redirect(reverse("paper", args=[c.paper.arxiv_id]) + f"#c{c.pk}")
    return render(request, "feed/comment_edit.html", {"comment": c, "body": body, "error": error})


@login_required
def comment_hide(request: HttpRequest, pk: int) -> HttpResponse:
    """Hide or unhide a comment (staff), as Remove does a submission: a form with a reason for the
    log; the paper page's hide / unhide link opens it (no JavaScript needed)."""
    from paperfeed.moderation import services as moderation
    from paperfeed.moderation.models import MAX_REPORT_CHARS

    c = get_object_or_404(Comment.objects.select_related("paper", "author"), pk=pk)
    if not getattr(request.user, "can_moderate", False):  # the site's 403 page, as the other refusals
        raise PermissionDenied(
            moderation.SUSPENDED_STAFF if request.user.is_staff else "Only moderators can hide comments."
        )
    back = reverse("paper", args=[c.paper.arxiv_id]) + f"#c{c.pk}"
    hide = request.POST.get("hidden", request.GET.get("hidden", "0" if c.hidden else "1")) == "1"
    reason = request.POST.get("reason", "")[: MAX_REPORT_CHARS * 2]
    if request.method == "POST":
        try:
            moderation.hide_comment(request.user, c, hide, reason)
        except moderation.NothingChanged as e:
            messages.info(request, f"Nothing changed: {e}")
        except moderation.ModerationError as e:
            raise PermissionDenied(str(e)) from None
        else:
            messages.success(request, f"{'Hid' if hide else 'Unhid'} the {moderation.describe(c)}.")
        return redirect(back)
    ctx = {"comment": c, "hide": hide, "back": back, "max_chars": MAX_REPORT_CHARS}
    return render(request, "feed/comment_hide.html", ctx)


@login_required
@require_POST
def save(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    p = _paper_or_404(arxiv_id)
    assert isinstance(request.user, User)
    if request.POST.get("remove"):
        coll = get_object_or_404(Collection, pk=request.POST.get("collection") or 0, user=request.user)
        services.unsave_paper(request.user, p, coll)
        messages.info(request, f"Removed from {coll.name}.")
    else:
        coll, added = services.save_into(request.user, p, request.POST.get("collection_name", ""))
        if added:
            messages.success(request, f"Saved to {coll.name}.")
        else:  # a form from before it was saved there (another tab), or the name typed again
            messages.info(request, f"Already saved in {coll.name}.")
    return HttpResponseRedirect(safe_next(request, reverse("paper", args=[p.arxiv_id])))


@login_required
def submit(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    error, value = "", request.POST.get("paper", request.GET.get("paper", ""))
    if request.method == "POST":
        if not user.email_verified:
            error = "Verify your email address before submitting papers."
        else:
            try:
                sub = services.submit(value, user)
            except services.FeedError as e:
                error = str(e)
            else:
                messages.success(request, f"Submitted to the list of {sub.day:%-d %B}.")
                return redirect("paper", sub.paper.arxiv_id)
    return render(request, "feed/submit.html", {"error": error, "value": value}, status=400 if error else 200)


SEARCH_DATE_FIELDS = {"since": "From", "until": "To"}  # the search's date filters, as the form names them


def _search_dates(
    request: HttpRequest,
) -> tuple[dict[str, dt.date | None], list[str], dict[str, bool]]:
    """The From and To dates, checked by the search's own rule (search.query), what is wrong with
    them in the form's words (a filter dropped quietly would show results for another question), and
    which fields the message is about (marked invalid, pointing to it). Each field is read on its
    own, so that a good one stays in the form beside a bad one."""
    dates: dict[str, dt.date | None] = {}
    errors = []
    bad = dict.fromkeys(SEARCH_DATE_FIELDS, False)
    for param, label in SEARCH_DATE_FIELDS.items():
        try:
            dates[param] = date_filter(request.GET.get(param), param)
        except InvalidFilter as e:
            dates[param], bad[param] = None, True
            errors.append(f"invalid {label} date: {e.value[:40]} (use YYYY-MM-DD)")
    try:
        date_range(dates["since"], dates["until"])
    except DatesReversed as e:
        errors.append(f"the From date ({e.since}) is after the To date ({e.until})")
        bad = dict.fromkeys(SEARCH_DATE_FIELDS, True)
    return dates, errors, bad


SEARCH_PAGES = 50  # 1,000 results: past that a query needs narrowing, not paging


def search(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    try:  # a pasted id or arXiv link (as the submit form takes them) means that paper
        return redirect("paper", parse_arxiv_id(q.strip()).id)
    except InvalidArxivId:
        pass
    fell_back: list[str] = []
    mode = _known_or_default(request, "mode", searching.MODES, fell_back)
    sort = _known_or_default(request, "sort", searching.SORTS, fell_back)
    page_no = site_number(request, "page", default=1, low=1, high=SEARCH_PAGES, what="the page, from 1")
    category, author = request.GET.get("category", "").strip()[:40], request.GET.get("author", "")[:200]
    dates, errors, bad_dates = _search_dates(request)
    since, until = dates["since"], dates["until"]
    per_page = 20
    if errors:  # the form comes back as typed, with no results for a question not asked
        query = " ".join(q.split())
        result = searching.SearchPage(
            query[:MAX_QUERY_CHARS], error="; ".join(errors), cut=len(query) > MAX_QUERY_CHARS
        )
    else:
        result = searching.run_search(
            q,
            mode=mode,
            limit=per_page,
            offset=(page_no - 1) * per_page,
            category=category,
            since=since,
            until=until,
            author=author,
            sort=sort,
        )
    # The select always holds the filter in force, so that sending the form again keeps it.
    categories = _top_categories()
    category = next((c for c in categories if c.lower() == category.lower()), category)
    if category and category not in categories:
        categories = sorted([*categories, category])
    ids = [h.paper.pk for h in result.hits]
    counts = Vote.objects.counted().per_paper(ids)
    voted = services.voted_ids(request.user, ids)
    listed = set(Submission.objects.filter(paper_id__in=ids).values_list("paper_id", flat=True))
    for h in result.hits:  # each result's vote, as the daily list's cards have it
        h.n_votes, h.voted = counts.get(h.paper.pk, 0), h.paper.pk in voted
        # A result no list has gets its page's vote, which also puts it on today's list.
        h.unlisted = h.paper.pk not in listed and h.paper.status == Paper.Status.ACTIVE
        h.closed = services.vote_closed(h.paper, h.voted)
    ctx = {
        "result": result,
        "fell_back": fell_back,
        "searched": bool(result.query or category or author or since or until),
        "q": result.query,
        "mode": mode,
        "sort": sort,
        "modes": searching.MODES,
        "sorts": searching.SORTS,
        "category": category,
        "author": author,
        "since": since,
        "until": until,
        "bad_dates": bad_dates,
        "page": page_no,
        # A page past the end (an old link, a typed number) offers the last one with results.
        "last_page": min(-(-result.listed // per_page), SEARCH_PAGES) if result.listed else None,
        "has_next": page_no < SEARCH_PAGES
        and (
            page_no * per_page < result.listed if result.listed is not None else len(result.hits) == per_page
        ),
        "export_links": export_links([h.paper for h in result.hits]),
        "categories": categories,
        "query_chars": MAX_QUERY_CHARS,
        # Saved already: the page links its feed (and names it for feed readers' discovery) where
        # it offered to save it again, and the reader had to find the feed on the settings page.
        "saved_search": services.saved_search_of(request.user, result.query, category, author),
        "json_url": "/api/papers/search?"
        + urlencode(
            {
                k: v
                for k, v in {
                    "q": result.query,
                    "mode": mode,
                    "sort": sort,
                    "category": category,
                    "author": author,
                    "since": since.isoformat() if since else request.GET.get("since", "")[:40],
                    "until": until.isoformat() if until else request.GET.get("until", "")[:40],
                    "p": page_no - 1,
                    "limit": per_page,
                }.items()
                if v not in ("", None)
            }
        ),
    }
    response = render(request, "feed/search.html", ctx, status=400 if result.error else 200)
    if ctx["saved_search"]:
        patch_cache_control(response, private=True)  # the feed's token is the reader's alone
    return response


def _known_or_default(request: HttpRequest, name: str, known: tuple[str, ...], notices: list[str]) -> str:
    """The parameter if it is one of `known`, else the first (the default) and a notice naming what
    was asked and what was used: an unknown mode or sort (a hand-edited or old link) fell back
    without a word, as if it had been understood."""
    value = request.GET.get(name, known[0])
    if value in known:
        return value
    shown = value[:40] + ("…" if len(value) > 40 else "")
    notices.append(f"Unknown {name} “{shown}”: searched with {known[0]} (one of {', '.join(known)}).")
    return known[0]


def _top_categories() -> list[str]:
    """The 30 categories with most papers, cross-lists counted (as /categories counts them: a
    category only ever cross-listed is searchable too), by code."""
    return sorted(row["code"] for row in _category_counts()[:30])


@login_required
@require_POST
def save_search(request: HttpRequest) -> HttpResponse:
    assert isinstance(request.user, User)
    query = services.search_to_save(request.POST.get("q", ""), request.POST.get("author", ""))
    try:
        services.save_search(request.user, query, request.POST.get("category", ""))
    except services.FeedError as e:
        messages.error(request, str(e))
    else:
        dated = (
            " Its dates are not kept: a saved search follows new papers." if request.POST.get("dated") else ""
        )
        messages.success(
            request, f"Search saved: its RSS/Atom feed is linked here and on your settings page.{dated}"
        )
    return HttpResponseRedirect(safe_next(request, reverse("search")))


@login_required
@require_POST
def delete_saved_search(request: HttpRequest, pk: int) -> HttpResponse:
    _own_saved_search(request, pk).delete()
    return redirect("settings")


SAVED_SEARCHES = "#saved-searches"  # on the settings page


def _own_saved_search(request: HttpRequest, pk: int) -> SavedSearch:
    """The reader's saved search `pk`, or the 404 page: deleted meanwhile (another tab), or not the
    reader's (the delete button answered someone else's with a redirect, as if it had deleted it)."""
    assert isinstance(request.user, User)
    saved = SavedSearch.objects.filter(pk=pk, user=request.user).first()
    if saved is None:
        raise NotFound(
            "You have no such saved search: it may have been deleted.",
            links=[(reverse("settings") + SAVED_SEARCHES, "Settings")],
        )
    return saved


@login_required
@require_POST
def reset_saved_search_feed(request: HttpRequest, pk: int) -> HttpResponse:
    listed = reverse("settings") + SAVED_SEARCHES
    saved = _own_saved_search(request, pk)
    saved.reset_token()
    messages.success(
        request,
        f"The feed of {quoted(saved.query, 80)} has a new address; the old one no longer works."
        " Subscribe to the new one.",
    )
    return HttpResponseRedirect(listed)


# A busy day's submissions fit on one page; a week or a month (hundreds) is read a page at a time.
DAILY_PER_PAGE = 100


def _paged(request: HttpRequest, qs: Any, per_page: int = 30) -> Any:
    return site_page(request, qs, per_page)


def author(request: HttpRequest, key: str) -> HttpResponse:
    a = Author.objects.keyed(key)
    if a is None:
        raise NotFound(
            f"paperfeed has no author {quoted(key)}.", links=[(reverse("search"), "Search by name")]
        )
    if a.key != key:  # a key the author had before a re-key: one address per author page
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("author", args=[a.key]) + (f"?{query}" if query else ""), permanent=True)
    page = _paged(
        request, Paper.objects.active().by_author(key).order_by("-announced", "-arxiv_id").for_listing()
    )
    following = (
        request.user.is_authenticated
        and Follow.objects.filter(user=request.user, kind=Follow.Kind.AUTHOR, value=key).exists()
    )
    return render(
        request,
        "feed/author.html",
        {"author": a, "page": page, "following": following, "json_url": f"/api/authors/{key}/papers"},
    )


def category_or_404(code: str) -> Category:
    """The category, or the visitor's 404 saying there is none (its page and its feeds alike). A
    code in another case is that category ("cs.lg", as settings and search take codes)."""
    cat = Category.objects.filter(code=code).first() or Category.objects.filter(code__iexact=code).first()
    if cat is None:
        raise NotFound(
            f"paperfeed has no category {quoted(code)}.", links=[(reverse("categories"), "All categories")]
        )
    return cat


def _category_counts() -> list[dict[str, Any]]:
    """Every category with papers, most first: how many list it, cross-lists included (what its page
    lists), and how many have it as their primary category (a category only ever cross-listed still
    has a page). Counting every category row takes ~100-150 ms at 75k papers on PostgreSQL, so one
    cached count serves the categories page and the search form's select."""
    rows = cache.get("category-counts")
    if rows is None:
        rows = list(
            Category.objects.annotate(
                n=Count("paper_categories"),
                primary=Count("paper_categories", filter=Q(paper_categories__position=0)),
            )
            .filter(n__gt=0)
            .order_by("-n", "code")
            .values("code", "name", "n", "primary")
        )
        cache.set("category-counts", rows, 3600)
    return list(rows)


def categories(request: HttpRequest) -> HttpResponse:
    return render(request, "feed/categories.html", {"rows": _category_counts()})


def category(request: HttpRequest, code: str) -> HttpResponse:
    cat = category_or_404(code)
    if cat.code != code:  # one address per category page
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("category", args=[cat.code]) + (f"?{query}" if query else ""), permanent=True)
    qs = Paper.objects.active().in_category(code)
    latest = qs.order_by("-announced").values_list("announced", flat=True).first()
    period = _period(request, periods.day(latest or timezone.localdate()))
    papers = qs.announced_between(period.first, period.last).order_by("-announced", "-arxiv_id").for_listing()
    page = _paged(request, papers, 50)
    before = (
        qs.filter(announced__lt=period.first)
        .order_by("-announced")
        .values_list("announced", flat=True)
        .first()
    )
    after = (
        qs.filter(announced__gt=period.last).order_by("announced").values_list("announced", flat=True).first()
    )
    prev, nxt = period.neighbours(before, after)
    following = (
        request.user.is_authenticated
        and Follow.objects.filter(user=request.user, kind=Follow.Kind.CATEGORY, value=code).exists()
    )
    ctx = {
        "category": cat,
        "period": period,
        "page": page,
        "prev": prev,
        "next": nxt,
        **_arrows(prev, nxt),
        "feed_query": _feed_query(request, period),
        "following": following,
        "json_url": f"/api/categories/{code}/papers?{period.query()}",
    }
    return render(request, "feed/category.html", ctx)


@login_required
@require_POST
def follow(request: HttpRequest) -> HttpResponse:
    from paperfeed.accounts import services as accounts

    kind, value = request.POST.get("kind", ""), request.POST.get("value", "").strip()[:200]
    on = request.POST.get("on", "1") == "1"
    if kind == Follow.Kind.AUTHOR and (a := Author.objects.keyed(value)) is not None:
        value = a.key  # a page cached from before a re-key follows the author, not the old key
    stored: dict[str, QuerySet[Any]] = {  # querysets are lazy: only the one for this kind runs
        Follow.Kind.CATEGORY: Category.objects.filter(code=value),
        Follow.Kind.AUTHOR: Author.objects.filter(key=value),
    }
    unknown = kind in stored and not stored[kind].exists()
    if kind not in Follow.Kind.values or not value or (on and unknown):  # unfollowing needs no check
        raise BadParameter(f"There is no {kind or 'such thing'} “{value[:80]}” to follow here.")
    assert isinstance(request.user, User)
    accounts.follow(request.user, kind, value, on=on)
    return HttpResponseRedirect(safe_next(request, "/"))


@dataclass
class Voting:
    """What a plain list's row needs for the daily cards' vote (feed/_paper_row.html), as a search
    result (searching.Hit) has it."""

    n_votes: int
    voted: bool
    unlisted: bool
    closed: str = ""


def user_page(request: HttpRequest, username: str) -> HttpResponse:
    u = User.objects.of_active_accounts().filter(username__iexact=username).first()
    if u is None:
        raise NotFound(f"paperfeed has no user {quoted(username)}.")
    if u.username != username:
        return redirect("user", u.username)
    own = request.user.is_authenticated and request.user.pk == u.pk
    colls = Collection.objects.filter(user=u).annotate(n=Count("items"))
    if not own:
        colls = colls.filter(public=True)
    subs = Submission.objects.filter(submitted_by=u).visible().for_listing().order_by("-created_at")[:50]
    # Every upvote, newest first, a page at a time: also those cast on papers no list had before an
    # upvote put one on today's list, which no list, trending, feed or digest shows.
    upvoted = _paged(request, Paper.objects.upvoted_by(u).for_listing())
    rows: list[tuple[Paper, Voting | None]] = [(p, None) for p in upvoted]
    if own:  # the owner's own votes, as the daily list's buttons: to take one back, or to list the paper
        ids = [p.pk for p in upvoted]
        counts = Vote.objects.counted().per_paper(ids)
        listed = set(Submission.objects.filter(paper_id__in=ids).values_list("paper_id", flat=True))
        rows = [
            (p, Voting(counts.get(p.pk, 0), True, p.pk not in listed and p.status == Paper.Status.ACTIVE))
            for p in upvoted
        ]
    return render(
        request,
        "feed/user.html",
        {
            "profile": u,
            "submissions": subs,
            "upvoted": rows,
            "page": upvoted,
            "collections": colls,
            "own": own,
            "json_url": f"/api/users/{u.username}",
        },
    )


COLLECTION_CENTRE = 200


@login_required
@require_POST
def collection_edit(request: HttpRequest, username: str, slug: str) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    coll = get_object_or_404(Collection, user=user, user__username=username, slug=slug)
    if request.POST.get("delete"):
        services.delete_collection(user, coll)
        messages.info(request, f"Deleted the collection “{coll.name}”.")
        return redirect("user", user.username)
    try:
        services.edit_collection(
            user, coll, name=request.POST.get("name", ""), public=request.POST.get("public") == "on"
        )
    except services.FeedError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, f"Saved: “{coll.name}” is {'public' if coll.public else 'private'}.")
    return redirect("collection", user.username, coll.slug)


def _visible_collection(request: HttpRequest, username: str, slug: str) -> Collection:
    coll = (
        Collection.objects.of_active_accounts()
        .select_related("user")
        .filter(user__username__iexact=username, slug=slug)
        .first()
    )
    if coll is None or (not coll.public and request.user.pk != coll.user_id):  # private: not there
        raise NotFound(f"{quoted(username)} has no collection {quoted(slug)} that you can see.")
    return coll


def collection(request: HttpRequest, username: str, slug: str) -> HttpResponse:
    coll = _visible_collection(request, username, slug)
    items = list(
        coll.items.prefetch_related(Prefetch("paper", Paper.objects.for_listing())).order_by("-added_at")
    )
    # Nearest to the collection's centre (its newest papers, for a very large one), none of its own.
    more = searching.similar(
        [it.paper for it in items[:COLLECTION_CENTRE]], limit=10, exclude=[it.paper for it in items]
    )
    ctx = {
        "collection": coll,
        "items": items,
        "mine": request.user.pk == coll.user_id,
        "more": more,
        "formats": citations.FORMATS.values(),
    }
    return render(request, "feed/collection.html", ctx)


# --- citations and library import ---------------------------------------------------------------


def _citation(papers: list[Paper], fmt: citations.Format, filename: str) -> HttpResponse:
    resp = HttpResponse(citations.export(papers, fmt.name), content_type=f"{fmt.media_type}; charset=utf-8")
    # inline: a browser shows the text (to copy), a reference manager's connector takes the file
    resp["Content-Disposition"] = f'inline; filename="{filename}.{fmt.extension}"'
    return resp


def paper_citation(request: HttpRequest, arxiv_id: str, ext: str) -> HttpResponse:
    """/papers/ID.bib, .ris and .csl.json: the paper as a reference manager imports it."""
    p = _paper_or_404(arxiv_id)
    return _citation([p], citations.BY_EXTENSION[ext], p.arxiv_id.replace("/", "_"))


def collection_citation(request: HttpRequest, username: str, slug: str, ext: str) -> HttpResponse:
    """A collection's papers, newest saved first, for whoever may see the collection."""
    coll = _visible_collection(request, username, slug)
    papers = [
        it.paper for it in coll.items.select_related("paper", "paper__primary_category").order_by("-added_at")
    ]
    return _citation(papers, citations.BY_EXTENSION[ext], coll.slug)


CITE_MAX_IDS = 200  # a page of a list (search: 20, a day: 100)


def export_links(papers: list[Paper]) -> list[tuple[str, str]]:
    """(label, href) of the export links of a list page: its papers, in its order, in each format."""
    if not papers:
        return []
    ids = ",".join(p.arxiv_id for p in papers[:CITE_MAX_IDS])
    return [
        (f.label, f"{reverse('cite')}?{urlencode({'ids': ids, 'format': f.name})}")
        for f in citations.FORMATS.values()
    ]


def cite(request: HttpRequest) -> HttpResponse:
    """/cite?ids=ID,ID…&format=bibtex|ris|csl-json: the papers a list page shows, as one file."""
    fmt = citations.FORMATS.get(request.GET.get("format", "bibtex"))
    if fmt is None:
        raise BadParameter(f"format must be one of {', '.join(citations.FORMATS)}.")
    texts = [t for t in request.GET.get("ids", "").split(",") if t.strip()]
    if not texts or len(texts) > CITE_MAX_IDS:
        raise BadParameter(f"ids must name 1 to {CITE_MAX_IDS} papers, separated by commas.")
    try:
        ids = [parse_arxiv_id(t).id for t in texts]
    except InvalidArxivId as e:
        raise BadParameter(str(e)) from None
    found = {p.arxiv_id: p for p in Paper.objects.filter(arxiv_id__in=ids).select_related("primary_category")}
    papers = [found[i] for i in dict.fromkeys(ids) if i in found]
    if not papers:
        raise NotFound("paperfeed has none of these papers.")
    return _citation(papers, fmt, "papers")


@login_required
def library_import(request: HttpRequest) -> HttpResponse:
    """Upload a .bib or .ris file or paste ids: the papers found are saved into a collection."""
    user = request.user
    assert isinstance(user, User)
    mine = list(Collection.objects.filter(user=user))
    chosen = request.POST.get("collection", request.GET.get("collection", ""))
    ctx: dict[str, Any] = {
        "collections": mine,
        "chosen": chosen,
        "pasted": request.POST.get("pasted", "")[:20_000],
        "new_name": request.POST.get("new_name", ""),
        "max_mb": references.MAX_BYTES // (1024 * 1024),
        "max_entries": references.MAX_ENTRIES,
    }
    if request.method != "POST":
        return render(request, "feed/library_import.html", ctx)
    upload = request.FILES.get("file")
    try:
        target = next((c for c in mine if c.slug == chosen), None)
        if chosen and target is None:
            raise references.LibraryError("choose one of your collections, or a new one")
        if upload is not None and upload.size:
            if upload.size > references.MAX_BYTES:
                raise references.LibraryError(f"the file is larger than {ctx['max_mb']} MB: split it")
            data: bytes | str = upload.read()
            name = upload.name or ""
        elif request.POST.get("pasted", "").strip():
            data, name = request.POST["pasted"], ""
        else:
            raise references.LibraryError("choose a .bib or .ris file, or paste arXiv ids, URLs or DOIs")
        done = library.import_library(user, data, name=name, collection=target, new_name=ctx["new_name"])
    except references.LibraryError as e:
        ctx["error"] = str(e)
        return render(request, "feed/library_import.html", ctx, status=400)
    # The form starts afresh, aimed at the collection just filled: left filled in, a second press of
    # Import would send the same library again.
    ctx |= {
        "done": done,
        "collections": list(Collection.objects.filter(user=user)),
        "chosen": done.collection.slug,
        "pasted": "",
        "new_name": "",
    }
    return render(request, "feed/library_import.html", ctx)
