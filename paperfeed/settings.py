"""Django settings, read from the environment through paperfeed.conf (every default works with no setup)."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

import dj_database_url
from whitenoise.compress import Compressor

from paperfeed.conf import SettingError, check_numbers, env, env_bool, env_float, env_int

check_numbers()

BASE_DIR = Path(__file__).resolve().parent
HOME = Path(env("PAPERFEED_HOME")).expanduser().resolve()


def _unusable_home(e: OSError) -> SettingError:
    why = "not a folder" if isinstance(e, FileExistsError) else e.strerror or str(e)
    return SettingError(
        f"PAPERFEED_HOME: cannot use {HOME} ({why}: {e.filename or HOME}); point it at a "
        "folder this user may create and write (the default is ./var), or give this user write access"
    )


try:
    HOME.mkdir(parents=True, exist_ok=True)
except OSError as e:
    raise _unusable_home(e) from None


def _secret_key() -> str:
    if key := env("PAPERFEED_SECRET_KEY"):
        return key
    path = HOME / "secret_key"
    try:
        if not path.exists():
            # O_EXCL: two processes starting together must agree on one key.
            try:
                fd = path.open("x", encoding="ascii")
            except FileExistsError:
                pass
            else:
                with fd:
                    path.chmod(0o600)
                    fd.write(secrets.token_urlsafe(50))
        return path.read_text(encoding="ascii").strip()
    except OSError as e:
        raise _unusable_home(e) from None


SECRET_KEY = _secret_key()
SECRET_KEY_FALLBACKS = [k for k in env("PAPERFEED_SECRET_KEY_FALLBACKS").split(",") if k]
DEBUG = env_bool("PAPERFEED_DEBUG")
PRODUCTION = env_bool("PAPERFEED_PRODUCTION")

BASE_URL = env("PAPERFEED_BASE_URL").rstrip("/")
_base_host = urlsplit(BASE_URL).hostname or "localhost"
ALLOWED_HOSTS = sorted(
    {"localhost", "127.0.0.1", "[::1]", _base_host, *filter(None, env("PAPERFEED_ALLOWED_HOSTS").split(","))}
)
CSRF_TRUSTED_ORIGINS = [f"{urlsplit(BASE_URL).scheme}://{urlsplit(BASE_URL).netloc}"]

INSTALLED_APPS = [
    "paperfeed.moderation.admin_site.SiteAdminConfig",  # django.contrib.admin, closed to suspended staff
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks_db",
    "ninja",
    "paperfeed.core",
    "paperfeed.papers",
    "paperfeed.search",
    "paperfeed.accounts",
    "paperfeed.feed",
    "paperfeed.moderation",
    "paperfeed.digests",
    "paperfeed.recs",
    "paperfeed.api",
]

MIDDLEWARE = [
    "paperfeed.core.middleware.HealthCheckMiddleware",  # before the host check and the SSL redirect
    "django.middleware.security.SecurityMiddleware",
    "paperfeed.api.middleware.ApiHttpMiddleware",
    "paperfeed.core.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "paperfeed.core.middleware.MethodNotAllowedPageMiddleware",  # renders with the user: after auth
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "paperfeed.accounts.middleware.RateLimitedMiddleware",
]

ROOT_URLCONF = "paperfeed.urls"
WSGI_APPLICATION = "paperfeed.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------------
# SQLite: WAL so readers never block the writer; IMMEDIATE so a transaction that will write takes the
# lock up front (a deferred read->write upgrade gets SQLITE_BUSY without waiting); NORMAL sync is
# durable across application crashes, and may lose the last commits only on power loss. 16 KiB
# pages (set before WAL, so only a new database gets them) hold a paper row of ~2.5 KB with little
# slack; with 4 KiB pages each row took a page of its own and the file was 30% larger.
SQLITE_PRAGMAS = (
    "PRAGMA page_size=16384;PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
    "PRAGMA temp_store=MEMORY;PRAGMA cache_size=-65536;"
)
# `timeout`: how long a write waits for another process's (a worker's, an import's) before it fails
# with "database is locked", which the command line turns into one line saying what to do.
SQLITE_OPTIONS = {
    "timeout": env_float("PAPERFEED_DB_BUSY_TIMEOUT"),
    "transaction_mode": "IMMEDIATE",
    "init_command": SQLITE_PRAGMAS,
}
# Only the two backends the suite runs on; dj_database_url would accept mysql:// or oracle:// and
# fail later asking for a driver paperfeed never supports.
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")


def database_from_url(url: str, setting: str = "DATABASE_URL") -> dict[str, Any]:
    """Django's settings for one database URL: DATABASE_URL's, and `paperfeed copydb --to`'s."""
    scheme = urlsplit(url).scheme
    if scheme not in DATABASE_SCHEMES:
        raise SettingError(
            f"{setting}: only sqlite:// and postgres:// URLs are supported, not {scheme or '(no scheme)'}://"
        )
    # Persistent connections, checked before reuse: after a PostgreSQL restart each process's
    # first request reconnects instead of failing (RELIABILITY L6).
    try:
        db: dict[str, Any] = dict(
            dj_database_url.parse(
                url, conn_max_age=env_int("PAPERFEED_DB_CONN_MAX_AGE"), conn_health_checks=True
            )
        )
    except ValueError as e:  # dj_database_url's ParseError: a port out of range, a stray character
        detail = str(e)
        try:
            _ = urlsplit(url).port
        except ValueError as port:  # its own message does not say which part
            detail = str(port)
        raise SettingError(
            f"{setting}: not a usable URL ({detail}); e.g. postgres://user:password@host:5432/name "
            "(special characters of the password written %XX) or sqlite:////absolute/path.sqlite3"
        ) from None
    # dj_database_url reads sqlite:// as an in-memory database, gone when the command ends.
    if db.get("NAME") in (None, "", ":memory:"):
        raise SettingError(
            f"{setting}: names no database: give its name (postgres://user:password@host:5432/NAME) "
            "or its file (sqlite:////absolute/path.sqlite3)"
        )
    if db["ENGINE"] == "django.db.backends.postgresql":
        db.setdefault("OPTIONS", {})
        db["OPTIONS"].setdefault("connect_timeout", env_int("PAPERFEED_DB_CONNECT_TIMEOUT"))
    else:
        db["CONN_MAX_AGE"] = 0
        db["OPTIONS"] = dict(SQLITE_OPTIONS)
    db.setdefault("TEST", {})
    return db


if env("DATABASE_URL"):
    DATABASES = {"default": database_from_url(env("DATABASE_URL"))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(HOME / "paperfeed.sqlite3"),
            "OPTIONS": dict(SQLITE_OPTIONS),
            # Tests share the database across threads and processes, so it must be a file.
            "TEST": {"NAME": str(HOME / "test.sqlite3")},
        }
    }
# Only web requests get a statement timeout (paperfeed.wsgi applies it): a stuck query must free its
# gunicorn worker, while background jobs (an index build streaming every paper) may run long.
WEB_STATEMENT_TIMEOUT_MS = int(env_float("PAPERFEED_DB_STATEMENT_TIMEOUT") * 1000)
# A migration's queries go to the database it migrates (django_tasks_db's 0016 does not say which).
DATABASE_ROUTERS = ["paperfeed.core.routers.MigratedDatabase"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# --- cache, sessions ------------------------------------------------------------------------------
CACHES: dict[str, dict[str, Any]]
if cache_url := env("PAPERFEED_CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": cache_url}}
else:
    # Django's default of 300 entries is a few hundred paper pages: past it every write culls a third
    # of the table in key order, rate-limit counters and the listing version among them. The count
    # Django runs on each write stays ~1 ms at 20,000 rows; expired entries go first.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "paperfeed_cache",
            "OPTIONS": {"MAX_ENTRIES": int(env_float("PAPERFEED_CACHE_MAX_ENTRIES"))},
        }
    }
SESSION_ENGINE = "django.contrib.sessions.backends.db"

# --- jobs -----------------------------------------------------------------------------------------
# "mail": the short transactional mails, served by a lane of their own in every worker (core.tasks).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "mail"]}}

# --- auth -----------------------------------------------------------------------------------------
PASSWORD_HASHERS = [
    "paperfeed.accounts.hashers.CappedArgon2PasswordHasher",  # Argon2id, at most 2 hashes at once
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "paperfeed.accounts.validators.MaximumLengthValidator"},
]
AUTHENTICATION_BACKENDS = ["paperfeed.accounts.backends.UsernameOrEmailBackend"]
PROXY_COUNT = env_int("PAPERFEED_PROXY_COUNT")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- email ---------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = SERVER_EMAIL = env("PAPERFEED_FROM_EMAIL")
# A stalled SMTP server must not block a sender forever (Django's own default is no timeout).
EMAIL_TIMEOUT_SECONDS = 30


def _email_url(url: str) -> tuple[SplitResult, dict[str, str], int, int]:
    """EMAIL_URL's parts, its query, its port and its timeout; a SettingError (never the password) for a URL
    that would otherwise send every mail somewhere else (no scheme: to localhost:25) or fail later."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise SettingError(
            f"EMAIL_URL: only smtp:// and smtps:// URLs are supported, not {parts.scheme or '(no scheme)'}://"
            " (e.g. smtp://user:password@mail.example.org:587?starttls=1)"
        )
    try:
        port = parts.port or (465 if parts.scheme == "smtps" else 25)
    except ValueError as e:
        raise SettingError(f"EMAIL_URL: the port is not a number from 1 to 65535 ({e})") from None
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    timeout = query.get("timeout", str(EMAIL_TIMEOUT_SECONDS))
    if not timeout.isdigit() or int(timeout) < 1:
        raise SettingError(f"EMAIL_URL: ?timeout= must be a whole number of seconds, not {timeout!r}")
    return parts, query, port, int(timeout)


if email_url := env("EMAIL_URL"):
    _e, _q, _port, _timeout = _email_url(email_url)
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _e.hostname or "localhost",
                "port": _port,
                "username": unquote(_e.username or ""),
                "password": unquote(_e.password or ""),
                "use_ssl": _e.scheme == "smtps",
                "use_tls": _q.get("starttls", "0") in {"1", "true"},
                "timeout": _timeout,
            },
        }
    }
else:
    # On stderr: stdout is for the reports (--json) of the commands that send mail.
    MAILERS = {"default": {"BACKEND": "paperfeed.digests.console.ConsoleBackend"}}


def _check_dkim_key(path: str) -> None:
    """A key that cannot be read or is no RSA private key: one line now. The sender took the
    FileNotFoundError for a connection failure and retried every digest 5 times over 15 minutes."""
    from dkim.crypto import UnparsableKeyError, parse_pem_private_key

    try:
        pem = Path(path).read_bytes()
    except OSError as e:
        raise SettingError(
            f"PAPERFEED_DKIM_KEY: cannot read {path} ({e.strerror or e}); give the path of a PEM RSA "
            "private key this user may read (docs/email.md), or leave it empty to send unsigned"
        ) from None
    try:
        parse_pem_private_key(pem)
    except UnparsableKeyError:
        raise SettingError(
            f"PAPERFEED_DKIM_KEY: {path} is not a PEM RSA private key (make one with "
            "`openssl genrsa -out dkim.pem 2048`, docs/email.md)"
        ) from None


if env("PAPERFEED_DKIM_KEY"):
    _check_dkim_key(env("PAPERFEED_DKIM_KEY"))

# --- i18n, static ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = (
    Path(env("PAPERFEED_STATIC_ROOT")).expanduser().resolve()
    if env("PAPERFEED_STATIC_ROOT")
    else HOME / "static"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# Source maps (swagger's and redoc's are 5 MB) are fetched by developer tools only, and browsers
# take KaTeX's woff2, never its ttf: compressing them was 9 of collectstatic's 16 s of brotli.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map", "ttf")
# Pages link the hashed names ({% static %}): compressing the unhashed copies too doubled the work.
# (A hand-typed /static/css/site.css still answers, uncompressed, through WHITENOISE_USE_FINDERS.)
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- security -------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script anywhere (site.js and KaTeX are files); KaTeX styles through the CSSOM, which
# style-src does not restrict, so no 'unsafe-inline' either.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "paperfeed.core.middleware.csrf_failure"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- logging --------------------------------------------------------------------------------------
if env("PAPERFEED_LOG_FORMAT") not in ("text", "json"):
    raise SettingError(f"PAPERFEED_LOG_FORMAT: text or json, not {env('PAPERFEED_LOG_FORMAT')!r}")
LOG_LEVEL = env("PAPERFEED_LOG_LEVEL").strip().upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    raise SettingError(
        f"PAPERFEED_LOG_LEVEL: DEBUG, INFO, WARNING, ERROR or CRITICAL, not {env('PAPERFEED_LOG_LEVEL')!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "paperfeed.core.logs.TextFormatter"},
        "json": {"()": "paperfeed.core.logs.JsonFormatter"},
    },
    "filters": {"unavailable_is_not_an_error": {"()": "paperfeed.core.logs.UnavailableIsNotAnError"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": env("PAPERFEED_LOG_FORMAT")}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A 503 (busy, database down) at WARNING, not ERROR: it is an answer, not a failure.
        "django.request": {"filters": ["unavailable_is_not_an_error"]},
        # A worker's "warmed up" line shows at any PAPERFEED_LOG_LEVEL: it is how an operator, and
        # `paperfeed bench` (bench.common.serve waits for it), know the worker is ready.
        "paperfeed.core.warmup": {"level": "INFO"},
        # So is `serve`'s start line: what address it serves, and which one links use.
        "paperfeed.core.management.commands.serve": {"level": "INFO"},
    },
}
