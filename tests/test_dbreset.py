"""tests/dbreset.py leaves the database as Django's flush does: every table empty but the content
types and permissions post_migrate makes."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection

from paperfeed.feed import services
from tests import dbreset
from tests.sitedata import load_papers, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def _counts() -> dict[str, int]:
    out = {}
    with connection.cursor() as c:
        for table in connection.introspection.django_table_names(only_existing=True, include_views=False):
            c.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            out[table] = c.fetchone()[0]
    return out


def _fill() -> None:
    papers = load_papers(3)
    user = make_user("writer", staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_user"))
    services.submit(papers[0].arxiv_id, user)
    services.upvote(user, papers[0])
    services.add_comment(user, papers[0], "hello")


def _flushed() -> dict[str, int]:
    """What Django's own flush leaves, row counts per table."""
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False)
    return _counts()


def test_the_quick_way_leaves_what_djangos_flush_leaves() -> None:
    expected = _flushed()
    assert dbreset.empty("default") is False  # a first flush the Django way makes the reference
    _fill()
    assert sum(_counts().values()) > sum(expected.values())
    assert dbreset.empty("default") is True
    assert _counts() == expected
    assert ContentType.objects.get_for_model(Permission) and Permission.objects.filter(codename="add_user")


def test_changed_content_types_or_permissions_are_made_again() -> None:
    expected = _flushed()
    dbreset.empty("default")
    _fill()
    Permission.objects.filter(codename="add_user").update(name="tampered")
    ContentType.objects.create(app_label="gone", model="gone")
    assert dbreset.empty("default") is False
    assert _counts() == expected
    assert Permission.objects.get(codename="add_user").name == "Can add user"
    assert not ContentType.objects.filter(app_label="gone").exists()


def test_both_ways_empty_the_cache_table_too() -> None:
    """A transactional test's cached pages and listing version outlived it (the cache's table has
    no model, so neither way emptied it), and a later test was served a page it had not made."""
    from django.core.cache import cache

    dbreset.empty("default")
    for quick in (True, False):
        cache.set("page", "left over", timeout=None)
        services.bump_listing_version()
        if not quick:
            ContentType.objects.create(app_label="gone", model="gone")  # forces Django's flush
        assert dbreset.empty("default") is quick
        assert cache.get("page") is None and cache.get("feed:version") is None


@pytest.mark.database_agnostic
def test_marked_agnostic() -> None:
    """Uses the database (the module's django_db) but is marked: SQLite only."""


def test_only_the_tests_whose_database_matters_run_again_on_postgresql(
    request: pytest.FixtureRequest,
) -> None:
    from django.conf import settings

    from tests.conftest import runs_on_postgres

    here = {i.name: i for i in request.session.items if i.path == request.node.path}
    assert runs_on_postgres(here["test_the_quick_way_leaves_what_djangos_flush_leaves"])
    if settings.IS_POSTGRES:
        assert "test_marked_agnostic" not in here  # deselected
    else:
        assert not runs_on_postgres(here["test_marked_agnostic"])
