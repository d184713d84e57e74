"""The "For you" page, its JSON twin, and the "not interested" and "open" actions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from paperfeed.core.http import json_answer
from paperfeed.core.middleware import BadParameter
from paperfeed.core.paging import site_number
from paperfeed.papers import tex
from paperfeed.papers.models import Paper
from paperfeed.recs import api, index, services
from paperfeed.recs.models import Feedback, FeedToken

PAGE_SIZE = 30


def _limit(request: HttpRequest) -> int:
    return site_number(
        request, "limit", default=PAGE_SIZE, low=1, high=services.MAX_LIMIT, what="how many papers to list"
    )


# The session key naming the paper just marked "not interested", so the next page can offer Undo.
JUST_MARKED = "recs:just-marked"


@login_required
def for_you(request: HttpRequest) -> HttpResponse:
    try:
        limit = _limit(request)
    except BadParameter as e:
        if request.GET.get("format") == "json":  # the JSON twin answers in JSON, as the API does
            return json_answer({"error": str(e)}, status=400)
        raise
    preparing = False
    # Read once for the whole page: the list (either kind) and what the page says around it.
    sig = services.signals_of(request.user.pk or 0)
    try:
        recs = services.recommend(request.user, limit=limit, signals=sig)
    except index.NotReady as e:
        if request.GET.get("format") == "json":
            return api.not_ready(e)  # as the API: a program retries rather than take another list
        # A visitor gets a page at once: the newest papers of their categories, said to be that.
        recs, preparing = services.provisional(request.user, limit=limit, signals=sig), True
    if request.GET.get("format") == "json":
        return json_answer({"results": api.as_json(recs)})
    # A longer list starts with the shorter one, so "more" is the same address with a larger limit.
    more = (
        min(limit + PAGE_SIZE, services.MAX_LIMIT)
        if len(recs) == limit < services.MAX_LIMIT and not preparing
        else None
    )
    just_marked = request.session.pop(JUST_MARKED, None)
    response = render(
        request,
        "recs/for_you.html",
        {
            "recs": [(r, _paper_url(r.paper)) for r in recs],
            "preparing": preparing,
            "just_marked": Paper.objects.filter(arxiv_id=just_marked).first() if just_marked else None,
            "marked_count": len(sig.negatives),  # the user's "not interested" marks
            "acted": not recs and not sig.empty(),
            "json_url": reverse("for-you") + "?format=json",
            "more_url": f"{reverse('for-you')}?limit={more}#rec-{limit + 1}" if more else None,
            "feed_token": FeedToken.objects.of(request.user).token,
        },
    )
    patch_cache_control(response, private=True)  # it shows the reader's private feed address
    return response


@login_required
@require_POST
def reset_feed(request: HttpRequest) -> HttpResponse:
    """A new address for the user's private feed: whoever had the old one (a shared link, a reader
    synced somewhere) gets 404 from now on."""
    FeedToken.objects.rotate(request.user)
    messages.success(
        request, "Your feed has a new address; the old one no longer works. Subscribe to the new one."
    )
    return HttpResponseRedirect(reverse("for-you") + "#feed")


MARKS_SHOWN = 500


@login_required
def marked_not_interested(request: HttpRequest) -> HttpResponse:
    """Every paper the user marked "not interested", newest mark first, each with its Undo."""
    marks = Feedback.objects.of(request.user.pk or 0).not_interested().select_related("paper").order_by("-at")
    shown = [(m, _paper_url(m.paper)) for m in marks[:MARKS_SHOWN]]
    return render(request, "recs/not_interested.html", {"marks": shown, "count": marks.count()})


@login_required
@require_POST
def not_interested(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = get_object_or_404(Paper.objects.named(arxiv_id))  # any form of its id, as the API
    undo = request.POST.get("undo") == "1"
    services.not_interested(request.user, paper, undo=undo)
    if undo:
        messages.success(
            request, f"“{tex.plain(paper.title)}” is back among your recommendations."
        )  # no KaTeX
    else:
        request.session[JUST_MARKED] = paper.arxiv_id
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure()):
        nxt = reverse("for-you")
    return HttpResponseRedirect(nxt)


@require_http_methods(["GET", "HEAD", "POST"])
def opened(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """A recommendation the user opened is seen: it is not recommended again. A title's link comes
    here (a link cannot POST, and without JavaScript nothing else would tell us) and is redirected
    to the paper; site.js points the link at the paper itself and posts here (beacon=1) instead, so
    an opening is recorded once either way."""
    paper = get_object_or_404(Paper.objects.named(arxiv_id))  # any form of its id, as the API
    if request.method != "POST":
        # A GET is not CSRF-checked: it marks nothing for another site's link or image, nor for a
        # prefetch, and it goes to this paper's page whatever the query says (no open redirect).
        if request.method == "GET" and request.user.is_authenticated and _followed_here(request):
            services.mark_seen(request.user, paper)
        response = HttpResponseRedirect(_paper_url(paper))
        add_never_cache_headers(response)  # per user: no cache may answer it for the next visitor
        return response
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    services.mark_seen(request.user, paper)
    if request.POST.get("beacon") == "1":
        return HttpResponse(status=204)  # the browser is already on its way to the paper
    return HttpResponseRedirect(paper.abs_url if request.POST.get("to") == "arxiv" else _paper_url(paper))


def _followed_here(request: HttpRequest) -> bool:
    """A link followed from this site or typed by the user (Fetch Metadata; browsers without it
    send no header), not a request another site or a prefetch made."""
    if "prefetch" in request.headers.get("Sec-Purpose", "") + request.headers.get("Purpose", ""):
        return False
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


def _paper_url(paper: Paper) -> str:
    try:
        return reverse("paper", args=[paper.arxiv_id])
    except Exception:  # the site's paper page is not installed: arXiv's
        return paper.abs_url
