from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from paperfeed.accounts.models import User

admin.site.register(User, UserAdmin)


def _login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """Staff sign in through the site's own log-in form: Django's admin form has no rate limit and
    no length cap on the password, so it would hash a 1 MB one (RELIABILITY S3, §3c)."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), login_url="login")


admin.site.login = _login  # type: ignore[method-assign]
