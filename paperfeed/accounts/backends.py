from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from paperfeed.accounts.models import User


class UsernameOrEmailBackend(ModelBackend):
    """Log in by username or email, both case-insensitive. An unknown account still costs one
    hash (ModelBackend's dummy-hash behaviour, Django #20760), so timing does not tell them apart."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kw: Any
    ) -> User | None:
        if not username or password is None:
            return None
        user = User.objects.named(username).first()
        if user is None:
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
