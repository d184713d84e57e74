from typing import Any

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from paperfeed.core.commands import ReportCommand, database_name
from paperfeed.core.schema import migrate
from paperfeed.core.static import collect as collect_static
from paperfeed.core.text import counted
from paperfeed.feed.services import rerender_comments


class Command(ReportCommand):
    help = "Create or migrate the database and prepare PAPERFEED_HOME. Idempotent."
    # The one reporting command that runs them: a deploy script runs init first, and a setting
    # the site cannot start with is best said here.
    requires_system_checks = "__all__"  # type: ignore[assignment]
    # SQLite creates its file on connecting, so the home must exist first (report makes it).
    requires_database = False

    def report(self, **options: Any) -> dict[str, Any]:
        settings.HOME.mkdir(parents=True, exist_ok=True)
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        migrate(verbosity=max(options["verbosity"] - 1, 0))
        # A release whose comment markup rules changed (feed.markup.MARKUP_VERSION) needs its
        # comments rendered again: done here, at the upgrade's one step, rather than left to an
        # operator to remember (pages and the API show the new rendering meanwhile anyway).
        comments = rerender_comments()
        return {
            "vendor": connection.vendor,
            "database": connection.settings_dict["NAME"],
            "home": str(settings.HOME),
            "migrations_applied": len(pending),
            "static_collected": collect_static(),
            "comments_rerendered": comments.as_json(),
        }

    def render(self, result: dict[str, Any]) -> str:
        return ""

    def after_output(self, result: dict[str, Any], **options: Any) -> None:
        # On stderr, as before: a deploy script that runs `init` keeps its stdout for what it wants.
        if options["verbosity"] and not options["json"]:
            applied = result["migrations_applied"]
            self.stderr.write(
                f"paperfeed ready: {database_name()}"
                + (f" ({counted(applied, 'migration')} applied)" if applied else " (already up to date)")
                + _rerendered(result["comments_rerendered"]),
                self.style.SUCCESS,  # not stderr's own style, ERROR: it was red on a terminal
            )


def _rerendered(counts: dict[str, int]) -> str:
    if not counts["stale"]:
        return ""
    done = counted(counts["rerendered"], "comment")
    return f"; {done} re-rendered by the new markup rules ({counts['changed']} changed)"
