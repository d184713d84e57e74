"""django.contrib.admin with a site whose door a suspended staff account no longer opens: a
suspension keeps is_staff (lifting it gives the role back), so the admin's own check let it in."""

from __future__ import annotations

from django.contrib.admin import AdminSite
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest


class ModeratedAdminSite(AdminSite):
    def has_permission(self, request: HttpRequest) -> bool:
        return bool(super().has_permission(request)) and not getattr(request.user, "is_suspended", False)


class SiteAdminConfig(AdminConfig):
    default_site = "paperfeed.moderation.admin_site.ModeratedAdminSite"
