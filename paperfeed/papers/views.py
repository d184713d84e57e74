"""A bare list of papers and a paper page (the site issue builds the real pages); /healthz."""

from __future__ import annotations

from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from paperfeed.papers.arxiv_ids import InvalidArxivId, parse_arxiv_id
from paperfeed.papers.models import Paper


def latest(request: HttpRequest) -> HttpResponse:
    papers = Paper.objects.active().order_by("-announced", "-arxiv_id").for_listing()[:50]
    return render(request, "papers/latest.html", {"papers": papers})


def detail(request: HttpRequest, arxiv_id: str) -> HttpResponse:
    try:
        ident = parse_arxiv_id(arxiv_id)
    except InvalidArxivId:
        raise Http404("not an arXiv id") from None
    paper = Paper.objects.filter(arxiv_id=ident.id).for_listing().first()
    if paper is None:
        raise Http404("paper not stored")
    return render(request, "papers/detail.html", {"paper": paper})


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception as e:  # any database failure means "down", reported, not raised
        return JsonResponse({"status": "down", "database": type(e).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})
