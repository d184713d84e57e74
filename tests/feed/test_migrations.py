"""The feed's migrations run by Django's executor (and by `paperfeed init`'s schema.migrate) on the
test database, with rows in the tables they change."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from paperfeed.core import schema
from paperfeed.feed import services
from paperfeed.feed.markup import MARKUP_VERSION
from paperfeed.feed.models import Comment, Vote
from tests.sitedata import PRICES, PRICES_NOW, PRICES_THEN, load_papers, make_user

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE_INDEX = ("feed", "0008_alter_savedsearch_options")
VOTE_CREATED_AT = ("feed", "0009_vote_created_at")
MARKUP_VERSIONS = ("feed", "0010_comment_markup_version")


def _migrate(target: tuple[str, str]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)  # a new one: it reads which migrations are applied now
    executor.loader.build_graph()
    executor.migrate([target])
    return executor


def _historical(executor: MigrationExecutor, target: tuple[str, str], model: str) -> Any:
    return executor.loader.project_state(target).apps.get_model("feed", model)


def test_comments_stored_before_versions_are_marked_stale_and_rendered_again(
    migration_executor: MigrationExecutor,
) -> None:
    migration_executor.migrate([VOTE_CREATED_AT])
    old = _historical(migration_executor, VOTE_CREATED_AT, "Comment")
    [p] = load_papers(1)
    author = make_user("before")
    rows = [
        old.objects.create(paper_id=p.pk, author_id=author.pk, body=PRICES, html=PRICES_THEN),
        old.objects.create(paper_id=p.pk, author_id=author.pk, body=PRICES, html=PRICES_THEN, hidden=True),
        old.objects.create(paper_id=p.pk, author_id=None, body=PRICES, html=PRICES_THEN),
        old.objects.create(paper_id=p.pk, author_id=None, body="*a*", html="<p><em>a</em></p>\n"),
    ]

    _migrate(MARKUP_VERSIONS)

    stored = Comment.objects.order_by("pk").values_list("pk", "body", "html", "markup_version")
    assert list(stored) == [(c.pk, c.body, c.html, 0) for c in rows]  # kept, and stale
    assert [c.html for c in Comment.objects.order_by("pk")] == [PRICES_NOW] * 3 + ["<p><em>a</em></p>\n"]
    done = services.rerender_comments()
    assert done.as_json() == {"stale": 4, "rerendered": 4, "changed": 3, "skipped": 0}
    assert set(Comment.objects.values_list("markup_version", flat=True)) == {MARKUP_VERSION}

    _migrate(VOTE_CREATED_AT)  # backwards: the column goes, the comments and their HTML stay
    assert list(old.objects.order_by("pk").values_list("html", flat=True)) == [PRICES_NOW] * 3 + [
        "<p><em>a</em></p>\n"
    ]


def _vote_index() -> dict[str, Any] | None:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, Vote._meta.db_table).get("vote_created_at")


def _valid(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [name])
        return bool(cursor.fetchone()[0])


def _votes(n: int) -> None:
    papers, voter, now = load_papers(n), make_user("voter"), timezone.now()
    Vote.objects.bulk_create(Vote(user=voter, paper=p, created_at=now) for p in papers)


def test_the_vote_date_index_is_built_and_dropped_with_votes_in_the_table(
    migration_executor: MigrationExecutor,
) -> None:
    """On PostgreSQL CONCURRENTLY (the executor runs this non-atomic migration outside a
    transaction, as it must), elsewhere a plain index; the same index either way."""
    migration_executor.migrate([BEFORE_INDEX])
    _votes(3)
    assert _vote_index() is None
    with CaptureQueriesContext(connection) as queries:
        _migrate(VOTE_CREATED_AT)
    index = _vote_index()
    assert index is not None and index["index"] and index["columns"] == ["created_at"]
    [build] = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("CREATE INDEX")]
    if settings.IS_POSTGRES:
        assert build.startswith('CREATE INDEX CONCURRENTLY "vote_created_at"') and _valid("vote_created_at")
    else:
        assert build.startswith('CREATE INDEX "vote_created_at"')
    _migrate(BEFORE_INDEX)
    assert _vote_index() is None and Vote.objects.count() == 3


def test_init_applies_the_concurrent_index_on_its_own_and_the_rest_in_a_transaction(
    migration_executor: MigrationExecutor,
) -> None:
    """schema.migrate (init, and a plain `paperfeed migrate`) runs everything in one transaction,
    where CREATE INDEX CONCURRENTLY cannot run: the non-atomic migration goes on its own."""
    migration_executor.migrate([BEFORE_INDEX])
    _votes(2)
    schema.migrate()
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(executor.loader.graph.leaf_nodes()) == []
    assert _vote_index() is not None and Vote.objects.count() == 2


@pytest.mark.skipif(not settings.IS_POSTGRES, reason="CONCURRENTLY is PostgreSQL's")
@pytest.mark.parametrize("valid", [False, True])
def test_a_concurrent_build_killed_before_its_record_is_picked_up(
    migration_executor: MigrationExecutor, valid: bool
) -> None:
    """Killed during the build, PostgreSQL leaves an invalid index of the name; killed after it,
    before the migration is recorded, a valid one. The next run builds the first again, keeps the
    second; neither fails on the name being taken."""
    migration_executor.migrate([BEFORE_INDEX])
    _votes(2)
    with connection.cursor() as cursor:
        cursor.execute('CREATE INDEX vote_created_at ON feed_vote ("created_at")')
        if not valid:  # what a killed CONCURRENTLY leaves (the test database's user is a superuser)
            cursor.execute(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass('vote_created_at')"
            )
    assert _valid("vote_created_at") is valid
    _migrate(VOTE_CREATED_AT)
    assert _valid("vote_created_at")
