"""`paperfeed createsuperuser`: the operator's commands on accounts."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from paperfeed.accounts.models import User

PASSWORD = "correct horse battery staple"


@pytest.mark.django_db
def test_createsuperuser_makes_a_verified_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator typed the address and no link was mailed: the account could not vote, comment
    or submit, and its settings page said "not verified yet"."""
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", PASSWORD)
    call_command("createsuperuser", username="boss", email="boss@example.org", interactive=False)
    boss = User.objects.get(username="boss")
    assert boss.email_verified and boss.is_superuser
    assert list(User.objects.in_good_standing()) == [boss]
    client = Client()
    client.force_login(boss)
    assert "not verified yet" not in client.get("/settings").content.decode()
    # A plain account still waits for its link.
    assert not User.objects.create_user("reader", "reader@example.org", PASSWORD).email_verified
