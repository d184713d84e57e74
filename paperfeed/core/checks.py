"""paperfeed's own `paperfeed check --deploy` checks, beside Django's security ones."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def base_url_is_https(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # Mail and feeds link the base URL, not the request's address. RFC 8058 requires an https
    # one-click unsubscribe URI, and a mail client's POST to http:// would meet the SSL redirect,
    # which most clients follow with a GET: the unsubscribe would not happen.
    if not settings.PRODUCTION or urlsplit(settings.BASE_URL).scheme == "https":
        return []
    return [
        Warning(
            f"PAPERFEED_BASE_URL is {settings.BASE_URL!r}, not https:// although PAPERFEED_PRODUCTION=1.",
            hint="Set PAPERFEED_BASE_URL to the public https:// address of the site: links in mail and "
            "feeds, and one-click unsubscribe (RFC 8058), use it.",
            id="paperfeed.W001",
        )
    ]
