import sqlite3

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "paperfeed.core"
    label = "core"
    verbose_name = "paperfeed core"

    def ready(self) -> None:
        # The backend's base module first: its features module cannot be imported on its own.
        from django.db.backends.sqlite3.base import DatabaseWrapper
        from django.db.models.signals import post_migrate, pre_migrate

        from paperfeed.core import checks, routers, schedule  # noqa: F401  (checks: registers them)

        pre_migrate.connect(routers.migration_started, dispatch_uid="paperfeed.migrating")
        post_migrate.connect(routers.migration_ended, dispatch_uid="paperfeed.migrated")

        schedule.register("core.housekeeping", "paperfeed.core.tasks.housekeeping", every=3600)
        # Django learns whether SQLite has JSON by a query in a transaction on the site's file: in
        # IMMEDIATE mode that waits for the write lock, and while another process writes for longer
        # than the busy timeout it concludes "no JSON" for the life of the connection (the system
        # checks of init, serve and check then fail with "SQLite does not support JSONFields").
        # JSON is the library's feature, not the file's: asked of an in-memory database, no other
        # process can hold it.
        DatabaseWrapper.features_class.supports_json_field = _sqlite_has_json()  # type: ignore[assignment]


def _sqlite_has_json() -> bool:
    db = sqlite3.connect(":memory:")
    try:
        db.execute("SELECT json('{}')")
    except sqlite3.OperationalError:
        return False
    finally:
        db.close()
    return True
