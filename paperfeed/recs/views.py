"""The "For you" page, its JSON twin, and the "not interested" and "open" actions."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from paperfeed.papers.models import Paper
from paperfeed.recs import services

PAGE_SIZE = 30


def _limit(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("limit", PAGE_SIZE)), services.MAX_LIMIT))
    except ValueError:
        return PAGE_SIZE


@login_required
def for_you(request: HttpRequest) -> HttpResponse:
    recs = services.recommend(request.user, limit=_limit(request))
    if request.GET.get("format") == "json":
        return JsonResponse({"results": [r.as_json() for r in recs]})
    return render(
        request, "recs/for_you.html", {"recs": recs, "json_url": reverse("for-you") + "?format=json"}
    )


@login_required
@require_POST
def not_interested(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    paper = get_object_or_404(Paper, arxiv_id=arxiv_id)
    services.not_interested(request.user, paper, undo=request.POST.get("undo") == "1")
    nxt = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure()):
        nxt = reverse("for-you")
    return HttpResponseRedirect(nxt)


@login_required
@require_POST
def opened(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    """A recommendation the user opened is seen: it is not recommended again."""
    paper = get_object_or_404(Paper, arxiv_id=arxiv_id)
    services.mark_seen(request.user, paper)
    return HttpResponseRedirect(paper.abs_url if request.POST.get("to") == "arxiv" else _paper_url(paper))


def _paper_url(paper: Paper) -> str:
    try:
        return reverse("paper", args=[paper.arxiv_id])
    except Exception:  # the site's paper page is not installed: arXiv's
        return paper.abs_url
