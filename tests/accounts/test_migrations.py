"""The accounts' data migrations, run by Django's migration executor on the test database."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from paperfeed.accounts.models import User
from paperfeed.feed.models import Vote
from tests.sitedata import load_papers

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("accounts", "0004_user_suspended_at")
VERIFY_STAFF = ("accounts", "0005_verify_staff_accounts")


def _migrate(target: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)  # a new one: it reads which migrations are applied now
    executor.loader.build_graph()
    executor.migrate([target])


def _account(username: str, **fields: Any) -> User:
    """A row as an earlier version stored it: unverified unless told, whatever the kind of account."""
    return User.objects.create(username=username, email=f"{username}@example.org", **fields)


def test_superusers_and_staff_made_before_count_as_verified(migration_executor: MigrationExecutor) -> None:
    migration_executor.migrate([BEFORE])
    root = _account("root", is_superuser=True, is_staff=True)
    _account("helper", is_staff=True)
    gone = _account("gone", is_superuser=True, is_staff=True, is_active=False)
    reader = _account("reader")
    paper = load_papers(1)[0]
    votes = {u.username: Vote.objects.create(user=u, paper=paper) for u in (root, gone, reader)}
    assert not any(v.voter_joined for v in votes.values())  # no vote of an unverified account counts

    _migrate(VERIFY_STAFF)

    verified = dict(User.objects.values_list("username", "email_verified"))
    assert verified == {"root": True, "helper": True, "gone": True, "reader": False}
    # The votes follow: the superuser's counts toward trending now, as if verified by `users verify`;
    # a deactivated one's still does not, nor does the unverified reader's.
    joined = dict(Vote.objects.values_list("user__username", "voter_joined"))
    assert joined == {"root": root.date_joined, "gone": None, "reader": None}

    _migrate(BEFORE)  # backwards is a no-op: nothing is unverified
    assert User.objects.filter(email_verified=True).count() == 3
    assert Vote.objects.get(user=root).voter_joined == root.date_joined


API_TOKEN_OPTIONS = ("accounts", "0006_alter_apitoken_options")
PERMISSION_NAMES = ("accounts", "0008_api_token_permission_names")


def _token_permissions() -> dict[str, str]:
    from django.contrib.auth.models import Permission

    rows = Permission.objects.filter(content_type__app_label="accounts", content_type__model="apitoken")
    return dict(rows.values_list("codename", "name"))


def test_api_token_permissions_made_before_say_api_token(migration_executor: MigrationExecutor) -> None:
    """Django names permissions once, when it makes them: a database made before 0006 keeps "Can add
    api token" until 0008 renames it; running it again, or over names already new, changes nothing,
    and backwards the old names return. A name changed by hand, and every other permission, stay."""
    from django.contrib.auth.models import Permission

    migration_executor.migrate([API_TOKEN_OPTIONS])
    mine = Permission.objects.filter(content_type__app_label="accounts", content_type__model="apitoken")
    assert len(_token_permissions()) == 4  # the test database's, made by post_migrate
    for action in ("add", "change", "view"):  # as an earlier version stored them
        mine.filter(codename=f"{action}_apitoken").update(name=f"Can {action} api token")
    mine.filter(codename="delete_apitoken").update(name="Can revoke API tokens")  # an operator's own
    others = dict(Permission.objects.exclude(pk__in=mine).values_list("pk", "name"))

    _migrate(PERMISSION_NAMES)

    new = {
        "add_apitoken": "Can add API token",
        "change_apitoken": "Can change API token",
        "delete_apitoken": "Can revoke API tokens",
        "view_apitoken": "Can view API token",
    }
    assert _token_permissions() == new
    assert dict(Permission.objects.exclude(pk__in=mine).values_list("pk", "name")) == others

    _migrate(API_TOKEN_OPTIONS)  # backwards: the old names again
    old = {k: v.replace("API token", "api token") for k, v in new.items() if k != "delete_apitoken"}
    assert _token_permissions() == {**old, "delete_apitoken": "Can revoke API tokens"}
    mine.filter(codename="add_apitoken").update(name="Can add API token")  # made new meanwhile
    _migrate(PERMISSION_NAMES)  # forwards again: the same, whichever names it met
    assert _token_permissions() == new
