from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError

MAX_PASSWORD_LENGTH = 128  # ASVS 2.1.2 allows >= 64; a 1 MB password must not reach the hasher

# ASCII only: no homoglyphs, RTL overrides or zero-width characters in names others see.
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,29}$")
USERNAME_RULE = "Use 2 to 30 letters, digits, - or _ (starting with a letter or digit)."
ASCII_ONLY = (
    "Use 2 to 30 letters a to z (without accents or other scripts, so that no two names look "
    "alike), digits, - or _."
)


def validate_username(value: str) -> None:
    """The one rule for every way an account is named: sign-up, the admin's forms, `createsuperuser`
    (Django's default allows any Unicode letter, hence lookalike names)."""
    if not USERNAME_RE.match(value):
        if (
            not value.isascii()
        ):  # "zoë" has only letters: say which ones count (not which it had: it may be invisible)
            raise ValidationError(ASCII_ONLY, code="invalid")
        raise ValidationError(USERNAME_RULE, code="invalid")


class MaximumLengthValidator:
    def __init__(self, max_length: int = MAX_PASSWORD_LENGTH) -> None:
        self.max_length = max_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) > self.max_length:
            raise ValidationError(
                f"This password is too long: at most {self.max_length} characters.", code="password_too_long"
            )

    def get_help_text(self) -> str:
        return f"Your password can be at most {self.max_length} characters."


def normalise_email(value: str) -> str:
    """The address in NFKC, so forms that look alike (a composed or decomposed "ä", a full-width
    "e") are one address for uniqueness and log-in, as they are one mailbox once IDNA-encoded."""
    return unicodedata.normalize("NFKC", value.strip())


def normalise_stored_emails(users: Any) -> list[str]:
    """Bring addresses stored before sign-up normalised them (2026-11-29) to NFKC, so that log-in by
    email finds them. An address whose normal form another account already has is left as it is:
    two accounts, one mailbox; the returned lines name them for the admin to merge."""
    taken = {e.lower() for e in users.values_list("email", flat=True)}
    left = []
    for user in users.exclude(email="").only("pk", "email").order_by("pk"):
        norm = normalise_email(user.email)
        if norm == user.email:
            continue
        if norm.lower() in taken:
            left.append(f"user {user.pk}: {user.email!r} left as it is; another account has {norm!r}")
            continue
        taken.add(norm.lower())
        users.filter(pk=user.pk).update(email=norm)
    return left


def validate_email_characters(value: str) -> None:
    """Refuse invisible characters (zero-width, bidi overrides, BOM: Unicode categories Cc and Cf),
    which Django's EmailValidator lets through in the domain: they make a second, different-looking
    account for the same address."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValidationError("Enter a valid email address.", code="invalid")
