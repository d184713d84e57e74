"""paperfeed's own `paperfeed check --deploy` checks, beside Django's security ones, and one that
`paperfeed check` (and `init`, `serve`) runs always: a keyword index awaiting its rebuild."""

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


@register(Tags.security, deploy=True)
def production_is_on(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # Django's own warnings about HSTS, the SSL redirect and secure cookies name settings an
    # operator cannot set here (settings come from the environment): say which variable sets them.
    if settings.PRODUCTION:
        return []
    return [
        Warning(
            "PAPERFEED_PRODUCTION is not 1: HSTS, the SSL redirect and secure cookies are off "
            "(Django's security.W004, W008, W012 and W016).",
            hint="Set PAPERFEED_PRODUCTION=1 on a site served over https behind a TLS-terminating proxy "
            "(docs/deploy.md): it turns all four on.",
            id="paperfeed.W002",
        )
    ]


@register(Tags.security, deploy=True)
def mail_is_sent(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # Without EMAIL_URL every mail goes to stderr, and the digest sender still counts it as sent:
    # a live site would confirm no subscriber and reset no password without anyone noticing.
    backend = str(settings.MAILERS.get("default", {}).get("BACKEND", ""))
    if not backend.endswith("ConsoleBackend"):
        return []
    return [
        Warning(
            "EMAIL_URL is empty: mail (digests, confirmations, password resets) is printed on stderr, "
            "not sent.",
            hint="Set EMAIL_URL to your SMTP relay, e.g. smtp://user:pass@smtp.example.org:587?starttls=1 "
            "(docs/email.md).",
            id="paperfeed.W003",
        )
    ]


def _undeliverable(domain: str) -> bool:
    # Names no receiving server can check SPF or DMARC against (RFC 6761/6762 reserve these).
    return "." not in domain or domain.endswith((".localhost", ".local", ".localdomain"))


@register(Tags.security, deploy=True)
def from_address_is_a_real_domain(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # The From domain is every mail's Message-ID and List-Id domain and the mailto: unsubscribe
    # address too: left at the default, a digest went out From noreply@localhost, which receivers
    # reject or file as spam (no SPF or DMARC can pass) and whose mailto: unsubscribe goes nowhere.
    from paperfeed.digests.mail import from_domain

    domain = from_domain()
    if not settings.PRODUCTION or not _undeliverable(domain):
        return []
    return [
        Warning(
            f"PAPERFEED_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}, a domain ({domain}) no mail "
            "server can verify, although PAPERFEED_PRODUCTION=1.",
            hint="Set PAPERFEED_FROM_EMAIL to an address of a domain you publish SPF, DKIM and DMARC "
            "for, e.g. 'paperfeed <digests@papers.example.org>' (docs/email.md).",
            id="paperfeed.W004",
        )
    ]


@register("search")
def keyword_index_is_current(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # After an upgrade that changed the keyword index's layout, search answers from the database
    # until the index is rebuilt: the operator should see that it is, and whether it is under way.
    from paperfeed.search.tasks import keyword_health

    health = keyword_health()
    if health is None:
        return []
    return [
        Warning(
            health,
            hint="Search answers from the database's matches until the rebuild is done. The first search "
            "queues the rebuild for the workers; `paperfeed index` on this machine does it at once "
            "(docs/deploy.md, Upgrades).",
            id="paperfeed.W005",
        )
    ]
