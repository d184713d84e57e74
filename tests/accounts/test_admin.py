"""The admin's user list shows each account's standing and filters by it (a superuser's real client)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin import site
from django.db import connection
from django.test import Client
from django.utils import timezone

from paperfeed.accounts.models import User
from paperfeed.core.admin import CappedPaginator
from paperfeed.moderation.models import Action
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


def _save_in_admin(client: Client, user: User, **changes: str) -> Any:
    """Send the admin's change form for `user` as it stands, with `changes` (an empty value unticks)."""
    url = f"/admin/accounts/user/{user.pk}/change/"
    form = client.get(url).context["adminform"].form
    skip = ("groups", "user_permissions", "password", "date_joined", "last_login")
    data = {k: v for k, v in form.initial.items() if v is not None and k not in skip}
    data |= {
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data |= changes
    return client.post(url, {k: v for k, v in data.items() if v not in (False, "")}, follow=True)


def test_unticking_active_deactivates_through_the_service_and_the_moderation_log() -> None:
    """The admin's "active" box once took an account's votes away with no line in the log and left
    its sessions alive: now it is accounts.services.set_active, logged as a moderation action."""
    admin = User.objects.create_superuser("root", "root@example.org", "x" * 20)
    target = make_user("gone")
    theirs = Client()
    theirs.force_login(target)
    client = Client()
    client.force_login(admin)
    assert _save_in_admin(client, target, is_active="", first_name="Edited").status_code == 200
    target.refresh_from_db()
    assert not target.is_active and target.first_name == "Edited"
    assert theirs.get("/settings").status_code == 302  # their session ended
    _save_in_admin(client, target, is_active="on")
    target.refresh_from_db()
    assert target.is_active
    assert [a.sentence() for a in Action.objects.newest_first()] == [
        "root reactivated user gone: in the admin",
        "root deactivated user gone: in the admin",
    ]
    r = _save_in_admin(
        client, admin, is_active=""
    )  # one's own: refused, said (the admin capitalizes its messages), still active
    assert "Root was left active: You cannot deactivate your own account." in r.content.decode()
    admin.refresh_from_db()
    assert admin.is_active and Action.objects.count() == 2


def test_staff_cannot_delete_accounts_and_are_pointed_to_deactivate_or_purge() -> None:
    """Deleting an account in the admin took its comments with it (the thread around them lost its
    context) with no line in the moderation log; now neither the delete page nor the bulk action is
    there, even for a superuser, and the change page says what to do instead."""
    from paperfeed.feed import services as feed
    from paperfeed.feed.models import Comment
    from tests.sitedata import load_papers

    admin = User.objects.create_superuser("root", "root@example.org", "x" * 20)
    target = make_user("spammer")
    [paper] = load_papers(1)
    feed.add_comment(target, paper, "a comment others replied to")
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/accounts/user/{target.pk}/change/").content.decode()
    assert f"/admin/accounts/user/{target.pk}/delete/" not in page
    assert 'href="/moderation/users/spammer">suspend spammer and remove everything they posted</a>' in page
    assert client.get(f"/admin/accounts/user/{target.pk}/delete/").status_code == 403
    assert client.post(f"/admin/accounts/user/{target.pk}/delete/", {"post": "yes"}).status_code == 403
    listing = client.get("/admin/accounts/user/")
    assert listing.context["action_form"] is None  # "Delete selected" was its only action
    bulk = {"action": "delete_selected", "_selected_action": [target.pk, admin.pk], "post": "yes"}
    client.post("/admin/accounts/user/", bulk, follow=True)
    assert User.objects.filter(pk__in=[target.pk, admin.pk]).count() == 2
    assert Comment.objects.filter(author=target).count() == 1
    assert not Action.objects.exists()  # nothing was done, so nothing to log


def test_api_tokens_are_named_so_in_the_admin() -> None:
    """Django's default made "Api token" of the class name, in the permissions the admin lists."""
    admin = User.objects.create_superuser("root", "root@example.org", "x" * 20)
    client = Client()
    client.force_login(admin)
    page = client.get(f"/admin/accounts/user/{admin.pk}/change/").content.decode()
    assert "Accounts | API token | Can add API token" in page
    assert "Api token" not in page and "api token" not in page


def test_the_user_search_matches_the_start_of_a_username_or_email_by_an_index() -> None:
    admin = User.objects.create_superuser("root", "root@example.org", "x" * 20)
    make_user("Verified")
    make_user("veronica")
    User.objects.filter(username="veronica").update(email="nica@lab.example", first_name="Ada")
    client = Client()
    client.force_login(admin)
    assert _names(client, "?q=VER") == ["Verified", "veronica"]
    assert _names(client, "?q=Nica@L") == ["veronica"]  # the address's start, in any case
    assert _names(client, "?q=ro") == ["root"]
    # None begins so: Django's search, any part of the four columns.
    assert _names(client, "?q=erif") == ["Verified"]
    assert _names(client, "?q=ada") == ["veronica"]
    assert _names(client, "?q=zz%25_") == []  # LIKE's own characters are only characters
    assert "The start of a username" in client.get("/admin/accounts/user/").content.decode()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's pattern indexes")
def test_on_postgresql_the_prefix_search_is_an_index_range() -> None:
    make_user("someone")
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")  # a tiny table: else the planner reads it whole
        for prefix in ("som", "someone@"):
            sql, params = User.objects.starting(prefix).values("pk").query.sql_with_params()
            cursor.execute(f"EXPLAIN {sql}", params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "user_username_prefix" in plan and "user_email_prefix" in plan, plan
        cursor.execute("RESET enable_seqscan")


def test_past_the_cap_the_user_list_pages_on_by_username(monkeypatch: pytest.MonkeyPatch) -> None:
    root = User.objects.create_superuser("root", "root@example.org", "x" * 20)
    for name in ("carol", "Alice", "bob", "dave", "erin"):
        make_user(name)
    client = Client()
    client.force_login(root)
    monkeypatch.setattr(CappedPaginator, "CAP", 2)
    monkeypatch.setattr(site._registry[User], "list_per_page", 2)
    # Sorted by username (the list's own order), a unique column with its index: the key is the
    # username alone, and each page after a row is a range of that index.
    url, seen = "/admin/accounts/user/", []
    while url:
        cl = client.get(url).context["cl"]
        seen += [u.username for u in cl.result_list]
        url = cl.next_after_url and f"/admin/accounts/user/{cl.next_after_url}"
    assert seen == list(User.objects.order_by("username").values_list("username", flat=True))
    assert len(seen) == 6
    # "suspended" sorts by a date most accounts leave empty: no key, so page numbers only.
    r = client.get("/admin/accounts/user/", {"o": "6", "after": root.pk}, follow=True)
    assert r.redirect_chain == [("/admin/accounts/user/?o=6", 302)]
    assert "page numbers only" in r.content.decode() and r.context["cl"].next_after_url is None
