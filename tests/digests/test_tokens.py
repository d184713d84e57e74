import time

import pytest
from django.core import signing

from paperfeed.digests import tokens
from paperfeed.digests.models import Subscriber

pytestmark = pytest.mark.django_db


@pytest.fixture
def sub() -> Subscriber:
    return Subscriber.objects.create(email="a@example.org", status=Subscriber.Status.CONFIRMED)


def test_each_purpose_reads_only_its_own_tokens(sub: Subscriber) -> None:
    for purpose in ("confirm", "unsubscribe", "manage"):
        assert tokens.read(purpose, tokens.make(purpose, sub)) == sub
    with pytest.raises(tokens.BadToken):
        tokens.read("unsubscribe", tokens.make("confirm", sub))  # a confirm-salt token is no unsubscribe
    with pytest.raises(tokens.BadToken):
        tokens.read("confirm", tokens.make("manage", sub))


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-3], lambda t: t + "==", lambda t: t.upper(), lambda t: "", lambda t: "x:y:z"]
)
def test_truncated_repadded_or_forged_tokens_are_refused(sub: Subscriber, mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(tokens.BadToken):
        tokens.read("unsubscribe", mangle(tokens.make("unsubscribe", sub)))


def test_a_token_naming_another_subscriber_needs_that_subscribers_signature(sub: Subscriber) -> None:
    other = Subscriber.objects.create(email="b@example.org")
    forged = signing.dumps([other.pk, other.email], salt="some other salt")
    with pytest.raises(tokens.BadToken):
        tokens.read("unsubscribe", forged)
    # A genuine token whose subscriber's address changed no longer applies to the row.
    token = tokens.make("unsubscribe", other)
    Subscriber.objects.filter(pk=other.pk).update(email="c@example.org")
    with pytest.raises(tokens.BadToken):
        tokens.read("unsubscribe", token)


def test_confirmation_expires_after_72_hours(sub: Subscriber, monkeypatch: pytest.MonkeyPatch) -> None:
    real = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real() - 73 * 3600)
    old = tokens.make("confirm", sub)
    monkeypatch.setattr(signing.time, "time", lambda: real() - 71 * 3600)
    recent = tokens.make("confirm", sub)
    monkeypatch.setattr(signing.time, "time", real)
    with pytest.raises(tokens.BadToken, match="expired"):
        tokens.read("confirm", old)
    assert tokens.read("confirm", recent) == sub
    # Unsubscribe links never expire: they sit in mailboxes for years.
    monkeypatch.setattr(signing.time, "time", lambda: real() - 3 * 365 * 86400)
    ancient = tokens.make("unsubscribe", sub)
    monkeypatch.setattr(signing.time, "time", real)
    assert tokens.read("unsubscribe", ancient) == sub


def test_confirmation_links_die_with_an_unsubscribe(sub: Subscriber) -> None:
    from paperfeed.digests import services

    token = tokens.make("confirm", sub)
    services.unsubscribe(sub)
    with pytest.raises(tokens.BadToken):
        tokens.read("confirm", token)


def test_old_links_survive_a_key_rotation(sub: Subscriber, settings) -> None:  # type: ignore[no-untyped-def]
    token = tokens.make("unsubscribe", sub)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-brand-new-key-" + "z" * 40
    assert tokens.read("unsubscribe", token) == sub
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(tokens.BadToken):
        tokens.read("unsubscribe", token)  # without the fallback it would be a foreign token
