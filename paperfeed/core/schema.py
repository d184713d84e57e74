"""Bringing a database's schema to this version's: what `paperfeed init` does, for any connection."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connections, transaction
from django.db.migrations.executor import MigrationExecutor

from paperfeed.core import routers


def migrate(using: str = "default", verbosity: int = 0) -> None:
    """Apply every pending migration in one transaction and create the cache table.

    One transaction, so a start killed mid-way (SIGTERM from a deploy) leaves none of them applied
    and the next run applies them all. Django commits each migration on its own, and one with
    deferred SQL (indexes, foreign keys) is recorded only after its commit (Django #32374): killed
    in between, its tables stood unrecorded and every later `init` failed with "table ... already
    exists". SQLite cannot turn its foreign-key checks off inside a transaction, and its schema
    editor needs them off. A migration that cannot run in a transaction splits it (below)."""
    connection = connections[using]
    connection.disable_constraint_checking()
    try:
        while _apply_one_outside_a_transaction(using):
            connection.disable_constraint_checking()  # SQLite's schema editor, out of one, undid it
        with transaction.atomic(using=using):
            call_command("migrate", database=using, interactive=False, verbosity=verbosity)
    finally:
        connection.enable_constraint_checking()
    call_command("createcachetable", database=using, verbosity=verbosity)


def _apply_one_outside_a_transaction(using: str) -> bool:
    """The first pending migration that cannot run in a transaction (`atomic = False`: an index built
    CONCURRENTLY on PostgreSQL, feed.0009) applied on its own, after the pending ones it needs in
    one transaction; False when none is pending. Each such migration splits the one transaction in
    two, both sides all or nothing; one killed midway is applied again by the next run (it says how
    it picks up after itself)."""
    executor = MigrationExecutor(connections[using])
    graph = executor.loader.graph
    plan = executor.migration_plan(graph.leaf_nodes())
    alone = next((m for m, _ in plan if not m.atomic), None)
    if alone is None:
        return False
    needed = set(graph.forwards_plan((alone.app_label, alone.name)))
    before = [(m, back) for m, back in plan if m is not alone and (m.app_label, m.name) in needed]
    # What Django's migrate command signals before and after (pre_migrate, post_migrate), so that
    # the migrations' historical models query `using` (core.routers), not the default database.
    routers.migration_started(using)
    try:
        with transaction.atomic(using=using):
            executor.migrate([], plan=before)
        # A new executor: the state it starts from is that of the migrations applied when it loads.
        MigrationExecutor(connections[using]).migrate([], plan=[(alone, False)])
    finally:
        routers.migration_ended()
    return True


def schema_mismatch(using: str = "default") -> str | None:
    """Why this database's schema is not this version's, or None when it is."""
    executor = MigrationExecutor(connections[using])
    graph = executor.loader.graph
    if plan := executor.migration_plan(graph.leaf_nodes()):
        first = f"{plan[0][0].app_label}.{plan[0][0].name}"
        if len(plan) == 1:
            return f"1 migration is not applied ({first})"
        return f"{len(plan):,} migrations are not applied (the first: {first})"
    unknown = sorted(set(executor.loader.applied_migrations) - set(graph.nodes))
    if unknown:
        return (
            f"it has migrations this version does not know ({'.'.join(unknown[0])}): a newer version made it"
        )
    return None
