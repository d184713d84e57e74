"""`paperfeed createsuperuser` and `paperfeed users`: the operator's commands on accounts."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import Client

from paperfeed.accounts.models import User
from paperfeed.feed.models import Vote
from tests.conftest import paperfeed
from tests.sitedata import load_papers, make_user

PASSWORD = "correct horse battery staple"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    call_command("users", *args, "--json")
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


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


@pytest.mark.django_db
def test_list_shows_each_account(capsys: pytest.CaptureFixture[str]) -> None:
    make_user("alice", staff=True)
    make_user("bob", verified=False)
    User.objects.filter(username="bob").update(is_active=False)
    users = run(capsys, "list")["users"]
    assert [u["username"] for u in users] == ["alice", "bob"]
    alice, bob = users
    assert alice["email"] == "alice@example.org" and alice["lastLogin"] is None
    assert (alice["verified"], alice["active"], alice["staff"]) == (True, True, True)
    assert (bob["verified"], bob["active"], bob["staff"]) == (False, False, False)
    assert alice["joined"].endswith("+00:00")
    assert not [k for u in users for k in u if "_" in k]  # camelCase, no 0.1 names: the command is new
    call_command("users", "list")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:5] == ["alice", "alice@example.org", "verified", "active", "staff"]
    assert lines[1].split("\t")[2:5] == ["unverified", "inactive", "-"]
    assert lines[1].endswith("last login never")


@pytest.mark.django_db
def test_verify_counts_the_account_and_its_votes(capsys: pytest.CaptureFixture[str]) -> None:
    user = make_user("Carol", verified=False)
    Vote.objects.create(user=user, paper=load_papers(1)[0])
    assert not Vote.objects.counted_for_trending().exists()
    out = run(capsys, "verify", "carol@EXAMPLE.org")  # by address, any case, as log-in takes it
    assert out == {"action": "verify", "user": "Carol", "changed": True, "verified": True, "active": True}
    assert Vote.objects.counted_for_trending().count() == 1  # the standing followed the change
    call_command("users", "verify", "carol")
    assert capsys.readouterr().out == "Carol was already verified\n"


@pytest.mark.django_db
def test_deactivate_logs_the_user_out_at_once_and_activate_undoes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    spammer, other = make_user("spammer", password=PASSWORD), make_user("other", password=PASSWORD)
    browsers = [Client(), Client()]
    for browser in browsers:
        assert browser.post("/login", {"username": "spammer", "password": PASSWORD}).status_code == 302
    bystander = Client()
    bystander.force_login(other)
    Vote.objects.create(user=spammer, paper=load_papers(1)[0])
    assert Session.objects.count() == 3

    out = run(capsys, "deactivate", "spammer")
    assert out["changed"] is True and out["sessionsEnded"] == 2 and out["active"] is False
    assert Session.objects.count() == 1  # the bystander's stays
    for browser in browsers:
        assert browser.get("/settings").status_code == 302  # to the log-in page
    assert bystander.get("/settings").status_code == 200
    assert not Vote.objects.counted_for_trending().exists()
    assert Client().post("/login", {"username": "spammer", "password": PASSWORD}).status_code != 302

    call_command("users", "deactivate", "spammer")
    assert capsys.readouterr().out == "spammer was already deactivated (0 sessions ended)\n"
    call_command("users", "activate", "SPAMMER")
    assert capsys.readouterr().out == "spammer is active\n"
    assert User.objects.get(pk=spammer.pk).is_active and Vote.objects.counted_for_trending().count() == 1


@pytest.mark.django_db
def test_one_session_reads_as_one(capsys: pytest.CaptureFixture[str]) -> None:
    Client().force_login(make_user("solo"))
    call_command("users", "deactivate", "solo")
    assert capsys.readouterr().out == "solo is deactivated (1 session ended)\n"


@pytest.mark.django_db
def test_an_unknown_user_is_an_error() -> None:
    with pytest.raises(CommandError, match="no user 'nobody'"):
        call_command("users", "verify", "nobody")


@pytest.mark.migrated
@pytest.mark.timeout(300)  # three CLI children: ~3 s each quiet, 20 s at load 10
@pytest.mark.database
def test_the_command_line(cli_env: dict[str, str]) -> None:
    for action in ("verify", "deactivate", "activate"):
        run_ = paperfeed("users", action, "nobody", env=cli_env, check=False)
        assert run_.returncode == 1 and run_.stdout == "" and run_.stderr == "paperfeed: no user 'nobody'\n"
    env = cli_env | {"DJANGO_SUPERUSER_PASSWORD": PASSWORD}
    paperfeed("createsuperuser", "--noinput", "--username", "root", "--email", "root@example.org", env=env)
    (root,) = json.loads(paperfeed("users", "list", "--json", env=cli_env).stdout)["users"]
    assert (root["username"], root["verified"], root["staff"]) == ("root", True, True)
