from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from paperfeed.accounts.models import User
from paperfeed.core.admin import LargeTable


class SuspendedFilter(admin.SimpleListFilter):
    title = "suspended"
    parameter_name = "suspended"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "yes":
            return queryset.suspended()
        if self.value() == "no":
            return queryset.filter(suspended_at__isnull=True)
        return queryset


@admin.register(User)
class AccountAdmin(LargeTable, UserAdmin):
    """Django's user admin with the account's standing in the list: whether it is active (a
    deactivated account cannot log in), has a verified address and is suspended by the moderators
    (which `paperfeed moderate` or /moderation changes, with the log; here it is only shown).

    Unticking "active" deactivates the account as `paperfeed` commands do (accounts.services.set_active:
    its sessions end, its votes stop counting) and logs it in the moderation log under the staff
    member's name: it takes votes away as a suspension does, and so is on the record as one.

    Staff cannot delete an account here, singly or in bulk: the delete cascades to its votes and
    collections and moves every count, with no line in the moderation log (its comments stay,
    without its name for good). The change page points to what to do instead
    (deactivate, or suspend and remove their posts, each logged and undoable); the owner deletes
    their own account from their settings."""

    list_display = (
        "username",
        "email",
        "is_staff",
        "is_active",
        "email_verified",
        "suspended",
        "date_joined",
    )
    list_filter = ("is_staff", "is_superuser", "is_active", "email_verified", SuspendedFilter, "groups")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Moderation", {"fields": ("moderation",)}))
    readonly_fields = ("moderation",)
    search_help_text = (
        "The start of a username or an email address, in any case; when none begins so, any part of"
        " a username, email or name (a slower scan of every account)."
    )

    def search(self, request: HttpRequest, queryset: QuerySet[User], term: str) -> QuerySet[User] | None:
        found = queryset.starting(term)  # type: ignore[attr-defined]  # a UserQuerySet
        return found if found.exists() else None

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # also takes the bulk "Delete selected" action away (it needs this permission)

    @admin.display(description="instead of deleting")
    def moderation(self, user: User) -> str:
        return format_html(
            'Untick "Active" above to deactivate the account (it can no longer log in and its votes'
            ' stop counting), or <a href="{}">suspend {} and remove everything they posted</a>.'
            " Both are logged in the moderation log and can be undone.",
            reverse("moderation-user", args=[user.username]),
            user.username,
        )

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if not (change and "is_active" in form.changed_data):
            return super().save_model(request, obj, form, change)
        from paperfeed.feed.services import FeedError
        from paperfeed.moderation import services as moderation

        active = obj.is_active
        obj.is_active = not active  # the other fields saved as they were; the standing by the service
        super().save_model(request, obj, form, change)
        try:
            moderation.set_active(request.user, obj, active, "in the admin")
        except FeedError as e:
            self.message_user(
                request, f"{obj.username} was left {'in' if active else ''}active: {e}", messages.ERROR
            )

    @admin.display(boolean=True, ordering="suspended_at", description="suspended")
    def suspended(self, user: User) -> bool:
        return user.is_suspended


def _login(request: HttpRequest, extra_context: Any = None) -> HttpResponse:
    """Staff sign in through the site's own log-in form: Django's admin form has no rate limit and
    no length cap on the password, so it would hash a 1 MB one (RELIABILITY S3, §3c)."""
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), login_url="login")


admin.site.login = _login  # type: ignore[method-assign]
