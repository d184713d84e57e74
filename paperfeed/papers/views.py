"""/healthz (the pages showing papers live in the feed app)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse

from paperfeed.core.middleware import RETRY_AFTER


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception as e:  # any database failure means "down", reported, not raised
        # Only the exception's class: its message may name hosts, users or paths.
        resp = JsonResponse({"status": "down", "database": type(e).__name__}, status=503)
        resp["Retry-After"] = str(RETRY_AFTER)  # a load balancer or monitor knows when to look again
        resp["Cache-Control"] = "no-store"
        return resp
    return JsonResponse({"status": "ok", "database": "up"})
