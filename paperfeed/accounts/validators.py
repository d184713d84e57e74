from __future__ import annotations

import unicodedata
from typing import Any

from django.core.exceptions import ValidationError

MAX_PASSWORD_LENGTH = 128  # ASVS 2.1.2 allows >= 64; a 1 MB password must not reach the hasher


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


def validate_email_characters(value: str) -> None:
    """Refuse invisible characters (zero-width, bidi overrides, BOM: Unicode categories Cc and Cf),
    which Django's EmailValidator lets through in the domain: they make a second, different-looking
    account for the same address."""
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValidationError("Enter a valid email address.", code="invalid")
