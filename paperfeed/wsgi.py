import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "paperfeed.settings")
application = get_wsgi_application()


def _limit_statements() -> None:
    """Web processes only (this module is what gunicorn loads; workers and commands never import
    it): PostgreSQL cancels a query of a request after PAPERFEED_DB_STATEMENT_TIMEOUT. Runs before
    the process's first connection, which reads OPTIONS when it connects."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if settings.WEB_STATEMENT_TIMEOUT_MS and db["ENGINE"] == "django.db.backends.postgresql":
        db.setdefault("OPTIONS", {})["options"] = f"-c statement_timeout={settings.WEB_STATEMENT_TIMEOUT_MS}"


_limit_statements()
