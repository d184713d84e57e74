from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction

from paperfeed.core.commands import PaperfeedCommand
from paperfeed.core.static import collect as collect_static


class Command(PaperfeedCommand):
    help = "Create or migrate the database and prepare PAPERFEED_HOME. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        settings.HOME.mkdir(parents=True, exist_ok=True)
        # All pending migrations in one transaction, so a start killed mid-way (SIGTERM from a
        # deploy) leaves none of them applied, and the next `init` runs them all. Django commits
        # each migration on its own, and one with deferred SQL (indexes, foreign keys) is recorded
        # only after its commit (Django #32374): killed in between, its tables stood unrecorded
        # and every later `init` failed with "table ... already exists". SQLite cannot turn its
        # foreign-key checks off inside a transaction, and its schema editor needs them off.
        connection.disable_constraint_checking()
        try:
            with transaction.atomic():
                call_command("migrate", interactive=False, verbosity=max(verbosity - 1, 0))
        finally:
            connection.enable_constraint_checking()
        call_command("createcachetable", verbosity=max(verbosity - 1, 0))
        collect_static()
        db = settings.DATABASES["default"]
        where = db["NAME"] if not settings.IS_POSTGRES else f"PostgreSQL {db.get('HOST')}/{db['NAME']}"
        if verbosity:
            self.stderr.write(f"paperfeed ready: {where}")
