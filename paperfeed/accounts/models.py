"""Accounts: Django's user with a verified-email flag (the site issue builds the rest)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    email_verified = models.BooleanField(default=False)
