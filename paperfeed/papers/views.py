"""/healthz (the pages showing papers live in the feed app)."""

from __future__ import annotations

import os

from django.db import connection
from django.http import HttpRequest, HttpResponse

from paperfeed.core.http import json_answer
from paperfeed.core.logs import QUIET_ACCESS
from paperfeed.core.middleware import RETRY_AFTER


def healthz(request: HttpRequest) -> HttpResponse:
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
    except Exception as e:  # any database failure means "down", reported, not raised
        # Only the exception's class: its message may name hosts, users or paths.
        resp = json_answer({"status": "down", "database": type(e).__name__}, status=503)
        resp["Retry-After"] = str(RETRY_AFTER)  # a load balancer or monitor knows when to look again
        resp["Cache-Control"] = "no-store"
        return resp
    if connection.vendor == "sqlite" and not os.access(connection.settings_dict["NAME"], os.W_OK):
        # Reads still work (200 keeps the process behind a load balancer) but no write will: a
        # monitor must tell. access() sees a read-only mount even for root, unlike the file's mode.
        return json_answer({"status": "degraded", "database": "read-only"})
    from paperfeed.search.tasks import keyword_health

    if search := keyword_health():
        # Search answers from the database's matches until the rebuild after an upgrade is done.
        return json_answer({"status": "degraded", "database": "up", "search": search})
    # Only a healthy answer leaves the access log: one line per poll of each load balancer drowned
    # it, and a down or degraded one is what an operator looks there for.
    request.META[QUIET_ACCESS] = True
    return json_answer({"status": "ok", "database": "up"})
