"""Emptying the test database after a transactional test (`django_db(transaction=True)`,
`live_server`), as Django's `flush` does but without its two slow parts.

Django empties every table (on PostgreSQL one `TRUNCATE` of all 42, which makes new files for each
table and index: ~1 s idle, 2-3 s on a loaded machine) and then sends post_migrate, whose handlers
re-create the content types and permissions it just deleted (~40 queries more). About 250 tests are
transactional, so on PostgreSQL that was several minutes of each `make test`.

Here the tables are emptied with `DELETE` (cheap on the few rows a test leaves), except the two that
post_migrate fills: those are kept when they hold exactly the rows the last real flush left, which is
what post_migrate would have made again. When a test changed them (or on the first call, before
there is a reference), Django's own flush runs. The end state is the same: every table empty but
the content types and permissions of the installed apps; and the cache's table too, which no model
owns, so neither way emptied it: a transactional test's cached pages and listing version outlived it,
and a later test whose rolled-back ids came round again was served that test's page."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connections, transaction
from django.test import TransactionTestCase

# The tables post_migrate fills (django.contrib.contenttypes, django.contrib.auth).
KEPT = ("django_content_type", "auth_permission")
_reference: dict[str, list[tuple[Any, ...]]] = {}


def _kept_rows(alias: str) -> list[tuple[Any, ...]]:
    conn = connections[alias]
    rows: list[tuple[Any, ...]] = []
    with conn.cursor() as c:
        for table in KEPT:
            c.execute(f"SELECT * FROM {conn.ops.quote_name(table)} ORDER BY id")
            rows += [(table, *r) for r in c.fetchall()]
    return rows


def _cache_tables(alias: str) -> list[str]:
    """The database cache's tables (settings.CACHES) that exist in database `alias`."""
    conn = connections[alias]
    named = {c["LOCATION"] for c in settings.CACHES.values() if c["BACKEND"].endswith("DatabaseCache")}
    return sorted(named & set(conn.introspection.table_names()))


def _django_flush(alias: str) -> None:
    call_command(
        "flush", verbosity=0, interactive=False, database=alias, reset_sequences=False, allow_cascade=False
    )
    _reference[alias] = _kept_rows(alias)
    conn = connections[alias]
    with conn.cursor() as c:
        for table in _cache_tables(alias):
            c.execute(f"DELETE FROM {conn.ops.quote_name(table)}")


def empty(alias: str) -> bool:
    """Leave database `alias` as Django's flush would; True when the quick way did it."""
    if alias not in _reference or _kept_rows(alias) != _reference[alias]:
        _django_flush(alias)
        return False
    conn = connections[alias]
    tables = [
        t
        for t in conn.introspection.django_table_names(only_existing=True, include_views=False)
        if t not in KEPT
    ] + _cache_tables(alias)
    try:
        # Django's foreign keys are deferred on both databases: checked at commit, when the rows
        # pointing at a deleted one are gone too, so the order of the tables does not matter.
        with transaction.atomic(using=alias), conn.cursor() as c:
            for table in tables:
                c.execute(f"DELETE FROM {conn.ops.quote_name(table)}")
    except DatabaseError:
        # A constraint that is not deferred (none today): Django's way empties in one statement.
        _django_flush(alias)
        return False
    return True


def _fixture_teardown(self: TransactionTestCase) -> None:
    if self.available_apps is not None or self.serialized_rollback:
        _original(self)  # Django's special cases (neither is used here): its own way
        return
    for alias in self._databases_names(include_mirrors=False):  # type: ignore[attr-defined]
        empty(alias)


_original = TransactionTestCase._fixture_teardown  # type: ignore[attr-defined]


def install() -> None:
    TransactionTestCase._fixture_teardown = _fixture_teardown  # type: ignore[attr-defined,method-assign]


def uninstall() -> None:
    TransactionTestCase._fixture_teardown = _original  # type: ignore[attr-defined,method-assign]
