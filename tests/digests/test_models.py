"""The outbox's indexes: what the sender reads is covered, nothing twice."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)


def _indexes() -> dict[tuple[str, ...], list[str]]:
    """Column lists of the outbox's indexes (unique ones included), each with its names."""
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, "digests_delivery")
    out: dict[tuple[str, ...], list[str]] = {}
    for name, c in found.items():
        if (c["index"] or c["unique"]) and not c["primary_key"]:
            out.setdefault(tuple(c["columns"]), []).append(name)
    return out


def test_the_outbox_indexes_each_foreign_key_once_as_the_lead_of_a_composite() -> None:
    indexes = _indexes()
    assert ("digest_id", "subscriber_id") in indexes  # uniq_delivery: a digest's rows
    assert ("subscriber_id", "digest_id") in indexes  # a subscriber's rows (the sender's anti-join)
    # A single-column index on either key only costs writes on the table that grows fastest.
    assert ("digest_id",) not in indexes and ("subscriber_id",) not in indexes


def test_the_migration_goes_back_and_forth(migration_executor: MigrationExecutor) -> None:
    migration_executor.migrate([("digests", "0002_mailto_unsubscribe")])
    assert ("digest_id",) in _indexes() and ("subscriber_id",) in _indexes()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert ("digest_id",) not in _indexes() and ("subscriber_id",) not in _indexes()
