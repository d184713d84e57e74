from __future__ import annotations

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
