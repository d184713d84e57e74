"""Email addresses as subscriptions store them: one normal form per mailbox, or a clear refusal.

Case duplicates are one mailbox (`Alice@X.com` = `alice@x.com`; every large provider ignores case),
an internationalised domain is kept as its ASCII (IDNA) form, which every SMTP server accepts. Local
parts that would need SMTPUTF8 or quoting are refused with a reason: Django's SMTP sending path
cannot carry them, and accepting an address we cannot mail would only fail later, silently.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

_validate = EmailValidator()


class InvalidAddress(ValueError):
    pass


def normalise(raw: str) -> str:
    """The stored form of an address, or InvalidAddress with a message fit to show the user."""
    text = (raw or "").strip()
    if not text:
        raise InvalidAddress("Enter an email address.")
    if len(text) > 254:
        raise InvalidAddress("That address is too long (at most 254 characters).")
    if any(c in text for c in "\r\n\t\0") or any(ord(c) < 32 for c in text):
        raise InvalidAddress("An email address cannot contain line breaks or control characters.")
    if text.startswith('"') or '"' in text:
        raise InvalidAddress(
            'Quoted addresses (like "a b"@example.org) are not supported; use one without quotes.'
        )
    local, at, domain = text.rpartition("@")
    if not at or not local or not domain:
        raise InvalidAddress("Enter a complete email address, like name@example.org.")
    if not local.isascii():
        raise InvalidAddress(
            "Addresses with non-ASCII characters before the @ (SMTPUTF8) are not supported yet."
        )
    try:
        domain = domain.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise InvalidAddress("The part after the @ is not a valid domain name.") from None
    address = f"{local.lower()}@{domain.lower()}"
    try:
        _validate(address)
    except ValidationError:
        raise InvalidAddress("Enter a valid email address, like name@example.org.") from None
    return address


def display(address: str) -> str:
    """The address as a person writes it (internationalised domain decoded)."""
    local, _, domain = address.rpartition("@")
    try:
        return f"{local}@{domain.encode('ascii').decode('idna')}"
    except UnicodeError:
        return address
