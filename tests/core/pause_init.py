"""The real `paperfeed init`, stopping at a chosen point of one migration to wait there for the test's
SIGTERM (tests/core/test_bad_input_faults.py):

    python -m tests.core.pause_init MARKER APP.MIGRATION inside|before-record [COMMAND]

inside: the migration's operations have run and its transaction is open.
before-record: the migration is committed, deferred SQL included, and its row in django_migrations
not yet written: the window Django leaves open for a migration with deferred SQL (#32374).
MARKER is written once there; the process then sleeps until it is killed. COMMAND: `init` (the
default) or `migrate`, which an operator may type from Django habit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.migration import Migration

from paperfeed.cli import main


def _pause(marker: Path) -> None:
    marker.write_text("paused")
    time.sleep(300)
    raise AssertionError("not killed")


def run(marker: Path, target: str, where: str, command: str = "init") -> None:
    app, name = target.split(".", 1)
    if where == "inside":
        apply = Migration.apply

        def paused_apply(self: Migration, *args: Any, **kwargs: Any) -> Any:
            state = apply(self, *args, **kwargs)
            if (self.app_label, self.name) == (app, name):
                _pause(marker)
            return state

        Migration.apply = paused_apply  # type: ignore[method-assign]
    elif where == "before-record":
        record = MigrationExecutor.record_migration

        def paused_record(
            self: MigrationExecutor, app_label: str, migration: str, forward: bool = True
        ) -> None:
            if (app_label, migration) == (app, name):
                _pause(marker)
            record(self, app_label, migration, forward)

        MigrationExecutor.record_migration = paused_record  # type: ignore[method-assign,assignment]
    else:
        raise SystemExit(f"unknown point {where!r}")
    main([command])
    raise AssertionError(f"{command} finished without reaching {target}")


if __name__ == "__main__":
    run(Path(sys.argv[1]), *sys.argv[2:])
