"""What every app's admin shares. The core app registers no model of its own."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnly(admin.ModelAdmin):
    """Rows an operator may look at but not edit in the admin: a change there would bypass what
    the site does around it (the moderation log, the counts and listing versions a vote or a
    submission moves), and one slip of the mouse would make it."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
