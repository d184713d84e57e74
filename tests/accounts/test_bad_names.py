"""RELIABILITY §3c, the names and addresses of the authentication bad inputs: homoglyphs, U+202E and
zero-width characters in usernames, `Alice` vs `alice`, and emails differing by Unicode
normalisation, through the real sign-up and log-in views on a real database."""

from __future__ import annotations

import unicodedata

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import Client

from paperfeed.accounts.models import User
from paperfeed.accounts.validators import normalise_stored_emails
from tests.sitedata import PASSWORD, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def signup(username: str, email: str) -> int:
    """POST the sign-up form; the status (302 accepted, 200 the form again with its errors)."""
    r = Client().post("/signup", {"username": username, "email": email, "password": PASSWORD})
    return r.status_code


@pytest.mark.parametrize(
    "name",
    [
        "\u202eecila",  # right-to-left override: shows as "alice" reversed
        "ali\u202ece",
        "ali\u200bce",  # zero-width space
        "ali\u200dce",  # zero-width joiner
        "\ufeffalice",  # byte-order mark / zero-width no-break space
        "ali\u00adce",  # soft hyphen, invisible in most fonts
        "\u0430lice",  # Cyrillic small a
        "alic\u0435",  # Cyrillic small ie
        "\u03b1lice",  # Greek small alpha
        "\uff41lice",  # full-width a, NFKC "alice"
        "a\u0301lice",  # a combining accent
        "\u0430\u043b\u0456\u0441\u0435",  # all Cyrillic, no Latin at all
    ],
)
def test_sign_up_refuses_invisible_and_lookalike_characters(name: str) -> None:
    make_user("alice")
    assert signup(name, "mallory@example.org") == 200
    assert list(User.objects.values_list("username", flat=True)) == ["alice"]
    assert mail.outbox == []


def test_sign_up_refuses_a_name_differing_only_in_case() -> None:
    make_user("alice")
    for name in ("Alice", "ALICE", "aLiCe"):
        assert signup(name, f"{name.lower()}2@example.org") == 200
    assert User.objects.count() == 1
    # And the database refuses it too, whatever path creates the row.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="ALICE", email="other@example.org")


def test_emails_differing_by_unicode_normalisation_are_one_account() -> None:
    composed = "alice@ex\u00e4mple.org"  # "ä" as one code point (NFC)
    decomposed = unicodedata.normalize("NFD", composed)  # "a" + U+0308
    full_width = "alice@\uff45xample.org"  # NFKC "alice@example.org"
    assert composed != decomposed
    assert signup("alice", decomposed) == 302
    assert User.objects.get().email == composed  # stored normalised
    # The other spelling is the same address: no second account, the owner is told instead.
    mail.outbox.clear()
    assert signup("alice2", composed) == 302
    assert User.objects.count() == 1
    assert [m.to for m in mail.outbox] == [[composed]]
    assert "already has one" in mail.outbox[0].body

    assert signup("bob", "bob@example.org") == 302
    mail.outbox.clear()
    assert signup("bob2", full_width.replace("alice", "bob")) == 302
    assert User.objects.filter(username__startswith="bob").count() == 1

    # Log-in by address finds the account whichever way the address is typed.
    User.objects.filter(username="alice").update(email_verified=True)
    for typed in (composed, decomposed, composed.upper()):
        c = Client()
        r = c.post("/login", {"username": typed, "password": PASSWORD})
        assert r.status_code == 302, typed
        assert int(c.session["_auth_user_id"]) == User.objects.get(username="alice").pk


@pytest.mark.parametrize("char", ["\u200b", "\u202e", "\ufeff", "\u200d"])
def test_sign_up_refuses_invisible_characters_in_the_address(char: str) -> None:
    make_user("alice")
    assert signup("mallory", f"alice@example.org{char}") == 200
    assert signup("mallory", f"alice@exam{char}ple.org") == 200
    assert User.objects.count() == 1 and mail.outbox == []


@pytest.mark.parametrize("name", ["\u0430lice", "ali\u200bce", "\u202eecila", "a b"])
def test_the_admin_and_createsuperuser_keep_the_sign_up_rule(name: str) -> None:
    """The rule is on the model field, not only in the sign-up form: Django's own user forms and
    `createsuperuser` let any Unicode letter through otherwise."""
    root = User.objects.create_superuser("root", "root@example.org", PASSWORD)
    staff = Client()
    staff.force_login(root)

    def add(username: str) -> int:
        form = {"username": username, "password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"}
        return staff.post("/admin/accounts/user/add/", form).status_code

    assert add(name) == 200  # the form again, with its error
    assert add("alice") == 302
    with pytest.raises(CommandError, match="2 to 30 letters"):
        call_command("createsuperuser", username=name, email="x@example.org", interactive=False)
    assert sorted(User.objects.values_list("username", flat=True)) == ["alice", "root"]


def test_addresses_stored_before_normalisation_are_normalised_once() -> None:
    """Accounts made before sign-up normalised addresses: the migration's function brings them to
    NFKC so that log-in by address finds them, and leaves one alone whose normal form another
    account holds (two accounts for one mailbox are the admin's to merge, not a crash)."""

    def stored(name: str, email: str) -> User:
        user = User.objects.create_user(name, "", PASSWORD)
        User.objects.filter(pk=user.pk).update(email=email)  # as written before, unnormalised
        return user

    composed = "carol@ex\u00e4mple.org"
    nfd = unicodedata.normalize("NFD", composed)
    a = stored("alice", unicodedata.normalize("NFD", "alice@ex\u00e4mple.org"))
    b = stored("bob", "bob@\uff45xample.org")
    c1, c2 = stored("carol", composed), stored("carol2", nfd.upper())
    untouched = stored("dave", "dave@example.org")

    left = normalise_stored_emails(User.objects.all())

    emails = dict(User.objects.values_list("pk", "email"))
    assert emails[a.pk] == "alice@ex\u00e4mple.org"
    assert emails[b.pk] == "bob@example.org"
    assert emails[c1.pk] == composed and emails[c2.pk] == nfd.upper()  # its normal form is taken
    assert emails[untouched.pk] == "dave@example.org"
    assert len(left) == 1 and f"user {c2.pk}" in left[0]
    assert normalise_stored_emails(User.objects.all()) == left  # nothing more to do

    User.objects.filter(pk=a.pk).update(email_verified=True)
    r = Client().post("/login", {"username": "alice@ex\u00e4mple.org", "password": PASSWORD})
    assert r.status_code == 302


def test_a_name_with_an_accent_is_told_which_letters_count() -> None:
    # "zoë" was told to use letters, which it had.
    r = Client().post("/signup", {"username": "zoë", "email": "zoe@example.org", "password": PASSWORD})
    assert r.status_code == 200 and "letters a to z (without accents" in r.content.decode()
    r = Client().post("/signup", {"username": "-zoe", "email": "zoe@example.org", "password": PASSWORD})
    assert "starting with a letter or digit" in r.content.decode()
