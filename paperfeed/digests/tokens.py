"""Signed tokens in digest links. Each purpose has its own salt, so a confirmation token is no
unsubscribe token. Signing uses SECRET_KEY and accepts SECRET_KEY_FALLBACKS (Django's signer), so
links in old mails survive a key rotation. Unsubscribe and settings links never expire (they sit in
mailboxes for years); confirmation links expire after 72 h."""

from __future__ import annotations

import datetime as dt

from django.core import signing

from paperfeed.digests.models import Subscriber

CONFIRM_MAX_AGE = dt.timedelta(hours=72)
_SALTS = {
    "confirm": "paperfeed.digests.confirm",
    "unsubscribe": "paperfeed.digests.unsubscribe",
    "manage": "paperfeed.digests.manage",
}


class BadToken(ValueError):
    pass


def _signer(purpose: str) -> signing.Signer:
    # Timestamped only where an age matters: unsubscribe and settings links are the same in every
    # mail (a re-sent digest is byte-identical in its links).
    cls = signing.TimestampSigner if purpose == "confirm" else signing.Signer
    return cls(salt=_SALTS[purpose])


def make(purpose: str, sub: Subscriber) -> str:
    payload = [sub.pk, sub.email] + ([sub.token_version] if purpose == "confirm" else [])
    return _signer(purpose).sign_object(payload)


def read(purpose: str, token: str) -> Subscriber:
    """The subscriber a token names; BadToken if it is forged, truncated, of another purpose,
    expired (confirm), or names a subscriber that no longer matches."""
    try:
        signer = _signer(purpose)
        if isinstance(signer, signing.TimestampSigner):
            payload = signer.unsign_object(token, max_age=CONFIRM_MAX_AGE)
        else:
            payload = signer.unsign_object(token)
        pk, email = int(payload[0]), str(payload[1])
    except signing.SignatureExpired:
        raise BadToken("This link has expired.") from None
    except (signing.BadSignature, ValueError, TypeError, IndexError, KeyError):
        raise BadToken("This link is not valid.") from None
    sub = Subscriber.objects.filter(pk=pk, email=email).first()
    if sub is None:
        raise BadToken("This link is not valid.")
    if purpose == "confirm" and (len(payload) < 3 or payload[2] != sub.token_version):
        raise BadToken("This link is no longer valid.")
    return sub
