"""/healthz (the pages showing papers live in the feed app)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, JsonResponse


def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception as e:  # any database failure means "down", reported, not raised
        return JsonResponse({"status": "down", "database": type(e).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})
