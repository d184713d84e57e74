"""gunicorn's sync worker with the site's own answer to a request line over gunicorn's limit.

gunicorn reads at most `LIMIT` bytes of request line (method, target and version; 8,190 is the
most it can be set to) and answers a longer one itself, before Django sees anything: a bare
"414 URI Too Long" page in gunicorn's words. Here the same status comes with the site's page
(`414.html`, standalone like the 500 page: no request was read to render it with), which says
what the limit is and what to do instead. Every other error is gunicorn's as before."""

from __future__ import annotations

from typing import Any

from gunicorn.http.errors import LimitRequestLine
from gunicorn.util import write_nonblock
from gunicorn.workers.sync import SyncWorker

LIMIT = 8190  # bytes of request line; gunicorn's maximum for limit_request_line

_FALLBACK = (
    f"This address is too long: paperfeed takes request lines (method, address and query) of up to "
    f"{LIMIT:,} bytes. Shorten it, or send long input in a request body.\n"
)


def too_long_page() -> bytes:
    """The whole HTTP answer, status line to body."""
    try:
        from django.template.loader import render_to_string

        body = render_to_string("414.html", {"limit": f"{LIMIT:,}"}).encode()
        kind = "text/html"
    except Exception:  # Django not set up in this process (it always is in a serving worker)
        body, kind = _FALLBACK.encode(), "text/plain"
    head = (
        "HTTP/1.1 414 URI Too Long\r\n"
        "Connection: close\r\n"
        f"Content-Type: {kind}; charset=utf-8\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


class SiteSyncWorker(SyncWorker):
    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        if not isinstance(exc, LimitRequestLine):
            return super().handle_error(req, client, addr, exc)
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            write_nonblock(client, too_long_page())
        except Exception:  # the client went away: nothing to tell it
            self.log.debug("Failed to send the 414 page.")
        return None
