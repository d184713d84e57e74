"""The admin's user list shows each account's standing and filters by it (a superuser's real client)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from paperfeed.accounts.models import User
from tests.sitedata import make_user

pytestmark = pytest.mark.django_db


def _names(client: Client, query: str = "") -> list[str]:
    r = client.get(f"/admin/accounts/user/{query}")
    assert r.status_code == 200
    return sorted(u.username for u in r.context["cl"].result_list)


def test_the_user_list_shows_and_filters_active_verified_and_suspended() -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "x" * 20)
    make_user("verified")
    make_user("unverified", verified=False)
    make_user("suspended"), make_user("gone")
    User.objects.filter(username="suspended").update(suspended_at=timezone.now())
    User.objects.filter(username="gone").update(is_active=False)
    client = Client()
    client.force_login(admin)
    page = client.get("/admin/accounts/user/").content.decode()
    for column in ("column-is_active", "column-email_verified", "column-suspended"):
        assert column in page, column
    for words in ("By suspended", "By email verified", "By active"):
        assert words in page, words
    assert _names(client, "?suspended=yes") == ["suspended"]
    assert _names(client, "?suspended=no") == ["gone", "root", "unverified", "verified"]
    # create_superuser verifies its account: the operator typed the address.
    assert _names(client, "?email_verified__exact=0") == ["unverified"]
    assert _names(client, "?is_active__exact=0") == ["gone"]
    # The column sorts, as the others do (where the unsuspended go is the database's choice).
    assert _names(client, "?o=6") == ["gone", "root", "suspended", "unverified", "verified"]
