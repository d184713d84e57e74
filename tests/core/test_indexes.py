"""core.indexes.AddIndexConcurrently, the operation migrations feed.0009 and papers.0013 build their
indexes with, run on the test database outside a transaction as a non-atomic migration runs it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models
from django.db.migrations.state import ProjectState
from django.test.utils import CaptureQueriesContext

from paperfeed.core.indexes import AddIndexConcurrently, index_state
from paperfeed.core.models import Lease

pytestmark = pytest.mark.django_db(transaction=True)

NAME = "test_lease_holder"


@pytest.fixture
def leases() -> Iterator[None]:
    """Three rows in a table that has no index NAME, and none after the test."""
    Lease.objects.bulk_create(Lease(name=f"lease {i}", holder=f"host:{i}") for i in range(3))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX IF EXISTS {NAME}")


def _op(**options: int | bool) -> AddIndexConcurrently:
    return AddIndexConcurrently(
        model_name="lease", index=models.Index(fields=["holder", "expires_at"], name=NAME), **options
    )


def _run(op: AddIndexConcurrently, backwards: bool = False) -> list[str]:
    """The statements the operation ran, forwards (or backwards) from the models' own state."""
    before = ProjectState.from_apps(apps)
    after = before.clone()
    op.state_forwards("core", after)
    with CaptureQueriesContext(connection) as queries, connection.schema_editor(atomic=False) as editor:
        if backwards:
            op.database_backwards("core", editor, after, before)
        else:
            op.database_forwards("core", editor, before, after)
    return [q["sql"] for q in queries.captured_queries]


def _state() -> bool | None:
    return index_state(connection, Lease._meta.db_table, NAME)


def _ran(statements: list[str], start: str) -> list[str]:
    return [s for s in statements if s.startswith(start)]


@pytest.mark.parametrize("concurrent_from", [0, 3, 4])
def test_built_concurrently_from_the_row_count_up_plainly_below_and_once(
    leases: None, concurrent_from: int
) -> None:
    """0 builds concurrently without counting; 3 rows are enough for 3, not for 4. SQLite always
    builds the plain index. A second run finds the index and builds nothing; undone, it drops the
    index as it built it, and undone again (nothing there) it does nothing."""
    op = _op(concurrent_from=concurrent_from, analyze=True)
    concurrently = settings.IS_POSTGRES and concurrent_from <= 3
    assert _state() is None
    ran = _run(op)
    assert _state() is True
    [build] = _ran(ran, "CREATE INDEX")
    assert build.startswith(f'CREATE INDEX {"CONCURRENTLY " if concurrently else ""}"{NAME}"')
    assert _ran(ran, "ANALYZE") == (['ANALYZE "core_lease"'] if settings.IS_POSTGRES else [])
    assert bool(_ran(ran, 'SELECT COUNT(*) AS "__count"')) == (concurrent_from > 0 and settings.IS_POSTGRES)

    assert not _ran(_run(op), "CREATE INDEX")  # killed after the build, before the migration's record

    [drop] = _ran(_run(op, backwards=True), "DROP INDEX")
    assert drop.startswith(f"DROP INDEX {'CONCURRENTLY ' if concurrently else ''}") and _state() is None
    assert not _ran(_run(op, backwards=True), "DROP INDEX")


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="only PostgreSQL leaves an index invalid")
@pytest.mark.parametrize("concurrent_from", [0, 4])
def test_the_invalid_leftover_of_an_interrupted_build_is_dropped_and_built_again(
    leases: None, concurrent_from: int
) -> None:
    """What a concurrent build killed midway leaves: an index of the name, marked invalid (the test
    database's user is a superuser). Dropped, then built, each concurrently as the table's size says."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE INDEX {NAME} ON core_lease ("holder")')
        cursor.execute(f"UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass('{NAME}')")
    assert _state() is False
    ran = _run(_op(concurrent_from=concurrent_from))
    concurrently = "CONCURRENTLY " if concurrent_from == 0 else ""
    assert _ran(ran, "DROP INDEX") == [f'DROP INDEX {concurrently}IF EXISTS "{NAME}"']
    [build] = _ran(ran, "CREATE INDEX")
    assert build.startswith(f'CREATE INDEX {concurrently}"{NAME}" ON "core_lease" ("holder", "expires_at")')
    assert _state() is True and not _ran(ran, "ANALYZE")


def test_a_valid_index_of_the_name_is_kept(leases: None) -> None:
    """Killed after the build, before the migration was recorded: the index is whole, and stays."""
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE INDEX {NAME} ON core_lease ("holder", "expires_at")')
    ran = _run(_op(analyze=True))
    assert not _ran(ran, "DROP INDEX") and not _ran(ran, "CREATE INDEX") and not _ran(ran, "ANALYZE")
    assert _state() is True


def test_it_deconstructs_with_its_options_for_a_squash_to_write_them() -> None:
    assert _op().deconstruct()[2].keys() == {"model_name", "index"}
    _, _, kwargs = _op(concurrent_from=10, analyze=True).deconstruct()
    assert (kwargs["concurrent_from"], kwargs["analyze"]) == (10, True)
