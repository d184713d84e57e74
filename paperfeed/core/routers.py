"""Migrations query the database they migrate, also those of installed packages that forget to.

django_tasks_db's migration 0016 updates its rows through `DBTaskResult.objects` without
`.using(schema_editor.connection.alias)`, so migrating any database but the default one (`copydb`
migrating its target, `paperfeed migrate --database`) wrote to the site's own database instead: it
waited on the site's write lock (copydb failed with "database is locked" while a worker ran), and
the target's rows were never updated. Historical models (the ones `apps.get_model` gives a
migration; Django builds them in the module "__fake__") exist only while migrating, so routing them
to the database being migrated changes nothing else."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.db import models

_migrating: ContextVar[str | None] = ContextVar("paperfeed_migrating", default=None)


def migration_started(using: str, **kwargs: Any) -> None:
    """pre_migrate: Django's migrate command sends it, with the alias, before applying anything."""
    _migrating.set(using)


def migration_ended(**kwargs: Any) -> None:
    _migrating.set(None)


class MigratedDatabase:
    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        return _migrating.get() if model.__module__ == "__fake__" else None

    db_for_write = db_for_read
