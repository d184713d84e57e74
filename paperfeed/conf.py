"""Every setting paperfeed reads from the environment, declared as data with its help text.

`paperfeed settings` prints this table; `settings.py` reads values only through `env()` so that a
setting cannot exist without being documented here. Every default works with no setup.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured


class SettingError(ImproperlyConfigured):
    """A setting's value that paperfeed cannot use; the message names the setting and what to do."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting(
            "PAPERFEED_HOME", "./var", "Directory for the SQLite database, search indexes, locks and keys."
        ),
        Setting(
            "DATABASE_URL",
            "",
            "Empty: SQLite (WAL) at $PAPERFEED_HOME/paperfeed.sqlite3; postgres://user:pass@host:port/db:"
            " PostgreSQL.",
        ),
        Setting(
            "PAPERFEED_DB_CONN_MAX_AGE",
            "600",
            "PostgreSQL: seconds a process keeps its connection (0: one per request). Checked before reuse.",
        ),
        Setting(
            "PAPERFEED_DB_CONNECT_TIMEOUT", "5", "PostgreSQL: seconds before a connection attempt fails."
        ),
        Setting(
            "PAPERFEED_DB_BUSY_TIMEOUT",
            "20",
            "SQLite: seconds a write waits for another process's write before it stops (database is locked).",
        ),
        Setting(
            "PAPERFEED_DB_STATEMENT_TIMEOUT",
            "30",
            "PostgreSQL: seconds a query of a web request may run (0: no limit). Jobs are not limited.",
        ),
        Setting(
            "EMAIL_URL",
            "",
            "smtp://user:pass@host:port or smtps://…; ?timeout=N. Empty: mail is printed on stderr, "
            "decoded (headers and plain text; links whole).",
        ),
        Setting(
            "PAPERFEED_BASE_URL",
            "http://127.0.0.1:8000",
            "Public URL of the site, for links in mail, feeds and the API's `Link` headers.",
        ),
        Setting("PAPERFEED_FROM_EMAIL", "paperfeed <noreply@localhost>", "From address of every mail."),
        Setting(
            "PAPERFEED_SECRET_KEY", "", "Signing key. Empty: generated once into $PAPERFEED_HOME/secret_key."
        ),
        Setting(
            "PAPERFEED_SECRET_KEY_FALLBACKS", "", "Comma-separated old keys still accepted (key rotation)."
        ),
        Setting("PAPERFEED_DEBUG", "0", "1: Django debug pages. Never in production."),
        Setting(
            "PAPERFEED_PRODUCTION",
            "0",
            "1: HTTPS-only cookies, HSTS and SSL redirect (behind a TLS-terminating proxy).",
        ),
        Setting(
            "PAPERFEED_ALLOWED_HOSTS",
            "",
            "Extra comma-separated host names (the base URL's host is always allowed).",
        ),
        Setting(
            "PAPERFEED_CACHE_URL",
            "",
            "redis://host:port/db for a shared cache and rate limits; empty: database.",
        ),
        Setting(
            "PAPERFEED_CACHE_MAX_ENTRIES",
            "20000",
            "Entries the database cache holds before it culls a third of them (pages, rate-limit counters).",
        ),
        Setting(
            "PAPERFEED_ARXIV_DELAY",
            "3.0",
            "Seconds between two requests to arXiv (its published limit is 3).",
        ),
        Setting(
            "PAPERFEED_HTTP_TIMEOUT", "30", "Seconds before a request to arXiv is abandoned (whole response)."
        ),
        Setting("PAPERFEED_HTTP_RETRIES", "8", "Attempts per arXiv request before a harvest or fetch fails."),
        Setting("PAPERFEED_OAI_ENDPOINT", "https://oaipmh.arxiv.org/oai", "arXiv's OAI-PMH base URL."),
        Setting("PAPERFEED_ARXIV_API", "https://export.arxiv.org/api/query", "arXiv's API (Atom) URL."),
        Setting("PAPERFEED_ANNOUNCE_FEED", "https://rss.arxiv.org/atom/", "arXiv's daily announcement feed."),
        Setting(
            "PAPERFEED_TIME_SCALE",
            "1",
            "Tests only: every sleep and rate-limit window runs this many times faster.",
        ),
        Setting("PAPERFEED_LOG_FORMAT", "text", "text or json (one JSON object per log line)."),
        Setting("PAPERFEED_LOG_LEVEL", "INFO", "Python logging level."),
        Setting(
            "PAPERFEED_ACCESS_LOG",
            "1",
            "1: `paperfeed serve` logs one line per request (method, path without the query, status,"
            " duration, bytes; fields in json), but a healthy /healthz. 0: none (a proxy in front may"
            " keep its own).",
        ),
        Setting(
            "PAPERFEED_MODEL_CACHE",
            "",
            "Where derived model files (the ONNX export) live; empty: ~/.cache/paperfeed.",
        ),
        Setting(
            "PAPERFEED_STATIC_ROOT",
            "",
            "Where `init` and `serve` collect the static files; empty: $PAPERFEED_HOME/static. Homes"
            " on one machine (or a proxy serving /static/) can share one: it is collected once per release.",
        ),
        Setting("PAPERFEED_WEB_WORKERS", "3", "gunicorn worker processes for `paperfeed serve`."),
        Setting(
            "PAPERFEED_WARM_UP",
            "1",
            "1: each new web worker loads the URL configuration, opens the search indexes, loads the"
            ' embedding model and maps the saved "for you" window (waiting for a child process to build'
            " it if the home has none usable) in the background at start, so its first visitors do not"
            " wait. 0: on first use.",
        ),
        Setting(
            "PAPERFEED_WEB_TIMEOUT",
            "30",
            "Seconds a gunicorn worker may spend on one request, reading it included: a stuck request"
            " or a client trickling its headers (slowloris) is dropped after this.",
        ),
        Setting("PAPERFEED_DIGEST_RATE", "10", "Digest mails per second at most (all senders together)."),
        Setting(
            "PAPERFEED_DIGEST_HOURLY", "20000", "Digest mails per rolling hour at most; 0: no hourly cap."
        ),
        Setting(
            "PAPERFEED_DIGEST_MAX_ATTEMPTS", "5", "SMTP attempts per digest mail before it counts as failed."
        ),
        Setting(
            "PAPERFEED_DIGEST_RETRY_DELAY", "60", "Seconds before the first retry of a mail; doubles per try."
        ),
        Setting(
            "PAPERFEED_DIGEST_MAX_ERRORS",
            "50",
            "Consecutive send failures that pause a digest run (and alert).",
        ),
        Setting(
            "PAPERFEED_UNSUBSCRIBE_MAILTO",
            "",
            "Address for mailto: unsubscribes (read by `paperfeed digest bounces`); empty: the From address.",
        ),
        Setting(
            "PAPERFEED_DKIM_KEY",
            "",
            "Path of a PEM RSA private key: sign every digest with DKIM. Empty: no DKIM.",
        ),
        Setting(
            "PAPERFEED_DKIM_SELECTOR",
            "paperfeed",
            "DKIM selector (the DNS name is SELECTOR._domainkey.DOMAIN).",
        ),
        Setting(
            "PAPERFEED_DKIM_DOMAIN", "", "DKIM d= domain; empty: the From address's domain (DMARC alignment)."
        ),
        Setting(
            "PAPERFEED_SCHEDULE_TICK", "60", "Seconds between two scheduler ticks of `paperfeed worker`."
        ),
        Setting(
            "PAPERFEED_SCHEDULE_KEEP_DAYS",
            "90",
            "Days the scheduler's record of claimed slots is kept; the latest slot of each job is"
            " always kept.",
        ),
        Setting(
            "PAPERFEED_NOW",
            "",
            "Tests only: the UTC time (ISO 8601) the digest schedule takes as now. Empty: the real time.",
        ),
        Setting(
            "PAPERFEED_PROXY_COUNT",
            "0",
            "Trusted reverse proxies in front of the site: the client address is taken that many"
            " entries from the end of X-Forwarded-For (0: REMOTE_ADDR), for rate limits.",
        ),
        Setting(
            "PAPERFEED_RECS_WINDOW_DAYS",
            "90",
            "Recommendations come from papers announced in this many days before the newest one.",
        ),
        Setting(
            "PAPERFEED_RECS_DENSE_WEIGHT",
            "0",
            "Weight of the embedding profile fused with the text profile in recommendations (0: off).",
        ),
        Setting(
            "PAPERFEED_SEARCH_SEMANTIC_BUDGET_MS",
            "500",
            "Time the semantic leg of a hybrid search may take before the answer is keyword-only.",
        ),
        Setting(
            "PAPERFEED_SEARCH_FAULT_DELAY_MS", "0", "Tests only: delay added to every semantic search leg."
        ),
    ]
}


# The settings read as numbers (env_int, env_float), some only by one command or job: settings.py
# parses them all at start, so a value that is no number stops every command with one line, as
# docs/deploy.md says, not only the first one to read it (a worker when the digest is due).
WHOLE_NUMBERS = frozenset(
    {
        "PAPERFEED_DB_CONN_MAX_AGE",
        "PAPERFEED_DB_CONNECT_TIMEOUT",
        "PAPERFEED_WEB_WORKERS",
        "PAPERFEED_WEB_TIMEOUT",
        "PAPERFEED_DIGEST_RATE",
        "PAPERFEED_DIGEST_HOURLY",
        "PAPERFEED_DIGEST_MAX_ATTEMPTS",
        "PAPERFEED_DIGEST_MAX_ERRORS",
        "PAPERFEED_PROXY_COUNT",
        "PAPERFEED_RECS_WINDOW_DAYS",
        "PAPERFEED_SCHEDULE_KEEP_DAYS",
    }
)
NUMBERS = frozenset(
    {
        "PAPERFEED_DB_BUSY_TIMEOUT",
        "PAPERFEED_DB_STATEMENT_TIMEOUT",
        "PAPERFEED_CACHE_MAX_ENTRIES",
        "PAPERFEED_ARXIV_DELAY",
        "PAPERFEED_HTTP_TIMEOUT",
        "PAPERFEED_HTTP_RETRIES",
        "PAPERFEED_TIME_SCALE",
        "PAPERFEED_DIGEST_RETRY_DELAY",
        "PAPERFEED_SCHEDULE_TICK",
        "PAPERFEED_RECS_DENSE_WEIGHT",
        "PAPERFEED_SEARCH_SEMANTIC_BUDGET_MS",
        "PAPERFEED_SEARCH_FAULT_DELAY_MS",
    }
)


def check_numbers() -> None:
    """Raise the SettingError of the first numeric setting (in the table's order) that is no number."""
    for name in SETTINGS:
        if name in WHOLE_NUMBERS:
            env_int(name)
        elif name in NUMBERS:
            env_float(name)


def env(name: str) -> str:
    """The value of a declared setting: the environment's, else its default."""
    return os.environ.get(name, SETTINGS[name].default)


def env_bool(name: str) -> bool:
    return env(name).strip().lower() in {"1", "true", "yes", "on"}


def env_float(name: str) -> float:
    return _env_number(name, float, "a number")


def env_int(name: str) -> int:
    return _env_number(name, int, "a whole number")


def _env_number[N: (int, float)](name: str, parse: Callable[[str], N], what: str) -> N:
    text = env(name)
    try:
        return parse(text)
    except ValueError:
        raise SettingError(f"{name}: not {what}: {text!r} (unset, it is {SETTINGS[name].default})") from None
