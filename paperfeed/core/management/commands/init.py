from typing import Any

from django.conf import settings

from paperfeed.core.commands import PaperfeedCommand
from paperfeed.core.schema import migrate
from paperfeed.core.static import collect as collect_static


class Command(PaperfeedCommand):
    help = "Create or migrate the database and prepare PAPERFEED_HOME. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        verbosity = options["verbosity"]
        settings.HOME.mkdir(parents=True, exist_ok=True)
        migrate(verbosity=max(verbosity - 1, 0))
        collect_static()
        db = settings.DATABASES["default"]
        where = db["NAME"] if not settings.IS_POSTGRES else f"PostgreSQL {db.get('HOST')}/{db['NAME']}"
        if verbosity:
            self.stderr.write(f"paperfeed ready: {where}")
