"""`paperfeed migrate`: Django's, except that a plain run from the command line applies everything
pending in one transaction and creates the cache table, as `paperfeed init` does.

Django's commits each migration on its own and records one with deferred SQL only after its commit
(Django #32374): a `paperfeed migrate` killed in between (a deploy's timeout) left tables that every
later run failed to create again. Operators type `migrate` from habit; docs/deploy.md said not to.
Naming an app or a migration, or --plan, --check, --fake, --fake-initial, --prune or --run-syncdb,
is Django's command unchanged (a step back to a named migration has to be Django's)."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate

from paperfeed.core import schema

DJANGO_ONLY = (
    "app_label",
    "migration_name",
    "plan",
    "check_unapplied",
    "fake",
    "fake_initial",
    "prune",
    "run_syncdb",
)


class Command(DjangoMigrate):
    help = (
        "Apply the pending migrations in one transaction, as `paperfeed init` does (all or none). "
        "With an app, a migration or --plan/--check/--fake/--prune: Django's migrate, "
        "a transaction per migration."
    )
    from_command_line = False

    def run_from_argv(self, argv: list[str]) -> None:
        # Only here: schema.migrate itself runs Django's migrate through call_command, and the
        # test runner builds its databases with it.
        self.from_command_line = True
        super().run_from_argv(argv)

    def handle(self, *args: Any, **options: Any) -> None:
        if not self.from_command_line or any(options.get(name) for name in DJANGO_ONLY):
            super().handle(*args, **options)
            return
        schema.migrate(using=options["database"], verbosity=options["verbosity"])
        if options["verbosity"]:
            self.stderr.write(
                "applied in one transaction, as `paperfeed init` does (docs/deploy.md, Upgrades)"
            )
